"""``verify_export --against-db``: an export's records compared with the database's rows by
what they mean, not by their bytes.

Two things may differ without anything being wrong, and are notes rather than problems:

* the order of a many-to-many list whose related model's ordering does not fix it (ties, or a
  text column that each database's collation sorts its own way): such lists are compared as
  sets, and a different order is counted per field;
* a secret field of an encrypted export verified without the passphrase: its ciphertext cannot
  be compared with the database's value, so it is not compared, and said so once.

Everything else that differs is a problem naming the record, the field and both values, cut to
a readable length. The database's rows stream in ``manifest.json``'s order; a record out of that
order (a section sorted by another collation) is matched with its row through a small stash, so
that one missing or extra record is one problem, not a problem for every record after it.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from django.db import models

from exporter.batches import django_record_batches
from exporter.readback.report import VerifyReport
from exporter.writing.encoding import classic_encode_record

__all__ = ["DatabaseComparison", "m2m_order_is_fixed", "shorten"]

#: How many characters of a value a problem shows.
VALUE_WIDTH = 60
#: Records kept aside while the export's order and the database's disagree; past this many,
#: further records out of order are only checked to exist.
STASH_LIMIT = 5_000

_TEXT_FIELDS = (models.CharField, models.TextField)


def read_back(db_record: dict[str, Any]) -> dict[str, Any]:
    """A database record as ijson would read it from a manifest: encoded, floats as Decimal."""
    return json.loads(classic_encode_record(db_record), parse_float=Decimal)


def shorten(value: Any, width: int = VALUE_WIDTH) -> str:
    """``value`` as JSON, cut to about ``width`` characters with the full length said."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    if len(text) <= width:
        return text
    return f"{text[: width - 1]}… ({len(text)} characters)"


def m2m_order_is_fixed(field: models.ManyToManyField) -> bool:
    """Whether the related model's ordering puts a many-to-many list in one order on every
    database: it ends in a unique column, and sorts by no text column (whose order is the
    collation's) on the way."""
    meta = field.related_model._meta
    ordering = list(meta.ordering or ())
    if not ordering:
        return False
    unique = False
    for entry in ordering:
        if not isinstance(entry, str) or entry == "?" or "__" in entry:
            return False
        name = entry.lstrip("-")
        try:
            column = meta.pk if name == "pk" else meta.get_field(name)
        except Exception:  # noqa: BLE001 - an expression or an unknown name: not fixed
            return False
        if isinstance(column, _TEXT_FIELDS):
            return False
        unique = unique or column.primary_key or column.unique
    return unique


def _key(record: dict[str, Any]) -> tuple[str, str]:
    return str(record.get("model")), str(record.get("pk"))


class DatabaseComparison:
    """Compare records with the database, recording problems and notes in ``report``.

    ``secrets`` (model label -> field names) are left uncompared when ``encrypted`` (the export
    holds ciphertext and no passphrase was given), and their values are never shown. A manifest
    streamed against the database's rows is compared between :meth:`start_stream` and
    :meth:`end_stream`; any other record with :meth:`compare_one`. :meth:`finish` adds the
    notes.
    """

    def __init__(
        self,
        report: VerifyReport,
        *,
        secrets: dict[str, tuple[str, ...]],
        encrypted: bool,
    ) -> None:
        self.report = report
        self.secrets = {label: set(names) for label, names in secrets.items()}
        self.skipped = self.secrets if encrypted else {}
        self.skipped_seen: dict[str, set[str]] = {}
        self._unordered: dict[str, set[str]] = {}
        self.reordered: Counter = Counter()
        self._stream: Iterator[dict[str, Any]] | None = None
        self._from_export: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
        self._from_db: dict[tuple[str, str], dict[str, Any]] = {}
        self._unstashed: list[tuple[str, tuple[str, str]]] = []
        self.overflow = 0

    # -- one record --------------------------------------------------------------------------

    def unordered_fields(self, model: type[models.Model]) -> set[str]:
        """The names of ``model``'s many-to-many fields whose order the database may choose."""
        label = model._meta.label_lower
        if label not in self._unordered:
            self._unordered[label] = {
                f.name for f in model._meta.many_to_many if not m2m_order_is_fixed(f)
            }
        return self._unordered[label]

    def compare(
        self, where: str, model: type[models.Model], record: dict[str, Any], db_record
    ) -> None:
        """Report how ``record`` differs from the database's ``db_record`` (None: no row)."""
        if db_record is None:
            self.report.problem(f"{where}: not in the database.")
            return
        label = model._meta.label_lower
        db = read_back(db_record)
        if str(db.get("pk")) != str(record.get("pk")):
            self.report.problem(
                f"{where}: the database's row has pk {shorten(db.get('pk'))}, "
                f"the export's {shorten(record.get('pk'))}."
            )
            return
        exported, current = record["fields"], db.get("fields", {})
        skipped = self.skipped.get(label, ())
        unordered = self.unordered_fields(model)
        for name in dict.fromkeys([*exported, *current]):
            if name in skipped:
                self.skipped_seen.setdefault(label, set()).add(name)
                continue
            if name not in current:
                continue  # an unknown field: reported as such by the record checks
            if name not in exported:
                self.report.problem(
                    f"{where}: the export has no field {name!r}; the database's value is "
                    f"{shorten(current[name])}."
                )
                continue
            mine, theirs = exported[name], current[name]
            if mine == theirs:
                continue
            if name in unordered and _same_members(mine, theirs):
                self.reordered[label, name] += 1
                continue
            if name in self.secrets.get(label, ()):
                # A problem report goes into logs and mails: never a secret's value.
                self.report.problem(
                    f"{where}: field {name!r} differs from the database's (a secret: its "
                    "values are not shown)."
                )
                continue
            self.report.problem(
                f"{where}: field {name!r} is {shorten(mine)} in the export, "
                f"{shorten(theirs)} in the database."
            )

    def compare_one(self, where: str, model: type[models.Model], record: dict[str, Any]) -> None:
        """Compare a record with its row, looked up by pk."""
        self.compare(where, model, record, db_record(model, record["pk"]))

    # -- a streamed manifest -----------------------------------------------------------------

    def start_stream(self, rows: Iterator[dict[str, Any]]) -> None:
        """The database's rows, in the order the manifest about to be read should have."""
        self._stream = rows

    def compare_next(self, where: str, model: type[models.Model], record: dict[str, Any]) -> None:
        """Compare the manifest's next record with its row of the stream.

        Each record draws one row: a record and a row that do not match wait in a stash for
        their partner, so that a record out of the database's order is still compared with its
        own row.
        """
        key = _key(record)
        row = self._from_db.pop(key, None)
        if row is not None:
            self.compare(where, model, record, row)
        elif len(self._from_export) < STASH_LIMIT:
            self._from_export[key] = (where, record)
        else:
            self.overflow += 1
            self._unstashed.append((where, key))
        self._draw(model)

    def _draw(self, model: type[models.Model]) -> None:
        assert self._stream is not None
        row = next(self._stream, None)
        if row is None:
            return
        key = _key(row)
        waiting = self._from_export.pop(key, None)
        if waiting is not None:
            where, record = waiting
            self.compare(where, _model_of(record, model), record, row)
        elif any(k == key for _, k in self._unstashed):
            self._unstashed = [(w, k) for w, k in self._unstashed if k != key]
        else:
            self._from_db[key] = row

    def end_stream(self, relpath: str, *, complete: bool, models_by_label) -> None:
        """The manifest is read: match what is left, then report the records one side lacks.

        ``complete`` is False when the manifest could not be read to its end (the rows after
        the damage are then not reported as missing from it). ``models_by_label`` gives a
        record's model for the rows looked up once the stream is closed.
        """
        assert self._stream is not None
        for row in self._stream:
            key = _key(row)
            waiting = self._from_export.pop(key, None)
            if waiting is not None:
                where, record = waiting
                self.compare(where, models_by_label(record["model"]), record, row)
            elif complete:
                unstashed = [w for w, k in self._unstashed if k == key]
                if unstashed:
                    self._unstashed = [(w, k) for w, k in self._unstashed if k != key]
                else:
                    self._from_db[key] = row
        self._stream = None
        # The stream is closed: rows can now be looked up one by one (MariaDB's streaming
        # cursor allows no other statement while it is open).
        for where, record in self._from_export.values():
            model = models_by_label(record["model"])
            self.compare(where, model, record, db_record(model, record["pk"]))
        for where, (label, pk) in self._unstashed:
            model = models_by_label(label)
            if db_record(model, pk) is None:
                self.report.problem(f"{where}: not in the database.")
        if complete:
            for label, pk in self._from_db:
                self.report.problem(
                    f"{relpath}: the database's {label} pk={pk} is not in the export."
                )
        self._from_export, self._from_db, self._unstashed = {}, {}, []

    # -- the notes ---------------------------------------------------------------------------

    def finish(self) -> None:
        """Add the notes: fields not compared, lists in another order, values not compared."""
        for label, names in sorted(self.skipped_seen.items()):
            fields = ", ".join(sorted(names))
            self.report.notes.append(
                f"Not compared with the database, nor checked to decrypt: {label} {fields} "
                "(encrypted secrets; pass the export's passphrase to check them)."
            )
        for (label, name), count in sorted(self.reordered.items()):
            self.report.notes.append(
                f"{label}.{name}: {count} records list the same ids in another order than the "
                "database, whose order of them is not fixed by the model's ordering; compared "
                "as sets."
            )
        if self.overflow:
            self.report.notes.append(
                f"{self.overflow} records were too far from the database's order to compare "
                "their values; they were checked to be in the database."
            )


def _same_members(mine: Any, theirs: Any) -> bool:
    if not isinstance(mine, list) or not isinstance(theirs, list):
        return False
    return Counter(map(_hashable, mine)) == Counter(map(_hashable, theirs))


def _hashable(value: Any) -> Any:
    if isinstance(value, list | dict):
        return json.dumps(value, sort_keys=True, default=str)
    return value


def _model_of(record: dict[str, Any], model: type[models.Model]) -> type[models.Model]:
    if record.get("model") == model._meta.label_lower:
        return model
    from django.apps import apps

    return apps.get_model(record["model"])


def db_record(model: type[models.Model], pk: Any) -> dict[str, Any] | None:
    """The database's record of ``model`` with ``pk``, or None if there is none."""
    try:
        queryset = model._base_manager.filter(pk=pk)
        rows = [r for b in django_record_batches(queryset) for r in b]
    except (ValueError, TypeError):
        return None  # a pk the model's field cannot hold: no such row
    return rows[0] if rows else None

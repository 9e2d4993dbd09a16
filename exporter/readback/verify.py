"""Verify an export by reading it back as a stream: JSON, records, references, files, secrets.

Every manifest is parsed with ``ijson.items(f, "item")`` (the yajl2 C backend), one record at a
time; primary keys, references and file names go into a disk-backed ledger, so memory stays flat
at any size. Problems are collected with where they are (manifest, record index, model, pk,
file); the export is good only if there are none.

Problems the export itself recorded in ``metadata.json`` (document files it could not export:
missing, damaged, changed) are reported apart, as such, and the files they name are not
reported again as missing or damaged.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import ijson
from django.apps import apps
from django.db import models

from exporter.batches import django_record_batches
from exporter.encryption import (
    InvalidSecret,
    SecretCipher,
    decrypt_record,
    encryption_parameters,
)
from exporter.format import FILE_NAME_KEY, MANIFEST, METADATA
from exporter.plan import ExportPlan
from exporter.progress import ExportProgress
from exporter.readback.compare import DatabaseComparison
from exporter.readback.ledger import ReadLedger
from exporter.readback.loader import describe_unknown_fields, known_field_names, unknown_fields
from exporter.readback.reading import (
    RecordedProblem,
    announced_counts,
    describe_json_error,
    read_metadata,
    read_records,
    recorded_problems,
)
from exporter.readback.report import VerifyReport
from exporter.readback.source import ExportSource, MediaPaths
from exporter.readback.verify_files import FILE_KINDS, ZIP_ERRORS, FileChecks, describe_os_error

#: The keys every record has.
_RECORD_KEYS = frozenset(("model", "pk", "fields"))
# A record's position: its manifest's number above these bits, its index in it below.
_INDEX_BITS = 32
_INDEX_MASK = (1 << _INDEX_BITS) - 1


@dataclass(frozen=True)
class _RecordKind:
    """What checking a record needs to know of its model: the field names a record may
    carry, and the foreign keys and many-to-many fields that point into the export, as
    (field name, target label) pairs."""

    model: type[models.Model]
    known: frozenset[str]
    foreign_keys: tuple[tuple[str, str], ...]
    many_to_many: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, model: type[models.Model], exported: set[str]) -> _RecordKind:
        """``model``'s kind, its references limited to the ``exported`` labels."""
        meta = model._meta
        return cls(
            model=model,
            known=known_field_names(model),
            foreign_keys=tuple(
                (f.name, f.related_model._meta.label_lower)
                for f in meta.concrete_fields
                if f.is_relation and f.related_model._meta.label_lower in exported
            ),
            many_to_many=tuple(
                (f.name, f.related_model._meta.label_lower)
                for f in meta.many_to_many
                if f.related_model._meta.label_lower in exported
            ),
        )


class ExportVerifier(FileChecks):
    """Check one export against the site's plan; :meth:`run` returns a :class:`VerifyReport`.

    ``passphrase`` checks that every encrypted secret decrypts; ``against_db`` compares each
    record with the database's current row, by meaning (:mod:`exporter.readback.compare`);
    ``checksums=False`` checks that files exist without hashing them; ``progress`` hears of the
    stages, the records read and the bytes hashed. The source is read, never changed; the
    caller opens and closes it (:func:`exporter.readback.opening.open_export`).
    """

    def __init__(
        self,
        source: ExportSource,
        plan: ExportPlan,
        *,
        passphrase: str | None = None,
        against_db: bool = False,
        checksums: bool = True,
        progress: ExportProgress | None = None,
    ) -> None:
        self.source = source
        self.progress = progress or ExportProgress()
        self.plan = plan
        self.passphrase = passphrase
        self.against_db = against_db
        self.checksums = checksums
        self.report = VerifyReport()
        #: Whether a manifest could not be read to its end.
        self.unreadable = False
        self.cipher: SecretCipher | None = None
        self.contents: dict[str, Any] = {}
        #: The export's recorded problems, by the export name of the file they concern.
        self.recorded: dict[str, RecordedProblem] = {}
        self.paths = MediaPaths(source, plan)
        self._models: dict[str, type[models.Model] | None] = {}
        self._kinds: dict[str, _RecordKind | None] = {}
        #: The manifests read so far, in order: a record's position names its manifest.
        self._manifests: list[str] = []
        self.plan_models = {s.queryset().model._meta.label_lower for s in plan.sections}
        self.comparison: DatabaseComparison | None = None

    def run(self) -> VerifyReport:
        """Read the whole export and report every problem found in it."""
        try:
            return self.verify()
        finally:
            self.progress.finish()

    def verify(self) -> VerifyReport:
        """:meth:`run`'s work: every check, in order."""
        report = self.report
        report.alerts.extend(self.source.notes)
        if self.source.unfinished is not None:
            report.fatal(self.source.unfinished)
            return report
        try:
            metadata = read_metadata(self.source)
        except ValueError as exc:
            report.fatal(str(exc))
            return report
        except (OSError, *ZIP_ERRORS) as exc:
            report.fatal(f"{METADATA} cannot be read: {describe_os_error(exc)}.")
            return report
        self.contents = metadata.get("contents", {})
        if not isinstance(self.contents, dict):
            self.contents = {}
        self.setup_cipher(metadata)
        if self.against_db:
            self.comparison = DatabaseComparison(
                report,
                secrets=self.plan.secrets,
                encrypted=self.cipher is None and encryption_parameters(metadata) is not None,
            )
        self.read_recorded(metadata)
        if not self.source.exists(MANIFEST):
            report.fatal(f"{MANIFEST} is missing from {self.source.location}.")
            return report
        self.ledger = ReadLedger()
        # The names of files the export does not hold matter only to tell a file of it that no
        # record names: an export that holds no files at all has none to tell.
        holds_files = any(self.contents.get(kind, True) for kind in FILE_KINDS)
        self.keep_unexported_names = holds_files or any(True for _ in self.unnamed_candidates())
        try:
            counts = announced_counts(metadata)
            total = sum(counts.values()) if counts is not None else None
            self.progress.stage("reading and hashing", total=total, unit="records")
            for relpath in self.source.manifests():
                report.manifests += 1
                self.check_manifest(relpath)
            self.progress.stage("checking references")
            self.check_duplicates()
            self.check_references()
            self.check_leftovers()
        finally:
            self.ledger.close()
        if self.comparison is not None:
            self.comparison.finish()
        return report

    def setup_cipher(self, metadata: dict[str, Any]) -> None:
        """The cipher of the export's secrets, from the passphrase and the metadata's
        parameters; a problem if they do not go together."""
        encryption = encryption_parameters(metadata)
        if self.passphrase is None:
            # With --against-db the comparison's one note of the secrets says it all.
            if encryption and not self.against_db:
                self.report.notes.append(
                    "The export's secrets are encrypted; pass its passphrase to check that they "
                    "decrypt."
                )
            return
        if not encryption:
            self.report.problem("A passphrase was given, but the export is not encrypted.")
            return
        try:
            self.cipher = SecretCipher.from_metadata(self.passphrase, encryption)
        except (ValueError, TypeError) as exc:
            self.report.problem(f"{METADATA}: unusable encryption parameters: {exc}")

    def read_recorded(self, metadata: dict[str, Any]) -> None:
        """Note the problems the export recorded, to report them as such and not again."""
        try:
            problems = recorded_problems(metadata)
        except ValueError as exc:
            self.report.problem(str(exc))
            return
        for problem in problems:
            self.report.recorded.append(problem.describe())
            self.recorded[problem.export_name] = problem

    # -- manifests -----------------------------------------------------------------------------

    def check_manifest(self, relpath: str) -> None:
        """Check every record of one manifest, and that it reads to its end."""
        streamed = self.comparison is not None and relpath == MANIFEST
        if streamed:
            self.comparison.start_stream(self.db_records())
        try:
            self.read_manifest(relpath, streamed)
        finally:
            if streamed:
                self.comparison.end_stream(
                    relpath, complete=not self.unreadable, models_by_label=self.model
                )

    def read_manifest(self, relpath: str, streamed: bool) -> None:
        """Check every record of one manifest; a problem if it does not read to its end."""
        index = -1
        first = len(self._manifests) << _INDEX_BITS
        self._manifests.append(relpath)
        check_record, advance = self.check_record, self.progress.advance
        try:
            with self.source.open(relpath) as stream:
                # Floats, read faster, unless compared with the database's values as exactly as
                # the manifest wrote them.
                records = read_records(stream, use_float=self.comparison is None)
                for index, record in enumerate(records):
                    check_record(relpath, index, record, streamed, first + index)
                    advance()
        except OSError as exc:
            self.unreadable = True
            self.report.fatal(f"{relpath} cannot be read: {describe_os_error(exc)}.")
            return
        except ZIP_ERRORS as exc:
            self.unreadable = True
            self.report.problem(f"{relpath}: the zip member is damaged ({exc}).")
            return
        except ijson.JSONError as exc:
            self.unreadable = True
            reason = describe_json_error(exc)
            if reason.startswith("it holds the number"):
                self.report.problem(f"{relpath} record {index + 1}: not valid JSON: {reason}.")
            else:
                self.report.problem(
                    f"{relpath}: not valid JSON after record {index} ({reason}); the file is "
                    "truncated or damaged."
                )
            return

    def check_record(self, relpath: str, index: int, record: Any, streamed: bool, at: int) -> None:
        """Check one record: its shape, model and fields, its secrets and files, and (with
        ``against_db``) its row; remember its key, references and file names. ``at`` is the
        record's position, for the ledger (:meth:`origin` says where it is from it)."""
        if type(record) is not dict or not record.keys() >= _RECORD_KEYS:
            self.report.problem(
                f"{relpath} record {index}: not a record (needs model, pk and fields)."
            )
            return
        label, pk, fields = record["model"], record["pk"], record["fields"]
        where = f"{relpath} record {index} ({label} pk={pk})"
        kind = self._kinds.get(label) if type(label) is str else None
        if kind is None:
            kind = self.kind(label)
            if kind is None:
                self.report.problem(f"{where}: unknown model {label!r}.")
                return
        if type(fields) is not dict:
            self.report.problem(f"{where}: fields is not an object.")
            return
        if not fields.keys() <= kind.known:
            unknown = unknown_fields(kind.model, fields)
            self.report.problem(f"{where}: {describe_unknown_fields(kind.model, unknown)}")
        ledger = self.ledger
        ledger.add_record(label, pk, at)
        self.report.records[label] += 1
        refs = [
            (target, value, at)
            for name, target in kind.foreign_keys
            if (value := fields.get(name)) is not None
        ]
        for name, target in kind.many_to_many:
            values = fields.get(name)
            if values:
                refs.extend([(target, value, at) for value in values])
        if refs:
            ledger.add_refs(refs)
        if self.cipher is not None:
            record = self.decrypt(where, record)
        if FILE_NAME_KEY in record:
            self.check_files(where, record, at)
        elif len(record) > len(_RECORD_KEYS):
            self.check_attached_files(where, record, at)
        if streamed:
            self.comparison.compare_next(where, kind.model, record)
        elif self.comparison is not None:
            self.comparison.compare_one(where, kind.model, record)

    def model(self, label: Any) -> type[models.Model] | None:
        """The model of a record's label, or None if there is no such model here."""
        if not isinstance(label, str):
            return None
        if label not in self._models:
            try:
                self._models[label] = apps.get_model(label)
            except (LookupError, ValueError):
                self._models[label] = None
        return self._models[label]

    def kind(self, label: Any) -> _RecordKind | None:
        """What checking a record of ``label`` needs to know of its model, or None if there is
        no such model here.

        References to models the plan does not export are left out on purpose.
        """
        if not isinstance(label, str):
            return None
        if label not in self._kinds:
            model = self.model(label)
            self._kinds[label] = None if model is None else _RecordKind.of(model, self.plan_models)
        return self._kinds[label]

    def origin(self, at: int, label: str, pk: object) -> str:
        """Where the record at position ``at`` is (its model ``label``, its key ``pk``)."""
        relpath = self._manifests[at >> _INDEX_BITS]
        return f"{relpath} record {at & _INDEX_MASK} ({label} pk={pk})"

    def decrypt(self, where: str, record: dict[str, Any]) -> dict[str, Any]:
        """The record with its secrets decrypted; a problem for each that does not decrypt."""
        try:
            return decrypt_record(record, self.plan.secrets, self.cipher)
        except InvalidSecret as exc:
            self.report.problem(f"{where}: a secret does not decrypt: {exc}")
            return record

    # -- whole export --------------------------------------------------------------------------

    def check_duplicates(self) -> None:
        """Report every record whose model and pk an earlier record has, and every file an
        earlier record names too."""
        for model, pk, at in self.ledger.duplicates():
            self.report.problem(f"{self.origin(at, model, pk)}: duplicate pk {pk} for {model}.")
        for relpath, at, label, pk in self.ledger.shared_names():
            self.report.problem(
                f"{self.origin(at, label, pk)}: names the file {relpath}, which an earlier "
                "record names too: the "
                "export holds one of the two files, and an import would give both records it."
            )

    def check_references(self) -> None:
        """Report every reference to a record that the export does not hold."""
        if self.unreadable:
            # The records after the damage were never read: what points at them is not lost.
            return
        left_out: Counter = Counter()
        for model, pk, at, label, origin_pk in self.ledger.dangling():
            if model in self.plan.kept_on_import:
                left_out[model, pk] += 1
                continue
            origin = self.origin(at, label, origin_pk)
            self.report.problem(f"{origin}: points to {model} pk={pk}, which is not exported.")
        for (model, pk), count in left_out.items():
            self.report.warnings.append(
                f"{count} records point to {model} pk={pk}, a row of the site's own that its "
                "exports leave out: the database this export is imported into must have it."
            )

    # -- against the database ------------------------------------------------------------------

    def db_records(self) -> Iterator[dict[str, Any]]:
        """The database's records in ``manifest.json``'s order, as the export would write them."""
        split = self.contents.get("split_manifest", False)
        for section in self.plan.sections:
            if split and section.key == self.plan.documents_key:
                continue
            queryset = self.plan.main_manifest_rows(section, split=split)
            for batch in django_record_batches(queryset):
                yield from batch

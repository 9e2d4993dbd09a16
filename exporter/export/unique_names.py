"""
Unique export names: each document's files get names no other document's files have.

:class:`UniqueNameRegistry` keeps the names in a private SQLite file, so that memory stays flat
for a million documents; :func:`claim_document_names` claims all of one document's file names
at once. Names compare as a case- and normalisation-insensitive file system would
(:func:`name_key`). How a stem is made is :mod:`exporter.export.naming`'s business.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
import unicodedata
import weakref
from collections.abc import Iterable, Sequence

from exporter.export.naming import (
    EXPORT_SUFFIXES,
    MAX_COUNTER,
    STEM_MAX_BYTES,
    name_bytes,
    normalize_extension,
)
from exporter.key_filter import FILTER_BITS, KeyFilter

__all__ = ["UniqueNameRegistry", "claim_document_names", "name_key"]

#: Claimed keys held back from the database, inserted together.
_PENDING_ROWS = 1_000


def claim_document_names(
    registry: UniqueNameRegistry, stem: str, original_ext: str
) -> dict[str, str]:
    """
    Claim a unique stem for a document and return its :func:`document_file_names`.

    Unlike ``registry.claim(stem)``, this claims every file name of the document, so that no
    two documents share any file: the original of a document titled ``"x-archive"`` does not
    take the name of the archived version of a document titled ``"x"``, nor does a
    ``"report.pdf"`` without extension take that of a ``"report"`` with ``.pdf``.

    Raises ``ValueError`` if the stem's last component is over :data:`STEM_MAX_BYTES`, i.e.
    was not made by this module: its names could exceed 255 bytes.
    """
    if name_bytes(stem.rpartition("/")[2]) > STEM_MAX_BYTES:
        raise ValueError(f"The stem {stem[:40]!r}... is longer than {STEM_MAX_BYTES} bytes.")
    ext, suffixes = _document_suffixes(original_ext)
    unique = registry.claim(stem, suffixes)
    # document_file_names(unique, ext), without normalising the extension again.
    names = {"original": unique + ext}
    for role, suffix in _DERIVED:
        names[role] = unique + suffix
    return names


_DERIVED = tuple(EXPORT_SUFFIXES.items())
# Per original extension, its normalised form and a document's suffixes: a document's claim
# repeats one of a handful. Bounded, for a site with an extension per file.
_SUFFIXES_BY_EXT: dict[str, tuple[str, tuple[str, ...]]] = {}
_SUFFIXES_CACHE_MAX = 256


def _document_suffixes(original_ext: str) -> tuple[str, tuple[str, ...]]:
    found = _SUFFIXES_BY_EXT.get(original_ext)
    if found is None:
        ext = normalize_extension(original_ext)
        found = (ext, (ext, *EXPORT_SUFFIXES.values()))
        if len(_SUFFIXES_BY_EXT) >= _SUFFIXES_CACHE_MAX:
            _SUFFIXES_BY_EXT.clear()
        _SUFFIXES_BY_EXT[original_ext] = found
    return found


def name_key(name: str) -> str:
    """
    The identity of a name on a case- and normalisation-insensitive file system.

    Canonical caseless matching (NFD, casefold; kept in NFC, which is equivalent): ``"ABC"``,
    ``"abc"`` and ``"ﬃ"``/``"ffi"`` (casefold) or ``"é"`` precomposed and decomposed (macOS)
    are the same name. It is a little stricter than any real file system, which only costs
    an extra counter. ``name_key(a + b) == name_key(a) + name_key(b)`` whenever ``b`` starts
    with an ASCII character: the registry relies on that for its suffixes and counters.
    """
    if name.isascii():
        return name.lower()
    return unicodedata.normalize("NFC", unicodedata.normalize("NFD", name).casefold())


class UniqueNameRegistry:
    """
    Hands out unique names, remembered in a temporary SQLite file so that memory stays flat.

    :meth:`claim` returns the stem itself the first time, then ``<stem>_01``, ``<stem>_02``...:
    always the lowest counter whose name is still free, as the classic exporter's loop over a
    set does. Names compare by :func:`name_key`, so the export survives a copy to a case-
    insensitive file system.

    A claim can occupy several file names at once: ``claim(stem, suffixes)`` takes
    ``stem + s`` for every ``s`` in ``suffixes`` and succeeds only if none of them is taken by
    an earlier claim, whatever its own stem and suffixes. Each claim is one row (its key and
    suffix set); a candidate is checked in one indexed query over the stems that could own
    its names (its names less each known suffix). Memory grows only with the number of
    distinct suffix tuples (a few extensions), not with the names.

    Most names are free, and a lookup per claim would cost more than the rest of a document's
    export: a Bloom filter of the claimed keys, of a fixed ``filter_bits`` bits, answers
    "certainly free" without a lookup, and the claimed keys are inserted a thousand at a time
    (always before a lookup), so a free name costs no statement of its own.

    The literal-counter case: if ``"x"`` and then a title ``"x_01"`` were claimed, the next
    ``"x"`` gets ``"x_02"``, and another ``"x_01"`` gets ``"x_01_01"``. That is what the
    first-free rule says, and it is what is done: a per-stem row remembers the counter to try
    next, and it only ever skips counters whose names were found taken (taken names are never
    freed), so the thousandth claim of a stem costs the same few lookups as the second, not a
    probe from ``_01`` on.

    Not thread-safe. Use it as a context manager, or call :meth:`close`, which deletes the
    file (a forgotten registry deletes it when garbage-collected).
    """

    def __init__(
        self,
        *,
        directory: str | os.PathLike[str] | None = None,
        reserved: Iterable[str] = (),
        max_counter: int = MAX_COUNTER,
        filter_bits: int = FILTER_BITS,
    ) -> None:
        """
        ``directory`` holds the temporary file (default: the system's temp directory).
        ``reserved`` names are claimed first, as plain names (say ``"manifest.json"``).
        A stem claimed more than ``max_counter`` times raises ``OverflowError``.
        ``filter_bits`` sizes the filter of claimed keys (:class:`~exporter.key_filter.KeyFilter`).
        """
        self.max_counter = max_counter
        self._claimed = KeyFilter(filter_bits)
        self._pending: list[tuple[str, int]] = []
        fd, path = tempfile.mkstemp(prefix="exporter-names-", suffix=".sqlite3", dir=directory)
        os.close(fd)
        db = None
        try:
            db = sqlite3.connect(path, isolation_level=None)
            # A scratch file: no crash safety needed, and no other connection may read it.
            db.execute("PRAGMA journal_mode=OFF")
            db.execute("PRAGMA synchronous=OFF")
            db.execute("PRAGMA locking_mode=EXCLUSIVE")
            db.execute(
                # The same stem may be claimed with suffixes that share no name.
                "CREATE TABLE claimed (key TEXT, suffix_set INTEGER, "
                "PRIMARY KEY (key, suffix_set)) WITHOUT ROWID"
            )
            db.execute(
                "CREATE TABLE next_counter (stem TEXT, suffix_set INTEGER, counter INTEGER, "
                "PRIMARY KEY (stem, suffix_set)) WITHOUT ROWID"
            )
            # One open transaction for the whole run: a commit per claim costs more than the
            # claim, and with the journal off there is nothing to roll back to anyway.
            db.execute("BEGIN")
        except BaseException:
            if db is not None:
                db.close()
            os.remove(path)
            raise
        self._db = db
        self._finalizer = weakref.finalize(self, _close_and_remove, db, path)
        self.path = path
        # Suffix tuple -> id; per id, the suffix keys in order and as a set.
        self._suffix_set_ids: dict[tuple[str, ...], int] = {}
        self._suffix_keys: list[tuple[str, ...]] = []
        self._suffix_sets: list[frozenset[str]] = []
        # Every suffix key of every set: the possible ends of a taken name.
        self._vocabulary: list[str] = []
        self._owner_plans: dict[int, list[tuple[str, str, str]]] = {}
        self._owner_shapes: dict[int, tuple[tuple[str, ...], tuple[tuple[str, str], ...]]] = {}
        self._queries: dict[int, str] = {}
        for name in reserved:
            self.claim(name)

    def __enter__(self) -> UniqueNameRegistry:
        return self

    def __exit__(self, exc_type: object, exc: object, traceback: object) -> None:
        self.close()

    def close(self) -> None:
        """Close and delete the database. Closing again does nothing."""
        self._finalizer()

    def claim(self, stem: str, suffixes: Sequence[str] = ("",)) -> str:
        """
        Return ``stem``, or ``stem`` with the lowest free counter, and mark it taken.

        Every name ``<result><suffix>`` becomes taken. A suffix is ``""`` or starts with an
        ASCII character (like ``".pdf"``); the counter goes between stem and suffix, and the
        caller leaves room for it (see :data:`STEM_MAX_BYTES`).
        """
        if not self._finalizer.alive:
            raise ValueError("The name registry is closed.")
        if not stem:
            raise ValueError("Cannot claim an empty name.")
        # A document's claims pass the same tuple each time: no copy to look it up.
        suffix_set = self._suffix_set_ids.get(suffixes) if type(suffixes) is tuple else None
        if suffix_set is None:
            suffix_set = self._suffix_set_id(tuple(suffixes))
        key = name_key(stem)
        if self._is_free(key, suffix_set):
            self._take(key, suffix_set)
            return stem
        row = self._db.execute(
            "SELECT counter FROM next_counter WHERE stem = ? AND suffix_set = ?", (key, suffix_set)
        ).fetchone()
        counter = 1 if row is None else row[0]
        while counter <= self.max_counter:
            label = f"_{counter:02}"
            if self._is_free(key + label, suffix_set):
                self._take(key + label, suffix_set)
                self._db.execute(
                    "INSERT OR REPLACE INTO next_counter VALUES (?, ?, ?)",
                    (key, suffix_set, counter + 1),
                )
                return stem + label
            counter += 1
        raise OverflowError(f"More than {self.max_counter} files are named {stem!r}.")

    def _suffix_set_id(self, suffixes: tuple[str, ...]) -> int:
        suffix_set = self._suffix_set_ids.get(suffixes)
        if suffix_set is not None:
            return suffix_set
        if not suffixes:
            raise ValueError('A claim needs at least one suffix ("" for the name itself).')
        for suffix in suffixes:
            if suffix and not suffix[0].isascii():
                raise ValueError(f"A suffix must start with an ASCII character, not {suffix!r}.")
        keys = tuple(dict.fromkeys(name_key(suffix) for suffix in suffixes))
        suffix_set = len(self._suffix_keys)
        self._suffix_keys.append(keys)
        self._suffix_sets.append(frozenset(keys))
        new_ends = [key for key in keys if key not in self._vocabulary]
        if new_ends:
            self._vocabulary.extend(new_ends)
            self._owner_plans.clear()
            self._owner_shapes.clear()
        self._suffix_set_ids[suffixes] = suffix_set
        return suffix_set

    def _is_free(self, key: str, suffix_set: int) -> bool:
        # A name is taken if, less some known suffix, it is a claimed stem whose set has that
        # suffix. Most names are free, which the filter tells from the possible owners alone.
        shape = self._owner_shapes.get(suffix_set)
        if shape is None:
            shape = self._owner_shape(suffix_set)
        extras, cuts = shape
        owners = [key + extra for extra in extras]
        for cut, extra in cuts:
            if key.endswith(cut):
                owners.append(key[: len(key) - len(cut)] + extra)
        if self._claimed.may_contain_any(owners):
            return self._is_free_in_database(key, suffix_set)
        return True

    def _is_free_in_database(self, key: str, suffix_set: int) -> bool:
        # Collect the possible owners with the suffixes they would need, and look them all up
        # at once.
        owners: dict[str, list[str]] = {}
        for cut, extra, end in self._owner_plan(suffix_set):
            if not cut:
                owners.setdefault(key + extra, []).append(end)
            elif key.endswith(cut):
                owners.setdefault(key[: len(key) - len(cut)] + extra, []).append(end)
        query = self._queries.get(len(owners))
        if query is None:
            marks = ", ".join("?" * len(owners))
            query = f"SELECT key, suffix_set FROM claimed WHERE key IN ({marks})"
            self._queries[len(owners)] = query
        self._insert_pending()
        for owner, owner_set in self._db.execute(query, list(owners)):
            members = self._suffix_sets[owner_set]
            if any(end in members for end in owners[owner]):
                return False
        return True

    def _owner_shape(self, suffix_set: int) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
        """:meth:`_owner_plan` without the suffixes: the ``extra`` of every owner that is
        ``key + extra``, and the ``(cut, extra)`` of the others, each once."""
        plan = self._owner_plan(suffix_set)
        extras = tuple(dict.fromkeys(extra for cut, extra, _ in plan if not cut))
        cuts = tuple(dict.fromkeys((cut, extra) for cut, extra, _ in plan if cut))
        shape = self._owner_shapes[suffix_set] = (extras, cuts)
        return shape

    def _owner_plan(self, suffix_set: int) -> list[tuple[str, str, str]]:
        """
        How to find the possible owners of ``key + suffix`` for each suffix of the set.

        For a known suffix ``end`` no longer than ``suffix`` and ending it, the owner is
        ``key + suffix[:-len(end)]``; for a longer ``end`` that ends with ``suffix``, it is
        ``key[:-len(cut)]`` if ``key`` ends with ``cut = end[:-len(suffix)]``. As
        ``(cut, extra, end)``: if ``key`` ends with ``cut``, the owner is
        ``key[:-len(cut)] + extra``. Worked out once per set and vocabulary, so that a check
        tests a few ``endswith`` instead of every suffix against every name.
        """
        plan = self._owner_plans.get(suffix_set)
        if plan is None:
            plan = []
            for suffix in self._suffix_keys[suffix_set]:
                for end in self._vocabulary:
                    if len(end) <= len(suffix) and suffix.endswith(end):
                        plan.append(("", suffix[: len(suffix) - len(end)], end))
                    elif len(end) > len(suffix) and end.endswith(suffix):
                        plan.append((end[: len(end) - len(suffix)], "", end))
            self._owner_plans[suffix_set] = plan
        return plan

    def _take(self, key: str, suffix_set: int) -> None:
        self._claimed.add(key)
        pending = self._pending
        pending.append((key, suffix_set))
        if len(pending) >= _PENDING_ROWS:
            self._insert_pending()

    def _insert_pending(self) -> None:
        if self._pending:
            self._db.executemany("INSERT INTO claimed VALUES (?, ?)", self._pending)
            self._pending.clear()


def _close_and_remove(db: sqlite3.Connection, path: str) -> None:
    db.close()
    with contextlib.suppress(FileNotFoundError):
        os.remove(path)

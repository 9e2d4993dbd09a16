"""Comparing an export of ours with what the oracle says paperless-ngx writes."""

from __future__ import annotations

import json
from pathlib import Path

#: The top-level keys of a record that name an exported file.
NAME_KEYS = (
    "__exported_file_name__",
    "__exported_thumbnail_name__",
    "__exported_archive_name__",
    "__exported_share_link_bundle_name__",
)


def first_difference(actual: bytes, expected: bytes, context: int = 120) -> str:
    """Where two byte strings first differ, with ``context`` bytes around it ("" if equal)."""
    if actual == expected:
        return ""
    offset = next(
        (i for i, (a, b) in enumerate(zip(actual, expected, strict=False)) if a != b),
        min(len(actual), len(expected)),
    )
    start = max(0, offset - context)
    line = expected[:offset].count(b"\n") + 1
    return (
        f"first difference at byte {offset} (line {line}); lengths {len(actual)} (ours) "
        f"vs {len(expected)} (oracle)\n"
        f"ours:   {actual[start : offset + context]!r}\n"
        f"oracle: {expected[start : offset + context]!r}"
    )


#: Many-to-many fields listed in their related model's ordering, by (model, field): the related
#: model and its ordering fields. The twin seeds tags that tie on name (three "Finance"), which
#: documents, mail rules and workflows list.
TIED_ORDERINGS = {
    # Every many-to-many list of tags: tags order by name, and two may share one.
    (model, field): ("documents.tag", ("name",))
    for model, field in (
        ("documents.document", "tags"),
        ("paperless_mail.mailrule", "assign_tags"),
        ("documents.workflowaction", "assign_tags"),
        ("documents.workflowaction", "remove_tags"),
        ("documents.workflowtrigger", "filter_has_tags"),
        ("documents.workflowtrigger", "filter_has_all_tags"),
        ("documents.workflowtrigger", "filter_has_not_tags"),
    )
}
_LIST_BYTES = frozenset(b"0123456789, \n")


def assert_same_bytes(actual: bytes, expected: bytes) -> None:
    """``actual`` is ``expected`` byte for byte; otherwise say where they part.

    One difference is allowed: within a list of :data:`TIED_ORDERINGS`, the ids of related rows
    that tie under the ordering may come in another order. Django's serializer lists them in
    its query's plan order, and the database may change the plan between two runs on the same
    rows (MariaDB does, as InnoDB recomputes its statistics), so paperless-ngx's own exporter
    does not repeat that order either. Every other byte must be the same."""
    if actual == expected:
        return
    difference = first_difference(actual, expected)
    assert len(actual) == len(expected), difference
    untied = _first_untied_difference(actual, expected)
    assert untied is None, (
        f"{difference}\nand outside any list of tied ids at byte {untied}: "
        f"{actual[untied : untied + 80]!r} against {expected[untied : untied + 80]!r}"
    )
    assert _tie_permutations(json.loads(actual), json.loads(expected)), difference


def _first_untied_difference(actual: bytes, expected: bytes) -> int | None:
    """Where a differing byte lies outside every id list of a :data:`TIED_ORDERINGS` field;
    None if none does."""
    keys = tuple(b'"' + field.encode() + b'": [' for _, field in TIED_ORDERINGS)
    checked_until = -1
    for offset, (a, b) in enumerate(zip(actual, expected, strict=True)):
        if a == b or offset < checked_until:
            continue
        start = expected.rfind(b"[", 0, offset + 1)
        end = expected.find(b"]", offset)
        if start < 0 or end < 0 or not expected[: start + 1].endswith(keys):
            return offset
        if not set(expected[start + 1 : end]) <= _LIST_BYTES:
            return offset
        if not set(actual[start + 1 : end]) <= _LIST_BYTES or actual[end : end + 1] != b"]":
            return offset
        checked_until = end
    return None


def _tie_permutations(actual: list[dict], expected: list[dict]) -> bool:
    """The records are the same but for lists of :data:`TIED_ORDERINGS` fields that hold the
    same ids in an order that differs only between ids whose ordering values tie."""
    if len(actual) != len(expected):
        return False
    ordering_values = {}
    for model, fields in TIED_ORDERINGS.values():
        ordering_values[model] = {
            r["pk"]: tuple(r["fields"][f] for f in fields) for r in expected if r["model"] == model
        }
    for ours, theirs in zip(actual, expected, strict=True):
        if ours == theirs:
            continue
        if {k: v for k, v in ours.items() if k != "fields"} != {
            k: v for k, v in theirs.items() if k != "fields"
        } or ours["fields"].keys() != theirs["fields"].keys():
            return False
        for name, value in ours["fields"].items():
            if value == theirs["fields"][name]:
                continue
            related = TIED_ORDERINGS.get((ours["model"], name))
            if related is None or sorted(value) != sorted(theirs["fields"][name]):
                return False
            values = ordering_values[related[0]]
            if [values[pk] for pk in value] != [values[pk] for pk in theirs["fields"][name]]:
                return False
    return True


def exported_names(manifest: bytes) -> list[str]:
    """Every file name a manifest's records give, in record order."""
    return [record[key] for record in json.loads(manifest) for key in NAME_KEYS if key in record]


def assert_files_copied(target: Path, names: list[str], sources: dict[str, str]) -> None:
    """Each named file is in ``target`` with the bytes of its media source."""
    assert names, "the export names no file"
    assert sorted(names) == sorted(sources), "the oracle names other files"
    for name in names:
        copied = target / name
        assert copied.is_file(), f"{name} was not exported"
        assert copied.read_bytes() == Path(sources[name]).read_bytes(), f"{name} differs"

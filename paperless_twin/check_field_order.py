"""Compare the schema twin's models with the field tables of the paperless-ngx facts sheet.

For every model table in facts §1.4 and §1.5 whose model the twin has, this checks the serialized
field order (concrete local fields with ``serialize=True``, then many-to-many fields), each field's
type, and the null / blank / unique / max_length options the table lists. For the models named by
``--serialize`` it also serializes a stored row with ``serializers.serialize("python", ...)`` and
compares the keys of ``fields`` byte for byte (this needs a seeded database).

Run from anywhere with the twin's environment (DATABASE_URL, PAPERLESS_DATA_DIR, ...)::

    .venv/bin/python paperless_twin/check_field_order.py [--facts PATH] [--serialize LABEL ...]

It exits 1 and lists the differences when any model differs.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

TWIN_DIR = Path(__file__).resolve().parent
DEFAULT_FACTS = Path("/work/shared/facts/paperless-ngx.md")
DEFAULT_SERIALIZED = (
    "documents.document", "documents.tag", "documents.customfieldinstance",
    "paperless.applicationconfiguration", "documents.workflowtrigger", "documents.workflowaction",
)

HEADING = re.compile(r"^#### `(?P<label>[a-z_]+\.[a-z_]+)` — table")
ROW = re.compile(
    r"^\| (?P<pos>\d+|—|pk) \| `(?P<name>\w+)` \| (?P<type>\w+) \| (?P<options>[^|]*)\|"
)


@dataclass
class FactField:
    """One row of a facts field table."""

    name: str
    type: str
    serialized: bool
    options: set[str] = field(default_factory=set)
    max_length: int | None = None


def parse_facts(text: str) -> dict[str, list[FactField]]:
    """The field tables of sections 1.4 and 1.5, by model label, in table order."""
    tables: dict[str, list[FactField]] = {}
    current: list[FactField] | None = None
    for line in text.splitlines():
        if line.startswith("### 1.6"):
            break
        heading = HEADING.match(line)
        if heading:
            current = tables.setdefault(heading["label"], [])
            continue
        row = ROW.match(line)
        if row is None or current is None or row["pos"] == "pk":
            continue
        options = {part.strip() for part in row["options"].split(";") if part.strip()}
        length = next((int(o.split("=")[1]) for o in options if o.startswith("max_length=")), None)
        current.append(FactField(
            name=row["name"], type=row["type"], serialized=row["pos"] != "—",
            options=options, max_length=length,
        ))
    return tables


def _model_fields(model: type) -> list:
    """The fields in serialized order (the python serializer's order), plus unserialized ones."""
    meta = model._meta
    local = [f for f in meta.local_fields if not f.primary_key]
    return local + list(meta.local_many_to_many)


def compare_model(model: type, facts: list[FactField]) -> list[str]:
    """Differences between ``model`` and its facts table (empty when they agree)."""
    problems: list[str] = []
    fields = _model_fields(model)
    expected = [f.name for f in facts if f.serialized]
    actual = [f.name for f in fields if f.serialize]
    if expected != actual:
        problems.append(f"serialized order differs:\n    facts: {expected}\n    twin:  {actual}")
    by_name = {f.name: f for f in fields}
    for fact in facts:
        twin = by_name.get(fact.name)
        if twin is None:
            problems.append(f"{fact.name}: missing in the twin")
            continue
        problems += [f"{fact.name}: {p}" for p in _compare_options(twin, fact)]
    return problems


def _compare_options(twin: object, fact: FactField) -> list[str]:
    problems = []
    if type(twin).__name__ != fact.type:
        problems.append(f"type {type(twin).__name__} != {fact.type}")
    if twin.serialize != fact.serialized:
        problems.append(f"serialize={twin.serialize}, facts say {fact.serialized}")
    is_m2m = twin.many_to_many
    if not is_m2m and twin.null != ("null" in fact.options):
        problems.append(f"null={twin.null}")
    if twin.blank != ("blank" in fact.options) and not (is_m2m and "not blank" in fact.options):
        problems.append(f"blank={twin.blank}")
    # A one-to-one field is unique by its nature; the tables do not repeat it.
    implied_unique = twin.one_to_one
    if twin.unique != ("unique" in fact.options) and not implied_unique:
        problems.append(f"unique={twin.unique}")
    # Foreign keys and slugs are indexed implicitly; the tables list db_index for other fields.
    implicit_index = twin.is_relation or type(twin).__name__ == "SlugField"
    if not implicit_index and twin.db_index != ("db_index" in fact.options):
        problems.append(f"db_index={twin.db_index}")
    if twin.editable != ("editable=False" not in fact.options) and fact.type != "GeneratedField":
        problems.append(f"editable={twin.editable}")
    if fact.max_length is not None and getattr(twin, "max_length", None) != fact.max_length:
        problems.append(f"max_length={twin.max_length} != {fact.max_length}")
    return problems


def compare_serialized(model: type, facts: list[FactField]) -> list[str]:
    """Serialize one stored row of ``model`` and compare its ``fields`` keys with the facts."""
    from django.core import serializers

    manager = getattr(model, "global_objects", model._default_manager)
    row = manager.order_by("pk").first()
    if row is None:
        return ["no stored row to serialize (seed the database first)"]
    keys = list(serializers.serialize("python", [row])[0]["fields"])
    expected = [f.name for f in facts if f.serialized]
    if keys != expected:
        return [f"serialized keys differ:\n    facts: {expected}\n    twin:  {keys}"]
    return []


def main(argv: list[str] | None = None) -> int:
    """Run the comparison; print the differences; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--facts", type=Path, default=DEFAULT_FACTS)
    parser.add_argument("--serialize", nargs="*", default=list(DEFAULT_SERIALIZED),
                        help="model labels to serialize from the database (none: skip)")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(TWIN_DIR / "src"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paperless.settings")
    import django
    from django.apps import apps

    django.setup()
    tables = parse_facts(args.facts.read_text(encoding="utf-8"))
    failures = 0
    for label, facts in tables.items():
        try:
            model = apps.get_model(label)
        except LookupError:
            print(f"SKIP {label}: not installed in the twin")
            continue
        problems = compare_model(model, facts)
        if label in args.serialize:
            problems += compare_serialized(model, facts)
        status = "FAIL" if problems else "ok  "
        print(f"{status} {label} ({len([f for f in facts if f.serialized])} fields)")
        for problem in problems:
            print(f"    {problem}")
        failures += bool(problems)
    print(f"{len(tables)} tables, {failures} with differences")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())

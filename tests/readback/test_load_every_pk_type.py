"""The importer's loader on models keyed by every primary-key type (``tests.pk_types``).

Rows written by Django's JSON serializer, read back as the importer reads a manifest, then
loaded by :class:`~exporter.readback.loader.BatchLoader` into the emptied tables, come out of
Django's serializer as they went in: keys of every type, foreign keys and many-to-many links
across key types, at batch sizes that split a model's rows (sub-millisecond times and
date-times stay apart from the whole second).
"""

from __future__ import annotations

import json

import pytest
from django.core import serializers
from django.db import connection

from exporter.readback.loader import BatchLoader
from tests.pk_types.models import KEYED_MODELS, Membership
from tests.pk_types.population import edge_population, populate

pytestmark = pytest.mark.django_db

MODELS = [*KEYED_MODELS, Membership]


def dump() -> list[dict]:
    """Every row of the models as the importer reads an export's records (JSON values,
    non-integer numbers as float), model by model in pk order."""
    records = []
    for model in MODELS:
        text = serializers.serialize("json", model._base_manager.order_by("pk"))
        records.extend(json.loads(text))
    return records


def as_sets(records: list[dict]) -> list[dict]:
    """The records with each many-to-many list in a fixed order: PostgreSQL and MariaDB list
    related rows that tie under their ordering in their plan's order, which a load changes."""
    m2m = {model._meta.label_lower: {f.name for f in model._meta.many_to_many} for model in MODELS}
    return [
        {
            **record,
            "fields": {
                name: sorted(value, key=repr) if name in m2m[record["model"]] else value
                for name, value in record["fields"].items()
            },
        }
        for record in records
    ]


def empty_tables() -> None:
    """Delete every row of the models, links included."""
    for model in reversed(MODELS):
        for field in model._meta.local_many_to_many:
            field.remote_field.through._base_manager.all().delete()
    for model in reversed(MODELS):
        model._base_manager.update(
            **{"partner": None, "span": None} if model in KEYED_MODELS else {}
        )
    for model in reversed(MODELS):
        model._base_manager.all().delete()


@pytest.mark.parametrize("batch_size", [1, 3, 500])
def test_loaded_rows_are_the_dumped_rows(batch_size):
    populate(edge_population())
    before = dump()
    assert len(before) >= 80
    empty_tables()
    assert dump() == []
    loader = BatchLoader("default", batch_size)
    with connection.constraint_checks_disabled():
        for record in before:
            loader.add(record)
        loader.flush()
    connection.check_constraints(
        table_names=[model._meta.db_table for model in MODELS]
        + [
            field.remote_field.through._meta.db_table
            for model in MODELS
            for field in model._meta.local_many_to_many
        ]
    )
    after = dump()
    assert as_sets(after) == as_sets(before)
    if connection.vendor == "sqlite":
        # Where the server keeps the order of rows that tie under the related model's
        # ordering (half of the models order by a rank that ties), the lists' order too.
        assert after == before
    assert sum(loader.counts.values()) == len(before)

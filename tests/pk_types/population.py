"""Rows of the keyed models: chosen keys, then the links between them, written in bulk.

A :class:`Population` names, per keyed model, its keys in order; per row its rank, the index of
its partner and of its span among the target model's keys (or None), and the indexes of its
linked rows. The edge population holds each type's extreme values on the database under test.
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection, models

from tests.pk_types.models import (
    KEYED_MODELS,
    CharKey,
    DateTimeKey,
    DurationKey,
    IntegerKey,
    Membership,
    PositiveBigIntegerKey,
    UUIDKey,
)

UTC = datetime.UTC


@dataclass
class Rows:
    """One model's rows: keys, and per row its rank, partner, span and links (indexes)."""

    keys: list[Any]
    ranks: list[int] = field(default_factory=list)
    partners: list[int | None] = field(default_factory=list)
    spans: list[int | None] = field(default_factory=list)
    links: list[list[int]] = field(default_factory=list)
    #: Further many-to-many fields (the self links), by name: per row, indexes of this model.
    more: dict[str, list[list[int]]] = field(default_factory=dict)


Population = dict[type[models.Model], Rows]


def target(model: type[models.Model], name: str) -> type[models.Model]:
    """The model that ``model.<name>`` points at."""
    return model._meta.get_field(name).related_model


def largest_integer(model: type[models.Model]) -> int:
    """The largest key the database under test stores in ``model``'s integer key (MariaDB's
    PositiveBigIntegerField is BIGINT UNSIGNED: 2**64 - 1)."""
    return connection.ops.integer_field_range(model._meta.pk.get_internal_type())[1]


def duration_bounds() -> tuple[datetime.timedelta, datetime.timedelta]:
    """The most negative and the longest durations the database under test stores (SQLite
    and MariaDB: a bigint of microseconds; PostgreSQL: an interval, which holds any
    timedelta)."""
    if connection.vendor == "postgresql":
        return datetime.timedelta.min, datetime.timedelta.max
    longest = datetime.timedelta(microseconds=2**63 - 1)
    return -longest, longest


def earliest_year() -> int:
    """MariaDB's DATE and DATETIME start at the year 1000."""
    return 1000 if connection.vendor == "mysql" else 1


def edge_keys() -> dict[str, list[Any]]:
    """Each keyed model's extreme keys on the database under test, by model name."""
    shortest, longest = duration_bounds()
    year = earliest_year()
    return {
        "AutoKey": [1, 2, 3, 2**31 - 1],
        "BigAutoKey": [1, 2**53 + 1, 2**63 - 1],
        "SmallAutoKey": [1, 2, 2**15 - 1],
        "IntegerKey": [-(2**31), -1, 0, 7, 2**31 - 1],
        "BigIntegerKey": [-(2**63), -(2**63) + 1, 0, 2**63 - 2, 2**63 - 1],
        "PositiveBigIntegerKey": sorted(
            {
                0,
                1,
                2**63 - 1,
                largest_integer(PositiveBigIntegerKey) - 1,
                largest_integer(PositiveBigIntegerKey),
            }
        ),
        "CharKey": ["a", "1:Zürich", "2:中文", "3:\U0001f600 emoji", '4:quote"back\\slash', "5:ß"],
        "SlugKey": ["slug", "1-straße", "2-ünï-cödé_x"],
        "EmailKey": ["a@example.com", "1.ü@exämple.org", "2.\u4e2d@example.com"],
        "UUIDKey": [uuid.UUID(int=0), uuid.UUID(int=2**128 - 1), uuid.UUID(int=2**127 + 12345)],
        "DecimalKey": [
            Decimal("-99999999.9999"),
            Decimal("-0.0001"),
            Decimal("0.0000"),
            Decimal("12.5000"),
            Decimal("99999999.9999"),
        ],
        "DateKey": [
            datetime.date(year, 1, 1),
            datetime.date(1970, 1, 1),
            datetime.date(2024, 2, 29),
            datetime.date(9999, 12, 31),
        ],
        "DateTimeKey": [
            datetime.datetime(year, 1, 1, tzinfo=UTC),
            datetime.datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
            datetime.datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=UTC),
            datetime.datetime(2024, 3, 1, tzinfo=UTC),
            datetime.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        ],
        "TimeKey": [
            datetime.time(0),
            datetime.time(0, 0, 0, 1),
            datetime.time(12, 30),
            datetime.time(23, 59, 59, 999999),
        ],
        "DurationKey": [
            shortest,
            datetime.timedelta(days=-1),
            datetime.timedelta(microseconds=-1),
            datetime.timedelta(0),
            datetime.timedelta(microseconds=1),
            datetime.timedelta(days=1, seconds=5),
            longest,
        ],
        "BooleanKey": [False, True],
        "FloatKey": [-1.5e300, -0.5, 0.0, 1e-300, 2.5, 1.7976931348623157e308],
        # A key that is a DurationKey's: filled in by edge_population().
        "OneToOneKey": [],
    }


def edge_population() -> Population:
    """Every keyed model with its extreme keys, every kind of link between them, ties under
    each ordering and rows without links."""
    keys = edge_keys()
    keys["OneToOneKey"] = keys["DurationKey"][1::2]
    population: Population = {}
    for model in KEYED_MODELS:
        own = keys[model.__name__]
        partners = len(keys[target(model, "partner").__name__])
        linked = len(keys[target(model, "links").__name__])
        spans = len(keys["DurationKey"])
        rows = Rows(own)
        for index in range(len(own)):
            rows.ranks.append(index % 2)
            rows.partners.append(None if index == 1 else index % partners)
            rows.spans.append(None if index == 2 else (index * 3) % spans)
            # The first row links nothing; the others a rotating share, the last one all.
            if index == 0:
                rows.links.append([])
            elif index == len(own) - 1:
                rows.links.append(list(range(linked))[::-1])
            else:
                rows.links.append([(index + step) % linked for step in range(index)])
        population[model] = rows
    size = len(keys["CharKey"])
    population[CharKey].more["peers"] = [[(i + 1) % size, i] for i in range(size)]
    size = len(keys["IntegerKey"])
    population[IntegerKey].more["followers"] = [list(range(i)) for i in range(size)]
    return population


def populate(population: Population) -> None:
    """Write ``population``'s rows: keys and ranks, then the foreign keys, then the links."""
    objects: dict[type[models.Model], list[models.Model]] = {}
    for model in KEYED_MODELS:
        rows = population[model]
        pk = model._meta.pk.attname
        made = [
            model(**{pk: key, "rank": rank})
            for key, rank in zip(rows.keys, rows.ranks, strict=True)
        ]
        model._base_manager.bulk_create(made)
        objects[model] = made
    for model in KEYED_MODELS:
        rows = population[model]
        partners = population[target(model, "partner")].keys
        spans = population[DurationKey].keys
        for obj, partner, span in zip(objects[model], rows.partners, rows.spans, strict=True):
            obj.partner_id = None if partner is None else partners[partner]
            obj.span_id = None if span is None else spans[span]
        if objects[model]:
            model._base_manager.bulk_update(objects[model], ["partner", "span"])
        _link(model, "links", rows.keys, population[target(model, "links")].keys, rows.links)
        for name, links in rows.more.items():
            _link(model, name, rows.keys, rows.keys, links)
    uuids = population[UUIDKey].keys
    moments = population[DateTimeKey].keys
    if uuids and moments:
        Membership.objects.bulk_create(
            Membership(member_id=uuids[i % len(uuids)], moment_id=moments[i % len(moments)])
            for i in range(max(len(uuids), len(moments)))
        )


def _link(
    model: type[models.Model],
    name: str,
    sources: list[Any],
    targets: list[Any],
    links: list[list[int]],
) -> None:
    field = model._meta.get_field(name)
    through = field.remote_field.through
    source = f"{field.m2m_field_name()}_id"
    target_name = f"{field.m2m_reverse_field_name()}_id"
    pairs = {(sources[i], targets[j]) for i, chosen in enumerate(links) for j in chosen}
    if field.remote_field.symmetrical and target_name != source:
        # What add() writes for a symmetrical relation: both directions.
        pairs |= {(b, a) for a, b in pairs}
    through._base_manager.bulk_create(through(**{source: a, target_name: b}) for a, b in pairs)

"""Record batches against Django's serializer on models keyed by every primary-key type.

The models (``tests.pk_types``) point at each other by foreign keys and many-to-many fields
across key types. Each model's records must equal ``serializers.serialize("python", ...)``
value for value and type for type, and the manifest bytes the classic exporter's and Django's
JSON serializer's, through both many-to-many strategies: one through-table query per batch
(SQLite, PostgreSQL) and the spill of every link into a temporary SQLite file (MariaDB's;
forced here on every database, with fetches as small as the batches), at batch sizes that
split the rows that tie.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

import pytest
from django.core import serializers
from django.db import connection, transaction
from hypothesis import given, settings
from hypothesis import strategies as st

import exporter.batches
import exporter.records.m2m
from exporter.batches import RecordLayout, django_record_batches
from exporter.writing.encoding import classic_dumps
from tests.helpers.manifests import FUZZ, manifest_bytes
from tests.pk_types.models import (
    KEYED_MODELS,
    BooleanKey,
    DurationKey,
    IntegerKey,
    Membership,
    OneToOneKey,
    UUIDKey,
)
from tests.pk_types.population import (
    Population,
    Rows,
    duration_bounds,
    earliest_year,
    edge_population,
    largest_integer,
    populate,
    target,
)

pytestmark = pytest.mark.django_db

MODELS = [*KEYED_MODELS, Membership]
#: Batch sizes that split the rows tying under a model's ordering, and one that holds them all.
BATCH_SIZES = (1, 2, 3, 500)


#: The many-to-many strategies: the one the engine picks on this database (a query per batch
#: on SQLite and PostgreSQL, the spill on MariaDB, whose unbuffered cursor allows no other), and
#: the spill forced, with fetches as small as the batches.
M2M_PATHS = ("chosen", "spilled")


@contextmanager
def m2m_path(path: str) -> Iterator[None]:
    """Record batches read their many-to-many lists by ``path``, one of :data:`M2M_PATHS`."""
    with pytest.MonkeyPatch.context() as patch:
        if path == "spilled":
            patch.setattr(exporter.batches, "needs_exclusive_connection", lambda queryset: True)
            patch.setattr(exporter.records.m2m, "SPILL_MIN_FETCH_ROWS", 1)
        yield


def typed(value):
    """``value`` with the type of every leaf spelled out: True and 1, or 1.0 and 1, differ."""
    if isinstance(value, dict):
        return {key: typed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [typed(item) for item in value]
    return (type(value).__name__, repr(value))


def assert_records_match_django(
    batch_sizes=BATCH_SIZES, paths=M2M_PATHS, *, json_serializer: bool = True
) -> int:
    """Every model's records, by every path and batch size, are Django's, and so are the
    manifest bytes by every path (and, with ``json_serializer``, their values those of
    Django's JSON serializer); the number of records compared."""
    compared = 0
    for model in MODELS:
        queryset = model._base_manager.order_by("pk")
        expected = serializers.serialize("python", queryset)
        for path in paths:
            with m2m_path(path):
                for batch_size in batch_sizes:
                    got = [
                        r
                        for batch in django_record_batches(queryset, batch_size=batch_size)
                        for r in batch
                    ]
                    where = f"{model.__name__}, {path}, batch size {batch_size}"
                    assert typed(got) == typed(expected), where
                where = f"{model.__name__}'s bytes, {path}, batch size {batch_sizes[0]}"
                written = manifest_bytes(queryset, batch_sizes[0])
                assert written == classic_dumps(expected), where
        if json_serializer:
            # What Django's own JSON serializer writes, value for value.
            django_json = serializers.serialize("json", queryset)
            assert json.loads(written) == json.loads(django_json), model
        compared += len(expected)
    return compared


def test_edge_keys_of_every_type_match_djangos_serializer():
    populate(edge_population())
    assert assert_records_match_django() >= 80
    # The population is what it claims: links of every model, ties, foreign keys to durations.
    for model in KEYED_MODELS:
        records = serializers.serialize("python", model._base_manager.order_by("pk"))
        assert any(r["fields"]["links"] for r in records), model
        assert any(r["fields"]["span"] is not None for r in records), model


def test_a_foreign_key_to_a_duration_key_is_written_with_str():
    populate(edge_population())
    day = datetime.timedelta(days=1, seconds=5)
    [record] = next(django_record_batches(OneToOneKey._base_manager.filter(pk=day)))
    # Django writes the key field's own format for the pk of DurationKey, str() for a relation.
    assert record["pk"] == str(day) == "1 day, 0:00:05"
    spans = [
        r["fields"]["span"]
        for batch in django_record_batches(DurationKey._base_manager.order_by("pk"))
        for r in batch
    ]
    assert str(datetime.timedelta(days=-1)) in spans


# --- generated populations ------------------------------------------------------------------

UTC = datetime.UTC
TEXT = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=12)


def key_strategy(model) -> st.SearchStrategy:
    """Keys of ``model``'s type that the database under test stores."""
    kind = model._meta.pk.get_internal_type()
    if kind in {
        "AutoField",
        "BigAutoField",
        "SmallAutoField",
        "IntegerField",
        "BigIntegerField",
        "PositiveBigIntegerField",
    }:
        low = 1 if "Auto" in kind else connection.ops.integer_field_range(kind)[0]
        high = largest_integer(model)
        return st.one_of(st.integers(low, high), st.sampled_from([low, high, low + 1, high - 1]))
    year = earliest_year()
    shortest, longest = duration_bounds()
    # Text keys are numbered afterwards (see numbered()).
    return {
        "CharField": TEXT,
        "SlugField": st.text("abcxyz-_0123456789äßü中", max_size=10),
        "EmailField": st.text("abc.ü中", max_size=8).map(lambda s: f"{s}@example.com"),
        # MariaDB's UUID type refuses some variants; the edge keys have the nil and max UUIDs.
        "UUIDField": st.uuids(version=4) if connection.vendor == "mysql" else st.uuids(),
        "DecimalField": st.decimals(
            min_value=Decimal("-99999999.9999"),
            max_value=Decimal("99999999.9999"),
            places=4,
            allow_nan=False,
        ),
        "DateField": st.dates(datetime.date(year, 1, 1)),
        "DateTimeField": st.datetimes(
            datetime.datetime(year, 1, 2),
            datetime.datetime(9999, 12, 30),
            timezones=st.sampled_from([UTC, datetime.timezone(datetime.timedelta(hours=-7))]),
        ),
        "TimeField": st.times(),
        "DurationField": st.one_of(
            st.timedeltas(shortest, longest),
            st.sampled_from([shortest, longest, datetime.timedelta(microseconds=-1)]),
        ),
        "BooleanField": st.booleans(),
        # -0.0 + 0.0 is 0.0: the two are one key to a database.
        "FloatField": st.floats(allow_nan=False, allow_infinity=False, allow_subnormal=False).map(
            lambda x: x + 0.0
        ),
    }[kind]


def numbered(kind: str, keys: list) -> list:
    """Text keys made distinct under any collation by a number of their own in front."""
    if kind in {"CharField", "SlugField", "EmailField"}:
        return [f"{index}:{key}" for index, key in enumerate(keys)]
    return keys


@st.composite
def populations(draw) -> Population:
    """Keys of every type, ranks that tie, and links, many per row, between them."""
    keys = {}
    for model in KEYED_MODELS:
        if model is OneToOneKey:
            continue
        kind = model._meta.pk.get_internal_type()
        # IntegerKey follows itself: long lists, split across the spill's fetches.
        most = 30 if model is IntegerKey else 8
        drawn = draw(st.lists(key_strategy(model), max_size=most, unique=True))
        keys[model] = numbered(kind, drawn)
    durations = keys[DurationKey]
    keys[OneToOneKey] = draw(
        st.lists(st.sampled_from(durations), unique=True) if durations else st.just([])
    )
    population: Population = {}
    for model in KEYED_MODELS:
        own = keys[model]
        count = len(own)
        indexes = {
            name: st.none() | st.integers(0, len(keys[target(model, name)]) - 1)
            if keys[target(model, name)]
            else st.none()
            for name in ("partner", "span")
        }
        linked = len(keys[target(model, "links")])
        rows = Rows(
            own,
            ranks=draw(st.lists(st.integers(0, 2), min_size=count, max_size=count)),
            partners=draw(st.lists(indexes["partner"], min_size=count, max_size=count)),
            spans=draw(st.lists(indexes["span"], min_size=count, max_size=count)),
            links=draw(
                st.lists(
                    st.lists(st.integers(0, linked - 1), unique=True) if linked else st.just([]),
                    min_size=count,
                    max_size=count,
                )
            ),
        )
        for name in {"CharKey": ["peers"], "IntegerKey": ["followers"]}.get(model.__name__, []):
            rows.more[name] = draw(
                st.lists(
                    st.lists(st.integers(0, count - 1), unique=True) if count else st.just([]),
                    min_size=count,
                    max_size=count,
                )
            )
        population[model] = rows
    return population


@settings(FUZZ, max_examples=10)
@given(
    population=populations(),
    batch_size=st.integers(1, 4),
    path=st.sampled_from(M2M_PATHS),
)
def test_generated_keys_match_djangos_serializer(population, batch_size, path):
    # One transaction per example, rolled back: the next one starts from empty tables.
    with transaction.atomic():
        populate(population)
        # The JSON serializer is the python one's values through DjangoJSONEncoder, which
        # the edge keys check; here it would only double the queries.
        assert_records_match_django((batch_size, 500), (path,), json_serializer=False)
        transaction.set_rollback(True)


def test_no_keyed_model_falls_back_to_djangos_serializer():
    # The comparisons above are of the engine's own records, not of Django's fallback: a
    # many-to-many field with a through model of its own is left out, as Django leaves it.
    for model in MODELS:
        layout = RecordLayout(model)
        assert "members" not in layout.names
    assert "members" in {f.name for f in UUIDKey._meta.local_many_to_many}


def test_ordering_by_pk_of_a_key_that_is_a_relation_is_by_its_column():
    # OneToOneKey orders by ("-rank", "pk"), its pk a one-to-one field: "pk" orders by the
    # column, where the field's own name would order by DurationKey's ordering (its rank).
    early, late = datetime.timedelta(days=-1), datetime.timedelta(days=2)
    DurationKey._base_manager.bulk_create([DurationKey(key=early, rank=1), DurationKey(key=late)])
    OneToOneKey._base_manager.bulk_create(
        [OneToOneKey(parent_id=late), OneToOneKey(parent_id=early)]
    )
    source = BooleanKey._base_manager.create(key=True)
    source.links.set(OneToOneKey._base_manager.all())
    queryset = BooleanKey._base_manager.all()
    [expected] = serializers.serialize("python", queryset)
    assert expected["fields"]["links"] == [str(early), str(late)]
    for path in M2M_PATHS:
        with m2m_path(path):
            assert typed(next(django_record_batches(queryset))) == typed([expected]), path

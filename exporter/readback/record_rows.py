"""A manifest record -> the values of its INSERT and its many-to-many ids: what Django's
"python" deserializer builds and a raw save (``loaddata``'s) writes.

Most models take the direct way: each value goes through the field methods the deserializer
and the save call (``to_python``, Django's own readers of foreign-key and many-to-many values,
``get_default`` for a field the record leaves out, ``get_db_prep_save``), with no model
instance built in between. A model whose instances do more than hold their values (its own
``__init__``, ``pre_init`` or ``post_init`` receivers, a field whose attribute is not the plain
value, such as a file) is built by Django's deserializer and read back from the instance.
"""

from __future__ import annotations

import inspect
import re
from functools import cache
from typing import Any

from django.core.serializers.base import (
    DeserializationError,
    M2MDeserializationError,
    deserialize_fk_value,
    deserialize_m2m_values,
)
from django.core.serializers.python import Deserializer
from django.db import connections, models
from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
from django.db.models.query_utils import DeferredAttribute
from django.db.models.signals import post_init, pre_init

# DjangoJSONEncoder cuts microseconds to milliseconds but keeps ".000" when the value had any:
# "12:00:00.000Z" was between 1 and 999 microseconds past the second, "12:00:00Z" exactly on it.
SUB_MILLISECOND = re.compile(r"T?\d\d:\d\d:\d\d\.000(?:Z|[+-]\d\d:\d\d)?$")
#: The attribute descriptors that store what is assigned, unchanged.
_PLAIN_DESCRIPTORS = (DeferredAttribute, ForeignKeyDeferredAttribute)


def says_sub_millisecond(value: Any) -> bool:
    """Whether a manifest value is a date-time or time "a fraction of a millisecond" past."""
    return (
        type(value) is str
        and value.endswith(("0Z", "0"))
        and SUB_MILLISECOND.search(value) is not None
    )


@cache
def is_moment(field: models.Field) -> bool:
    """Whether values of ``field`` (a relation's: those of the field it points at, or its
    related model's key) are date-times or times."""
    while field.is_relation:
        field = field.remote_field.model._meta.pk if field.many_to_many else field.target_field
    return isinstance(field, models.DateTimeField | models.TimeField)


def keep_sub_milliseconds(
    record: dict[str, Any], meta: Any, values: dict[str, Any], m2m_data: dict[str, list]
) -> None:
    """Load every date-time or time the manifest says was a fraction of a millisecond past
    (its key, its fields, its foreign keys, its many-to-many ids) as microsecond 1, not 0.

    ``values`` holds the record's deserialized values by attribute name, ``m2m_data`` its
    many-to-many ids by field name; both are changed in place. That keeps the fact, so a
    re-export writes the same ".000" again: the round trip stays byte-exact although the
    microseconds were never exported, and two keys that differ only in it (12:00:00 and
    12:00:00.000001) stay two keys.
    """
    if says_sub_millisecond(record["pk"]) and is_moment(meta.pk):
        attname = meta.pk.attname
        values[attname] = values[attname].replace(microsecond=1)
    for name, value in record["fields"].items():
        if type(value) is list:
            ids = m2m_data.get(name)
            if (
                ids
                and any(says_sub_millisecond(v) for v in value)
                and is_moment(meta.get_field(name))
            ):
                m2m_data[name] = [
                    i.replace(microsecond=1) if says_sub_millisecond(v) else i
                    for v, i in zip(value, ids, strict=True)
                ]
        elif says_sub_millisecond(value):
            field = meta.get_field(name)
            if is_moment(field):
                values[field.attname] = values[field.attname].replace(microsecond=1)


def builds_plainly(model: type[models.Model]) -> bool:
    """Whether an instance of ``model`` built from values only holds them: no ``__init__`` of
    its own, no receivers of its ``pre_init`` or ``post_init``, and every column's attribute
    the plain value assigned to it."""
    if model.__init__ is not models.Model.__init__:
        return False
    if pre_init.has_listeners(model) or post_init.has_listeners(model):
        return False
    return all(
        type(inspect.getattr_static(model, field.attname, None)) in _PLAIN_DESCRIPTORS
        for field in model._meta.concrete_fields
    )


class RecordRows:
    """The INSERT rows of one model's records: :attr:`fields` are the columns, in order."""

    def __init__(self, model: type[models.Model], using: str) -> None:
        meta = model._meta
        self.model = model
        self.using = using
        self.connection = connections[using]
        #: The columns an INSERT writes (generated columns are the database's to fill).
        self.fields = [f for f in meta.local_concrete_fields if not f.generated]
        #: Whether a row needs Django's own insert: a column with an SQL placeholder of its own.
        self.needs_instances = any(hasattr(f, "get_placeholder") for f in self.fields)
        self.direct = not self.needs_instances and builds_plainly(model)
        self._prepare = [(f, f.attname, f.get_db_prep_save) for f in self.fields]
        # How each field a record may carry is read: "m2m", "fk" or "value", as the
        # deserializer tells them apart.
        self._kinds: dict[str, tuple[models.Field, str]] = {}
        for field in [*meta.concrete_fields, *meta.many_to_many]:
            if isinstance(field.remote_field, models.ManyToManyRel):
                kind = "m2m"
            elif isinstance(field.remote_field, models.ManyToOneRel):
                kind = "fk"
            else:
                kind = "value"
            self._kinds[field.name] = (field, kind)

    def row(self, record: dict[str, Any]) -> tuple[Any, Any, dict[str, list]]:
        """``(row, pk, many-to-many ids by field name)`` of ``record``: the row is the list of
        prepared column values, or the model instance where :attr:`needs_instances`."""
        connection = self.connection
        if self.direct:
            values, m2m_data = self.values(record)
            for field, attname, _ in self._prepare:
                if attname not in values:
                    values[attname] = field.get_default()
            keep_sub_milliseconds(record, self.model._meta, values, m2m_data)
            pk = values.get(self.model._meta.pk.attname)
            return [prepare(values[a], connection) for _, a, prepare in self._prepare], pk, m2m_data
        [built] = Deserializer([record], using=self.using, ignorenonexistent=True)
        instance = built.object
        keep_sub_milliseconds(record, instance._meta, instance.__dict__, built.m2m_data)
        if self.needs_instances:
            return instance, instance.pk, built.m2m_data
        row = [prepare(getattr(instance, a), connection) for _, a, prepare in self._prepare]
        return row, instance.pk, built.m2m_data

    def values(self, record: dict[str, Any]) -> tuple[dict[str, Any], dict[str, list]]:
        """The record's values by attribute name and its many-to-many ids, each read as the
        deserializer reads it; DeserializationError, as the deserializer raises it."""
        label, pk = record["model"], record.get("pk")
        values: dict[str, Any] = {}
        m2m_data: dict[str, list] = {}
        if "pk" in record:
            field = self.model._meta.pk
            try:
                values[field.attname] = field.to_python(pk)
            except Exception as exc:
                raise DeserializationError.WithData(exc, label, pk, None) from None
        using = self.using
        for name, value in record["fields"].items():
            known = self._kinds.get(name)
            if known is None:
                continue  # unknown fields are refused before the load
            field, kind = known
            if kind == "m2m":
                try:
                    m2m_data[name] = deserialize_m2m_values(field, value, using, False)
                except M2MDeserializationError as exc:
                    raise DeserializationError.WithData(
                        exc.original_exc, label, pk, exc.pk
                    ) from None
                continue
            try:
                if kind == "fk":
                    values[field.attname] = deserialize_fk_value(field, value, using, False)
                else:
                    values[name] = field.to_python(value)
            except Exception as exc:
                raise DeserializationError.WithData(exc, label, pk, value) from None
        return values, m2m_data

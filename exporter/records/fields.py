"""How Django's "python" serializer turns one column value into a manifest value.

The serializer calls ``field.value_from_object(obj)`` and keeps the result when it is a
"protected" type (None, numbers, Decimal, dates and times); anything else goes through
``field.value_to_string(obj)``. For the stock field classes that is a pure function of the column
value, so a record can be built from a ``values_list`` row without a model instance. This module
decides, per field, whether that holds and which function it is.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.db import models
from django.utils.duration import duration_string
from django.utils.encoding import is_protected_type

ValueConverter = Callable[[Any], Any]

# Attribute descriptors that return the raw column value unchanged.
_PLAIN_DESCRIPTORS = (
    models.query_utils.DeferredAttribute,
    models.fields.related_descriptors.ForeignKeyDeferredAttribute,
)


def _as_string(value: Any) -> Any:
    # Field.value_to_string is str(value_from_object(obj)).
    if value is None or type(value) is str or is_protected_type(value):
        return value
    return str(value)


def _as_duration(value: Any) -> Any:
    return value if value is None else duration_string(value)


def _unchanged(value: Any) -> Any:
    return value


# Which value_to_string implementation a field class inherits -> the same function on the value.
# Date, datetime and time values are always protected, so their value_to_string is never reached.
_VALUE_TO_STRING = {
    models.Field.value_to_string: _as_string,
    models.JSONField.value_to_string: _unchanged,
    models.DurationField.value_to_string: _as_duration,
    models.DateField.value_to_string: _as_string,
    models.DateTimeField.value_to_string: _as_string,
    models.TimeField.value_to_string: _as_string,
}


# Value types each converter returns as they are: a batch's column made only of these needs no
# call per value (CharField and TextField columns hold str or None all but always).
_UNCHANGED_TYPES: dict[ValueConverter, frozenset[type]] = {
    _as_string: frozenset({str, type(None)}),
    _as_duration: frozenset({type(None)}),
}


def convert_column(converter: ValueConverter, values: Sequence[Any]) -> Sequence[Any]:
    """``converter`` applied to each value of one column of a batch, in order.

    The result equals ``[converter(v) for v in values]``; when no value would change, the type
    check runs in C and the column comes back as it is.
    """
    unchanged = _UNCHANGED_TYPES.get(converter)
    if unchanged is not None and unchanged.issuperset(map(type, values)):
        return values
    return list(map(converter, values))


class NotReproducible(Exception):
    """A field whose serialized value cannot be computed from its column value alone."""


def value_converter(field: models.Field) -> ValueConverter | None:
    """The function from column value to manifest value, or None when it is the identity.

    Raises NotReproducible for fields that need a model instance (custom descriptors, a custom
    value_from_object or value_to_string, binary data), so the caller falls back to Django.
    """
    if field.is_relation:
        return _relation_converter(field)
    if type(field).value_from_object is not models.Field.value_from_object:
        raise NotReproducible(f"{field} has its own value_from_object")
    if not issubclass(field.descriptor_class, _PLAIN_DESCRIPTORS):
        raise NotReproducible(f"{field} uses the descriptor {field.descriptor_class.__name__}")
    converter = _VALUE_TO_STRING.get(type(field).value_to_string)
    if converter is None:
        raise NotReproducible(f"{field} has its own value_to_string")
    if isinstance(field, models.BinaryField):
        raise NotReproducible(f"{field} is binary")
    if converter is _as_string and isinstance(
        field,
        models.IntegerField
        | models.BooleanField
        | models.FloatField
        | models.DecimalField
        | models.DateField
        | models.TimeField,
    ):
        # These columns always come back as protected types (or None).
        return None
    if converter is _unchanged:
        return None
    return converter


def _relation_converter(field: models.Field) -> ValueConverter | None:
    """A foreign key's: its column holds the target's values (the target's converters run),
    which the serializer keeps when protected and otherwise writes with the foreign key's own
    ``value_to_string``, ``str()``: a duration is ``"1 day, 0:00:05"`` there, not the
    duration field's ``"1 00:00:05"``."""
    if field.many_to_many or field.one_to_many:
        raise NotReproducible(f"{field} is not a concrete column")
    if type(field).value_from_object is not models.Field.value_from_object:
        raise NotReproducible(f"{field} has its own value_from_object")
    if type(field).value_to_string is not models.Field.value_to_string:
        raise NotReproducible(f"{field} has its own value_to_string")
    target = field.target_field
    if isinstance(target, models.JSONField):
        raise NotReproducible(f"{field} points at a JSON key")
    # Raises for a target whose values need an instance; None when they are always protected.
    return None if value_converter(target) is None else _as_string

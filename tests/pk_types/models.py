"""One model per primary-key type, each pointing at models keyed by other types.

Every model has a foreign key to the next model of :data:`KEYED_MODELS` (``partner``), one to
the model keyed by a duration (``span``: Django writes such a key with ``str()``, not with the
duration field's own format) and a many-to-many field to the model after next (``links``). Half
the models order by ``rank`` alone, so that related rows tie under the ordering; the others by
``-rank`` then pk. ``CharKey`` has a symmetrical self many-to-many field, ``IntegerKey`` an
asymmetrical one, and ``UUIDKey`` one through an explicit model, which Django's serializer
leaves out of the records (the through model's rows are records of their own).
"""

from __future__ import annotations

from django.db import models

# The models in ring order; partner -> next, links -> the one after next.
NAMES = [
    "AutoKey",
    "BigAutoKey",
    "SmallAutoKey",
    "IntegerKey",
    "BigIntegerKey",
    "PositiveBigIntegerKey",
    "CharKey",
    "SlugKey",
    "EmailKey",
    "UUIDKey",
    "DecimalKey",
    "DateKey",
    "DateTimeKey",
    "TimeKey",
    "DurationKey",
    "BooleanKey",
    "FloatKey",
    "OneToOneKey",
]


def _partner(name: str) -> str:
    return NAMES[(NAMES.index(name) + 1) % len(NAMES)]


def _linked(name: str) -> str:
    return NAMES[(NAMES.index(name) + 2) % len(NAMES)]


class Keyed(models.Model):
    """What every keyed model has besides its key: a rank that ties, and its links."""

    rank = models.SmallIntegerField(default=0)

    class Meta:
        abstract = True
        ordering = ["rank"]


class Ranked(Keyed):
    """A keyed model ordered without ties."""

    class Meta:
        abstract = True
        ordering = ["-rank", "pk"]


def _links(name: str) -> dict[str, models.Field]:
    return {
        "partner": models.ForeignKey(
            _partner(name), models.CASCADE, null=True, blank=True, related_name="+"
        ),
        "span": models.ForeignKey(
            "DurationKey", models.CASCADE, null=True, blank=True, related_name="+"
        ),
        "links": models.ManyToManyField(_linked(name), blank=True, related_name="+"),
    }


def _keyed(
    name: str, key: models.Field, *, key_name: str = "key", **more: models.Field
) -> type[models.Model]:
    base = Keyed if NAMES.index(name) % 2 == 0 else Ranked
    attrs = {"__module__": __name__, "__qualname__": name, key_name: key, **_links(name), **more}
    return type(name, (base,), attrs)


AutoKey = _keyed("AutoKey", models.AutoField(primary_key=True))
BigAutoKey = _keyed("BigAutoKey", models.BigAutoField(primary_key=True))
SmallAutoKey = _keyed("SmallAutoKey", models.SmallAutoField(primary_key=True))
IntegerKey = _keyed(
    "IntegerKey",
    models.IntegerField(primary_key=True),
    followers=models.ManyToManyField("self", symmetrical=False, blank=True, related_name="+"),
)
BigIntegerKey = _keyed("BigIntegerKey", models.BigIntegerField(primary_key=True))
PositiveBigIntegerKey = _keyed(
    "PositiveBigIntegerKey", models.PositiveBigIntegerField(primary_key=True)
)
CharKey = _keyed(
    "CharKey",
    models.CharField(primary_key=True, max_length=60),
    peers=models.ManyToManyField("self", blank=True),
)
SlugKey = _keyed("SlugKey", models.SlugField(primary_key=True, max_length=60, allow_unicode=True))
EmailKey = _keyed("EmailKey", models.EmailField(primary_key=True, max_length=80))
UUIDKey = _keyed(
    "UUIDKey",
    models.UUIDField(primary_key=True),
    members=models.ManyToManyField(
        "DateTimeKey", through="Membership", blank=True, related_name="+"
    ),
)
DecimalKey = _keyed(
    "DecimalKey", models.DecimalField(primary_key=True, max_digits=12, decimal_places=4)
)
DateKey = _keyed("DateKey", models.DateField(primary_key=True))
DateTimeKey = _keyed("DateTimeKey", models.DateTimeField(primary_key=True))
TimeKey = _keyed("TimeKey", models.TimeField(primary_key=True))
DurationKey = _keyed("DurationKey", models.DurationField(primary_key=True))
BooleanKey = _keyed("BooleanKey", models.BooleanField(primary_key=True))
FloatKey = _keyed("FloatKey", models.FloatField(primary_key=True))
# A key that is itself a relation: Django's serializer writes it with str().
OneToOneKey = _keyed(
    "OneToOneKey",
    models.OneToOneField("DurationKey", models.CASCADE, primary_key=True, related_name="+"),
    key_name="parent",
)


class Membership(models.Model):
    """The explicit through model of ``UUIDKey.members``."""

    member = models.ForeignKey(UUIDKey, models.CASCADE, related_name="+")
    moment = models.ForeignKey(DateTimeKey, models.CASCADE, related_name="+")
    role = models.CharField(max_length=20, default="")

    class Meta:
        ordering = ["pk"]


#: The keyed models, in ring order.
KEYED_MODELS: list[type[models.Model]] = [globals()[name] for name in NAMES]

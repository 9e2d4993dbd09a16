"""Custom fields and their per-document values (facts §1.4)."""

from __future__ import annotations

from django.db import models
from django.db.models import Case, When
from django.db.models.functions import Cast, Substr
from django.utils import timezone

from documents.models.base import SoftDeleteModel
from documents.models.document import Document

__all__ = ["CustomField", "CustomFieldInstance"]


class CustomField(models.Model):
    """A user-defined document attribute of one data type."""

    DATA_TYPES = (
        ("string", "String"),
        ("url", "URL"),
        ("date", "Date"),
        ("boolean", "Boolean"),
        ("integer", "Integer"),
        ("float", "Float"),
        ("monetary", "Monetary"),
        ("documentlink", "Document Link"),
        ("select", "Select"),
        ("longtext", "Long Text"),
    )

    created = models.DateTimeField(default=timezone.now, db_index=True, editable=False)
    name = models.CharField(max_length=128)
    data_type = models.CharField(max_length=50, choices=DATA_TYPES, editable=False)
    # For select fields: {"select_options": [{"id": ..., "label": ...}, ...]}.
    extra_data = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ("created",)
        verbose_name = "custom field"
        verbose_name_plural = "custom fields"
        constraints = [
            models.UniqueConstraint(fields=["name"], name="documents_customfield_unique_name"),
        ]

    def __str__(self) -> str:
        return f"{self.name} : {self.data_type}"


def _amount(expression: models.Expression) -> Cast:
    """``expression`` cast to the decimal type of the monetary amount."""
    return Cast(expression, output_field=models.DecimalField(max_digits=65, decimal_places=2))


# "EUR12.50" → 12.50 and "12.50" → 12.50: a value that does not start with a digit carries a
# three-letter currency code in front. Written with portable functions only (a regex match, a
# substring and a cast) so that SQLite, PostgreSQL and MariaDB can all compute the stored column.
MONETARY_AMOUNT = Case(
    When(value_monetary__regex=r"^\d+", then=_amount(Substr("value_monetary", 1))),
    default=_amount(Substr("value_monetary", 4)),
    output_field=models.DecimalField(max_digits=65, decimal_places=2),
)


class CustomFieldInstance(SoftDeleteModel):
    """One document's value of one custom field, in the column of the field's data type."""

    created = models.DateTimeField(default=timezone.now, db_index=True, editable=False)
    document = models.ForeignKey(
        Document, blank=False, null=False, on_delete=models.CASCADE,
        related_name="custom_fields", editable=False,
    )
    field = models.ForeignKey(
        CustomField, blank=False, null=False, on_delete=models.CASCADE,
        related_name="fields", editable=False,
    )
    value_text = models.CharField(max_length=128, null=True)
    value_bool = models.BooleanField(null=True)
    value_url = models.URLField(null=True)
    value_date = models.DateField(null=True)
    value_int = models.IntegerField(null=True)
    value_float = models.FloatField(null=True)
    value_monetary = models.CharField(null=True, max_length=128)
    value_monetary_amount = models.GeneratedField(
        expression=MONETARY_AMOUNT,
        output_field=models.DecimalField(max_digits=65, decimal_places=2),
        db_persist=True,
    )
    value_document_ids = models.JSONField(null=True)
    value_select = models.CharField(null=True, max_length=16)
    value_long_text = models.TextField(null=True)

    class Meta:
        ordering = ("created",)
        verbose_name = "custom field instance"
        verbose_name_plural = "custom field instances"
        constraints = [
            models.UniqueConstraint(
                fields=["document", "field"],
                name="documents_customfieldinstance_unique_document_field",
            ),
        ]
        indexes = [
            models.Index(fields=["field", "value_date"]),
            models.Index(fields=["field", "value_int"]),
            models.Index(fields=["field", "value_float"]),
            models.Index(fields=["field", "value_monetary_amount"]),
        ]

    def __str__(self) -> str:
        return f"{self.field.name} : {self.value}"

    #: The value column of each data type.
    VALUE_COLUMNS = {
        "string": "value_text",
        "url": "value_url",
        "date": "value_date",
        "boolean": "value_bool",
        "integer": "value_int",
        "float": "value_float",
        "monetary": "value_monetary",
        "documentlink": "value_document_ids",
        "select": "value_select",
        "longtext": "value_long_text",
    }

    @property
    def value(self) -> object:
        """The value in the column of this instance's field type."""
        return getattr(self, self.VALUE_COLUMNS[self.field.data_type])


"""Saved views, their filter rules, and per-user UI settings (facts §1.4)."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import models

from documents.models.base import ModelWithOwner

__all__ = ["FILTER_RULE_TYPES", "SavedView", "SavedViewFilterRule", "UiSettings"]

FILTER_RULE_TYPES = tuple(enumerate((
    "title contains", "content contains", "ASN is", "correspondent is", "document type is",
    "is in inbox", "has tag", "has any tag", "created before", "created after",
    "created year is", "created month is", "created day is", "added before", "added after",
    "modified before", "modified after", "does not have tag", "does not have ASN",
    "title or content contains", "fulltext query", "more like this", "has tags in",
    "ASN greater than", "ASN less than", "storage path is", "has correspondent in",
    "does not have correspondent in", "has document type in", "does not have document type in",
    "has storage path in", "does not have storage path in", "owner is", "has owner in",
    "does not have owner", "does not have owner in", "has custom field value",
    "is shared by me", "has custom fields", "has custom field in",
    "does not have custom field in", "does not have custom field", "custom fields query",
    "created to", "created from", "added to", "added from", "mime type is",
    "simple title search", "simple text search",
)))


class SavedView(ModelWithOwner):
    """A named document list: sorting, display and filter rules."""

    DISPLAY_MODES = (
        ("table", "Table"),
        ("smallCards", "Small Cards"),
        ("largeCards", "Large Cards"),
    )

    name = models.CharField(max_length=128)
    sort_field = models.CharField(max_length=128, null=True, blank=True)
    sort_reverse = models.BooleanField(default=False)
    page_size = models.PositiveIntegerField(null=True, blank=True)
    display_mode = models.CharField(
        max_length=128, null=True, blank=True, choices=DISPLAY_MODES,
    )
    # A list of column names such as "title" or "custom_field_<id>".
    display_fields = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ("name",)
        verbose_name = "saved view"
        verbose_name_plural = "saved views"

    def __str__(self) -> str:
        return f"SavedView {self.name}"


class SavedViewFilterRule(models.Model):
    """One filter of a saved view."""

    saved_view = models.ForeignKey(
        SavedView, on_delete=models.CASCADE, related_name="filter_rules",
    )
    rule_type = models.PositiveSmallIntegerField(choices=FILTER_RULE_TYPES)
    value = models.CharField(max_length=255, blank=True, null=True)

    class Meta:
        verbose_name = "filter rule"
        verbose_name_plural = "filter rules"

    def __str__(self) -> str:
        return f"SavedViewFilterRule: {self.rule_type} : {self.value}"


class UiSettings(models.Model):
    """The web UI's settings document of one user."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="ui_settings")
    settings = models.JSONField(null=True)

    def __str__(self) -> str:
        return self.user.username

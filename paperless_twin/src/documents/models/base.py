"""Owner and matching bases, and the four matching models (facts §1.2, §1.4).

The third-party abstract models are imported before any base here is defined: Django orders a
model's fields by when each field object was created, so django-soft-delete's fields come before
``owner`` and django-treenode's ``tn_*`` fields before the matching fields, as in paperless.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import models
from django.db.models import Q
from django_softdelete.models import SoftDeleteModel
from treenode.models import TreeNodeModel

__all__ = [
    "Correspondent",
    "DocumentType",
    "MatchingModel",
    "ModelWithOwner",
    "SoftDeleteModel",
    "StoragePath",
    "Tag",
]


class ModelWithOwner(models.Model):
    """A row that may belong to a user (kept, unowned, when that user goes)."""

    owner = models.ForeignKey(
        User, blank=True, null=True, default=None, on_delete=models.SET_NULL,
    )

    class Meta:
        abstract = True


class MatchingModel(ModelWithOwner):
    """A named object paperless assigns to documents by matching their content."""

    MATCH_NONE = 0
    MATCH_ANY = 1
    MATCH_ALL = 2
    MATCH_LITERAL = 3
    MATCH_REGEX = 4
    MATCH_FUZZY = 5
    MATCH_AUTO = 6

    MATCHING_ALGORITHMS = (
        (MATCH_NONE, "None"),
        (MATCH_ANY, "Any word"),
        (MATCH_ALL, "All words"),
        (MATCH_LITERAL, "Exact match"),
        (MATCH_REGEX, "Regular expression"),
        (MATCH_FUZZY, "Fuzzy word"),
        (MATCH_AUTO, "Automatic"),
    )

    name = models.CharField(max_length=128)
    match = models.CharField(max_length=256, blank=True)
    matching_algorithm = models.PositiveSmallIntegerField(
        choices=MATCHING_ALGORITHMS, default=MATCH_ANY,
    )
    is_insensitive = models.BooleanField(default=True)

    class Meta:
        abstract = True
        ordering = ("name",)
        constraints = [
            models.UniqueConstraint(
                fields=["name", "owner"], name="%(app_label)s_%(class)s_unique_name_owner",
            ),
            # Names of unowned objects are unique on their own (NULL owners never collide above).
            models.UniqueConstraint(
                fields=["name"], condition=Q(owner__isnull=True),
                name="%(app_label)s_%(class)s_name_uniq",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Correspondent(MatchingModel):
    """Who a document is from or to."""

    class Meta(MatchingModel.Meta):
        verbose_name = "correspondent"
        verbose_name_plural = "correspondents"


class Tag(MatchingModel, TreeNodeModel):
    """A label; tags form a tree (django-treenode keeps the ``tn_*`` columns)."""

    color = models.CharField(max_length=7, default="#a6cee3")
    is_inbox_tag = models.BooleanField(default=False)

    class Meta(MatchingModel.Meta):
        verbose_name = "tag"
        verbose_name_plural = "tags"

    def __str__(self) -> str:
        return self.name


class DocumentType(MatchingModel):
    """The kind of a document (invoice, letter, ...)."""

    class Meta(MatchingModel.Meta):
        verbose_name = "document type"
        verbose_name_plural = "document types"


class StoragePath(MatchingModel):
    """A file-name template for the documents assigned to it."""

    path = models.TextField()

    class Meta(MatchingModel.Meta):
        verbose_name = "storage path"
        verbose_name_plural = "storage paths"

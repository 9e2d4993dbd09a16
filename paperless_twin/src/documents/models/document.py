"""Documents, their notes and share links (facts §1.4, §2.2)."""

from __future__ import annotations

import datetime

from django.contrib.auth.models import User
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Length
from django.utils import timezone

from documents.models.base import (
    Correspondent,
    DocumentType,
    ModelWithOwner,
    SoftDeleteModel,
    StoragePath,
    Tag,
)

__all__ = ["Document", "Note", "ShareLink", "ShareLinkBundle"]

FILE_VERSIONS = (("archive", "Archive"), ("original", "Original"))


class Document(SoftDeleteModel, ModelWithOwner):
    """A stored document: its metadata, and the names of its files under MEDIA_ROOT."""

    MAX_STORED_FILENAME_LENGTH = 1024

    correspondent = models.ForeignKey(
        Correspondent, blank=True, null=True, related_name="documents",
        on_delete=models.SET_NULL,
    )
    storage_path = models.ForeignKey(
        StoragePath, blank=True, null=True, related_name="documents", on_delete=models.SET_NULL,
    )
    title = models.CharField(max_length=128, blank=True, db_index=True)
    document_type = models.ForeignKey(
        DocumentType, blank=True, null=True, related_name="documents",
        on_delete=models.SET_NULL,
    )
    content = models.TextField(blank=True)
    # Kept by the database; paperless never serializes it, so exports do not carry it.
    content_length = models.GeneratedField(
        expression=Length("content"),
        output_field=models.PositiveIntegerField(default=0),
        db_persist=True,
        serialize=False,
    )
    mime_type = models.CharField(max_length=256, editable=False)
    checksum = models.CharField(max_length=64, editable=False, db_index=True)
    archive_checksum = models.CharField(max_length=64, editable=False, blank=True, null=True)
    page_count = models.PositiveIntegerField(
        blank=False, null=True, db_index=True, validators=[MinValueValidator(1)],
    )
    created = models.DateField(default=datetime.date.today, db_index=True)
    modified = models.DateTimeField(auto_now=True, editable=False, db_index=True)
    added = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    filename = models.FilePathField(
        max_length=MAX_STORED_FILENAME_LENGTH, editable=False, default=None, unique=True,
        null=True,
    )
    archive_filename = models.FilePathField(
        max_length=MAX_STORED_FILENAME_LENGTH, editable=False, default=None, unique=True,
        null=True,
    )
    original_filename = models.CharField(
        max_length=1024, editable=False, default=None, null=True,
    )
    archive_serial_number = models.PositiveIntegerField(
        blank=True, null=True, unique=True,
        validators=[MaxValueValidator(0xFFFF_FFFF), MinValueValidator(0)],
    )
    root_document = models.ForeignKey(
        "self", blank=True, null=True, related_name="versions", on_delete=models.CASCADE,
    )
    version_index = models.PositiveIntegerField(blank=True, null=True, db_index=True)
    version_label = models.CharField(max_length=64, blank=True, null=True)
    tags = models.ManyToManyField(Tag, related_name="documents", blank=True)

    class Meta:
        ordering = ("-created",)
        verbose_name = "document"
        verbose_name_plural = "documents"
        constraints = [
            models.UniqueConstraint(
                fields=["root_document", "version_index"],
                condition=Q(root_document__isnull=False, version_index__isnull=False),
                name="documents_document_root_version_index_uniq",
            ),
        ]
        indexes = [models.Index(fields=["owner", "created"])]

    def __str__(self) -> str:
        # paperless's export names start from this string (facts §3.4).
        parts = [self.created.isoformat()]
        if self.correspondent_id:
            parts.append(self.correspondent.name)
        if self.title:
            parts.append(self.title)
        return " ".join(parts)


class Note(SoftDeleteModel):
    """A user's comment on a document."""

    note = models.TextField(blank=True)
    created = models.DateTimeField(default=timezone.now, db_index=True)
    document = models.ForeignKey(
        Document, blank=True, null=True, related_name="notes", on_delete=models.CASCADE,
    )
    user = models.ForeignKey(
        User, blank=True, null=True, related_name="notes", on_delete=models.SET_NULL,
    )

    class Meta:
        ordering = ("created",)
        verbose_name = "note"
        verbose_name_plural = "notes"

    def __str__(self) -> str:
        return self.note


class ShareLink(SoftDeleteModel):
    """A public link to one document's file."""

    created = models.DateTimeField(
        default=timezone.now, db_index=True, blank=True, editable=False,
    )
    expiration = models.DateTimeField(blank=True, null=True, db_index=True)
    slug = models.SlugField(blank=True, editable=False, unique=True)
    document = models.ForeignKey(
        Document, blank=True, related_name="share_links", on_delete=models.CASCADE,
    )
    file_version = models.CharField(max_length=50, choices=FILE_VERSIONS, default="archive")
    owner = models.ForeignKey(
        User, blank=True, null=True, related_name="share_links", on_delete=models.SET_NULL,
    )

    class Meta:
        ordering = ("created",)
        verbose_name = "share link"
        verbose_name_plural = "share links"

    def __str__(self) -> str:
        return f"Share Link for {self.document.title}"


class ShareLinkBundle(models.Model):
    """A public link to a zip of several documents, built into SHARE_LINK_BUNDLE_DIR."""

    STATUSES = (
        ("pending", "Pending"),
        ("processing", "Processing"),
        ("ready", "Ready"),
        ("failed", "Failed"),
    )

    created = models.DateTimeField(
        default=timezone.now, db_index=True, blank=True, editable=False,
    )
    expiration = models.DateTimeField(blank=True, null=True, db_index=True)
    slug = models.SlugField(blank=True, editable=False, unique=True)
    owner = models.ForeignKey(
        User, blank=True, null=True, related_name="share_link_bundles",
        on_delete=models.SET_NULL,
    )
    file_version = models.CharField(max_length=50, choices=FILE_VERSIONS, default="archive")
    status = models.CharField(max_length=50, choices=STATUSES, default="pending")
    size_bytes = models.PositiveIntegerField(blank=True, null=True)
    last_error = models.JSONField(blank=True, null=True, default=None)
    # Relative to SHARE_LINK_BUNDLE_DIR: "<slug>.zip", or "" before the zip is built.
    file_path = models.CharField(max_length=512, blank=True)
    built_at = models.DateTimeField(blank=True, null=True)
    documents = models.ManyToManyField(Document, related_name="share_link_bundles")

    class Meta:
        ordering = ("-created",)
        verbose_name = "share link bundle"
        verbose_name_plural = "share link bundles"

    def __str__(self) -> str:
        return f"Share link bundle {self.slug}"

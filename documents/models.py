"""Models of the reference document archive.

They are shaped after the archives the exporter is built for (paperless-ngx being the best
known): every kind of field and relation such an archive's manifest carries appears here at least
once: foreign keys, a self-referencing hierarchy, many-to-many relations with a model ordering,
JSON, UUID, Decimal, duration, date and datetime columns, secrets, and a soft delete.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import User
from django.db import models
from django.utils import timezone


class ModelWithOwner(models.Model):
    """A model whose objects a user may own (``owner``, None for no one in particular)."""

    owner = models.ForeignKey(User, blank=True, null=True, default=None, on_delete=models.SET_NULL)

    class Meta:
        abstract = True


class MatchingModel(ModelWithOwner):
    """A label an archive assigns to incoming documents by matching their text."""

    MATCH_NONE = 0
    MATCH_ANY = 1
    MATCH_ALL = 2
    MATCH_LITERAL = 3
    MATCH_REGEX = 4
    MATCH_FUZZY = 5
    MATCH_AUTO = 6
    MATCHING_ALGORITHMS = (
        (MATCH_NONE, "None"),
        (MATCH_ANY, "Any"),
        (MATCH_ALL, "All"),
        (MATCH_LITERAL, "Exact"),
        (MATCH_REGEX, "Regular expression"),
        (MATCH_FUZZY, "Fuzzy word"),
        (MATCH_AUTO, "Automatic"),
    )

    name = models.CharField(max_length=128)
    match = models.CharField(max_length=256, blank=True)
    matching_algorithm = models.PositiveSmallIntegerField(
        choices=MATCHING_ALGORITHMS, default=MATCH_ANY
    )
    is_insensitive = models.BooleanField(default=True)

    class Meta:
        abstract = True
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["name", "owner"], name="%(class)s_unique_name_owner"),
        ]

    def __str__(self) -> str:
        return self.name


class Correspondent(MatchingModel):
    """Who sent or received a document."""

    class Meta(MatchingModel.Meta):
        pass


class Tag(MatchingModel):
    """A label of documents, in a hierarchy (``parent``); records list tag ids in name order."""

    color = models.CharField(max_length=7, default="#a6cee3")
    is_inbox_tag = models.BooleanField(default=False)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )

    class Meta(MatchingModel.Meta):
        # Django's serializer lists a document's tag ids in this order, not by id.
        ordering = ["name"]


class DocumentType(MatchingModel):
    """The kind of a document (invoice, letter, ...)."""

    class Meta(MatchingModel.Meta):
        pass


class StoragePath(MatchingModel):
    """A template of where a document's file is kept in the media directory."""

    path = models.CharField(max_length=512)

    class Meta(MatchingModel.Meta):
        pass


class LiveDocumentManager(models.Manager):
    """Documents that are not in the trash."""

    def get_queryset(self) -> models.QuerySet:
        """Every document whose ``deleted_at`` is not set."""
        return super().get_queryset().filter(deleted_at__isnull=True)


class Document(ModelWithOwner):
    """A document: its metadata, its OCR text, and the names of its files in the media directory."""

    correspondent = models.ForeignKey(
        Correspondent, blank=True, null=True, on_delete=models.SET_NULL, related_name="documents"
    )
    storage_path = models.ForeignKey(
        StoragePath, blank=True, null=True, on_delete=models.SET_NULL, related_name="documents"
    )
    title = models.CharField(max_length=128, blank=True, db_index=True)
    document_type = models.ForeignKey(
        DocumentType, blank=True, null=True, on_delete=models.SET_NULL, related_name="documents"
    )
    content = models.TextField(blank=True, help_text="The OCR text of the document.")
    mime_type = models.CharField(max_length=256, editable=False)
    tags = models.ManyToManyField(Tag, related_name="documents", blank=True)
    checksum = models.CharField(
        max_length=64, unique=True, editable=False, help_text="sha256 of the original file."
    )
    archive_checksum = models.CharField(max_length=64, editable=False, blank=True, null=True)
    page_count = models.PositiveIntegerField(blank=True, null=True)
    created = models.DateField(default=timezone.localdate, db_index=True)
    # Explicit defaults instead of auto_now: bulk_create would overwrite auto_now values with the
    # clock, and a generated archive must be reproducible from its seed.
    modified = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    added = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    # 512, not 1024: a unique index over utf8mb4 on MariaDB allows at most 3072 bytes.
    filename = models.CharField(
        max_length=512,
        editable=False,
        default=None,
        unique=True,
        null=True,
        help_text="Path of the original, relative to the originals directory.",
    )
    archive_filename = models.CharField(
        max_length=512,
        editable=False,
        default=None,
        unique=True,
        null=True,
        blank=True,
        help_text="Path of the archive version, relative to the archive directory.",
    )
    original_filename = models.CharField(
        max_length=1024, editable=False, default=None, null=True, blank=True
    )
    archive_serial_number = models.PositiveIntegerField(
        blank=True, null=True, unique=True, db_index=True
    )
    deleted_at = models.DateTimeField(blank=True, null=True, db_index=True)

    # The first manager is the default one: it hides trashed documents from everyday code.
    # Exports and other whole-archive work use ``global_objects``.
    objects = LiveDocumentManager()
    global_objects = models.Manager()

    class Meta:
        ordering = ["-created"]
        base_manager_name = "global_objects"

    def __str__(self) -> str:
        return f"{self.created} {self.title}"

    def save(self, *args, **kwargs) -> None:
        """Save, with ``modified`` set to now (``auto_now`` is not used: see ``modified``)."""
        self.modified = timezone.now()
        super().save(*args, **kwargs)

    @property
    def is_trashed(self) -> bool:
        """Whether the document is in the trash."""
        return self.deleted_at is not None

    @property
    def has_archive_version(self) -> bool:
        """Whether the document has an archived (OCRed PDF) version."""
        return self.archive_filename is not None

    @property
    def source_path(self) -> Path:
        """Where the original file is."""
        return source_path_for(self.pk, self.filename, self.mime_type)

    @property
    def archive_path(self) -> Path | None:
        """Where the archived version is, or None if there is none."""
        return archive_path_for(self.archive_filename)

    @property
    def thumbnail_path(self) -> Path:
        """Where the thumbnail is."""
        return thumbnail_path_for(self.pk)


MIME_EXTENSIONS = {
    "application/pdf": ".pdf",
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/tiff": ".tiff",
    "text/plain": ".txt",
}


def source_path_for(pk: int, filename: str | None, mime_type: str) -> Path:
    """Where the original of a document lives, from its columns alone (no instance needed)."""
    return Path(source_file_for(pk, filename, mime_type))


def archive_path_for(archive_filename: str | None) -> Path | None:
    """Where the archived (OCRed PDF) version lives, if the document has one."""
    name = archive_file_for(archive_filename)
    return None if name is None else Path(name)


def thumbnail_path_for(pk: int) -> Path:
    """Where a document's thumbnail lives, from its pk alone."""
    return Path(thumbnail_file_for(pk))


# The same paths as plain strings, for the exporter's loop over every document: building a
# Path costs several times more than joining two strings.


def source_file_for(pk: int, filename: str | None, mime_type: str) -> str:
    """:func:`source_path_for` as a string."""
    name = filename or f"{pk:07}{MIME_EXTENSIONS.get(mime_type, '')}"
    return os.path.join(settings.ORIGINALS_DIR, name)


def archive_file_for(archive_filename: str | None) -> str | None:
    """:func:`archive_path_for` as a string."""
    if archive_filename is None:
        return None
    return os.path.join(settings.ARCHIVE_DIR, archive_filename)


def thumbnail_file_for(pk: int) -> str:
    """:func:`thumbnail_path_for` as a string."""
    return os.path.join(settings.THUMBNAIL_DIR, f"{pk:07}.webp")


class Note(models.Model):
    """A user's note on a document (split per document with --split-manifest)."""

    note = models.TextField(blank=True)
    created = models.DateTimeField(default=timezone.now, db_index=True)
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="notes")
    user = models.ForeignKey(
        User, blank=True, null=True, on_delete=models.SET_NULL, related_name="notes"
    )

    class Meta:
        ordering = ["created"]


class CustomField(models.Model):
    """A field a user defines for documents, of one data type."""

    class FieldDataType(models.TextChoices):
        """The data types of a custom field."""

        STRING = "string", "String"
        URL = "url", "URL"
        DATE = "date", "Date"
        BOOL = "boolean", "Boolean"
        INT = "integer", "Integer"
        FLOAT = "float", "Float"
        MONETARY = "monetary", "Monetary"
        DOCUMENTLINK = "documentlink", "Document link"
        SELECT = "select", "Select"

    created = models.DateTimeField(default=timezone.now, db_index=True, editable=False)
    name = models.CharField(max_length=128, unique=True)
    data_type = models.CharField(max_length=50, choices=FieldDataType.choices, editable=False)
    extra_data = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["created"]

    def __str__(self) -> str:
        return self.name


class CustomFieldInstance(models.Model):
    """A custom field's value on one document, in the column of its data type."""

    # Which value column holds the value for each data type.
    VALUE_COLUMNS = {
        CustomField.FieldDataType.STRING: "value_text",
        CustomField.FieldDataType.URL: "value_url",
        CustomField.FieldDataType.DATE: "value_date",
        CustomField.FieldDataType.BOOL: "value_bool",
        CustomField.FieldDataType.INT: "value_int",
        CustomField.FieldDataType.FLOAT: "value_float",
        CustomField.FieldDataType.MONETARY: "value_monetary",
        CustomField.FieldDataType.DOCUMENTLINK: "value_document_ids",
        CustomField.FieldDataType.SELECT: "value_select",
    }

    created = models.DateTimeField(default=timezone.now, db_index=True, editable=False)
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="custom_fields")
    field = models.ForeignKey(CustomField, on_delete=models.CASCADE, related_name="fields")
    value_text = models.CharField(max_length=128, null=True)
    value_bool = models.BooleanField(null=True)
    value_url = models.URLField(null=True)
    value_date = models.DateField(null=True)
    value_int = models.IntegerField(null=True)
    value_float = models.FloatField(null=True)
    value_monetary = models.DecimalField(max_digits=14, decimal_places=2, null=True)
    value_document_ids = models.JSONField(null=True)
    value_select = models.CharField(max_length=16, null=True)

    class Meta:
        ordering = ["created"]
        constraints = [
            models.UniqueConstraint(fields=["document", "field"], name="unique_document_field"),
        ]


class SavedView(ModelWithOwner):
    """A saved document list: its filter rules, sorting and display."""

    name = models.CharField(max_length=128)
    show_on_dashboard = models.BooleanField(default=False)
    show_in_sidebar = models.BooleanField(default=False)
    sort_field = models.CharField(max_length=128, null=True, blank=True)
    sort_reverse = models.BooleanField(default=False)
    page_size = models.PositiveIntegerField(null=True, blank=True)
    display_fields = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["name"]


class SavedViewFilterRule(models.Model):
    """One rule of a saved view's filter."""

    RULE_TYPES = [
        (0, "title contains"),
        (1, "content contains"),
        (3, "correspondent is"),
        (4, "document type is"),
        (6, "has tag"),
        (9, "created before"),
        (10, "created after"),
    ]

    saved_view = models.ForeignKey(SavedView, on_delete=models.CASCADE, related_name="filter_rules")
    rule_type = models.PositiveIntegerField(choices=RULE_TYPES)
    value = models.CharField(max_length=255, blank=True, null=True)


class UiSettings(models.Model):
    """A user's settings of the user interface, as JSON."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="ui_settings")
    settings = models.JSONField(null=True)


class MailAccount(ModelWithOwner):
    """A mailbox documents are fetched from; its password and token are secrets."""

    class ImapSecurity(models.IntegerChoices):
        """How the connection to the IMAP server is secured."""

        NONE = 1, "No encryption"
        SSL = 2, "Use SSL"
        STARTTLS = 3, "Use STARTTLS"

    class AccountType(models.IntegerChoices):
        """How the account signs in: a password, or a Gmail OAuth token."""

        IMAP = 1, "IMAP"
        GMAIL_OAUTH = 2, "Gmail OAuth"

    name = models.CharField(max_length=256, unique=True)
    imap_server = models.CharField(max_length=256)
    imap_port = models.IntegerField(blank=True, null=True)
    imap_security = models.PositiveIntegerField(
        choices=ImapSecurity.choices, default=ImapSecurity.SSL
    )
    username = models.CharField(max_length=256)
    # Secrets: an export encrypts these when given a passphrase.
    password = models.CharField(max_length=3072)
    refresh_token = models.CharField(max_length=3072, blank=True, null=True)
    character_set = models.CharField(max_length=256, default="UTF-8")
    is_token = models.BooleanField(default=False)
    expiration = models.DateTimeField(blank=True, null=True)
    account_type = models.PositiveIntegerField(
        choices=AccountType.choices, default=AccountType.IMAP
    )

    def __str__(self) -> str:
        return self.name


class MailRule(ModelWithOwner):
    """Which mails of an account become documents, and what they are assigned."""

    name = models.CharField(max_length=256, unique=True)
    order = models.IntegerField(default=0)
    account = models.ForeignKey(MailAccount, on_delete=models.CASCADE, related_name="rules")
    enabled = models.BooleanField(default=True)
    folder = models.CharField(max_length=256, default="INBOX")
    filter_from = models.CharField(max_length=256, null=True, blank=True)
    filter_subject = models.CharField(max_length=256, null=True, blank=True)
    maximum_age = models.PositiveIntegerField(default=30)
    action_parameter = models.CharField(max_length=256, blank=True, null=True)
    assign_tags = models.ManyToManyField(Tag, blank=True)
    assign_correspondent = models.ForeignKey(
        Correspondent, null=True, blank=True, on_delete=models.SET_NULL
    )
    assign_document_type = models.ForeignKey(
        DocumentType, null=True, blank=True, on_delete=models.SET_NULL
    )

    class Meta:
        ordering = ["order"]

    def __str__(self) -> str:
        return self.name


class ShareLink(ModelWithOwner):
    """A link that shares one document's file, with an expiry and a validity."""

    class FileVersion(models.TextChoices):
        """Which of the document's files a link shares."""

        ARCHIVE = "archive", "Archive"
        ORIGINAL = "original", "Original"

    created = models.DateTimeField(default=timezone.now, db_index=True, editable=False)
    expiration = models.DateTimeField(blank=True, null=True, db_index=True)
    uuid = models.UUIDField(unique=True, editable=False)
    # How long a link stays valid after first use: a DurationField, so durations reach the
    # manifest as Django's "[DD] [HH:[MM:]]ss[.uuuuuu]" strings.
    validity = models.DurationField(null=True, blank=True)
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="share_links")
    file_version = models.CharField(
        max_length=50, choices=FileVersion.choices, default=FileVersion.ARCHIVE
    )

    class Meta:
        ordering = ["created"]

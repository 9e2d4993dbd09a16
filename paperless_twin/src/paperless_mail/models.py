"""Mail accounts, the rules that consume their mails, and what was processed (facts §1.4-1.5)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from documents.models import Correspondent, DocumentType, ModelWithOwner, Tag

__all__ = ["MailAccount", "MailRule", "ProcessedMail"]


class MailAccount(ModelWithOwner):
    """A mailbox paperless fetches from; ``password`` and ``refresh_token`` are secrets."""

    IMAP_SECURITY = ((1, "No encryption"), (2, "Use SSL"), (3, "Use STARTTLS"))
    ACCOUNT_TYPES = ((1, "IMAP"), (2, "Gmail OAuth"), (3, "Outlook OAuth"))

    name = models.CharField(max_length=256, unique=True)
    imap_server = models.CharField(max_length=256)
    imap_port = models.PositiveIntegerField(blank=True, null=True)
    imap_security = models.PositiveSmallIntegerField(choices=IMAP_SECURITY, default=2)
    username = models.CharField(max_length=256)
    password = models.TextField()
    is_token = models.BooleanField(default=False)
    character_set = models.CharField(max_length=256, default="UTF-8")
    account_type = models.PositiveSmallIntegerField(choices=ACCOUNT_TYPES, default=1)
    refresh_token = models.TextField(blank=True, null=True)
    expiration = models.DateTimeField(blank=True, null=True)

    class Meta:
        verbose_name = "mail account"
        verbose_name_plural = "mail accounts"

    def __str__(self) -> str:
        return self.name


def _optional_text() -> models.CharField:
    """An optional 256-character filter or parameter."""
    return models.CharField(max_length=256, null=True, blank=True)


class MailRule(ModelWithOwner):
    """Which mails of an account to consume, and what to assign to the documents."""

    ATTACHMENT_TYPES = (
        (1, "Only process attachments."),
        (2, "Process all files, including 'inline' attachments."),
    )
    CONSUMPTION_SCOPES = (
        (1, "Only process attachments."),
        (2, "Process full Mail (with embedded attachments in file) as .eml"),
        (3, "Process full Mail (with embedded attachments in file) as .eml + process "
            "attachments as separate documents"),
    )
    PDF_LAYOUTS = (
        (0, "System default"),
        (1, "Text, then HTML"),
        (2, "HTML, then text"),
        (3, "HTML only"),
        (4, "Text only"),
    )
    ACTIONS = (
        (1, "Delete"),
        (2, "Move to specified folder"),
        (3, "Mark as read, don't process read mails"),
        (4, "Flag the mail, don't process flagged mails"),
        (5, "Tag the mail with specified tag, don't process tagged mails"),
    )
    TITLE_SOURCES = (
        (1, "Use subject as title"),
        (2, "Use attachment filename as title"),
        (3, "Do not assign title from rule"),
    )
    CORRESPONDENT_SOURCES = (
        (1, "Do not assign a correspondent"),
        (2, "Use mail address"),
        (3, "Use name (or mail address if not available)"),
        (4, "Use correspondent selected below"),
    )

    name = models.CharField(max_length=256)
    order = models.SmallIntegerField(default=0)
    account = models.ForeignKey(MailAccount, related_name="rules", on_delete=models.CASCADE)
    enabled = models.BooleanField(default=True)
    folder = models.CharField(default="INBOX", max_length=256)
    filter_from = _optional_text()
    filter_to = _optional_text()
    filter_subject = _optional_text()
    filter_body = _optional_text()
    filter_attachment_filename_include = _optional_text()
    filter_attachment_filename_exclude = _optional_text()
    maximum_age = models.PositiveSmallIntegerField(default=30)
    attachment_type = models.PositiveSmallIntegerField(choices=ATTACHMENT_TYPES, default=1)
    consumption_scope = models.PositiveSmallIntegerField(choices=CONSUMPTION_SCOPES, default=1)
    pdf_layout = models.PositiveSmallIntegerField(choices=PDF_LAYOUTS, default=0)
    action = models.PositiveSmallIntegerField(choices=ACTIONS, default=3)
    action_parameter = _optional_text()
    assign_title_from = models.PositiveSmallIntegerField(choices=TITLE_SOURCES, default=1)
    assign_document_type = models.ForeignKey(
        DocumentType, null=True, blank=True, on_delete=models.SET_NULL,
    )
    assign_correspondent_from = models.PositiveSmallIntegerField(
        choices=CORRESPONDENT_SOURCES, default=1,
    )
    assign_correspondent = models.ForeignKey(
        Correspondent, null=True, blank=True, on_delete=models.SET_NULL,
    )
    assign_owner_from_rule = models.BooleanField(default=True)
    stop_processing = models.BooleanField(default=False)
    assign_tags = models.ManyToManyField(Tag, blank=True)

    class Meta:
        verbose_name = "mail rule"
        verbose_name_plural = "mail rules"
        constraints = [
            models.UniqueConstraint(
                fields=["name", "owner"], name="paperless_mail_mailrule_unique_name_owner",
            ),
            models.UniqueConstraint(
                fields=["name"], condition=Q(owner__isnull=True),
                name="paperless_mail_mailrule_name_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account.name}.{self.name}"


class ProcessedMail(ModelWithOwner):
    """A mail a rule has already handled (so it is not consumed twice)."""

    rule = models.ForeignKey(MailRule, null=False, blank=False, on_delete=models.CASCADE,
                             editable=False)
    folder = models.CharField(max_length=256, editable=False)
    uid = models.CharField(max_length=256, editable=False)
    uid_validity = models.CharField(max_length=64, null=True, blank=True, editable=False)
    subject = models.CharField(max_length=256, editable=False)
    received = models.DateTimeField(editable=False)
    processed = models.DateTimeField(default=timezone.now, editable=False)
    status = models.CharField(max_length=256, editable=False)
    error = models.TextField(null=True, blank=True, editable=False)

    def __str__(self) -> str:
        return f"{self.rule_id}: {self.subject}"

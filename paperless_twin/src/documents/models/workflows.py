"""Workflows: triggers, actions, their email/webhook parts and runs (facts §1.4, §1.5)."""

from __future__ import annotations

from django.contrib.auth.models import Group, User
from django.db import models
from django.utils import timezone
from multiselectfield import MultiSelectField

from documents.models.base import Correspondent, DocumentType, SoftDeleteModel, StoragePath, Tag
from documents.models.custom_fields import CustomField
from documents.models.document import Document

__all__ = [
    "Workflow",
    "WorkflowAction",
    "WorkflowActionEmail",
    "WorkflowActionWebhook",
    "WorkflowRun",
    "WorkflowTrigger",
]

TRIGGER_TYPES = (
    (1, "Consumption Started"),
    (2, "Document Added"),
    (3, "Document Updated"),
    (4, "Scheduled"),
)


def _m2m(to: type[models.Model] | str, related_name: str | None = None) -> models.ManyToManyField:
    """An optional many-to-many filter or assignment."""
    return models.ManyToManyField(to, blank=True, related_name=related_name)


def _optional_fk(
    to: type[models.Model] | str, related_name: str | None = None,
) -> models.ForeignKey:
    """An optional reference that is cleared when its target goes."""
    return models.ForeignKey(
        to, null=True, blank=True, on_delete=models.SET_NULL, related_name=related_name,
    )


class WorkflowTrigger(models.Model):
    """When a workflow runs, and on which documents."""

    SOURCES = (
        (1, "Consume Folder"),
        (2, "Api Upload"),
        (3, "Mail Fetch"),
        (4, "Web UI"),
    )
    MATCHING = (
        (0, "None"),
        (1, "Any word"),
        (2, "All words"),
        (3, "Exact match"),
        (4, "Regular expression"),
        (5, "Fuzzy word"),
    )
    DATE_FIELDS = (
        ("added", "Added"),
        ("created", "Created"),
        ("modified", "Modified"),
        ("custom_field", "Custom Field"),
    )

    type = models.PositiveSmallIntegerField(choices=TRIGGER_TYPES, default=1)
    sources = MultiSelectField(max_length=7, choices=SOURCES, default="1,2,3,4")
    filter_path = models.CharField(max_length=256, null=True, blank=True)
    filter_filename = models.CharField(max_length=256, null=True, blank=True)
    filter_mailrule = _optional_fk("paperless_mail.MailRule")
    match = models.CharField(max_length=256, blank=True)
    matching_algorithm = models.PositiveSmallIntegerField(choices=MATCHING, default=0)
    is_insensitive = models.BooleanField(default=True)
    filter_has_document_type = _optional_fk(DocumentType)
    filter_has_correspondent = _optional_fk(Correspondent)
    filter_has_storage_path = _optional_fk(StoragePath)
    filter_custom_field_query = models.TextField(null=True, blank=True)
    schedule_offset_days = models.IntegerField(default=0)
    schedule_is_recurring = models.BooleanField(default=False)
    schedule_recurring_interval_days = models.PositiveIntegerField(default=1)
    schedule_date_field = models.CharField(max_length=20, choices=DATE_FIELDS, default="added")
    schedule_date_custom_field = _optional_fk(CustomField)
    filter_has_tags = _m2m(Tag)
    filter_has_all_tags = _m2m(Tag, "workflowtriggers_has_all")
    filter_has_not_tags = _m2m(Tag, "workflowtriggers_has_not")
    filter_has_any_document_types = _m2m(DocumentType, "workflowtriggers_has_any_document_type")
    filter_has_not_document_types = _m2m(DocumentType, "workflowtriggers_has_not_document_type")
    filter_has_not_correspondents = _m2m(Correspondent, "workflowtriggers_has_not_correspondent")
    filter_has_any_correspondents = _m2m(Correspondent, "workflowtriggers_has_any_correspondent")
    filter_has_any_storage_paths = _m2m(StoragePath, "workflowtriggers_has_any_storage_path")
    filter_has_not_storage_paths = _m2m(StoragePath, "workflowtriggers_has_not_storage_path")

    class Meta:
        verbose_name = "workflow trigger"
        verbose_name_plural = "workflow triggers"

    def __str__(self) -> str:
        return f"WorkflowTrigger {self.pk}"


class WorkflowActionEmail(models.Model):
    """The mail a workflow action sends."""

    subject = models.CharField(max_length=256)
    body = models.TextField()
    to = models.TextField()
    include_document = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"Workflow Email Action {self.pk}"


class WorkflowActionWebhook(models.Model):
    """The HTTP request a workflow action makes."""

    url = models.CharField(max_length=256)
    use_params = models.BooleanField(default=True)
    as_json = models.BooleanField(default=False)
    params = models.JSONField(null=True, blank=True)
    body = models.TextField(null=True, blank=True)
    headers = models.JSONField(null=True, blank=True)
    include_document = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"Workflow Webhook Action {self.pk}"


class WorkflowAction(models.Model):
    """What a workflow does to a document."""

    TYPES = (
        (1, "Assignment"),
        (2, "Removal"),
        (3, "Email"),
        (4, "Webhook"),
        (5, "Password removal"),
        (6, "Move to trash"),
    )

    type = models.PositiveSmallIntegerField(choices=TYPES, default=1)
    order = models.PositiveIntegerField(default=0)
    assign_title = models.TextField(null=True, blank=True)
    assign_document_type = _optional_fk(DocumentType, "+")
    assign_correspondent = _optional_fk(Correspondent, "+")
    assign_storage_path = _optional_fk(StoragePath, "+")
    assign_owner = _optional_fk(User, "+")
    assign_custom_fields_values = models.JSONField(null=True, blank=True, default=dict)
    remove_all_tags = models.BooleanField(default=False)
    remove_all_document_types = models.BooleanField(default=False)
    remove_all_correspondents = models.BooleanField(default=False)
    remove_all_storage_paths = models.BooleanField(default=False)
    remove_all_owners = models.BooleanField(default=False)
    remove_all_permissions = models.BooleanField(default=False)
    remove_all_custom_fields = models.BooleanField(default=False)
    email = _optional_fk(WorkflowActionEmail, "action")
    webhook = _optional_fk(WorkflowActionWebhook, "action")
    passwords = models.JSONField(null=True, blank=True)
    assign_tags = _m2m(Tag, "+")
    assign_view_users = _m2m(User, "+")
    assign_view_groups = _m2m(Group, "+")
    assign_change_users = _m2m(User, "+")
    assign_change_groups = _m2m(Group, "+")
    assign_custom_fields = _m2m(CustomField, "+")
    remove_tags = _m2m(Tag, "+")
    remove_document_types = _m2m(DocumentType, "+")
    remove_correspondents = _m2m(Correspondent, "+")
    remove_storage_paths = _m2m(StoragePath, "+")
    remove_owners = _m2m(User, "+")
    remove_view_users = _m2m(User, "+")
    remove_view_groups = _m2m(Group, "+")
    remove_change_users = _m2m(User, "+")
    remove_change_groups = _m2m(Group, "+")
    remove_custom_fields = _m2m(CustomField, "+")

    class Meta:
        verbose_name = "workflow action"
        verbose_name_plural = "workflow actions"

    def __str__(self) -> str:
        return f"WorkflowAction {self.pk}"


class Workflow(models.Model):
    """An ordered rule: when any trigger fires, run the actions."""

    name = models.CharField(max_length=256, unique=True)
    order = models.IntegerField(default=0)
    enabled = models.BooleanField(default=True)
    triggers = models.ManyToManyField(WorkflowTrigger, related_name="workflows")
    actions = models.ManyToManyField(WorkflowAction, related_name="workflows")

    def __str__(self) -> str:
        return f"Workflow: {self.name}"


class WorkflowRun(SoftDeleteModel):
    """A record that a workflow ran (on a document, for scheduled triggers)."""

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="runs")
    type = models.PositiveSmallIntegerField(choices=TRIGGER_TYPES, null=True)
    document = models.ForeignKey(
        Document, null=True, on_delete=models.CASCADE, related_name="workflow_runs",
    )
    run_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = "workflow run"
        verbose_name_plural = "workflow runs"

    def __str__(self) -> str:
        return f"WorkflowRun of {self.workflow_id} at {self.run_at}"

"""Background task records (facts §1.5; never exported)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from documents.models.base import ModelWithOwner

__all__ = ["PaperlessTask"]


class PaperlessTask(ModelWithOwner):
    """One background task: what ran, why, and how it ended."""

    TASK_TYPES = (
        ("consume_file", "Consume File"),
        ("train_classifier", "Train Classifier"),
        ("sanity_check", "Sanity Check"),
        ("index_optimize", "Index Optimize"),
        ("mail_fetch", "Mail Fetch"),
        ("llm_index", "LLM Index"),
        ("empty_trash", "Empty Trash"),
        ("check_workflows", "Check Workflows"),
        ("bulk_update", "Bulk Update"),
        ("reprocess_document", "Reprocess Document"),
        ("build_share_link", "Build Share Link"),
        ("bulk_delete", "Bulk Delete"),
    )
    TRIGGER_SOURCES = (
        ("scheduled", "Scheduled"),
        ("web_ui", "Web UI"),
        ("api_upload", "API Upload"),
        ("folder_consume", "Folder Consume"),
        ("email_consume", "Email Consume"),
        ("system", "System"),
        ("manual", "Manual"),
    )
    STATUSES = (
        ("pending", "Pending"),
        ("started", "Started"),
        ("success", "Success"),
        ("failure", "Failure"),
        ("revoked", "Revoked"),
    )

    task_id = models.CharField(max_length=72, unique=True)
    task_type = models.CharField(max_length=50, choices=TASK_TYPES, db_index=True)
    trigger_source = models.CharField(max_length=50, choices=TRIGGER_SOURCES, db_index=True)
    status = models.CharField(max_length=30, choices=STATUSES, default="pending", db_index=True)
    date_created = models.DateTimeField(default=timezone.now, db_index=True)
    date_started = models.DateTimeField(null=True, blank=True)
    date_done = models.DateTimeField(null=True, blank=True, db_index=True)
    duration_seconds = models.FloatField(null=True, blank=True)
    wait_time_seconds = models.FloatField(null=True, blank=True)
    input_data = models.JSONField(default=dict, blank=True)
    result_data = models.JSONField(null=True, blank=True)
    acknowledged = models.BooleanField(default=False, db_index=True)

    class Meta:
        ordering = ("-date_created",)
        verbose_name = "task"
        verbose_name_plural = "tasks"
        indexes = [
            models.Index(fields=["status", "date_created"]),
            models.Index(fields=["task_type", "status"]),
            models.Index(fields=["owner", "acknowledged", "date_created"]),
        ]

    def __str__(self) -> str:
        return f"Task {self.task_id}"

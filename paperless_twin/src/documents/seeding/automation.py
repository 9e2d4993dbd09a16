"""Workflows (triggers, actions, email and webhook parts), their runs, tasks and processed mail."""

from __future__ import annotations

import datetime

from django.contrib.auth.models import Group, User
from paperless_mail.models import MailRule, ProcessedMail

from documents.models import (
    Document,
    PaperlessTask,
    Workflow,
    WorkflowAction,
    WorkflowActionEmail,
    WorkflowActionWebhook,
    WorkflowRun,
    WorkflowTrigger,
)
from documents.seeding.objects import Catalogue
from documents.seeding.text import Texts

__all__ = ["seed_runs_and_tasks", "seed_workflows"]


def _some(texts: Texts, rows: list, most: int = 3) -> list:
    return texts.rng.sample(rows, k=min(len(rows), texts.rng.randint(0, most)))


def seed_workflows(texts: Texts, cat: Catalogue) -> list[Workflow]:
    """Three workflows sharing triggers and actions of every type."""
    rng = texts.rng
    triggers = []
    for index, trigger_type in enumerate([1, 2, 3, 4, 2]):
        trigger = WorkflowTrigger.objects.create(
            type=trigger_type,
            sources=["1,2,3,4", "1", "2,4", "3", "1,3"][index],
            filter_path=rng.choice([None, "/consume/*", "*/Ümlaut/*"]),
            filter_filename=rng.choice([None, "*.pdf", "scan_*"]),
            filter_mailrule=rng.choice([None, *cat.mail_rules]),
            match=rng.choice(["", "invoice", texts.fragment()]),
            matching_algorithm=index % 6, is_insensitive=index % 2 == 0,
            filter_has_document_type=rng.choice([None, *cat.document_types]),
            filter_has_correspondent=rng.choice([None, *cat.correspondents]),
            filter_has_storage_path=rng.choice([None, *cat.storage_paths]),
            filter_custom_field_query=rng.choice([None, '["OR", [[1, "exists", true]]]']),
            schedule_offset_days=rng.randint(-30, 30),
            schedule_is_recurring=trigger_type == 4,
            schedule_recurring_interval_days=rng.randint(1, 90),
            schedule_date_field=["added", "created", "modified", "custom_field", "added"][index],
            schedule_date_custom_field=cat.custom_fields[2] if index == 3 else None,
        )
        for name in ("filter_has_tags", "filter_has_all_tags", "filter_has_not_tags"):
            getattr(trigger, name).set(_some(texts, cat.tags))
        for name in ("filter_has_any_document_types", "filter_has_not_document_types"):
            getattr(trigger, name).set(_some(texts, cat.document_types))
        for name in ("filter_has_not_correspondents", "filter_has_any_correspondents"):
            getattr(trigger, name).set(_some(texts, cat.correspondents))
        for name in ("filter_has_any_storage_paths", "filter_has_not_storage_paths"):
            getattr(trigger, name).set(_some(texts, cat.storage_paths))
        triggers.append(trigger)

    actions = [_action(texts, cat, index, action_type)
               for index, action_type in enumerate([1, 2, 3, 4, 5, 6, 1])]
    workflows = []
    for index, name in enumerate(["Tag invoices 🧾", "Notify \"owner\"", "Cleanup\\old"]):
        workflow = Workflow.objects.create(name=name, order=index * 10 - 5, enabled=index != 2)
        workflow.triggers.set(triggers[index:index + 3])
        workflow.actions.set(actions[index * 2:index * 2 + 3])
        workflows.append(workflow)
    return workflows


def _action(texts: Texts, cat: Catalogue, index: int, action_type: int) -> WorkflowAction:
    rng = texts.rng
    email = webhook = None
    if action_type == 3:
        email = WorkflowActionEmail.objects.create(
            subject="New: {doc_title} 📄", body="Hello \"{owner}\",\n\\n{doc_url}\u2028",
            to="a@example.org, b@example.org", include_document=True,
        )
    if action_type == 4:
        webhook = WorkflowActionWebhook.objects.create(
            url="https://hooks.example.org/p?x=1&y=ü", use_params=False, as_json=True,
            params={"title": "{doc_title}", "ratio": 0.1},
            body='{"text": "ä \\" 😀"}',
            headers={"Authorization": "Bearer webhook-secret", "X-Float": 1.5},
        )
    users = list(User.objects.order_by("pk"))
    groups = list(Group.objects.order_by("pk"))
    action = WorkflowAction.objects.create(
        type=action_type, order=index,
        assign_title=rng.choice([None, "{correspondent} – {doc_title}", "{{ created_year }}"]),
        assign_document_type=rng.choice([None, *cat.document_types]),
        assign_correspondent=rng.choice([None, *cat.correspondents]),
        assign_storage_path=rng.choice([None, *cat.storage_paths]),
        assign_owner=rng.choice([None, *users]),
        assign_custom_fields_values=rng.choice([
            {}, None, {str(cat.custom_fields[0].pk): "text ü", str(cat.custom_fields[5].pk): 0.1},
        ]),
        remove_all_tags=action_type == 2 and index % 2 == 0,
        remove_all_owners=action_type == 2, remove_all_permissions=index == 6,
        remove_all_custom_fields=action_type == 6,
        email=email, webhook=webhook,
        passwords=["hunter2", "pä\"ss"] if action_type == 5 else None,
    )
    for name in ("assign_tags", "remove_tags"):
        getattr(action, name).set(_some(texts, cat.tags))
    for name in ("assign_view_users", "assign_change_users", "remove_owners",
                 "remove_view_users", "remove_change_users"):
        getattr(action, name).set(_some(texts, users))
    for name in ("assign_view_groups", "assign_change_groups", "remove_view_groups",
                 "remove_change_groups"):
        getattr(action, name).set(_some(texts, groups))
    for name in ("assign_custom_fields", "remove_custom_fields"):
        getattr(action, name).set(_some(texts, cat.custom_fields))
    action.remove_document_types.set(_some(texts, cat.document_types))
    action.remove_correspondents.set(_some(texts, cat.correspondents))
    action.remove_storage_paths.set(_some(texts, cat.storage_paths))
    return action


def seed_runs_and_tasks(texts: Texts, workflows: list[Workflow], documents: list[Document]) -> None:
    """Rows paperless never exports: workflow runs, tasks and processed mails."""
    rng = texts.rng
    for index, document in enumerate(documents[:20]):
        WorkflowRun.objects.create(
            workflow=workflows[index % len(workflows)], type=1 + index % 4, document=document,
            run_at=texts.moment(),
        )
    WorkflowRun.objects.create(workflow=workflows[0], type=None, document=None,
                               run_at=texts.moment())
    users = list(User.objects.order_by("pk"))
    for index in range(8):
        done = texts.moment()
        PaperlessTask.objects.create(
            owner=rng.choice([None, *users]), task_id=f"task-{index:04d}-{rng.getrandbits(64):x}",
            task_type=PaperlessTask.TASK_TYPES[index % len(PaperlessTask.TASK_TYPES)][0],
            trigger_source=PaperlessTask.TRIGGER_SOURCES[index % 7][0],
            status=PaperlessTask.STATUSES[index % 5][0],
            date_created=done - datetime.timedelta(seconds=90),
            date_started=done - datetime.timedelta(seconds=60), date_done=done,
            duration_seconds=0.1 + 0.2, wait_time_seconds=1e-05,
            input_data={"filename": "scan ü.pdf", "overrides": {"tags": [1, 2]}},
            result_data=None if index % 2 else {"document_id": index, "ratio": 1.5},
            acknowledged=index % 3 == 0,
        )
    for index, rule in enumerate(MailRule.objects.order_by("pk")):
        ProcessedMail.objects.create(
            owner=rule.owner, rule=rule, folder=rule.folder, uid=str(1000 + index),
            uid_validity=None if index % 2 else "12345", subject=f"Invoice {texts.fragment()}",
            received=texts.moment(), processed=texts.moment(),
            status="SUCCESS" if index % 3 else "FAILED",
            error=None if index % 3 else "Traceback…\n  \"boom\"",
        )

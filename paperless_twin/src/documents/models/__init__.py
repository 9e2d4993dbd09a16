"""The ``documents`` app's models, one module per area (facts §1.4, §1.5).

``base`` is imported first: it pulls in django-soft-delete and django-treenode before any field
of this app exists, which fixes the serialized field order paperless has.
"""

from documents.models.base import (
    Correspondent,
    DocumentType,
    MatchingModel,
    ModelWithOwner,
    StoragePath,
    Tag,
)
from documents.models.custom_fields import CustomField, CustomFieldInstance
from documents.models.document import Document, Note, ShareLink, ShareLinkBundle
from documents.models.tasks import PaperlessTask
from documents.models.views import SavedView, SavedViewFilterRule, UiSettings
from documents.models.workflows import (
    Workflow,
    WorkflowAction,
    WorkflowActionEmail,
    WorkflowActionWebhook,
    WorkflowRun,
    WorkflowTrigger,
)

__all__ = [
    "Correspondent",
    "CustomField",
    "CustomFieldInstance",
    "Document",
    "DocumentType",
    "MatchingModel",
    "ModelWithOwner",
    "Note",
    "PaperlessTask",
    "SavedView",
    "SavedViewFilterRule",
    "ShareLink",
    "ShareLinkBundle",
    "StoragePath",
    "Tag",
    "UiSettings",
    "Workflow",
    "WorkflowAction",
    "WorkflowActionEmail",
    "WorkflowActionWebhook",
    "WorkflowRun",
    "WorkflowTrigger",
]

"""Archives under test: their rows and files, and emptying them again."""

from __future__ import annotations

import hashlib
from pathlib import Path

from django.apps import apps
from django.contrib.auth.models import Group, User
from django.core import serializers
from guardian.models import GroupObjectPermission, UserObjectPermission

#: The models whose rows an export carries and an import restores.
DOMAIN_MODELS = [
    *apps.get_app_config("documents").get_models(),
    UserObjectPermission,
    GroupObjectPermission,
    User,
    Group,
]


def wipe(media: Path) -> None:
    """An empty archive: no rows but what migrations create, no files."""
    for model in DOMAIN_MODELS:
        model._base_manager.all().delete()
    for path in list(media.rglob("*")):
        if path.is_file() and path.name != "media.lock":
            path.unlink()


def database_state() -> dict[str, int]:
    """The number of rows of every domain model, by label."""
    return {m._meta.label: m._base_manager.count() for m in DOMAIN_MODELS}


def tree_digest(root: Path) -> dict[str, str]:
    """sha256 of every file under root, by relative path."""
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def serialize_all(models) -> list[dict]:
    """Django's own python serialization of every row of the given models, by pk."""
    records: list[dict] = []
    for model in models:
        records.extend(serializers.serialize("python", model._base_manager.order_by("pk")))
    return records

"""Reads a paperless-ngx twin's database for the tests, printing JSON on stdout.

Run inside the twin, as the oracle is::

    python -m tests.paperless.probe secrets    # the plaintext secrets, by model and pk
    python -m tests.paperless.probe snapshot   # a digest of every table's rows, by model
    python -m tests.paperless.probe many_to_many   # each model's many-to-many field names
"""

from __future__ import annotations

import hashlib
import json
import os
import sys

from tests.paperless.oracle import SECRETS


def secrets() -> dict[str, dict[str, list]]:
    """Each secret field's stored value, as ``{label: {pk: [values in SECRETS order]}}``."""
    from django.apps import apps

    found: dict[str, dict[str, list]] = {}
    for label, fields in SECRETS.items():
        model = apps.get_model(label)
        rows = model._base_manager.order_by("pk").values_list("pk", *fields)
        found[label] = {str(pk): list(values) for pk, *values in rows}
    return found


def snapshot() -> dict[str, str]:
    """sha256 of every model's rows (all of them, soft-deleted too), in pk order."""
    from django.apps import apps
    from django.core import serializers

    digests = {}
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        rows = model._base_manager.order_by("pk")
        text = serializers.serialize("json", rows)
        digests[model._meta.label_lower] = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return digests


def many_to_many() -> dict[str, list[str]]:
    """The names of each model's many-to-many fields, by model label (models with some)."""
    from django.apps import apps

    return {
        model._meta.label_lower: [field.name for field in model._meta.many_to_many]
        for model in apps.get_models()
        if model._meta.many_to_many
    }


def main(argv: list[str]) -> int:
    """Print what ``argv[0]`` asks for."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paperless.settings")
    import django

    django.setup()
    probes = {"secrets": secrets, "snapshot": snapshot, "many_to_many": many_to_many}
    if len(argv) != 1 or argv[0] not in probes:
        print(f"usage: probe {{{'|'.join(probes)}}}", file=sys.stderr)
        return 2
    json.dump(probes[argv[0]](), sys.stdout, indent=1, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The running site's export plan: the function its ``EXPORTER_PLAN`` setting names, or in a
paperless-ngx site that sets none, the shipped plan of its version.

Kept apart from :mod:`exporter.plan`, which the shipped plans import, so that choosing a plan
and describing one do not import each other.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from exporter.plan import ExportPlan

__all__ = ["load_plan"]


def load_plan() -> ExportPlan:
    """The site's plan, from the EXPORTER_PLAN setting; in a paperless-ngx site without that
    setting, the shipped plan of its paperless-ngx version (:mod:`exporter.paperless`)."""
    path = getattr(settings, "EXPORTER_PLAN", None)
    if not path:
        from exporter.paperless import is_paperless_site

        if is_paperless_site():
            path = "exporter.paperless.build_plan"
        else:
            raise ImproperlyConfigured(
                "Set EXPORTER_PLAN to the dotted path of a function returning an ExportPlan."
            )
    plan = import_string(path)()
    if not isinstance(plan, ExportPlan):
        raise ImproperlyConfigured(f"{path} returned {type(plan).__name__}, not an ExportPlan.")
    return plan

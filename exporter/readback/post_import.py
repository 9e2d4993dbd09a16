"""The plan's post-import steps: the site's own management commands, run once an import has
succeeded (paperless-ngx needs its search index rebuilt from the imported documents).

They run in the importing process with Django's ``call_command``, after the load is committed
and the files are in place, never after a failed import. A step that fails leaves the import
as it is (complete) and raises :class:`PostImportFailed`, which says what to run by hand.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

from django.core.management import call_command
from django.core.management.base import CommandError

from exporter.errors import PostImportFailed
from exporter.plan import PostImportStep

__all__ = ["run_post_import"]


def step_failed(step: PostImportStep, reason: str) -> PostImportFailed:
    """The error of a failed step: which one, why, and what to run by hand."""
    purpose = f" (to {step.purpose})" if step.purpose else ""
    return PostImportFailed(
        f"The import is complete, but its post-import step {step.describe()}{purpose} "
        f"failed: {reason}. Fix the cause and run {step.describe()} yourself."
    )


def run_post_import(
    steps: Sequence[PostImportStep],
    *,
    verbosity: int = 1,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> list[PostImportStep]:
    """Run ``steps`` in order, their output going to ``stdout``/``stderr``; return the steps
    run. :class:`PostImportFailed` at the first that fails (the later ones are not run)."""
    done = []
    for step in steps:
        try:
            call_command(
                step.command, *step.args, verbosity=verbosity, stdout=stdout, stderr=stderr
            )
        except CommandError as exc:
            raise step_failed(step, str(exc).rstrip(".") or "it exited with an error") from exc
        except Exception as exc:  # noqa: BLE001 - a site's command can raise anything
            raise step_failed(step, f"{type(exc).__name__}: {exc}") from exc
        done.append(step)
    return done

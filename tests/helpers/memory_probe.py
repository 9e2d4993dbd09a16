"""Measure the tracemalloc peak of one export, verification or import, in a process of its own.

``python -m tests.helpers.memory_probe ACTION ...`` (environment: ``ARCHIVE_DATA_DIR`` and
``DATABASE_URL``, as for ``manage.py``) first runs ACTION once unmeasured on the warm-up input,
so that lazy imports and caches are in place, then once under tracemalloc, and prints
``{"peak": bytes, "records": n}`` as JSON. Actions:

* ``export TARGET WARMUP_TARGET LIMIT``: a streaming export, files included, of the documents
  with a primary key up to LIMIT (and every other section whole);
* ``verify EXPORT WARMUP_EXPORT``: ``ExportVerifier`` over a data-only export;
* ``import EXPORT WARMUP_EXPORT``: the domain's rows removed, then ``ArchiveImporter``, data only.

A process of its own measures what a user's process holds, and nothing the test runner keeps
(captured warnings and logs, other tests' leftovers, the threads of pytest-xdist workers).
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import tracemalloc
from collections.abc import Callable
from pathlib import Path


def peak_of(action: Callable[[], int]) -> tuple[int, int]:
    """The traced peak while ``action`` runs, and what it returns."""
    tracemalloc.start()
    try:
        result = action()
        return tracemalloc.get_traced_memory()[1], result
    finally:
        tracemalloc.stop()


def export(target: Path, limit: int) -> int:
    from exporter.export.options import ExportOptions
    from exporter.export.streaming import StreamingExporter
    from exporter.plan import Section
    from exporter.site_plan import load_plan

    plan = load_plan()
    sections = tuple(
        Section(s.key, lambda s=s: s.queryset().filter(pk__lte=limit))
        if s.key == plan.documents_key
        else s
        for s in plan.sections
    )
    plan = dataclasses.replace(plan, sections=sections)
    target.mkdir()
    summary = StreamingExporter(plan, ExportOptions(target=target, batch_size=500)).run()
    return summary.records["documents"]


def verify(export_dir: Path) -> int:
    from exporter.readback.opening import open_source
    from exporter.readback.verify import ExportVerifier
    from exporter.site_plan import load_plan

    with open_source(export_dir) as source:
        report = ExportVerifier(source, load_plan()).run()
    if not report.ok:
        raise SystemExit(f"verify failed: {report.problems[:3]}")
    return 0


def wipe() -> None:
    """Remove the rows an import brings back: the domain's, users, groups, permissions."""
    from tests.helpers.archives import DOMAIN_MODELS

    for model in DOMAIN_MODELS:
        model._base_manager.all().delete()


def load(export_dir: Path) -> int:
    from exporter.readback.importing import ArchiveImporter, ImportOptions
    from exporter.readback.opening import open_source
    from exporter.site_plan import load_plan

    wipe()
    with open_source(export_dir) as source:
        ArchiveImporter(source, load_plan(), ImportOptions(data_only=True)).run()
    return 0


def main(argv: list[str]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "archive.settings")
    import django

    django.setup()
    action, *args = argv
    if action == "export":
        target, warmup, limit = Path(args[0]), Path(args[1]), int(args[2])
        export(warmup, 500)
        peak, records = peak_of(lambda: export(target, limit))
    elif action in ("verify", "import"):
        run = verify if action == "verify" else load
        measured, warmup = Path(args[0]), Path(args[1])
        run(warmup)
        peak, records = peak_of(lambda: run(measured))
    else:
        raise SystemExit(f"unknown action {action!r}")
    print(json.dumps({"peak": peak, "records": records}))


if __name__ == "__main__":
    main(sys.argv[1:])

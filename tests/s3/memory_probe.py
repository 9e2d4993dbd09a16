"""Measure the tracemalloc peak of one export to ``s3://`` in a process of its own:
``python -m tests.s3.memory_probe URL WARMUP_URL LIMIT`` (environment: ``ARCHIVE_DATA_DIR``,
``DATABASE_URL`` and the AWS variables) exports the documents with a primary key up to LIMIT,
data only, in parts of :data:`tests.s3.helpers.MIN_PART` bytes, once unmeasured into WARMUP_URL
and once under tracemalloc into URL, and prints
``{"peak": bytes, "records": n}`` as JSON (see :mod:`tests.helpers.memory_probe`)."""

from __future__ import annotations

import dataclasses
import json
import os
import sys


def export(url: str, limit: int) -> int:
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
    options = ExportOptions(target=None, remote=url, data_only=True, batch_size=500)
    summary = StreamingExporter(plan, options).run()
    return summary.records["documents"]


def main(argv: list[str]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "archive.settings")
    import django

    django.setup()
    from exporter.sinks import s3_upload
    from tests.helpers.memory_probe import peak_of
    from tests.s3.helpers import MIN_PART

    # Small parts, so that the manifests of both sizes go up as multipart uploads: what is
    # compared is what grows with the archive, not the (constant) part buffer.
    s3_upload.PART_SIZE = MIN_PART
    url, warmup, limit = argv[0], argv[1], int(argv[2])
    export(warmup, limit)
    peak, records = peak_of(lambda: export(url, limit))
    print(json.dumps({"peak": peak, "records": records}))


if __name__ == "__main__":
    main(sys.argv[1:])

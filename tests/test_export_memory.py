"""The streaming export, files included, holds nothing per document in memory."""

from __future__ import annotations

import dataclasses
import tracemalloc

import pytest

from documents.generator import generate_archive
from exporter.options import ExportOptions
from exporter.plan import Section, load_plan
from exporter.streaming import StreamingExporter

pytestmark = pytest.mark.django_db


def export_peak(target, documents_limit: int) -> tuple[int, int]:
    plan = load_plan()
    sections = tuple(
        Section(s.key, lambda s=s: s.queryset().filter(pk__lte=documents_limit))
        if s.key == plan.documents_key
        else s
        for s in plan.sections
    )
    plan = dataclasses.replace(plan, sections=sections)
    target.mkdir()
    tracemalloc.start()
    try:
        summary = StreamingExporter(plan, ExportOptions(target=target, batch_size=500)).run()
        return tracemalloc.get_traced_memory()[1], summary.records["documents"]
    finally:
        tracemalloc.stop()


def test_export_of_20000_documents_with_files_peaks_like_2000(media, tmp_path):
    generate_archive(documents=20_000, seed=1, content_kb=1, batch_size=5000)
    export_peak(tmp_path / "warmup", 500)
    small_peak, small = export_peak(tmp_path / "small", 2000)
    large_peak, large = export_peak(tmp_path / "large", 20_000)
    assert (small, large) == (2000, 20_000)
    assert large_peak - small_peak < 2 * 1024 * 1024, (small_peak, large_peak)

"""The streaming export, files included, holds nothing per document in memory."""

from __future__ import annotations

import dataclasses
import tracemalloc

import pytest

from documents.generator import generate_archive
from exporter.export.options import ExportOptions
from exporter.export.streaming import StreamingExporter
from exporter.plan import Section, load_plan

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


def peak_of(action) -> int:
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_verify_and_import_of_20000_documents_peak_like_2000(media, tmp_path):
    from django.apps import apps
    from django.contrib.auth.models import Group, User
    from guardian.models import GroupObjectPermission, UserObjectPermission

    from exporter.readback.importing import ArchiveImporter, ImportOptions
    from exporter.readback.source import open_source
    from exporter.readback.verify import ExportVerifier

    domain = [
        *apps.get_app_config("documents").get_models(),
        UserObjectPermission,
        GroupObjectPermission,
        User,
        Group,
    ]

    def wipe():
        for model in domain:
            model._base_manager.all().delete()

    exports = {}
    for size in (2000, 20_000):
        generate_archive(documents=size, seed=3, content_kb=1, with_files=False, batch_size=5000)
        target = tmp_path / str(size)
        target.mkdir()
        StreamingExporter(load_plan(), ExportOptions(target=target, data_only=True)).run()
        exports[size] = target
        wipe()

    def verify(size):
        with open_source(exports[size]) as source:
            report = ExportVerifier(source, load_plan()).run()
        assert report.ok, report.problems[:3]

    def load(size):
        wipe()
        with open_source(exports[size]) as source:
            ArchiveImporter(source, load_plan(), ImportOptions(data_only=True)).run()

    verify(2000)
    verify_small, verify_large = peak_of(lambda: verify(2000)), peak_of(lambda: verify(20_000))
    load(2000)
    load_small, load_large = peak_of(lambda: load(2000)), peak_of(lambda: load(20_000))
    assert verify_large - verify_small < 2 * 1024 * 1024, (verify_small, verify_large)
    assert load_large - load_small < 2 * 1024 * 1024, (load_small, load_large)

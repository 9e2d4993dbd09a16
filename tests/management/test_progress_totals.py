"""The totals the exporter's progress shows, counted before copying: as many files and bytes as
the export then holds; and the hooks that advance the bytes' bar on an unchanged re-run."""

from __future__ import annotations

import pytest

from exporter.export.options import ExportOptions
from exporter.export.streaming import StreamingExporter
from exporter.export.totals import document_file_totals
from exporter.progress import ExportProgress
from exporter.site_plan import load_plan
from tests.helpers.exports import export

pytestmark = pytest.mark.django_db

ARCHIVE = {"documents": 6, "seed": 43}


class Recorder(ExportProgress):
    """Progress that remembers what the run told it."""

    wants_totals = True

    def __init__(self) -> None:
        self.stages: list[str] = []
        self.planned: tuple[int, int] | None = None
        self.copied = self.skipped = 0

    def stage(self, name, *, total=None, unit=""):
        self.stages.append(name)

    def files_planned(self, files, size):
        self.planned = (files, size)

    def bytes_copied(self, count):
        self.copied += count

    def bytes_skipped(self, count):
        self.skipped += count


def exported_files(target):
    return [
        p
        for p in target.rglob("*")
        if p.is_file() and p.suffix != ".json" and not p.name.startswith(".document_exporter-")
    ]


@pytest.mark.parametrize("args", [(), ("-nt", "-na")], ids=["all files", "originals only"])
def test_the_totals_are_what_the_export_then_holds(archive, tmp_path, args):
    target = export(tmp_path / "e", *args)
    plan = load_plan()
    files = exported_files(target)
    totals = document_file_totals(
        plan.document_files,
        plan.section(plan.documents_key).queryset(),
        thumbnail="-nt" not in args,
        archive="-na" not in args,
    )
    assert totals == (len(files), sum(p.stat().st_size for p in files))


def test_an_unchanged_rerun_counts_its_bytes_as_done(archive, tmp_path):
    target = export(tmp_path / "e")
    size = sum(p.stat().st_size for p in exported_files(target))
    progress = Recorder()
    StreamingExporter(load_plan(), ExportOptions(target=target), progress).run()
    assert progress.planned is not None and progress.planned[1] == size
    assert (progress.copied, progress.skipped) == (0, size)
    assert progress.stages[:3] == ["reading", "counting files", "copying files"]
    assert progress.stages[-3:] == ["committing", "syncing", "committing"]

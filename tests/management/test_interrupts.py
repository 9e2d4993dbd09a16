"""SIGINT and SIGTERM end an export cleanly; kill -9 leftovers never pile up.

A real ``document_exporter`` process freezes itself at a seeded event
(``tests/helpers/stop_point.py``), the test queues SIGINT or SIGTERM and lets it go on: the run
must remove its temporary files,
leave the previous export byte-identical (or, once the commit began, finish it), say so in one
line without a traceback, and exit 130 or 143.
"""

from __future__ import annotations

import random
import signal
from pathlib import Path

import pytest

from documents.models import Document
from exporter.sinks.file_list import RUN_MARKER_NAME
from tests.helpers.processes import (
    command_environment,
    database_url,
    manage,
    temp_files,
    tree_state,
)
from tests.helpers.stop_points import spawn, wait_stopped

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.one_database]

SEED = 4242
DOCUMENTS = 16


ARCHIVE = {"documents": DOCUMENTS, "seed": SEED % 100}


def export_args(target: Path, *args: str) -> list[str]:
    return ["document_exporter", str(target), "--stream", "--no-progress-bar", *args]


def retitle_all(round_: int) -> None:
    """New names for every document, so the next run copies every file again."""
    for document in Document.global_objects.all():
        document.title = f"R{round_} {document.title}"[:128]
        document.save()


def stopped_then_signalled(media: Path, args: list[str], stop_at: str, signum: int):
    process = spawn(args, command_environment(media.parent), stop_at)
    assert wait_stopped(process), process.communicate()[1]
    process.send_signal(signum)
    process.send_signal(signal.SIGCONT)
    _, stderr = process.communicate(timeout=120)
    return process.returncode, stderr


POINTS = [
    ("file", ()),
    ("manifest", ("--batch-size", "2")),
    ("split", ("-sm",)),
    ("zip", ("-z", "-zn", "backup")),
]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("kind, args", POINTS, ids=[kind for kind, _ in POINTS])
def test_a_signal_before_the_commit_leaves_the_previous_export(
    archive, tmp_path, kind, args, signum
):
    target = tmp_path / "export"
    target.mkdir()
    first = manage(archive.parent, *export_args(target, *args), database_url=database_url())
    assert first.returncode == 0, first.stderr
    before = tree_state(target)
    retitle_all(1)
    point = random.Random(f"{SEED}{kind}{signum}").randint(1, 5)
    code, stderr = stopped_then_signalled(
        archive, export_args(target, *args), f"{kind}:{point}", signum
    )
    assert "Traceback" not in stderr, stderr
    assert code == 128 + signum, stderr
    name = signal.Signals(signum).name
    assert f"Stopped by {name}. The previous export was left as it was." in stderr
    assert tree_state(target) == before
    assert not temp_files(target, archive)
    assert not (target / RUN_MARKER_NAME).exists()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_during_the_commit_lets_it_finish(archive, tmp_path, signum):
    target = tmp_path / "export"
    target.mkdir()
    first = manage(archive.parent, *export_args(target), database_url=database_url())
    assert first.returncode == 0, first.stderr
    retitle_all(1)
    code, stderr = stopped_then_signalled(archive, export_args(target, "-d"), "replace:3", signum)
    assert "Traceback" not in stderr, stderr
    assert code == 128 + signum, stderr
    assert "after the export was committed" in stderr
    assert not temp_files(target, archive)
    # The new export is complete: it verifies, and names the new titles.
    verified = manage(archive.parent, "verify_export", str(target), database_url=database_url())
    assert verified.returncode == 0, verified.stdout + verified.stderr
    files = {p.name for p in target.iterdir() if not p.name.startswith(".")}
    files -= {"manifest.json", "metadata.json"}
    assert files and all(" R1 " in name for name in files), files


def test_kill_9_leftovers_stay_bounded_and_the_next_run_leaves_none(archive, tmp_path):
    target = tmp_path / "export"
    target.mkdir()
    counts = []
    for round_ in range(10):
        retitle_all(round_)
        process = spawn(export_args(target), command_environment(archive.parent), "file:12")
        assert wait_stopped(process), process.communicate()[1]
        process.kill()
        process.communicate(timeout=60)
        counts.append(len(temp_files(target)))
    # Each run removes what the killed one before it left: the count never grows.
    assert counts[0] > 0
    assert max(counts) <= counts[0] + 1, counts
    done = manage(archive.parent, *export_args(target), database_url=database_url())
    assert done.returncode == 0, done.stderr
    assert "leftovers of interrupted runs removed" in done.stdout
    assert not temp_files(target)
    assert not (target / RUN_MARKER_NAME).exists()

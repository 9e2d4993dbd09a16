"""The streaming export, files included, holds nothing per document in memory; neither do
verify_export and document_importer.

How rows are read is the database's (a server-side cursor on PostgreSQL, an unbuffered one on
MariaDB), so the data-only export, verification and import are measured on every database;
copying files is not, so the export with files is measured in the SQLite pass only.

Each peak is measured in a process of its own (:mod:`tests.helpers.memory_probe`), so that it is
the exporter's alone: a test runner's process keeps things of its own (captured warnings and
logs, what earlier tests left, the threads of pytest-xdist workers) that can grow while a run
goes on.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from documents.generator import generate_archive
from tests.helpers.archives import wipe
from tests.helpers.processes import ROOT, command_environment

# Committed rows: the probe's process reads them.
pytestmark = pytest.mark.django_db(transaction=True)


def probe(data_dir: Path, *args: str) -> tuple[int, int]:
    """The peak and record count that :mod:`tests.helpers.memory_probe` measures."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.helpers.memory_probe", *args],
        cwd=ROOT,
        env=command_environment(data_dir),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return result["peak"], result["records"]


@pytest.mark.one_database
def test_export_of_20000_documents_with_files_peaks_like_2000(media, tmp_path):
    generate_archive(documents=20_000, seed=1, content_kb=1, batch_size=5000)
    data_dir = media.parent
    small_peak, small = probe(
        data_dir, "export", str(tmp_path / "small"), str(tmp_path / "warmup-small"), "2000"
    )
    large_peak, large = probe(
        data_dir, "export", str(tmp_path / "large"), str(tmp_path / "warmup-large"), "20000"
    )
    assert (small, large) == (2000, 20_000)
    assert large_peak - small_peak < 2 * 1024 * 1024, (small_peak, large_peak)


def test_export_verify_and_import_of_20000_documents_peak_like_2000(media, tmp_path):
    data_dir = media.parent
    exports, export_peaks = {}, {}
    for size in (2000, 20_000):
        generate_archive(documents=size, seed=3, content_kb=1, with_files=False, batch_size=5000)
        target = tmp_path / str(size)
        # Every document (the keys go on counting after a wipe on PostgreSQL and MariaDB).
        warmup = tmp_path / f"warmup-{size}"
        export_peaks[size], records = probe(
            data_dir, "export", str(target), str(warmup), str(10**18), "data-only"
        )
        assert records == size
        exports[size] = str(target)
        wipe(media)

    assert export_peaks[20_000] - export_peaks[2000] < 2 * 1024 * 1024, export_peaks
    verify_small, _ = probe(data_dir, "verify", exports[2000], exports[2000])
    verify_large, _ = probe(data_dir, "verify", exports[20_000], exports[2000])
    load_small, _ = probe(data_dir, "import", exports[2000], exports[2000])
    load_large, _ = probe(data_dir, "import", exports[20_000], exports[2000])
    assert verify_large - verify_small < 2 * 1024 * 1024, (verify_small, verify_large)
    assert load_large - load_small < 2 * 1024 * 1024, (load_small, load_large)

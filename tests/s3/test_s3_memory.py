"""An export to ``s3://`` holds nothing per record in memory: the manifest goes up in parts of
bounded size while it streams. Each peak is measured in a process of its own
(:mod:`tests.s3.memory_probe`)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from documents.generator import generate_archive
from tests.helpers.processes import ROOT, command_environment

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.one_database]


def probe(data_dir, env, url: str, warmup: str, limit: int) -> tuple[int, int]:
    done = subprocess.run(
        [sys.executable, "-m", "tests.s3.memory_probe", url, warmup, str(limit)],
        cwd=ROOT,
        env=command_environment(data_dir, **env),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return result["peak"], result["records"]


def test_an_export_of_3000_documents_peaks_like_1000(media, bucket, s3_env):
    generate_archive(documents=3000, seed=2, content_kb=1, with_files=False, batch_size=3000)
    data_dir = media.parent
    base = f"s3://{bucket}"
    small_peak, small = probe(data_dir, s3_env, f"{base}/small", f"{base}/warm-small", 1000)
    large_peak, large = probe(data_dir, s3_env, f"{base}/large", f"{base}/warm-large", 3000)
    assert (small, large) == (1000, 3000)
    assert large_peak - small_peak < 2 * 1024 * 1024, (small_peak, large_peak)

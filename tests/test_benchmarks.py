"""The benchmark harness: a real ``python -m benchmarks --quick`` run, and its pure helpers.

The smoke test always benchmarks SQLite, whatever DATABASE_URL this pass of the suite runs with:
it checks that the harness works, not a database, and it asserts no timing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.cases import CASES
from benchmarks.limits import parse_size
from benchmarks.report import pair_ratios
from benchmarks.workloads import count_manifest_records

ROOT = Path(__file__).resolve().parent.parent
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
POSITIVE = (
    "wall_seconds",
    "cpu_seconds",
    "peak_rss_bytes",
    "export_seconds",
    "records",
    "bytes",
    "queries",
    "records_per_second",
    "mb_per_second",
)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bench-out")
    cache = tmp_path_factory.mktemp("bench-cache")
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--out", out, "--cache-dir", cache],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return out


def test_quick_run_measures_every_contender(quick_run: Path) -> None:
    results = json.loads((quick_run / "results.json").read_text())
    assert results["settings"]["database"] == "sqlite"
    assert results["machine"]["database"]["vendor"] == "sqlite"
    contenders = {contender.name for contender in CASES["data-only"].contenders}
    runs = results["runs"]
    assert {run["contender"] for run in runs} == contenders
    for run in runs:
        assert run["status"] == "ok", run
        for key in POSITIVE:
            assert run[key] > 0, (run["contender"], run["documents"], key)
    # Every contender exported the same archive: the same records at each size.
    for size in results["settings"]["sizes"]:
        counts = {run["contender"]: run["records"] for run in runs if run["documents"] == size}
        assert len(set(counts.values())) == 1, (size, counts)
        assert counts["stream"] > size  # documents plus their notes, tags, users...
    summaries = results["summaries"]
    assert len(summaries) == len(contenders) * len(results["settings"]["sizes"])
    assert {(r["numerator"], r["denominator"]) for r in results["ratios"]} == {
        ("classic", "stream"),
        ("stream", "floor"),
    }


def test_quick_run_writes_report_and_plots(quick_run: Path) -> None:
    markdown = (quick_run / "results.md").read_text()
    for contender in CASES["data-only"].contenders:
        assert f"| data-only | {contender.name} |" in markdown
    for name in ("rss_vs_n.png", "throughput_vs_n.png"):
        data = (quick_run / name).read_bytes()
        assert data.startswith(PNG_SIGNATURE) and len(data) > 1000


@pytest.mark.parametrize(
    ("text", "size"),
    [("8G", 8 << 30), ("512M", 512 << 20), ("1.5GiB", 3 << 29), ("4096", 4096), ("2k", 2048)],
)
def test_parse_size(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "8X", "-1G", "0"])
def test_parse_size_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_size(text)


def test_count_manifest_records(tmp_path: Path) -> None:
    records = [
        {"model": "a.b", "pk": 1, "fields": {"model": "nested", "text": 'x\n    "model": "y"'}},
        {"model": "a.b", "pk": 2, "fields": {"json": {"model": 1}}},
        {"model": "a.c", "pk": 3, "fields": {}},
    ]
    classic = tmp_path / "classic.json"
    classic.write_text(json.dumps(records, indent=2))
    # dumpdata's layout: records at the top level of each line, keys indented once.
    dumpdata = tmp_path / "dumpdata.json"
    dumpdata.write_text("[\n" + ",\n".join(json.dumps(r, indent=2) for r in records) + "\n]\n")
    compact = tmp_path / "compact.json"
    compact.write_text(json.dumps(records))
    empty = tmp_path / "empty.json"
    empty.write_text("[]")
    assert [count_manifest_records(p) for p in (classic, dumpdata, compact, empty)] == [3, 3, 3, 0]


def test_ratios_pair_runs_by_repeat() -> None:
    def run(contender: str, repeat: int, seconds: float) -> dict:
        return {
            "case": "c",
            "contender": contender,
            "documents": 10,
            "repeat": repeat,
            "status": "ok",
            "export_seconds": seconds,
            "wall_seconds": seconds + 1,
        }

    runs = [run("a", 1, 10), run("b", 1, 1), run("a", 2, 30), run("b", 2, 10), run("a", 3, 8)]
    [ratio] = pair_ratios(runs, {"c": [("a", "b")]})
    # Repeat 3 has no partner; the ratios of repeats 1 and 2 are 10 and 3.
    assert ratio["pairs"] == 2
    assert ratio["export_seconds"] == {"median": 6.5, "min": 3, "max": 10}

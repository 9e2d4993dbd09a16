"""The benchmark harness: a real ``python -m benchmarks --quick`` run, and its pure helpers.

The smoke test always benchmarks SQLite, whatever DATABASE_URL this pass of the suite runs with:
it checks that the harness works, not a database, and it asserts no timing.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import snapshot
from benchmarks.cases import CASES
from benchmarks.cli import select
from benchmarks.limits import MemoryCap, parse_size
from benchmarks.plots import plot_names
from benchmarks.prepare import Workspace
from benchmarks.report import pair_ratios
from benchmarks.workloads import count_manifest_records
from tests.helpers.processes import ROOT

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
POSITIVE = (
    "wall_seconds",
    "cpu_seconds",
    "peak_rss_bytes",
    "export_seconds",
    "bytes",
    "mb_per_second",
)
#: Contenders that handle no records (a plain copy of the media folder).
NO_RECORDS = {("files", "cp")}
#: Contenders that run without Django and so count no queries.
NO_QUERIES = {("files", "cp"), ("verify", "ijson"), ("s3", "boto3")}
#: Contenders that read a manifest: MB/s is over the bytes read, not written.
READERS = {"import", "verify"}
#: Cases that export into object storage: MB/s is over the bytes of the export stored there.
STORED = {"s3"}


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bench-out")
    cache = tmp_path_factory.mktemp("bench-cache")
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)
    completed = subprocess.run(
        # One size: the smoke test checks that every contender runs and reports, not scaling.
        [sys.executable, "-m", "benchmarks", "--quick", "--sizes", "100", "--out", out]
        + ["--cache-dir", cache],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return out


def test_quick_run_measures_every_contender(quick_run: Path) -> None:
    results = json.loads((quick_run / "results.json").read_text())
    assert results["settings"]["database"] == "sqlite"
    assert results["machine"]["database"]["vendor"] == "sqlite"
    sizes = results["settings"]["sizes"]
    runs = results["runs"]
    expected = {(c, k.name, n) for c in CASES for k in CASES[c].contenders for n in sizes}
    assert {(r["case"], r["contender"], r["documents"]) for r in runs} == expected
    for run in runs:
        key = (run["case"], run["contender"])
        assert run["status"] == "ok", run
        assert run["measured"] is True
        for figure in POSITIVE:
            assert run[figure] > 0, (key, run["documents"], figure)
        if key in NO_RECORDS:
            assert run["records"] is None and run["records_per_second"] is None
        else:
            assert run["records"] > 0 and run["records_per_second"] > 0, key
        if key in NO_QUERIES:
            assert run["queries"] is None
        else:
            assert run["queries"] >= 0, key
        source = (
            "read"
            if run["case"] in READERS
            else "object store"
            if run["case"] in STORED
            else "output"
        )
        assert run["child"]["bytes_source"] == source, key
    for size in sizes:
        # Every contender that writes or reads a manifest saw the same records at each size.
        counts = {
            (run["case"], run["contender"]): run["records"]
            for run in runs
            if run["documents"] == size and run["records"] is not None
        }
        assert len(set(counts.values())) == 1, (size, counts)
        assert counts["data-only", "stream"] > size  # documents plus their notes, tags, users...
        # A verify or import reads the manifest an export of the same archive writes.
        by_case = {
            case: {r["bytes"] for r in runs if (r["case"], r["documents"]) == (case, size)}
            for case in READERS
        }
        assert len(by_case["import"] | by_case["verify"]) == 1, by_case
        # The stream export with files holds what cp copied, plus the manifests.
        files = {r["contender"]: r for r in runs if (r["case"], r["documents"]) == ("files", size)}
        assert files["stream"]["bytes"] > files["cp"]["bytes"]
        assert files["classic"]["bytes"] == files["stream"]["bytes"]
        # Into object storage: the full export uploaded every file, the unchanged re-run only
        # some (the JSON files), and the floor PUT the same files, byte for byte as many.
        s3 = {r["contender"]: r for r in runs if (r["case"], r["documents"]) == ("s3", size)}
        assert len({r["bytes"] for r in s3.values()}) == 1, s3
        assert len({r["child"]["export_files"] for r in s3.values()}) == 1, s3
        full, unchanged = s3["stream"]["child"], s3["stream-unchanged"]["child"]
        assert full["uploaded_files"] == full["export_files"] > size
        assert full["uploaded_bytes"] == s3["stream"]["bytes"]
        assert 0 < unchanged["uploaded_files"] < full["export_files"] / 10
        assert s3["boto3"]["child"]["uploaded_bytes"] == s3["stream"]["bytes"]
    summaries = results["summaries"]
    assert len(summaries) == len(expected)
    wanted_ratios = {(case, *pair) for case in CASES for pair in CASES[case].ratios}
    got_ratios = {(r["case"], r["numerator"], r["denominator"]) for r in results["ratios"]}
    assert got_ratios == wanted_ratios
    assert all(r["pairs"] == 1 for r in results["ratios"])


def test_quick_run_writes_report_and_plots(quick_run: Path) -> None:
    markdown = (quick_run / "results.md").read_text()
    for case in CASES.values():
        for contender in case.contenders:
            assert f"| {case.name} | {contender.name} |" in markdown
            assert f"  - `{contender.name}`: {contender.description}" in markdown
    names = [name for case in CASES for name in plot_names(case)]
    assert names[:2] == ["rss_vs_n.png", "throughput_vs_n.png"]
    for name in names:
        data = (quick_run / name).read_bytes()
        assert data.startswith(PNG_SIGNATURE) and len(data) > 1000


def test_select_cases_and_contenders() -> None:
    chosen = select("files,incremental", None)
    assert [(case.name, [c.name for c in contenders]) for case, contenders in chosen] == [
        ("files", ["classic", "stream", "cp"]),
        (
            "incremental",
            ["classic", "stream", "classic-c", "stream-c", "data-only", "data-only+sha256sum"],
        ),
    ]
    # A contender name picks it in every selected case that has it.
    chosen = select("import,verify,data-only", "stream,verify")
    assert [(case.name, [c.name for c in contenders]) for case, contenders in chosen] == [
        ("import", ["stream"]),
        ("verify", ["verify"]),
        ("data-only", ["stream"]),
    ]
    chosen = select("s3", "stream-unchanged,boto3")
    assert [(case.name, [c.name for c in contenders]) for case, contenders in chosen] == [
        ("s3", ["stream-unchanged", "boto3"]),
    ]
    with pytest.raises(SystemExit, match="unknown case"):
        select("files,nope", None)
    with pytest.raises(SystemExit, match="unknown contender"):
        select("verify", "cp")


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


def test_workspace_stops_its_object_store_even_on_failure(tmp_path: Path) -> None:
    """The s3 case's server is a real process: closing the workspace, after an error too,
    stops it, and a new bucket is reachable with the environment the children get."""
    workspace = Workspace(
        code=ROOT, cap=MemoryCap(1 << 30), timeout=60, log_dir=tmp_path, scratch=tmp_path
    )
    with pytest.raises(RuntimeError), workspace:
        store = workspace.object_store()
        assert workspace.object_store() is store  # one server per invocation
        bucket = store.new_bucket()
        env = store.child_env({"AWS_PROFILE": "host", "PATH": os.environ["PATH"]})
        assert "AWS_PROFILE" not in env and env["AWS_ENDPOINT_URL"] == store.endpoint
        listed = subprocess.run(
            [sys.executable, "-c", LIST_BUCKETS],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert listed.stdout.split() == [bucket], listed.stderr[-2000:]
        raise RuntimeError("a run failed")
    assert store.process.poll() is not None
    assert not workspace.root.exists()


LIST_BUCKETS = """
import boto3
for bucket in boto3.session.Session().client("s3").list_buckets()["Buckets"]:
    print(bucket["Name"])
"""


def test_the_re_run_targets_compare_with_the_data_only_contenders() -> None:
    from benchmarks.targets import incremental

    def ratio(numerator: str, denominator: str, export: float) -> dict:
        return {
            "case": "incremental",
            "numerator": numerator,
            "denominator": denominator,
            "documents": 10_000,
            "export_seconds": {"median": export, "min": export, "max": export},
            "wall_seconds": {"median": export, "min": export, "max": export},
        }

    targets = incremental(
        [], [ratio("stream", "data-only", 1.25), ratio("stream-c", "data-only+sha256sum", 1.4)]
    )
    assert [t["result"] for t in targets] == ["met", "NOT met"]
    assert targets[1]["detail"] == "10,000: 1.40× (1.40× wall)"
    assert [t["result"] for t in incremental([], [])] == ["not measured", "not measured"]


def test_the_snapshot_is_byte_compiled(tmp_path: Path) -> None:
    # The children then load compiled modules, as from an installed package, even where
    # PYTHONDONTWRITEBYTECODE keeps Python from writing them itself.
    code, description = snapshot.take(ROOT, "worktree")
    try:
        sources = sorted((code / "exporter").rglob("*.py"))
        assert sources
        for source in sources:
            assert Path(importlib.util.cache_from_source(str(source))).is_file(), source
        assert description["fingerprint"] == snapshot.fingerprint(code)
    finally:
        shutil.rmtree(code)

"""--json on document_exporter, verify_export and document_importer, in real processes: one
JSON object on standard output that validates against docs/json-output.schema.json, and whose
counts are the export's own (its manifest's records, its files and their bytes)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import jsonschema
import pytest

from tests.helpers.exports import FILE, documents, flip_byte, records
from tests.helpers.processes import ROOT, manage, run_command, run_verify

# The commands run in processes of their own: they must see the archive, so it is committed.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.one_database]

ARCHIVE = {"documents": 5, "seed": 29}

SCHEMA = json.loads((ROOT / "docs" / "json-output.schema.json").read_text())


def parsed(stdout: str) -> dict:
    """The one JSON object standard output holds, validated against the schema."""
    lines = stdout.splitlines()
    assert len(lines) == 1, stdout
    document = json.loads(lines[0])
    jsonschema.validate(document, SCHEMA)
    return document


def exported_files(target: Path) -> list[Path]:
    """The document files of an export: everything but its JSON and the tool's own files."""
    return [
        p
        for p in target.rglob("*")
        if p.is_file() and p.suffix != ".json" and not p.name.startswith(".document_exporter-")
    ]


def test_export_verify_and_import_report_the_exports_counts(archive, tmp_path):
    target = tmp_path / "e"
    target.mkdir()
    done = run_command(
        "document_exporter", str(target), "--stream", "--verify", "--json", data_dir=tmp_path
    )
    assert done.returncode == 0, done.stderr
    exported = parsed(done.stdout)
    assert (exported["command"], exported["status"], exported["exit_code"]) == (
        "document_exporter",
        "ok",
        0,
    )
    manifest = records(target)
    by_model = Counter(r["model"] for r in manifest)
    files = exported_files(target)
    assert len(documents(target)) == 5
    assert exported["records_total"] == len(manifest)
    assert exported["documents"] == len(documents(target))
    assert exported["files"]["copied"] == len(files)
    assert exported["files"]["bytes_copied"] == sum(p.stat().st_size for p in files)
    json_bytes = sum((target / n).stat().st_size for n in ("manifest.json", "metadata.json"))
    assert exported["manifests"] == {"written": 2, "unchanged": 0, "bytes_written": json_bytes}
    assert exported["verification"]["records"] == dict(by_model)
    assert {"reading", "copying files", "syncing", "committing", "verifying"} <= set(
        exported["durations"]
    )
    # An unchanged re-run with -cj: nothing written, everything left untouched.
    again = parsed(
        run_command(
            "document_exporter", str(target), "--stream", "-cj", "--json", data_dir=tmp_path
        ).stdout
    )
    assert again["files"]["copied"] == 0 and again["files"]["unchanged"] == len(files)
    assert again["manifests"] == {"written": 0, "unchanged": 2, "bytes_written": 0}

    verified = parsed(run_verify(target, "--json", data_dir=tmp_path).stdout)
    assert verified["verified"] and verified["status"] == "ok"
    assert verified["records"] == dict(by_model) and verified["records_total"] == len(manifest)
    assert verified["files_checked"] == len(files)

    home = tmp_path / "restored"
    assert manage(home, "migrate", "-v", "0").returncode == 0
    done = manage(home, "document_importer", str(target), "--json")
    assert done.returncode == 0, done.stderr
    imported = parsed(done.stdout)
    assert imported["records"] == dict(by_model)
    assert imported["files"]["copied"] == len(files)
    assert imported["files"]["bytes_copied"] == sum(p.stat().st_size for p in files)
    assert {"loading", "copying files"} <= set(imported["durations"])


def test_failures_are_objects_too(archive, tmp_path):
    target = tmp_path / "e"
    target.mkdir()
    run_command(
        "document_exporter", str(target), "--stream", "--no-progress-bar", data_dir=tmp_path
    )
    flip_byte(target / documents(target)[0][FILE])
    done = run_verify(target, "--json", data_dir=tmp_path)
    assert done.returncode == 1
    failed = parsed(done.stdout)
    assert (failed["status"], failed["verified"], failed["problems_total"]) == ("failed", False, 1)
    assert failed["message"].startswith("Verification failed: 1 problems")
    assert "has sha256" in failed["problems"][0]
    done = run_command(
        "document_exporter", str(tmp_path / "missing"), "--stream", "--json", data_dir=tmp_path
    )
    assert done.returncode == 1
    missing = parsed(done.stdout)
    assert missing["status"] == "failed" and "does not exist" in missing["message"]
    done = run_command("document_exporter", "-", "--stream", "-z", "--json", data_dir=tmp_path)
    assert done.returncode == 2 and parsed(done.stdout)["status"] == "usage"

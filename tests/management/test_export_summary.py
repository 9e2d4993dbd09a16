"""document_exporter's summary: what ``-cj`` wrote and left untouched, and ``-v 2``'s lists
of the files removed, kept from the previous export and left unchanged."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import CommandError

from documents.models import Document
from tests.helpers.exports import FILE, documents, export

pytestmark = [pytest.mark.django_db, pytest.mark.one_database]

ARCHIVE = {"documents": 5, "seed": 17}


def run(target: Path, *args: str, verbosity: int = 1) -> str:
    """``document_exporter --stream TARGET *args``; its standard output (also on exit 3)."""
    out = io.StringIO()
    try:
        export(target, *args, verbosity=verbosity, stdout=out, stderr=io.StringIO())
    except CommandError as exc:
        assert exc.returncode == 3, exc
    return out.getvalue()


def line(output: str, start: str) -> str:
    return next(x for x in output.splitlines() if x.startswith(start))


def test_compare_json_counts_only_what_it_wrote(archive, tmp_path):
    target = tmp_path / "e"
    first = run(target, "-cj")
    size = sum((target / name).stat().st_size for name in ("manifest.json", "metadata.json"))
    assert (
        line(first, "  manifests:") == f"  manifests: 2 written ({size / 1e6:.1f} MB), 0 unchanged"
    )
    again = run(target, "-cj")
    assert line(again, "  manifests:") == "  manifests: 0 written (0.0 MB), 2 unchanged"
    files = sum(1 for p in target.rglob("*") if p.is_file() and not p.name.endswith(".json"))
    files -= sum(1 for p in target.glob(".document_exporter-*"))  # the tool's own
    assert line(again, "  files:") == f"  files: 0 copied (0.0 MB), {files} unchanged, 0 deleted"


def test_verbosity_2_lists_the_files_removed_kept_and_unchanged(archive, tmp_path):
    target = tmp_path / "e"
    run(target)
    before = documents(target)
    renamed, lost = before[0], before[1]
    Document.global_objects.filter(pk=renamed["pk"]).update(title="A new title")
    source = Document.global_objects.get(pk=lost["pk"]).source_path
    Path(source).unlink()
    quiet = run(target, "-d")
    assert "  deleted:" not in quiet and "  unchanged:" not in quiet
    Document.global_objects.filter(pk=renamed["pk"]).update(title="Another title")
    output = run(target, "-d", verbosity=2)
    lines = output.splitlines()
    deleted = lines[lines.index("  deleted:") + 1 :]
    # The names the previous run gave the renamed document's files are gone, and listed.
    previous_names = {n for n in deleted if n.startswith("    ") and "A new title" in n}
    assert previous_names and all(not (target / n.strip()).exists() for n in previous_names)
    kept = lines[lines.index("  kept from the previous export:") + 1]
    assert kept == f"    {lost[FILE]}" and (target / lost[FILE]).exists()
    unchanged = lines[lines.index("  unchanged:") + 1 :]
    others = documents(target)[2]
    assert f"    {others[FILE]}" in unchanged

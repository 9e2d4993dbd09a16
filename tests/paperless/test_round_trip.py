"""Export -> import -> export on a paperless-ngx 3.0.5 twin is byte-identical: every record
(``auto_now`` timestamps included), every file (originals, thumbnails, archived versions,
share link bundles) and metadata.json; the import goes into a freshly migrated twin without
--force, and runs the plan's post-import step (``document_index reindex``) once, only after a
successful import.

Each import goes into its own freshly migrated twin database on the pass's server.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.db import connection

from tests.paperless.compare import assert_same_bytes
from tests.paperless.restore import export, many_to_many, restore, same_records, tree
from tests.paperless.twin import Twin, twin_site

# The twin's database lives on the pass's server: these run on all three databases.
pytestmark = pytest.mark.django_db


def reindex_runs(twin: Twin) -> list[str]:
    """The lines the twin's ``document_index reindex`` stand-in logged, one per run."""
    log = twin.data_dir / "index" / "reindex.log"
    return log.read_text().splitlines() if log.exists() else []


@pytest.fixture(scope="module")
def first_export(twin, tmp_path_factory) -> Path:
    """The seeded twin's export with files (the 3.x plan's flat layout)."""
    return export(twin, tmp_path_factory.mktemp("round-trip") / "first")


@pytest.fixture(scope="module")
def restored(twin, migrated, first_export, tmp_path_factory):
    """A freshly migrated twin the first export was imported into, and the import's run."""
    with twin_site(tmp_path_factory.mktemp("restored"), migrated, seed=False) as target:
        yield target, restore(twin, target, first_export)


def test_import_into_a_fresh_twin_needs_no_force(restored):
    _, done = restored
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert "post-import: ran manage.py document_index reindex" in done.stdout, done.stdout


def test_export_import_export_is_byte_identical(restored, first_export, tmp_path):
    target, done = restored
    assert done.returncode == 0, done.stdout + done.stderr
    second = export(target, tmp_path / "second")
    expected, actual = tree(first_export), tree(second)
    assert sorted(actual) == sorted(expected)
    for name, data in expected.items():
        if name != "manifest.json":
            assert actual[name] == data, name
    # The records and their values are the same on every server...
    m2m = many_to_many(target)
    same_records(actual["manifest.json"], expected["manifest.json"], m2m)
    oracle = (target.oracle(tmp_path / "oracle") / "manifest.json").read_bytes()
    same_records(actual["manifest.json"], oracle, m2m)
    # ... and so are the bytes where the server's order of ties is reproducible (SQLite).
    # paperless-ngx orders rows and related rows without a tie-breaker (facts 3.3), and lists
    # related users and groups, whose models have no ordering, in the server's plan order;
    # after a bulk load (and its ANALYZE) PostgreSQL and MariaDB may plan paperless's queries
    # otherwise and give ties in another order than in the database the export came from.
    if connection.vendor == "sqlite":
        assert_same_bytes(actual["manifest.json"], expected["manifest.json"])
        assert_same_bytes(actual["manifest.json"], oracle)
    # The records cover the auto_now fields: a raw load keeps them, bulk_create would not.
    records = json.loads(expected["manifest.json"])
    modified = [r["fields"]["modified"] for r in records if r["model"] == "documents.document"]
    assert modified and len(set(modified)) > 1
    assert any(r["model"] == "socialaccount.socialaccount" for r in records)
    bundles = [name for name in expected if name.startswith("share_link_bundles/")]
    assert bundles, "the seeded twin has a built share link bundle"


def test_bundle_files_are_copied_back(restored, twin):
    target, done = restored
    assert done.returncode == 0, done.stdout + done.stderr
    folder = Path("documents") / "share_link_bundles"
    originals = sorted((twin.media_root / folder).iterdir())
    assert originals
    for original in originals:
        copied = target.media_root / folder / original.name
        assert copied.read_bytes() == original.read_bytes(), original.name


def test_post_import_step_ran_once(restored, first_export):
    target, done = restored
    assert done.returncode == 0, done.stdout + done.stderr
    records = json.loads((first_export / "manifest.json").read_bytes())
    documents = sum(r["model"] == "documents.document" for r in records)
    assert reindex_runs(target) == [f"reindex {documents}"]


def test_failed_import_runs_no_post_import_step(restored, first_export):
    target, _ = restored
    before = reindex_runs(target)
    # The restored twin now holds rows: a second import is refused before anything is done.
    done = target.manage("streaming_importer", str(first_export), "--no-progress-bar")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "not empty" in done.stderr, done.stderr
    assert reindex_runs(target) == before


@pytest.mark.one_database  # the post-import steps run after the load, whatever its database
def test_failing_post_import_step_exits_4_with_the_import_kept(
    twin, migrated, first_export, tmp_path
):
    with twin_site(tmp_path / "target", migrated, seed=False) as target:
        done = restore(
            twin, target, first_export, "--data-only", env={"PAPERLESS_TWIN_INDEX_FAILS": "1"}
        )
        assert done.returncode == 4, done.stdout + done.stderr
        assert "Traceback" not in done.stderr, done.stderr
        assert "The import is complete" in done.stderr, done.stderr
        assert "run manage.py document_index reindex yourself" in done.stderr, done.stderr
        again = export(target, tmp_path / "again", "--data-only")
        same_records(
            (again / "manifest.json").read_bytes(),
            (first_export / "manifest.json").read_bytes(),
            many_to_many(target),
        )


@pytest.mark.one_database
def test_skip_post_import(twin, migrated, first_export, tmp_path):
    with twin_site(tmp_path / "target", migrated, seed=False) as target:
        done = restore(twin, target, first_export, "--data-only", "--skip-post-import")
        assert done.returncode == 0, done.stdout + done.stderr
        assert reindex_runs(target) == []

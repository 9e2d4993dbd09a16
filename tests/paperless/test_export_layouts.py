"""In a paperless-ngx 3.0.5 twin, ``streaming_exporter`` writes the manifest paperless-ngx's
own exporter would: byte for byte, in both manifest layouts, with the 3.x plan and the 2.x plan,
and it copies every file the manifest names.

The expected bytes come from :mod:`tests.paperless.oracle`, run on the same twin database.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.paperless.compare import assert_files_copied, assert_same_bytes, exported_names

# django_db keeps these tests in the PostgreSQL and MariaDB passes: the twin's database lives
# on the pass's server, and row order and collation are the database's.
pytestmark = pytest.mark.django_db

#: The list of files an export of ours leaves in its target (not part of paperless's format).
OUR_FILE_LIST = ".document_exporter-files"
PLAN_2X = {"EXPORTER_PLAN": "exporter.paperless.build_plan_2x"}


@pytest.fixture(scope="module")
def expected(twin, tmp_path_factory):
    """The oracle's export for (version, layout): manifest bytes and the sources of its files,
    computed once per module."""
    cache: dict[tuple[int, str], tuple[bytes, dict[str, str]]] = {}

    def get(version: int, layout: str) -> tuple[bytes, dict[str, str]]:
        if (version, layout) not in cache:
            output = tmp_path_factory.mktemp(f"oracle-{version}-{layout}")
            sources = output / "sources.json"
            twin.oracle(
                output / "export",
                "--version",
                str(version),
                "--layout",
                layout,
                "--sources",
                str(sources),
            )
            manifest = (output / "export" / "manifest.json").read_bytes()
            cache[version, layout] = manifest, json.loads(sources.read_text())
        return cache[version, layout]

    return get


def export(twin, target: Path, *args: str, env: dict[str, str] | None = None) -> bytes:
    """``manage.py streaming_exporter TARGET --stream *args`` in the twin; the manifest."""
    target.mkdir()
    done = twin.manage(
        "streaming_exporter", str(target), "--stream", "--no-progress-bar", *args, env=env
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    return (target / "manifest.json").read_bytes()


def assert_no_files(target: Path, manifest: bytes) -> None:
    """A --data-only export wrote its JSON files (and our file list, docs/exporting.md "What
    -d removes") but none of the files its manifest names."""
    written = {p.relative_to(target).as_posix() for p in target.rglob("*")}
    assert written - {OUR_FILE_LIST} == {"manifest.json", "metadata.json"}, written
    assert not written & set(exported_names(manifest))


@pytest.mark.parametrize("data_only", [False, True], ids=["files", "data-only"])
@pytest.mark.parametrize("layout", ["flat", "classic"])
def test_3x_export_is_paperless_bytes(twin, expected, tmp_path, layout, data_only):
    target = tmp_path / "export"
    args = ["--manifest-layout", layout, *(["--data-only"] if data_only else [])]
    manifest = export(twin, target, *args)
    oracle_manifest, sources = expected(3, layout)
    assert_same_bytes(manifest, oracle_manifest)
    if data_only:
        assert_no_files(target, manifest)
    else:
        assert_files_copied(target, exported_names(manifest), sources)


def test_3x_default_layout_is_flat(twin, expected, tmp_path):
    manifest = export(twin, tmp_path / "export", "--data-only")
    assert manifest.startswith(b"[{\n")
    assert_same_bytes(manifest, expected(3, "flat")[0])


def test_2x_plan_default_is_classic_with_files(twin, expected, tmp_path):
    target = tmp_path / "export"
    manifest = export(twin, target, env=PLAN_2X)
    assert manifest.startswith(b"[\n  {\n")
    oracle_manifest, sources = expected(2, "classic")
    assert_same_bytes(manifest, oracle_manifest)
    assert_files_copied(target, exported_names(manifest), sources)


def test_2x_plan_flat_layout(twin, expected, tmp_path):
    manifest = export(
        twin, tmp_path / "export", "--data-only", "--manifest-layout", "flat", env=PLAN_2X
    )
    assert_same_bytes(manifest, expected(2, "flat")[0])


def test_seed_exercises_the_version_rules(expected):
    """The seeded twin holds what tells the two plans apart (else the tests above would
    compare nothing that matters): trashed documents, share-link bundles with files and rows
    of the users paperless-ngx 3.x leaves out."""
    records_3x = json.loads(expected(3, "flat")[0])
    records_2x = json.loads(expected(2, "classic")[0])
    models_3x = [r["model"] for r in records_3x]
    models_2x = [r["model"] for r in records_2x]
    assert models_3x.count("documents.document") > models_2x.count("documents.document")
    assert "documents.sharelinkbundle" not in models_2x
    assert any("__exported_share_link_bundle_name__" in r for r in records_3x)
    assert any("__exported_archive_name__" in r for r in records_3x)
    assert any(
        r["model"] == "documents.document" and "__exported_archive_name__" not in r
        for r in records_3x
    )
    assert models_2x.count("documents.uisettings") > models_3x.count("documents.uisettings")
    assert models_2x.count("socialaccount.socialtoken") > models_3x.count(
        "socialaccount.socialtoken"
    )
    assert models_3x[-1] == "documents.sharelinkbundle"


def test_verify_export_accepts_paperless_exports(twin, tmp_path):
    """Both layouts, a zip with split manifests and bundles: verified against the database.
    References to paperless's own users (left out, as paperless leaves them out) are warned
    of, not problems."""
    flat, zipped = tmp_path / "flat", tmp_path / "zipped"
    export(twin, flat)
    zipped.mkdir()
    done = twin.manage("streaming_exporter", str(zipped), "--stream", "-z", "-sm")
    assert done.returncode == 0, done.stdout + done.stderr
    for source in (flat, next(zipped.glob("*.zip"))):
        # -v 2: the warnings are listed, not only counted.
        done = twin.manage("verify_export", str(source), "--against-db", "-v", "2")
        output = done.stdout + done.stderr
        assert done.returncode == 0, output
        assert "a row of the site's own that its exports leave out" in output


def test_split_manifests_keep_notes_of_no_document(twin, tmp_path):
    """paperless-ngx drops them with -sm; ours keeps them in the main manifest."""
    whole, split = tmp_path / "whole", tmp_path / "split"
    notes = [
        r for r in json.loads(export(twin, whole, "--data-only")) if r["model"] == "documents.note"
    ]
    orphans = [r for r in notes if r["fields"]["document"] is None]
    assert orphans
    main = json.loads(export(twin, split, "--data-only", "-sm"))
    assert [r for r in main if r["model"] == "documents.note"] == orphans

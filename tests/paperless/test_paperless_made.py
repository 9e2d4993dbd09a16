"""Exports as paperless-ngx writes them (the oracle, with their files) read back by ours:
``verify_export`` passes them, and ``document_importer`` restores them into a freshly migrated
twin whose export by ours is paperless's export of it byte for byte, with the same records: 3.x's
flat layout with metadata.json, and 2.x's classic layout with only the legacy ``version.json``.
"""

from __future__ import annotations

import json

import pytest
from django.db import connection

from tests.paperless.compare import assert_same_bytes
from tests.paperless.restore import (
    export,
    many_to_many,
    paperless_made,
    restore,
    same_records,
    tree,
)
from tests.paperless.twin import twin_site

pytestmark = pytest.mark.django_db

PLAN_2X = {"EXPORTER_PLAN": "exporter.paperless.build_plan_2x"}


@pytest.fixture(scope="module")
def made_3x(twin, tmp_path_factory):
    """paperless-ngx 3.0.5's export of the seeded twin, with its files."""
    return paperless_made(twin, tmp_path_factory.mktemp("made-3x") / "export")


@pytest.fixture(scope="module")
def made_2x_legacy(twin, tmp_path_factory):
    """A 2.x export (classic layout) of the seeded twin with its files, whose metadata is an
    older release's ``version.json`` instead of metadata.json."""
    output = paperless_made(twin, tmp_path_factory.mktemp("made-2x") / "export", "--version", "2")
    metadata = output / "metadata.json"
    version = json.loads(metadata.read_bytes())["version"]
    metadata.unlink()
    (output / "version.json").write_text(json.dumps({"version": version}, indent=2))
    return output


def test_verify_passes_a_3x_export(twin, made_3x):
    done = twin.manage("verify_export", str(made_3x))
    assert done.returncode == 0, done.stdout + done.stderr


def test_verify_passes_a_2x_export_with_version_json(twin, made_2x_legacy):
    done = twin.manage("verify_export", str(made_2x_legacy), env=PLAN_2X)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "version.json" not in done.stdout + done.stderr


@pytest.mark.parametrize(
    ("made", "env"),
    [
        pytest.param("made_3x", None, id="3x"),
        # What 2.x changes is the manifest's reading, not how rows are loaded.
        pytest.param("made_2x_legacy", PLAN_2X, id="2x-legacy", marks=pytest.mark.one_database),
    ],
)
def test_import_then_export_gives_paperless_bytes(request, twin, migrated, made, env, tmp_path):
    source = request.getfixturevalue(made)
    with twin_site(tmp_path / "target", migrated, seed=False) as target:
        done = restore(twin, target, source, env=env)
        assert done.returncode == 0, done.stdout + done.stderr
        again = export(target, tmp_path / "again", env=env)
        version = ["--version", "2"] if env else []
        oracle = target.oracle(tmp_path / "oracle", *version)
        m2m = many_to_many(target)
    expected, actual = tree(source), tree(again)
    # The restored database's export holds the records of the export it was restored from
    # and of paperless-ngx's export of it; byte for byte where the server's order of ties is
    # reproducible (see test_round_trip).
    oracle_manifest = (oracle / "manifest.json").read_bytes()
    same_records(actual["manifest.json"], expected["manifest.json"], m2m)
    same_records(actual["manifest.json"], oracle_manifest, m2m)
    if connection.vendor == "sqlite":
        assert_same_bytes(actual["manifest.json"], oracle_manifest)
        assert_same_bytes(actual["manifest.json"], expected["manifest.json"])
    files = {name for name in expected if not name.endswith(".json")}
    assert files, "the paperless-made export holds files"
    for name in files:
        assert actual.get(name) == expected[name], name

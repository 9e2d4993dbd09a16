"""generate_archive: deterministic rows and file bytes, on the database under test."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, User
from django.core.management import CommandError, call_command
from guardian.models import GroupObjectPermission, UserObjectPermission

from documents.generator import ArchiveNotEmpty, generate_archive
from documents.models import CustomField, CustomFieldInstance, Document
from tests.helpers.archives import serialize_all, tree_digest
from tests.helpers.processes import ROOT

pytestmark = pytest.mark.django_db

GENERATED_MODELS = [
    User,
    Group,
    UserObjectPermission,
    GroupObjectPermission,
    *apps.get_app_config("documents").get_models(),
]


def snapshot() -> list[dict]:
    return serialize_all(GENERATED_MODELS)


def wipe(media: Path | None = None) -> None:
    """Remove every generated row, and the files under media when given."""
    for model in reversed(GENERATED_MODELS):
        model._base_manager.all().delete()
    if media is not None:
        for path in list(media.rglob("*")):
            if path.is_file():
                path.unlink()


def test_same_seed_gives_same_rows_and_file_bytes(media):
    generate_archive(documents=90, seed=7, batch_size=25)
    rows, files = snapshot(), tree_digest(media)
    assert len(files) >= 2 * 90
    wipe(media)
    generate_archive(documents=90, seed=7, batch_size=25)
    assert snapshot() == rows
    assert tree_digest(media) == files


def test_batch_size_and_files_do_not_change_the_rows(media):
    generate_archive(documents=60, seed=3, batch_size=60)
    rows = snapshot()
    wipe(media)
    generate_archive(documents=60, seed=3, batch_size=7, with_files=False)
    assert snapshot() == rows
    assert not any(p.is_file() for p in media.rglob("*"))


def test_another_seed_gives_another_archive(media):
    generate_archive(documents=20, seed=1, with_files=False)
    rows = snapshot()
    wipe()
    generate_archive(documents=20, seed=2, with_files=False)
    assert snapshot() != rows


def test_file_checksums_match_and_every_document_has_its_files(media):
    generate_archive(documents=80, seed=0)
    with_archive = 0
    for doc in Document.global_objects.all():
        assert hashlib.sha256(doc.source_path.read_bytes()).hexdigest() == doc.checksum
        assert doc.thumbnail_path.is_file()
        if doc.has_archive_version:
            with_archive += 1
            assert hashlib.sha256(doc.archive_path.read_bytes()).hexdigest() == (
                doc.archive_checksum
            )
    assert 20 <= with_archive <= 60


def test_archive_has_the_variety_an_exporter_must_handle(media):
    summary = generate_archive(documents=1200, seed=0, with_files=False)
    docs = Document.global_objects
    assert summary.documents == docs.count() == 1200
    assert 0 < docs.filter(deleted_at__isnull=False).count() == summary.trashed < 40
    assert docs.filter(title="").exists()
    assert any(len(t.encode()) > 255 for t in docs.values_list("title", flat=True))
    # Same date, correspondent and title after sanitising: exported names must collide.
    keys = list(docs.order_by("pk").values_list("created", "correspondent_id", "title"))
    collisions = [
        (a, b)
        for a, b in zip(keys, keys[1:], strict=False)
        if a[:2] == b[:2]
        and a[2].replace("/", ":").replace("?", "*") == b[2].replace("/", ":").replace("?", "*")
    ]
    assert collisions
    assert any(c in t for t in docs.values_list("title", flat=True) for c in '/\\:*?"<>|')
    content = docs.get(pk=1).content
    assert any(ord(c) > 0xFFFF for c in "".join(docs.values_list("content", flat=True)[:50]))
    assert len(content) >= 4 * 1024
    used_types = set(
        CustomFieldInstance.objects.values_list("field__data_type", flat=True).distinct()
    )
    assert used_types == set(CustomField.FieldDataType.values)
    assert 2.0 <= Document.tags.through.objects.count() / 1200 <= 4.0
    assert UserObjectPermission.objects.exists() and GroupObjectPermission.objects.exists()


def test_generating_into_a_non_empty_archive_is_refused(media):
    generate_archive(documents=3, with_files=False)
    with pytest.raises(ArchiveNotEmpty):
        generate_archive(documents=3, with_files=False)
    with pytest.raises(CommandError, match="flush"):
        call_command("generate_archive", "--documents", "3", "--no-files", "--no-progress-bar")


@pytest.mark.parametrize("args", [["--documents", "-1"], ["--documents", "2", "--batch-size", "0"]])
def test_bad_numbers_are_command_errors(args):
    with pytest.raises(CommandError):
        call_command("generate_archive", *args)


def test_command_runs_in_a_real_process(tmp_path: Path):
    """The command as a user runs it: its own process, its own SQLite archive."""
    env = {"ARCHIVE_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    done = subprocess.run(
        [*manage, "generate_archive", "--documents", "30", "--no-progress-bar"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    assert "Generated 30 documents" in done.stdout
    assert len(list((tmp_path / "media" / "originals").iterdir())) == 30
    again = subprocess.run(
        [*manage, "generate_archive", "--documents", "30"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert again.returncode != 0 and "flush" in again.stderr


def test_the_planner_knows_the_generated_rows(media, db_vendor):
    """PostgreSQL plans from ANALYZE's statistics: without them, every export batch reads the
    whole tag links table. The generator refreshes them, as a restore does."""
    if db_vendor != "postgresql":
        pytest.skip("only PostgreSQL plans from statistics that a bulk load leaves stale")
    from django.db import connection

    with connection.cursor() as cursor:
        for table in ("documents_document", "documents_document_tags"):
            cursor.execute(f"ANALYZE {table}")  # the statistics of the empty tables
    generate_archive(documents=60, seed=3, with_files=False)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, reltuples FROM pg_class WHERE relname IN "
            "('documents_document', 'documents_document_tags')"
        )
        estimates = dict(cursor.fetchall())
    # ANALYZE samples (dead rows of rolled-back tests skew it either way): near the real counts,
    # where without it they stay at the empty tables' 0.
    links = Document.tags.through.objects.count()
    assert 60 / 2 <= estimates["documents_document"] <= 60 * 2
    assert links / 2 <= estimates["documents_document_tags"] <= links * 2 and links > 0

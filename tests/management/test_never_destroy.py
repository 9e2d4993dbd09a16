"""A nightly export never destroys what it guards: real processes, real files.

* ``-d`` removes only what earlier exports of ours wrote (the target's file list); a TARGET
  that holds the archive's database or media directory is refused whatever the options;
  ``-z --keep N`` keeps exactly the N newest of our zips.
* The shrink guard: an export that would replace a good one with no documents, or fewer than
  half, stops before touching it, unless ``--allow-shrink``.
* Partial exports: a missing and a bit-rotted original are listed (summary, metadata.json),
  the previous good copies kept, everything else exported, exit status 3; ``--strict`` stops.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import zipfile
from pathlib import Path

import pytest

from documents.models import Document
from exporter.sinks.file_list import FILE_LIST_NAME
from tests.helpers.processes import (
    assert_clean_failure,
    database_url,
    manage,
    standalone_archive,
    temp_files,
    tree_state,
)

# What is guarded here is files; the database only supplies the documents to export.
pytestmark = pytest.mark.one_database

DOCUMENTS = 20


ARCHIVE = {"documents": DOCUMENTS, "seed": 11}


def export(media: Path, target: Path, *args: str):
    """document_exporter --stream in a process against the test database."""
    return manage(
        media.parent,
        "document_exporter",
        str(target),
        "--stream",
        "--no-progress-bar",
        *args,
        database_url=database_url(),
    )


# -- -d removes only what exports of ours wrote --------------------------------------------------


def test_delete_refuses_a_target_that_holds_the_database_or_the_media(tmp_path):
    home = standalone_archive(tmp_path / "home")
    before = tree_state(tmp_path)
    for target in (home, tmp_path):
        done = manage(home, "document_exporter", str(target), "--stream", "-d", "--data-only")
        assert_clean_failure(done, 2, "holds the archive's", "directory of its own")
    # The database alone in TARGET (its media directory elsewhere) is refused as well.
    done = manage(
        tmp_path / "elsewhere",
        *("document_exporter", str(home), "--stream", "-d", "--data-only"),
        database_url=f"sqlite:///{home / 'db.sqlite3'}",
    )
    assert_clean_failure(done, 2, "holds the archive's database file", str(home / "db.sqlite3"))
    assert tree_state(tmp_path) == before


@pytest.mark.django_db(transaction=True)
def test_delete_removes_only_files_of_earlier_exports(archive, target):
    assert export(archive, target).returncode == 0
    first = set(tree_state(target))
    (target / "my-notes.txt").write_text("mine")
    (target / "mine" / "deeper").mkdir(parents=True)
    (target / "mine" / "deeper" / "keep.pdf").write_bytes(b"%PDF mine")
    retitled = Document.global_objects.order_by("pk")[3]
    retitled.title = "A new title"
    retitled.save()
    done = export(archive, target, "-d", "-v", "2")
    assert done.returncode == 0, done.stderr
    after = set(tree_state(target))
    assert {"my-notes.txt", "mine/deeper/keep.pdf"} <= after
    assert "not ours: 2 files" in done.stdout
    assert "    my-notes.txt" in done.stdout and "    mine/deeper/keep.pdf" in done.stdout
    gone = first - after
    # The retitled document's old original and thumbnail (and archive version, if any).
    assert gone and all(name.endswith((".pdf", ".png", ".jpg", ".webp", ".txt")) for name in gone)
    assert all("A new title" not in name for name in gone)
    assert any("A new title" in name for name in after)
    deleted = int(done.stdout.split(" deleted")[0].rsplit(", ", 1)[1])
    assert deleted == len(gone)
    # Without -v 2 the names are not listed, only counted.
    quiet = export(archive, target, "-d")
    assert "not ours: 2 files" in quiet.stdout and "-v 2 lists them" in quiet.stdout
    assert "    my-notes.txt" not in quiet.stdout


@pytest.mark.django_db(transaction=True)
def test_a_target_of_an_earlier_version_keeps_every_file_it_did_not_write(archive, target):
    assert export(archive, target).returncode == 0
    (target / FILE_LIST_NAME).unlink()  # as an export made before file lists existed
    (target / "old-export-file.pdf").write_bytes(b"from an older export")
    done = export(archive, target, "-d")
    assert done.returncode == 0, done.stderr
    assert (target / "old-export-file.pdf").exists()
    assert "not ours: 1 files" in done.stdout
    # Now the list exists: what this run wrote is known, the old file still is not ours.
    names = (target / FILE_LIST_NAME).read_text().splitlines()[1:]
    assert '"manifest.json"' in names and '"old-export-file.pdf"' not in names


@pytest.mark.django_db(transaction=True)
def test_zip_keep_retains_exactly_the_newest_zips(archive, target):
    for number in range(1, 5):
        assert export(archive, target, "-z", "-zn", f"night-{number}").returncode == 0
        os.utime(target / f"night-{number}.zip", ns=(number * 10**18, number * 10**18))
    (target / "mine.zip").write_bytes(b"PK not ours")
    done = export(archive, target, "-z", "-zn", "night-5", "--keep", "2")
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in target.iterdir() if not p.name.startswith(".")) == [
        "mine.zip",
        "night-4.zip",
        "night-5.zip",
    ]
    with zipfile.ZipFile(target / "night-5.zip") as newest:
        assert newest.testzip() is None
    # -d with -z keeps only the new zip of ours, and still never the user's.
    done = export(archive, target, "-z", "-zn", "night-6", "-d")
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in target.iterdir() if not p.name.startswith(".")) == [
        "mine.zip",
        "night-6.zip",
    ]


# -- the shrink guard --------------------------------------------------------------------------


def test_an_empty_database_never_replaces_a_good_export(tmp_path):
    home = standalone_archive(tmp_path / "home", documents=DOCUMENTS)
    target = tmp_path / "export"
    target.mkdir()
    assert manage(home, "document_exporter", str(target), "--stream", "-d").returncode == 0
    before = tree_state(target)
    # A typo in ARCHIVE_DATA_DIR, once migrated: an empty archive.
    typo = tmp_path / "hmoe"
    assert manage(typo, "migrate", "-v", "0").returncode == 0
    for args in ((), ("-d",), ("--data-only",)):
        done = manage(typo, "document_exporter", str(target), "--stream", *args)
        assert_clean_failure(
            done, 1, f"holds {DOCUMENTS} documents", "has 0", str(typo / "db.sqlite3")
        )
        assert tree_state(target) == before
        assert not temp_files(target)
    done = manage(typo, "document_exporter", str(target), "--stream", "-d", "--allow-shrink")
    assert done.returncode == 0, done.stderr
    assert json.loads((target / "metadata.json").read_text())["counts"]["documents"] == 0


@pytest.mark.django_db(transaction=True)
def test_losing_more_than_half_of_the_documents_stops_the_export(archive, target):
    assert export(archive, target).returncode == 0
    before = tree_state(target)
    keep = DOCUMENTS // 2 - 1
    doomed = Document.global_objects.order_by("pk").values_list("pk", flat=True)[keep:]
    Document.global_objects.filter(pk__in=list(doomed)).delete()
    done = export(archive, target, "-d")
    assert_clean_failure(done, 1, f"holds {DOCUMENTS} documents", f"has {keep}", "--allow-shrink")
    assert tree_state(target) == before
    # Half or more is an archive that changed, not a suspicious one.
    assert export(archive, target, "-d", "--allow-shrink").returncode == 0
    assert export(archive, target, "-d").returncode == 0


@pytest.mark.django_db(transaction=True)
def test_a_vanished_media_directory_stops_the_export(archive, target):
    assert export(archive, target).returncode == 0
    before = tree_state(target)
    shutil.move(archive, archive.parent / "unmounted")
    archive.mkdir()  # an empty mount point
    done = export(archive, target, "-d")
    assert_clean_failure(done, 1, "is missing or empty", str(archive))
    assert tree_state(target) == before


# -- partial exports ---------------------------------------------------------------------------


def break_two_originals() -> tuple[Document, Document]:
    """Remove one original and flip a byte of another, months old (bit rot)."""
    missing, rotten = Document.global_objects.order_by("pk")[2:4]
    missing.source_path.unlink()
    data = bytearray(rotten.source_path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    rotten.source_path.write_bytes(bytes(data))
    old = 1_600_000_000
    os.utime(rotten.source_path, (old, old))
    return missing, rotten


@pytest.mark.django_db(transaction=True)
def test_a_missing_and_a_damaged_original_are_listed_and_the_rest_exported(archive, target):
    assert export(archive, target).returncode == 0
    before = tree_state(target)
    missing, rotten = break_two_originals()
    done = export(archive, target)
    assert_clean_failure(done, 3, "Exported with problems: 2 document files")
    assert f"Exported {DOCUMENTS} documents" in done.stdout
    assert f"document {missing.pk} ({missing.title!r}), original:" in done.stderr
    assert "is missing" in done.stderr
    assert f"document {rotten.pk} ({rotten.title!r}), original:" in done.stderr
    assert "is damaged" in done.stderr and "bit rot" in done.stderr
    metadata = json.loads((target / "metadata.json").read_text())
    problems = {p["document"]: p for p in metadata["problems"]}
    assert problems[missing.pk]["problem"] == "missing"
    assert problems[rotten.pk]["problem"] == "damaged"
    for document in (missing, rotten):
        problem = problems[document.pk]
        assert problem["kept_previous_copy"] is True
        assert problem["source"] == str(document.source_path)
        # The previous export's good copy is still there, with the recorded checksum.
        copy = target / problem["export_name"]
        assert hashlib.sha256(copy.read_bytes()).hexdigest() == document.checksum
        assert before[problem["export_name"]] == tree_state(target)[problem["export_name"]]
    assert not temp_files(target)
    verified = manage(archive.parent, "verify_export", str(target), database_url=database_url())
    assert "Traceback" not in verified.stderr
    assert "Recorded by the export" in verified.stdout + verified.stderr


@pytest.mark.django_db(transaction=True)
def test_a_first_export_with_a_missing_file_has_no_copy_and_says_so(archive, target):
    missing, _ = break_two_originals()
    done = export(archive, target)
    assert_clean_failure(done, 3, "The export has no copy of it.")
    metadata = json.loads((target / "metadata.json").read_text())
    by_pk = {p["document"]: p for p in metadata["problems"]}
    assert by_pk[missing.pk]["kept_previous_copy"] is False
    assert not (target / by_pk[missing.pk]["export_name"]).exists()


@pytest.mark.django_db(transaction=True)
def test_strict_stops_at_the_first_problem_and_leaves_the_previous_export(archive, target):
    assert export(archive, target).returncode == 0
    before = tree_state(target)
    missing, _ = break_two_originals()
    done = export(archive, target, "--strict", "-d")
    assert_clean_failure(done, 1, f"Document {missing.pk}", "is missing", "left as it was")
    assert tree_state(target) == before
    assert not temp_files(target)


@pytest.mark.django_db(transaction=True)
def test_a_zip_export_goes_on_without_a_damaged_file(archive, target):
    missing, rotten = break_two_originals()
    done = export(archive, target, "-z", "-zn", "backup")
    assert_clean_failure(done, 3, "2 document files")
    with zipfile.ZipFile(target / "backup.zip") as archive_zip:
        assert archive_zip.testzip() is None
        metadata = json.loads(archive_zip.read("metadata.json"))
        names = set(archive_zip.namelist())
    for problem in metadata["problems"]:
        assert problem["kept_previous_copy"] is False
        assert problem["export_name"] not in names
    assert len(names) > DOCUMENTS


@pytest.mark.django_db(transaction=True)
def test_a_nightly_zip_of_one_name_keeps_the_good_copies_of_the_previous_one(archive, target):
    assert export(archive, target, "-z", "-zn", "nightly").returncode == 0
    missing, rotten = break_two_originals()
    done = export(archive, target, "-z", "-zn", "nightly")
    assert_clean_failure(done, 3, "2 document files", "The previous export's good copy was kept.")
    with zipfile.ZipFile(target / "nightly.zip") as archive_zip:
        assert archive_zip.testzip() is None
        metadata = json.loads(archive_zip.read("metadata.json"))
        by_pk = {p["document"]: p for p in metadata["problems"]}
        for document in (missing, rotten):
            problem = by_pk[document.pk]
            assert problem["kept_previous_copy"] is True
            data = archive_zip.read(problem["export_name"])
            assert hashlib.sha256(data).hexdigest() == document.checksum

"""document_exporter: --stream writes what the classic exporter writes, for every option."""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import os

import pytest
from django.core.management import CommandError, call_command

from documents.models import Document
from exporter.sinks.file_list import FILE_LIST_NAME
from tests.helpers.exports import PASSPHRASE, export, read_tree

pytestmark = pytest.mark.django_db

SINGLE_OPTIONS = [
    "-c",
    "-cj",
    "-d",
    "-f",
    "-p",
    "-sm",
    "-na",
    "-nt",
    "--data-only",
    "-z",
    "--passphrase",
]


def expand(option: str) -> list[str]:
    return [option, PASSPHRASE] if option == "--passphrase" else [option]


#: Each option alone on every database (how rows are read is the database's); each pair of
#: options in the SQLite pass only, since what a pair changes is which files are written.
COMBINATIONS = [(option,) for option in SINGLE_OPTIONS] + [
    pytest.param(pair, marks=pytest.mark.one_database)
    for pair in itertools.combinations(SINGLE_OPTIONS, 2)
]


ARCHIVE = {"documents": 40, "seed": 4}


@pytest.mark.parametrize("combination", COMBINATIONS, ids=lambda c: "|".join(c))
def test_stream_writes_the_same_files_as_classic(archive, tmp_path, combination):
    args = [arg for option in combination for arg in expand(option)]
    passphrase = PASSPHRASE if "--passphrase" in combination else None
    trees = []
    for stream in (False, True):
        target = tmp_path / ("stream" if stream else "classic")
        (target / "old").mkdir(parents=True)
        (target / "old" / "stale.txt").write_text("from an earlier export")
        # As an earlier export of ours leaves it: its file list names the file.
        (target / FILE_LIST_NAME).write_text('document_exporter file list 1\n"old/stale.txt"\n')
        try:
            export(target, *args, stream=stream)
        except CommandError as exc:
            trees.append(("error", str(exc)))
            continue
        trees.append(read_tree(target, passphrase))
    classic, streamed = trees
    if isinstance(classic, tuple) or isinstance(streamed, tuple):
        assert ("-z" in combination) and ({"-c", "-cj"} & set(combination))
        assert classic == streamed
        return
    assert sorted(streamed) == sorted(classic)
    for name in classic:
        assert streamed[name] == classic[name], name
    manifests = [n for n in classic if n.endswith("manifest.json")]
    assert manifests
    if "-d" in combination and "-z" not in combination:
        assert not any("stale.txt" in name for name in classic)
    else:
        assert any("stale.txt" in name for name in classic)


def test_batch_size_does_not_change_the_bytes(archive, target):
    for name in ("1", "7", "10000", "classic"):
        (target / name).mkdir()
    for batch_size in ("1", "7", "10000"):
        export(target / batch_size, "--batch-size", batch_size, stream=True)
    export(target / "classic", stream=False)
    expected = read_tree(target / "classic", None)
    for batch_size in ("1", "7", "10000"):
        assert read_tree(target / batch_size, None) == expected


def test_document_records_carry_their_export_names(archive, target):
    export(target, stream=True)
    manifest = json.loads((target / "manifest.json").read_bytes())
    docs = [r for r in manifest if r["model"] == "documents.document"]
    assert len(docs) == Document.global_objects.count()
    names = [r["__exported_file_name__"] for r in docs]
    assert len({n.casefold() for n in names}) == len(names)
    assert any("_01" in n for n in names)
    for record in docs:
        assert (target / record["__exported_file_name__"]).is_file()
        assert record["__exported_thumbnail_name__"].endswith("-thumbnail.webp")
        if record["fields"]["archive_checksum"]:
            assert record["__exported_archive_name__"].endswith("-archive.pdf")
        else:
            assert "__exported_archive_name__" not in record
    # Trashed documents are exported too.
    assert any(r["fields"]["deleted_at"] for r in docs)


def test_second_run_copies_nothing_and_keeps_the_manifest(archive, target):
    export(target, "-cj", stream=True)
    manifest = target / "manifest.json"
    os.utime(manifest, ns=(1_000_000_000, 1_000_000_000))
    before = {p: p.stat().st_mtime_ns for p in target.rglob("*") if p.is_file()}
    out = io.StringIO()
    call_command("document_exporter", str(target), "--stream", "-cj", stdout=out)
    after = {p: p.stat().st_mtime_ns for p in target.rglob("*") if p.is_file()}
    assert after == before
    assert "0 copied" in out.getvalue()


def test_one_changed_document_recopies_exactly_its_files(archive, target):
    export(target, stream=True)
    doc = Document.global_objects.filter(archive_filename__isnull=False).first()
    data = doc.source_path.read_bytes() + b"changed"
    doc.source_path.write_bytes(data)
    # As a real change does: the checksum column follows (the export checks copies against it).
    doc.checksum = hashlib.sha256(data).hexdigest()
    doc.save()
    out = io.StringIO()
    call_command("document_exporter", str(target), "--stream", stdout=out)
    assert "1 copied" in out.getvalue()


def test_delete_prunes_exactly_the_stale_files(archive, target):
    export(target, stream=True)
    kept = {p for p in target.rglob("*") if p.is_file()}
    (target / "stale.pdf").write_bytes(b"x")
    (target / "gone" / "deeper").mkdir(parents=True)
    (target / "gone" / "deeper" / "old.webp").write_bytes(b"y")
    (target / "users-own.txt").write_bytes(b"z")
    # Written by an earlier export of ours: its file list names them (not the user's file).
    listing = target / FILE_LIST_NAME
    listing.write_text(listing.read_text() + '"stale.pdf"\n"gone/deeper/old.webp"\n')
    export(target, "-d", stream=True)
    assert {p for p in target.rglob("*") if p.is_file()} == kept | {target / "users-own.txt"}
    assert not (target / "gone").exists()


@pytest.mark.one_database  # refused while parsing the options
@pytest.mark.parametrize(
    "args, message",
    [
        (["--batch-size", "0"], "at least 1"),
        (["--batch-size", "ten"], "whole number"),
        (["-z", "-c"], "--compare"),
        (["-z", "-cj"], "--compare"),
        (["--passphrase", ""], "empty"),
    ],
)
def test_bad_options_are_refused_and_write_nothing(archive, target, args, message):
    with pytest.raises(CommandError, match=message):
        export(target, *args, stream=True)
    assert list(target.iterdir()) == []


def test_bad_targets_are_refused(archive, tmp_path):
    with pytest.raises(CommandError, match="does not exist"):
        export(tmp_path / "missing", stream=True, create=False)
    (tmp_path / "file").write_text("")
    with pytest.raises(CommandError, match="not a directory"):
        export(tmp_path / "file", stream=True, create=False)
    inside = archive / "exports"
    inside.mkdir()
    with pytest.raises(CommandError, match="media directory"):
        export(inside, stream=True, create=False)


def test_missing_file_names_the_document_and_leaves_the_previous_export(archive, target):
    export(target, stream=True)
    before = read_tree(target, None)
    doc = Document.global_objects.order_by("pk")[5]
    doc.source_path.unlink()
    (target / "manifest.json").touch()
    with pytest.raises(CommandError, match=rf"Document {doc.pk} .*{doc.source_path.name}"):
        export(target, "-c", "--strict", stream=True)
    assert read_tree(target, None) == before
    assert not [p for p in target.rglob("*.tmp")]


def test_warns_about_plaintext_secrets(archive, target):
    err = io.StringIO()
    call_command("document_exporter", str(target), "--stream", stderr=err, stdout=io.StringIO())
    assert "plain text" in err.getvalue() and "--passphrase" in err.getvalue()

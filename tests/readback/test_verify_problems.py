"""verify_export as users run it: its exit statuses, problems the export recorded itself,
the importer's media-path checks, unknown fields, the exporter's own files, passphrase sources.

Exit statuses: 0 verified, 1 problems found, 2 could not verify, 3 verified except for problems
the export recorded (metadata.json "problems"). Every run is a real process.
"""

from __future__ import annotations

import json

import pytest

from tests.helpers.exports import (
    FILE,
    PASSPHRASE,
    THUMBNAIL,
    add_unknown_field,
    documents,
    export,
    flip_byte,
    record_problem,
    records,
    write_records,
)
from tests.helpers.processes import run_command, run_verify

# verify_export reads the export alone; the database only supplies what is exported.
pytestmark = [pytest.mark.django_db, pytest.mark.one_database]

ARCHIVE = {"documents": 4, "seed": 31}


def test_a_good_export_verifies_with_status_0(archive, tmp_path):
    target = export(tmp_path / "e")
    done = run_verify(target, data_dir=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"Verified {target}" in done.stdout and "Problem" not in done.stderr


def test_recorded_problems_alone_give_status_3(archive, tmp_path):
    target = export(tmp_path / "e")
    first, second = documents(target)[:2]
    original = record_problem(target, first)
    thumbnail = record_problem(target, second, key=THUMBNAIL, file="thumbnail", problem="damaged")
    done = run_verify(target, data_dir=tmp_path)
    assert done.returncode == 3, done.stderr
    title = first["fields"]["title"]
    assert (
        f"Recorded by the export: document {first['pk']} ({title!r}): original {original} "
        "missing: The file /srv/media/originals/"
    ) in done.stderr
    assert f"thumbnail {thumbnail} damaged" in done.stderr
    assert "the export has no copy of it" in done.stderr
    # Reported as recorded, not again as missing files.
    assert "Problem:" not in done.stderr, done.stderr
    assert "except for 2 problems the export recorded itself" in done.stderr
    assert f"Verified {target}" in done.stdout


def test_recorded_problems_and_others_give_status_1(archive, tmp_path):
    target = export(tmp_path / "e")
    first, second = documents(target)[:2]
    record_problem(target, first)
    (target / second[FILE]).unlink()  # not recorded: a real problem
    done = run_verify(target, data_dir=tmp_path)
    assert done.returncode == 1, done.stderr
    assert f"Recorded by the export: document {first['pk']}" in done.stderr
    assert "Problem: manifest.json record" in done.stderr
    assert f"file {second[FILE]} is missing" in done.stderr
    assert "Verification failed: 1 problems" in done.stderr
    assert "(and 1 recorded by the export itself)" in done.stderr


def test_a_kept_previous_copy_must_be_there(archive, tmp_path):
    target = export(tmp_path / "e")
    first, second = documents(target)[:2]
    # Kept and there, but not the record's bytes (a file changed since): still only recorded.
    record_problem(target, first, problem="changed", kept=True, remove=False)
    flip_byte(target / first[FILE])
    done = run_verify(target, data_dir=tmp_path)
    assert done.returncode == 3, done.stderr
    assert "the export holds the previous export's copy of it" in done.stderr
    # Recorded as kept, but gone: a problem.
    record_problem(target, second, problem="damaged", kept=True)
    done = run_verify(target, data_dir=tmp_path)
    assert done.returncode == 1, done.stderr
    assert "although the export recorded that it kept the previous export's copy" in done.stderr


def test_malformed_recorded_problems_are_a_problem(archive, tmp_path):
    target = export(tmp_path / "e")
    metadata = json.loads((target / "metadata.json").read_bytes())
    metadata["problems"] = [{"document": 1}]
    (target / "metadata.json").write_text(json.dumps(metadata))
    done = run_verify(target, data_dir=tmp_path)
    assert done.returncode == 1, done.stderr
    assert 'metadata.json: problem 0 is not an object with an "export_name"' in done.stderr


def test_an_unknown_field_is_a_problem_naming_the_record(archive, tmp_path):
    target = export(tmp_path / "e")
    index, tag = add_unknown_field(target)
    done = run_verify(target, data_dir=tmp_path)
    assert done.returncode == 1, done.stderr
    assert (
        f"Problem: manifest.json record {index} (documents.tag pk={tag['pk']}): unknown field "
        "'colour_name': documents.tag has no such field here."
    ) in done.stderr


MEDIA_ESCAPES = {
    "original up and out": ("filename", "../../outside.pdf"),
    "archive absolute": ("archive_filename", "/etc/outside.pdf"),
}


@pytest.mark.parametrize("escape", MEDIA_ESCAPES)
def test_a_file_that_would_be_imported_outside_the_media_folder_is_a_problem(
    archive, tmp_path, escape
):
    target = export(tmp_path / "e")
    field, value = MEDIA_ESCAPES[escape]
    changed = records(target)
    document = next(r for r in changed if r["model"] == "documents.document")
    document["fields"][field] = value
    write_records(target, changed)
    done = run_verify(target, data_dir=tmp_path)
    assert done.returncode == 1, done.stderr
    assert f"documents.document pk={document['pk']}): its file would be written to" in done.stderr
    assert f"outside the media directory {archive.resolve()}" in done.stderr


@pytest.mark.parametrize("name", ["../x.pdf", "/etc/passwd", "a/../../x.pdf"])
def test_a_name_leading_out_of_the_export_is_a_problem(archive, tmp_path, name):
    target = export(tmp_path / "e")
    changed = records(target)
    document = next(r for r in changed if r["model"] == "documents.document")
    document[FILE] = name
    write_records(target, changed)
    done = run_verify(target, data_dir=tmp_path)
    assert done.returncode == 1, done.stderr
    assert f"unsafe file name {name!r} in the export" in done.stderr


def test_a_symlink_leading_out_of_the_export_is_a_problem(archive, tmp_path):
    target = export(tmp_path / "e")
    outside = tmp_path / "secret.txt"
    outside.write_text("not yours")
    name = documents(target)[0][FILE]
    (target / name).unlink()
    (target / name).symlink_to(outside)
    done = run_verify(target, data_dir=tmp_path)
    assert done.returncode == 1, done.stderr
    assert "leads outside it" in done.stderr


def test_what_cannot_be_verified_gives_status_2(archive, tmp_path):
    missing = run_verify(tmp_path / "nowhere", data_dir=tmp_path)
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    not_an_export = run_verify(empty, data_dir=tmp_path)
    assert not_an_export.returncode == 2, not_an_export.stderr
    assert "metadata.json is missing" in not_an_export.stderr
    assert "Verified" not in not_an_export.stdout
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    assert run_verify(text, data_dir=tmp_path).returncode == 2
    target = export(tmp_path / "e")
    (target / "manifest.json").unlink()
    no_manifest = run_verify(target, data_dir=tmp_path)
    assert no_manifest.returncode == 2 and "manifest.json is missing" in no_manifest.stderr


def test_the_exporters_own_files_are_not_export_data(archive, tmp_path):
    target = export(tmp_path / "e")
    for name in (".document_exporter-files", ".document_exporter-run", "x-manifest.json"):
        if name.endswith("manifest.json"):
            name = f".document_exporter-{name}"  # not read as a split manifest either
        (target / name).write_text("not json [")
    (target / "notes.txt").write_text("the user's own")
    (target / "sub").mkdir()
    (target / "sub" / ".document_exporter-files").write_text("only at the top")
    done = run_verify(target, "-v", "2", data_dir=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Warning: .document_exporter-" not in done.stderr, done.stderr
    assert "Warning: notes.txt is not named by any record." in done.stderr
    assert "Warning: sub/.document_exporter-files is not named by any record." in done.stderr


def test_passphrase_sources(archive, tmp_path):
    target = export(tmp_path / "e", "--passphrase", PASSPHRASE)
    secret = tmp_path / "passphrase.txt"
    secret.write_text(PASSPHRASE + "\n")
    from_file = run_verify(target, "--passphrase-file", str(secret), data_dir=tmp_path)
    assert from_file.returncode == 0, from_file.stderr
    assert "Warning" not in from_file.stderr
    env = {"DOCUMENT_EXPORTER_PASSPHRASE": PASSPHRASE}
    assert run_verify(target, data_dir=tmp_path, env=env).returncode == 0
    on_the_line = run_verify(target, "--passphrase", PASSPHRASE, data_dir=tmp_path)
    assert on_the_line.returncode == 0
    assert "Warning: --passphrase on the command line is visible" in on_the_line.stderr
    secret.write_text("wrong\n")
    wrong = run_verify(target, "--passphrase-file", str(secret), data_dir=tmp_path)
    assert wrong.returncode == 1 and "passphrase is wrong" in wrong.stderr
    secret.write_text("")
    empty = run_verify(target, "--passphrase-file", str(secret), data_dir=tmp_path)
    assert empty.returncode == 2 and "is empty" in empty.stderr
    plain = export(tmp_path / "plain")
    given = run_verify(plain, "--passphrase-file", str(tmp_path / "nope"), data_dir=tmp_path)
    assert given.returncode == 2 and "Cannot read the passphrase file" in given.stderr


def test_the_database_is_needed_only_against_the_database(archive, tmp_path):
    target = export(tmp_path / "e")
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'no-such' / 'db.sqlite3'}"}
    assert run_verify(target, data_dir=tmp_path, env=env).returncode == 0
    against = run_verify(target, "--against-db", data_dir=tmp_path, env=env)
    assert against.returncode == 1, against.stderr
    assert "does not exist" in against.stderr and "migrate" in against.stderr


def test_help_documents_the_exit_statuses(tmp_path):
    done = run_command("verify_export", "--help", data_dir=tmp_path)
    assert done.returncode == 0
    text = " ".join(done.stdout.split())
    assert "0 verified; 1 problems found" in text and "2 could not verify" in text
    assert "3 verified, except for problems the export itself recorded" in text


def test_two_records_naming_one_file_is_a_problem(archive, tmp_path):
    # As paperless-ngx's exporter writes it for two documents named alike but for their
    # extensions: one thumbnail name for both.
    target = export(tmp_path / "e")
    changed = records(target)
    first, second = [r for r in changed if r["model"] == "documents.document"][:2]
    second[THUMBNAIL] = first[THUMBNAIL]
    write_records(target, changed)
    done = run_verify(target, data_dir=tmp_path)
    assert done.returncode == 1, done.stderr
    assert f"documents.document pk={second['pk']}): names the file {first[THUMBNAIL]}" in (
        done.stderr
    )
    assert f"pk={first['pk']}): names the file" not in done.stderr


def test_a_data_only_export_names_files_without_sharing_them(archive, tmp_path):
    target = export(tmp_path / "e", "--data-only")
    changed = records(target)
    first, second = [r for r in changed if r["model"] == "documents.document"][:2]
    second[THUMBNAIL] = first[THUMBNAIL]
    write_records(target, changed)
    done = run_verify(target, data_dir=tmp_path)
    assert done.returncode == 0, done.stderr


def test_a_data_only_export_holding_files_tells_named_from_unnamed(archive, tmp_path):
    # Its records' names are remembered only when the export holds files besides manifests.
    target = export(tmp_path / "e", "--data-only")
    document = next(r for r in records(target) if r["model"] == "documents.document")
    named = target / document[THUMBNAIL]
    named.parent.mkdir(parents=True, exist_ok=True)
    named.write_bytes(b"a thumbnail left over from a full export")
    (target / "stray.bin").write_bytes(b"nobody's")
    done = run_verify(target, "-v", "2", data_dir=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Warning: stray.bin is not named by any record." in done.stderr
    assert f"{document[THUMBNAIL]} is not named" not in done.stderr, done.stderr

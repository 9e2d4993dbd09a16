"""verify_export's output in reading order, in real processes: problems first, then the number
of warnings (their list with -v 2), and a last line that says "Verified" only when nothing is
wrong; document_exporter --verify prints after the export's own summary."""

from __future__ import annotations

import pytest

from tests.helpers.exports import FILE, documents, export, flip_byte
from tests.helpers.processes import run_command, run_verify

pytestmark = [pytest.mark.django_db, pytest.mark.one_database]

ARCHIVE = {"documents": 4, "seed": 23}


def test_problems_come_first_and_the_last_line_says_it_failed(archive, tmp_path):
    target = export(tmp_path / "e")
    flip_byte(target / documents(target)[0][FILE])
    (target / "stray.txt").write_text("not the export's")
    done = run_verify(target, data_dir=tmp_path)
    assert done.returncode == 1, done.stderr
    err = done.stderr.splitlines()
    assert err[0].startswith("Problem: manifest.json record "), err
    assert err[1] == "1 warnings (-v 2 lists them).", err
    assert err[-1] == f"CommandError: Verification failed: 1 problems in {target}.", err
    assert "Verified" not in done.stdout and done.stdout.startswith(f"Read {target}: ")
    listed = run_verify(target, "-v", "2", data_dir=tmp_path)
    assert "Warning: stray.txt is not named by any record." in listed.stderr.splitlines()


def test_a_good_export_ends_with_verified(archive, tmp_path):
    target = export(tmp_path / "e")
    done = run_verify(target, data_dir=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1].startswith(f"Verified {target}: 1 manifests, ")
    assert done.stderr == ""


@pytest.mark.django_db(transaction=True)  # the exporter's process must see the archive
def test_export_verify_prints_after_the_exports_summary(archive, tmp_path):
    target = tmp_path / "e"
    target.mkdir()
    done = run_command(
        "document_exporter",
        str(target),
        "--stream",
        "--verify",
        "--no-progress-bar",
        data_dir=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    exported = next(i for i, x in enumerate(lines) if x.startswith("Exported 4 documents"))
    assert lines[-1].startswith(f"Verified {target}: "), lines
    assert exported < len(lines) - 1

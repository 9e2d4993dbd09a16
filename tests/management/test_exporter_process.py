"""document_exporter as users run it: a real process, committed data, pipes and locks."""

from __future__ import annotations

import subprocess
import time
import zipfile
from pathlib import Path

import pytest
from filelock import FileLock

from exporter.format import target_lock_path
from tests.helpers.processes import ROOT, command_environment, database_url, manage

pytestmark = pytest.mark.django_db(transaction=True)

ARCHIVE = {"documents": 25, "seed": 9}


def data_dir(media: Path) -> Path:
    return media.parent


def test_stream_export_in_a_process_equals_the_classic_one(archive, tmp_path):
    outputs = {}
    for mode in ("classic", "stream"):
        target = tmp_path / mode
        target.mkdir()
        args = ["document_exporter", str(target), "-sm", "--no-progress-bar"]
        done = manage(
            data_dir(archive),
            *args,
            *(["--stream"] if mode == "stream" else []),
            database_url=database_url(),
            check=True,
        )
        assert f"Exported 25 documents to {target}" in done.stdout
        outputs[mode] = {
            p.relative_to(target).as_posix(): p.read_bytes()
            for p in target.rglob("*")
            if p.is_file()
        }
    assert outputs["stream"] == outputs["classic"]
    assert len(outputs["stream"]) > 25 * 3


def test_zip_to_standard_output_through_a_pipe(archive, tmp_path):
    reference = tmp_path / "reference"
    reference.mkdir()
    manage(
        data_dir(archive),
        "document_exporter",
        str(reference),
        "--stream",
        "-z",
        "-zn",
        "ref",
        "--no-progress-bar",
        database_url=database_url(),
        check=True,
    )
    piped = tmp_path / "piped.zip"
    env_cmd = (
        f"cd {ROOT} && ARCHIVE_DATA_DIR={data_dir(archive)} DATABASE_URL='{database_url()}' "
        f"python manage.py document_exporter - --stream -z --no-progress-bar | cat > {piped}"
    )
    import sys

    subprocess.run(
        ["bash", "-o", "pipefail", "-c", env_cmd.replace("python", sys.executable, 1)],
        check=True,
        capture_output=True,
    )
    with zipfile.ZipFile(reference / "ref.zip") as ref, zipfile.ZipFile(piped) as got:
        assert got.testzip() is None
        assert sorted(got.namelist()) == sorted(ref.namelist())
        for name in ref.namelist():
            assert got.read(name) == ref.read(name), name


def test_errors_exit_non_zero_with_a_clear_message(archive, tmp_path):
    done = manage(
        data_dir(archive),
        "document_exporter",
        str(tmp_path / "nope"),
        "--stream",
        database_url=database_url(),
    )
    assert done.returncode != 0
    assert "does not exist" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "nope").exists()


def test_a_second_exporter_into_the_same_target_fails_at_once(archive, tmp_path):
    target = tmp_path / "export"
    target.mkdir()
    with FileLock(target_lock_path(target)):
        started = time.monotonic()
        done = manage(
            data_dir(archive),
            "document_exporter",
            str(target),
            "--stream",
            "--no-progress-bar",
            database_url=database_url(),
        )
        assert done.returncode != 0
        assert "Another document_exporter is writing into" in done.stderr
        assert "--lock-timeout" in done.stderr
        assert time.monotonic() - started < 30
    assert list(target.iterdir()) == []


def test_lock_timeout_waits_for_the_other_exporter(archive, tmp_path):
    import sys

    target = tmp_path / "export"
    target.mkdir()
    lock = FileLock(target_lock_path(target))
    lock.acquire()
    env = command_environment(data_dir(archive))
    process = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "document_exporter",
            str(target),
            "--stream",
            "--lock-timeout",
            "60",
            "--no-progress-bar",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(2)
    assert process.poll() is None, "it should be waiting for the lock"
    lock.release()
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    assert (target / "manifest.json").is_file()


def test_quiet_mode_prints_nothing(archive, tmp_path):
    (tmp_path / "export").mkdir()
    done = manage(
        data_dir(archive),
        "document_exporter",
        str(tmp_path / "export"),
        "--stream",
        "-v",
        "0",
        database_url=database_url(),
        check=True,
    )
    assert done.stdout == "" and done.stderr == ""

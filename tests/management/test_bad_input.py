"""Every bad input gets one clear message and a documented exit status, never a traceback.

One table of bad inputs, each run through the real command in a subprocess against a real
archive: no ``Traceback`` in the output, the documented exit status (1 failed, 2 bad usage), a
message that names the problem, and nothing written into the export target.
"""

from __future__ import annotations

import os
import pty
import select
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.helpers.processes import (
    ROOT,
    assert_clean_failure,
    child_environment,
    manage,
    standalone_archive,
    temp_files,
    tree_state,
)
from tests.helpers.stop_points import spawn, wait_stopped

POSTGRES = os.environ.get("TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/archive")
MARIADB = os.environ.get("TEST_MARIADB_URL", "mysql://root@127.0.0.1:3306/archive")


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    """A standalone SQLite archive and a good export of it (in ``home/export``)."""
    home = standalone_archive(tmp_path_factory.mktemp("bad-input") / "home", documents=8)
    export = home.parent / "export"
    export.mkdir()
    done = manage(home, "document_exporter", str(export), "--stream")
    assert done.returncode == 0, done.stderr
    return home


EXPORT_CASES = [
    # (id, arguments after TARGET, environment, exit status, fragment of the message)
    ("batch-size 0", ["--batch-size", "0"], {}, 2, "--batch-size"),
    ("batch-size -5", ["--batch-size", "-5"], {}, 2, "--batch-size"),
    ("batch-size 1.5", ["--batch-size", "1.5"], {}, 2, "--batch-size"),
    ("batch-size abc", ["--batch-size", "abc"], {}, 2, "--batch-size"),
    ("batch-size empty", ["--batch-size", ""], {}, 2, "--batch-size"),
    ("batch-size 1e3", ["--batch-size", "1e3"], {}, 2, "--batch-size"),
    ("batch-size 10**12", ["--batch-size", str(10**12)], {}, 2, "at most 10000"),
    ("lock-timeout -1", ["--lock-timeout", "-1"], {}, 2, "--lock-timeout"),
    ("lock-timeout abc", ["--lock-timeout", "abc"], {}, 2, "--lock-timeout"),
    ("keep 0", ["-z", "--keep", "0"], {}, 2, "--keep"),
    ("keep without zip", ["--keep", "2"], {}, 2, "--keep counts zips"),
    ("zip name escapes", ["-z", "-zn", "../../escape"], {}, 2, "--zip-name"),
    ("zip name hidden", ["-z", "-zn", ".hidden"], {}, 2, "--zip-name"),
    ("zip with -c", ["-z", "-c"], {}, 2, "--compare"),
    ("empty passphrase", ["--passphrase", ""], {}, 2, "passphrase is empty"),
    ("passphrase file missing", ["--passphrase-file", "/nonexistent"], {}, 2, "/nonexistent"),
    (
        "unknown placeholder",
        ["-f"],
        {"ARCHIVE_FILENAME_FORMAT": "{created_year}/{nope}"},
        2,
        "filename format",
    ),
    ("lone brace", ["-f"], {"ARCHIVE_FILENAME_FORMAT": "{title"}, 2, "filename format"),
    ("verify without stream", ["--verify"], {}, 2, "--verify needs --stream"),
]


@pytest.mark.parametrize(
    "args, env, code, fragment",
    [case[1:] for case in EXPORT_CASES],
    ids=[c[0] for c in EXPORT_CASES],
)
def test_bad_export_options(home, tmp_path, args, env, code, fragment):
    target = tmp_path / "target"
    target.mkdir()
    stream = [] if "--verify" in args else ["--stream"]
    done = manage(home, "document_exporter", str(target), *stream, *args, env=env)
    assert_clean_failure(done, code, fragment)
    assert list(target.iterdir()) == []


def test_a_missing_target_is_a_failure_with_the_fix(home, tmp_path):
    done = manage(home, "document_exporter", str(tmp_path / "nowhere"), "--stream")
    assert_clean_failure(done, 1, "does not exist: create it first")


DATABASE_CASES = [
    # (id, DATABASE_URL (or None for ARCHIVE_DATA_DIR's SQLite file), status, fragment)
    ("unreachable server", "postgres://postgres@127.0.0.1:1/archive", 1, "Cannot connect"),
    ("missing database", POSTGRES.rsplit("/", 1)[0] + "/no_such_db_here", 1, "does not exist"),
    ("unknown scheme", "mongodb://127.0.0.1/archive", 2, "DATABASE_URL"),
    ("malformed port", "postgres://postgres@127.0.0.1:port/archive", 2, "DATABASE_URL"),
    ("missing SQLite file", "sqlite:////nonexistent/dir/db.sqlite3", 1, "does not exist"),
    ("not migrated server", POSTGRES.rsplit("/", 1)[0] + "/postgres", 1, "not migrated"),
]

COMMANDS = [
    ("export", ["document_exporter", "{target}", "--stream"]),
    ("import", ["document_importer", "{export}"]),
    ("verify against the database", ["verify_export", "{export}", "--against-db"]),
    ("generate", ["generate_archive", "--documents", "3"]),
]


@pytest.mark.parametrize("command", [c[1] for c in COMMANDS], ids=[c[0] for c in COMMANDS])
@pytest.mark.parametrize(
    "url, code, fragment", [c[1:] for c in DATABASE_CASES], ids=[c[0] for c in DATABASE_CASES]
)
def test_database_problems(home, tmp_path, command, url, code, fragment):
    target = tmp_path / "target"
    target.mkdir()
    args = [a.format(target=target, export=home.parent / "export") for a in command]
    done = manage(tmp_path / "data", *args, database_url=url, timeout=120)
    assert_clean_failure(done, code, fragment)
    assert list(target.iterdir()) == []


@pytest.mark.parametrize("command", [c[1] for c in COMMANDS], ids=[c[0] for c in COMMANDS])
def test_commands_before_migrate(home, tmp_path, command):
    data = tmp_path / "data"
    data.mkdir()
    sqlite3.connect(data / "db.sqlite3").close()  # created, never migrated
    target = tmp_path / "target"
    target.mkdir()
    args = [a.format(target=target, export=home.parent / "export") for a in command]
    done = manage(data, *args)
    assert_clean_failure(done, 1, "is not migrated", "manage.py migrate")
    assert list(target.iterdir()) == []


def test_importer_batch_size_zero(home, tmp_path):
    done = manage(tmp_path, "document_importer", str(home.parent / "export"), "--batch-size", "0")
    assert_clean_failure(done, 2, "--batch-size")


# -- the database lost in the middle of a run --------------------------------------------------


def server_database(url: str):
    """Create a fresh database on the server of ``url``; return (its URL, drop, kill)."""
    name = f"exporter_lost_{uuid.uuid4().hex[:10]}"
    base = url.rsplit("/", 1)[0]
    if url.startswith("postgres"):
        import psycopg

        admin = psycopg.connect(base.replace("postgres://", "postgresql://") + "/postgres")
        admin.autocommit = True
        admin.execute(f'CREATE DATABASE "{name}"')

        def kill() -> None:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )

        def drop() -> None:
            kill()
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
            admin.close()

        return f"{base}/{name}", drop, kill
    import MySQLdb

    host = base.split("@")[-1].split(":")[0]
    admin = MySQLdb.connect(host=host, user="root", password="")
    admin.autocommit(True)
    cursor = admin.cursor()
    cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")

    def kill() -> None:
        cursor.execute("SELECT id FROM information_schema.processlist WHERE db = %s", (name,))
        for (thread,) in cursor.fetchall():
            cursor.execute(f"KILL {int(thread)}")

    def drop() -> None:
        kill()
        cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
        admin.close()

    return f"{base}/{name}", drop, kill


@pytest.mark.parametrize("server", [POSTGRES, MARIADB], ids=["postgresql", "mariadb"])
def test_the_database_lost_during_an_export(tmp_path, server):
    url, drop, kill = server_database(server)
    try:
        data = tmp_path / "data"
        for args in (("migrate", "-v", "0"), ("generate_archive", "--documents", "30")):
            done = manage(data, *args, database_url=url)
            assert done.returncode == 0, done.stderr
        target = tmp_path / "export"
        target.mkdir()
        first = manage(data, "document_exporter", str(target), "--stream", database_url=url)
        assert first.returncode == 0, first.stderr
        before = tree_state(target)
        env = child_environment(data, url)
        args = ["document_exporter", str(target), "--stream", "--batch-size", "2", "-cj"]
        process = spawn(args, env, "manifest:2")
        assert wait_stopped(process), process.communicate()[1]
        kill()
        process.send_signal(signal.SIGCONT)
        _, stderr = process.communicate(timeout=120)
        assert "Traceback" not in stderr, stderr
        assert process.returncode == 1, stderr
        assert "failed" in stderr and "The previous export was left as it was." in stderr
        assert tree_state(target) == before
        assert not temp_files(target)
    finally:
        drop()


# -- terminals ---------------------------------------------------------------------------------


def run_on_terminal(args: list[str], data: Path, answers: list[str] = ()) -> tuple[int, str]:
    """Run manage.py with standard input and output on a new pseudo-terminal."""
    master, slave = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=child_environment(data),
        stdin=slave,
        stdout=slave,
        stderr=slave,
        start_new_session=True,
    )
    os.close(slave)
    output = b""
    # Where the output stood at the last answer: only a new prompt gets the next one (an answer
    # typed before getpass turns echo off is flushed away with TCSAFLUSH).
    answered_at = 0
    pending = list(answers)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
            if pending and output[answered_at:].rstrip().endswith(b":"):
                os.write(master, pending.pop(0).encode() + b"\n")
                answered_at = len(output)
        elif process.poll() is not None:
            break
    if process.poll() is None:
        process.kill()
    process.wait(timeout=60)
    os.close(master)
    return process.returncode, output.decode("utf-8", "replace")


def test_a_zip_is_never_written_to_a_terminal(home):
    code, output = run_on_terminal(["document_exporter", "-", "--stream", "-z"], home)
    assert code == 2, output
    assert "terminal" in output and "Traceback" not in output
    assert "PK" not in output


def test_the_passphrase_comes_from_a_prompt_a_file_or_the_environment(home, tmp_path):
    import json

    targets = {name: tmp_path / name for name in ("prompt", "file", "env", "argument")}
    for target in targets.values():
        target.mkdir()
    code, output = run_on_terminal(
        ["document_exporter", str(targets["prompt"]), "--stream", "--ask-passphrase"],
        home,
        answers=["s3cret", "s3cret"],
    )
    assert code == 0, output
    secret_file = tmp_path / "passphrase"
    secret_file.write_text("s3cret\n")
    done = manage(
        home,
        "document_exporter",
        str(targets["file"]),
        "--stream",
        "--passphrase-file",
        str(secret_file),
    )
    assert done.returncode == 0, done.stderr
    done = manage(
        home,
        "document_exporter",
        str(targets["env"]),
        "--stream",
        env={"DOCUMENT_EXPORTER_PASSPHRASE": "s3cret"},
    )
    assert done.returncode == 0, done.stderr
    done = manage(
        home, "document_exporter", str(targets["argument"]), "--stream", "--passphrase", "s3cret"
    )
    assert done.returncode == 0, done.stderr
    assert "visible to every user" in done.stderr
    for name, target in targets.items():
        metadata = json.loads((target / "metadata.json").read_text())
        assert "encryption" in metadata, name
        verified = manage(home, "verify_export", str(target), "--passphrase-file", str(secret_file))
        assert verified.returncode == 0, (name, verified.stdout + verified.stderr)
    # Two different answers at the prompt: nothing is written.
    empty = tmp_path / "mismatch"
    empty.mkdir()
    code, output = run_on_terminal(
        ["document_exporter", str(empty), "--stream", "--ask-passphrase"],
        home,
        answers=["one", "two"],
    )
    assert code == 2 and "differ" in output and "Traceback" not in output
    assert list(empty.iterdir()) == []

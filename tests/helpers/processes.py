"""The commands run as a user runs them: ``manage.py`` in a real subprocess, on real files.

``manage()`` runs ``manage.py`` in a subprocess. With ``database_url=None`` the process uses the
SQLite database in its ``ARCHIVE_DATA_DIR`` (a standalone archive, as after ``make demo``);
otherwise the given URL, usually ``database_url()``: the database this test runs on.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from django.db import connection

#: The project's root, where manage.py is.
ROOT = Path(__file__).resolve().parents[2]

#: Names of temporary files, as exporter.sinks.files.create_temp makes them.
TEMP_GLOB = ".*.tmp"


def database_url() -> str:
    """A DATABASE_URL for the database the tests run on (the test database, not the real one)."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    scheme = "postgres" if connection.vendor == "postgresql" else "mysql"
    password = f":{settings['PASSWORD']}" if settings["PASSWORD"] else ""
    port = f":{settings['PORT']}" if settings["PORT"] else ""
    return f"{scheme}://{settings['USER']}{password}@{settings['HOST']}{port}/{settings['NAME']}"


def child_environment(
    data_dir: Path, database_url: str | None = None, env: dict[str, str] | None = None
) -> dict[str, str]:
    """The environment of a command run on ``data_dir`` (and ``database_url``, else its SQLite
    file), with no DATABASE_URL, passphrase or stop point inherited from the test run."""
    child_env = dict(os.environ, ARCHIVE_DATA_DIR=str(data_dir))
    for name in ("DATABASE_URL", "DOCUMENT_EXPORTER_PASSPHRASE", "STOP_AT"):
        child_env.pop(name, None)
    if database_url is not None:
        child_env["DATABASE_URL"] = database_url
    child_env.update(env or {})
    return child_env


def command_environment(data_dir: Path, **env: str) -> dict[str, str]:
    """The environment of a command run on ``data_dir``'s media and the test database."""
    return child_environment(data_dir, database_url(), env)


def manage(
    data_dir: Path,
    *args: str,
    database_url: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 300,
    **kwargs,
) -> subprocess.CompletedProcess:
    """``manage.py *args`` in a subprocess; text output captured. It raises on failure only
    with ``check=True`` (passed on to ``subprocess.run``, as any other keyword)."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=child_environment(data_dir, database_url, env),
        capture_output=True,
        text=True,
        timeout=timeout,
        **kwargs,
    )


def run_command(
    *args: str, data_dir: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """``manage.py *args`` on the test database with no terminal on stdin, never raising on
    failure but asserting that it printed no traceback; its exit status and output."""
    done = manage(
        data_dir,
        *args,
        database_url=database_url(),
        env=env,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert "Traceback" not in done.stdout + done.stderr, done.stderr
    return done


def standalone_archive(data_dir: Path, documents: int = 12, seed: int = 3) -> Path:
    """A migrated SQLite archive with ``documents`` generated documents, in ``data_dir``."""
    done = manage(data_dir, "migrate", "-v", "0")
    assert done.returncode == 0, done.stderr
    done = manage(
        data_dir,
        *("generate_archive", "--documents", str(documents), "--seed", str(seed)),
        "--no-progress-bar",
    )
    assert done.returncode == 0, done.stderr
    return data_dir


def tree_state(root: Path) -> dict[str, str]:
    """sha256 and mtime of every file under root (links by target), by relative path."""
    state = {}
    for path in sorted(root.rglob("*")):
        relpath = path.relative_to(root).as_posix()
        if path.is_symlink():
            state[relpath] = f"link:{os.readlink(path)}"
        elif path.is_file():
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            state[relpath] = f"{digest}:{path.stat().st_mtime_ns}"
    return state


def temp_files(*roots: Path, pattern: str = TEMP_GLOB) -> list[Path]:
    """Every temporary file (``.<name>.<hex>.tmp``, or whatever matches ``pattern``) under the
    roots, in order."""
    return sorted(path for root in roots for path in root.rglob(pattern))


def assert_clean_failure(done: subprocess.CompletedProcess, code: int, *fragments: str) -> None:
    """The process failed with ``code``, no traceback, and a message with every fragment."""
    output = done.stdout + done.stderr
    assert "Traceback" not in output, output
    assert done.returncode == code, (done.returncode, output)
    for fragment in fragments:
        assert fragment in output, (fragment, output)


def run_verify(
    source: Path, *args: str, data_dir: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """``verify_export SOURCE *args`` in a real process, as :func:`run_command` runs it."""
    return run_command("verify_export", str(source), *args, data_dir=data_dir, env=env)


def run_import(
    source: Path, *args: str, data_dir: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """``document_importer SOURCE *args`` in a real process, as :func:`run_command` runs it."""
    return run_command("document_importer", str(source), *args, data_dir=data_dir, env=env)

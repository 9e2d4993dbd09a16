"""Helpers for tests that run the commands as a user does: real processes, real files.

``manage()`` runs ``manage.py`` in a subprocess. With ``database_url=None`` the process uses the
SQLite database in its ``ARCHIVE_DATA_DIR`` (a standalone archive, as after ``make demo``);
otherwise the given URL (the test database, see ``tests.conftest.database_url``).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

#: Names of temporary files, as exporter.sinks.files.create_temp makes them.
TEMP_GLOB = ".*.tmp"


def child_environment(
    data_dir: Path, database_url: str | None = None, env: dict[str, str] | None = None
) -> dict[str, str]:
    """The environment of a command run on ``data_dir`` (and ``database_url``, else its SQLite
    file), with no DATABASE_URL or passphrase inherited from the test run."""
    child_env = dict(os.environ, ARCHIVE_DATA_DIR=str(data_dir))
    child_env.pop("DATABASE_URL", None)
    child_env.pop("DOCUMENT_EXPORTER_PASSPHRASE", None)
    if database_url is not None:
        child_env["DATABASE_URL"] = database_url
    child_env.update(env or {})
    return child_env


def manage(
    data_dir: Path,
    *args: str,
    database_url: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 300,
    **kwargs,
) -> subprocess.CompletedProcess:
    """``manage.py *args`` in a subprocess; text output captured, never raising on failure."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=child_environment(data_dir, database_url, env),
        capture_output=True,
        text=True,
        timeout=timeout,
        **kwargs,
    )


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


def temp_files(*roots: Path) -> list[Path]:
    """Every temporary file (``.<name>.<hex>.tmp``) under the roots."""
    return [path for root in roots for path in root.rglob(TEMP_GLOB)]


def assert_clean_failure(done: subprocess.CompletedProcess, code: int, *fragments: str) -> None:
    """The process failed with ``code``, no traceback, and a message with every fragment."""
    output = done.stdout + done.stderr
    assert "Traceback" not in output, output
    assert done.returncode == code, (done.returncode, output)
    for fragment in fragments:
        assert fragment in output, (fragment, output)

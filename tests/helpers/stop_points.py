"""Seeded stop points, driven from a test: start a command that freezes itself, wait, kill.

The commands run under one of two runners, each ``manage.py`` with hooks installed:
``tests.helpers.stop_point`` (the export's writes and renames, the importer's inserts) and
``tests.helpers.import_stop_point`` (those, and the importer's file stage). ``STOP_AT=<kind>:<n>``
in the child's environment names the event at which it freezes itself with SIGSTOP.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.helpers.processes import ROOT, command_environment

EXPORT_RUNNER = "tests.helpers.stop_point"
IMPORT_RUNNER = "tests.helpers.import_stop_point"


def spawn(
    manage_args: list[str],
    env: dict[str, str],
    stop_at: str | None = None,
    *,
    runner: str = EXPORT_RUNNER,
    stdin: int | None = None,
    stdout: int = subprocess.DEVNULL,
) -> subprocess.Popen:
    """``manage.py *manage_args`` under ``runner`` in a subprocess, frozen at ``stop_at``.

    ``env`` is the child's environment (its ``ARCHIVE_DATA_DIR`` and ``DATABASE_URL``); any
    ``STOP_AT`` in it is replaced by ``stop_at``. Standard error is a text pipe.
    """
    env = dict(env)
    env.pop("STOP_AT", None)
    if stop_at:
        env["STOP_AT"] = stop_at
    return subprocess.Popen(
        [sys.executable, "-m", runner, *manage_args],
        cwd=ROOT,
        env=env,
        stdin=stdin,
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
    )


def spawn_import(manage_args: list[str], env: dict[str, str], stop_at: str) -> subprocess.Popen:
    """``manage.py *manage_args`` under the importer's runner, frozen at ``stop_at``; no
    terminal on stdin, standard output and error text pipes."""
    return spawn(
        manage_args,
        env,
        stop_at,
        runner=IMPORT_RUNNER,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
    )


def spawn_export(
    target: Path, args: tuple[str, ...], data_dir: Path, stop_at: str | None = None
) -> subprocess.Popen:
    """``document_exporter TARGET *args``, quiet, on the test database and ``data_dir``'s
    media, in a subprocess that may freeze itself at ``stop_at``."""
    manage_args = ["document_exporter", str(target), *args, "--no-progress-bar", "-v", "0"]
    return spawn(manage_args, command_environment(data_dir), stop_at)


def process_state(pid: int) -> str:
    """The one-letter state of a process in /proc ("T" when stopped), or "gone"."""
    try:
        line = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return "gone"
    return line.rpartition(")")[2].split()[0]


def wait_stopped(
    process: subprocess.Popen, timeout: float = 60, *, must_stop: bool = False
) -> bool:
    """Wait until the process froze itself (True) or ended (False); kill it after ``timeout``.

    With ``must_stop`` a process that ended instead is an AssertionError naming its output.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            if must_stop:
                raise AssertionError(
                    f"the process ended before its stop point: {process.stderr.read()}"
                )
            return False
        if process_state(process.pid) == "T":
            return True
        time.sleep(0.005)
    process.kill()
    raise AssertionError("the process neither stopped nor ended")


def kill(process: subprocess.Popen) -> str:
    """SIGKILL the process and check that it died of it; its standard error."""
    process.send_signal(signal.SIGKILL)
    _, err = process.communicate(timeout=30)
    assert process.returncode == -signal.SIGKILL, err
    return err

"""Progress on a real terminal: each command run under a pseudo-terminal shows a bar per stage,
named for it, with its total; on a pipe the same commands print nothing but their summary."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time

import pytest

from tests.helpers.processes import ROOT, command_environment, manage

# The commands run in processes of their own: they must see the archive, so it is committed.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.one_database]

ARCHIVE = {"documents": 5, "seed": 37}
BARS = ("reading", "copying files", "syncing", "committing", "loading", "reading and hashing")


def on_a_terminal(env: dict[str, str], *args: str, timeout: float = 120) -> tuple[int, str]:
    """``manage.py *args`` in ``env`` with a pseudo-terminal as its standard input, output and
    error; its exit status and everything it drew on the terminal."""
    master, slave = pty.openpty()
    # A terminal of 40 rows and 120 columns (a new pty has none, and bars need a width).
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    process = subprocess.Popen(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=dict(env, TERM="xterm"),
        stdin=slave,
        stdout=slave,
        stderr=slave,
    )
    os.close(slave)
    screen = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: the terminal's other side is closed
                    break
                if not chunk:
                    break
                screen += chunk
            elif process.poll() is not None:
                break
        code = process.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        os.close(master)
        if process.poll() is None:
            process.kill()
    return code, screen.decode("utf-8", "replace")


def test_bars_show_stages_and_totals_on_a_terminal_only(archive, tmp_path):
    env = command_environment(tmp_path)
    target = tmp_path / "e"
    target.mkdir()
    code, screen = on_a_terminal(env, "document_exporter", str(target), "--stream")
    assert code == 0, screen
    assert "reading [" in screen and "syncing [" in screen and "committing [" in screen, screen
    # The documents' stage with its total: "copying files:   0%|...| 0/5 [...".
    assert "copying files" in screen and "/5 [" in screen, screen
    # The files' bytes, counted first ("counting files"), with their total: "file bytes: 40%".
    assert "counting files" in screen and "file bytes: " in screen and "%|" in screen, screen
    assert "Exported 5 documents" in screen

    code, screen = on_a_terminal(env, "verify_export", str(target))
    assert code == 0, screen
    # With its total, the records metadata.json announces: "reading and hashing:  40%|".
    assert re.search(r"reading and hashing: +\d+%\|", screen), screen
    assert f"Verified {target}" in screen

    # Imported into a new SQLite archive of its own.
    home = tmp_path / "restored"
    assert manage(home, "migrate", "-v", "0").returncode == 0
    own = {k: v for k, v in command_environment(home).items() if k != "DATABASE_URL"}
    code, screen = on_a_terminal(own, "document_importer", str(target))
    assert code == 0, screen
    assert "loading" in screen and "copying files" in screen and "/5 [" in screen, screen
    # The bytes to copy, counted while the names were checked: "file bytes:  40%|".
    assert re.search(r"file bytes: +\d+%\|", screen), screen
    assert "Imported" in screen

    # On a pipe: the summary only, not one bar.
    for args in (
        ("document_exporter", str(target), "--stream"),
        ("verify_export", str(target)),
    ):
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            stdin=subprocess.DEVNULL,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        # Bytes, not text: text mode would turn a bar's carriage returns into newlines.
        output = (done.stdout + done.stderr).decode("utf-8", "replace")
        assert "\r" not in output and "docs/s" not in output, output
        assert "[00:" not in output, output  # a bar's elapsed time
        assert not any(f"{bar}:" in output or f"{bar} [" in output for bar in BARS), output

"""Run one child process under the memory cap and measure it exactly.

``os.wait4`` on the child's own pid gives its exact rusage (CPU and peak RSS). ``RUSAGE_CHILDREN``
would sum over every child reaped so far, and ``subprocess`` would reap it first.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.limits import MemoryCap

#: How often the watchdog samples the child's RSS. Even the classic exporter grows by well
#: under 100 MB per 0.1 s, so the overshoot before a kill stays small.
WATCH_INTERVAL_MS = 100
#: Marks the child's one line of results on its stdout (see benchmarks.child).
RESULT_KEY = "bench_child"
_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
_MEMORY_MESSAGES = ("MemoryError", "Cannot allocate memory", "out of memory")


@dataclass
class ChildOutcome:
    """What one child did and cost."""

    returncode: int
    wall_seconds: float
    user_seconds: float
    system_seconds: float
    #: ru_maxrss of the child alone. Linux counts the parent's peak RSS at fork time in it too,
    #: which is why the parent stays small.
    peak_rss_bytes: int
    #: The highest RSS the watchdog saw (sampled, so possibly below the true peak).
    sampled_rss_bytes: int
    #: The cgroup's own peak (memory.peak, cgroup v2 only; includes page cache).
    cgroup_peak_bytes: int | None
    killed_for_memory: bool
    timed_out: bool
    #: The child's result line (a dict), if it printed one.
    result: dict | None
    stderr_tail: str

    @property
    def exceeded_memory(self) -> bool:
        """Whether the memory cap stopped the child, by whichever mechanism."""
        if self.killed_for_memory:
            return True
        if self.returncode == 0:
            return False
        if self.returncode == -signal.SIGKILL and not self.timed_out:
            # A SIGKILL nobody here sent: the cgroup's or the kernel's OOM killer.
            return True
        return any(message in self.stderr_tail for message in _MEMORY_MESSAGES)


class _Watchdog(threading.Thread):
    """Samples the child's RSS; kills it past the cap or the deadline."""

    def __init__(self, pid: int, limit: int, deadline: float) -> None:
        super().__init__(daemon=True)
        self.limit = limit
        self.deadline = deadline
        self.peak = 0
        self.killed_for_memory = False
        self.timed_out = False
        self._statm = f"/proc/{pid}/statm"
        # A pidfd names this very process: no signal can reach a later process with its pid.
        self._pidfd = os.pidfd_open(pid)
        self._poller = select.poll()
        self._poller.register(self._pidfd, select.POLLIN)

    def run(self) -> None:
        try:
            # The pidfd becomes readable when the child exits: that ends the loop at once.
            while not self._poller.poll(WATCH_INTERVAL_MS):
                rss = self._rss()
                self.peak = max(self.peak, rss)
                if rss > self.limit:
                    self.killed_for_memory = True
                    self._kill()
                    return
                if time.monotonic() > self.deadline:
                    self.timed_out = True
                    self._kill()
                    return
        finally:
            os.close(self._pidfd)

    def _rss(self) -> int:
        try:
            with open(self._statm) as statm:
                return int(statm.read().split()[1]) * _PAGE_SIZE
        except (OSError, IndexError, ValueError):
            return 0

    def _kill(self) -> None:
        # It may have exited since the last sample.
        with contextlib.suppress(ProcessLookupError):
            signal.pidfd_send_signal(self._pidfd, signal.SIGKILL)


def run_child(
    argv: list[str],
    *,
    env: dict[str, str],
    cwd: Path,
    cap: MemoryCap,
    timeout: float,
    log_path: Path,
) -> ChildOutcome:
    """Run ``argv`` to completion under ``cap``; its stderr goes to ``log_path``."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    group = cap.new_group()
    try:
        with tempfile.TemporaryFile() as stdout, open(log_path, "w+b") as stderr:
            started = time.monotonic()
            process = subprocess.Popen(
                argv,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
                preexec_fn=cap.preexec(group),
            )
            watchdog = _Watchdog(process.pid, cap.limit, started + timeout)
            watchdog.start()
            try:
                _, status, usage = os.wait4(process.pid, 0)
            except BaseException:
                # Interrupted (Ctrl-C): take the child down with us, and reap it.
                process.kill()
                os.wait4(process.pid, 0)
                raise
            wall = time.monotonic() - started
            # We reaped it: tell Popen, so that it never waits for the pid again.
            process.returncode = os.waitstatus_to_exitcode(status)
            watchdog.join()
            stdout.seek(0)
            result = _result_line(stdout.read())
            stderr.seek(0)
            stderr_tail = stderr.read()[-4000:].decode("utf-8", "replace")
    finally:
        if group is not None:
            oom_kills, cgroup_peak = group.oom_kills(), group.peak_bytes()
            group.remove()
        else:
            oom_kills, cgroup_peak = 0, None
    return ChildOutcome(
        returncode=process.returncode,
        wall_seconds=wall,
        user_seconds=usage.ru_utime,
        system_seconds=usage.ru_stime,
        peak_rss_bytes=usage.ru_maxrss * 1024,
        sampled_rss_bytes=watchdog.peak,
        cgroup_peak_bytes=cgroup_peak,
        killed_for_memory=watchdog.killed_for_memory or oom_kills > 0,
        timed_out=watchdog.timed_out,
        result=result,
        stderr_tail=stderr_tail,
    )


def _result_line(stdout: bytes) -> dict | None:
    """The child's last JSON line carrying RESULT_KEY; anything else on stdout is ignored."""
    for line in reversed(stdout.splitlines()):
        if line.startswith(b"{"):
            try:
                data = json.loads(line)
            except ValueError:
                continue
            if isinstance(data, dict) and data.get(RESULT_KEY):
                return data
    return None

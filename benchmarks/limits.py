"""The memory cap every child runs under, so that the machine never swaps.

Two ways, the better one when the machine allows it:

* cgroup v2: a fresh cgroup per child with ``memory.max`` (and no swap). The kernel then counts
  exactly what the child uses and kills it at the cap.
* otherwise ``RLIMIT_AS`` in the child, with headroom because it limits virtual memory, not RSS.

In both cases the parent's watchdog (:mod:`benchmarks.process`) also kills a child whose RSS
passes the cap, which is what actually enforces it under ``RLIMIT_AS``.
"""

from __future__ import annotations

import contextlib
import os
import re
import resource
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
# Virtual memory a CPython + Django child maps beyond its RSS (shared libraries, malloc arenas,
# reserved but untouched pages): measured at about 0.3 GB, doubled and then some for safety.
_AS_HEADROOM = 2 << 30


def parse_size(text: str) -> int:
    """Bytes from ``8G``, ``512M``, ``1.5GiB`` or a plain number of bytes (binary units)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*", text, re.IGNORECASE)
    if not match:
        raise ValueError(f"not a size: {text!r} (examples: 8G, 512M, 1.5GiB)")
    number, unit = match.groups()
    size = int(float(number) * _UNITS[unit.upper()])
    if size <= 0:
        raise ValueError(f"a size must be positive, got {text!r}")
    return size


@dataclass
class CapGroup:
    """One child's cgroup (cgroup v2 only)."""

    path: Path

    def join(self) -> None:
        """Move the calling process into the group (runs in the child, before exec)."""
        (self.path / "cgroup.procs").write_text(str(os.getpid()))

    def oom_kills(self) -> int:
        """How many times the kernel's OOM killer struck in this group."""
        try:
            events = (self.path / "memory.events").read_text()
        except OSError:
            return 0
        match = re.search(r"^oom_kill (\d+)$", events, re.MULTILINE)
        return int(match.group(1)) if match else 0

    def peak_bytes(self) -> int | None:
        """The group's peak memory, or None where the kernel does not report it."""
        # memory.peak exists from Linux 5.19 on.
        try:
            return int((self.path / "memory.peak").read_text())
        except (OSError, ValueError):
            return None

    def remove(self) -> None:
        """Remove the group's directory, if it can be removed."""
        with contextlib.suppress(OSError):
            self.path.rmdir()


class MemoryCap:
    """The cap of ``limit`` bytes of RSS, applied to each child by :meth:`preexec`."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._cgroup_parent = _cgroup_parent()
        self.method = "cgroup v2 memory.max" if self._cgroup_parent else "RLIMIT_AS + RSS watchdog"
        self._groups = 0

    def describe(self) -> dict[str, object]:
        """The cap as the results file records it."""
        return {"limit_bytes": self.limit, "method": self.method}

    def new_group(self) -> CapGroup | None:
        """A fresh cgroup for the next child, or None under RLIMIT_AS."""
        if self._cgroup_parent is None:
            return None
        self._groups += 1
        path = self._cgroup_parent / f"benchmarks-{os.getpid()}-{self._groups}"
        try:
            path.mkdir()
            (path / "memory.max").write_text(str(self.limit))
            # Without this the cap could push the child into swap instead of killing it.
            with contextlib.suppress(OSError):
                (path / "memory.swap.max").write_text("0")
        except OSError:
            with contextlib.suppress(OSError):
                path.rmdir()
            raise
        return CapGroup(path)

    def preexec(self, group: CapGroup | None) -> Callable[[], None]:
        """The function the child runs between fork and exec."""
        limit = self.limit

        def apply() -> None:
            if group is not None:
                group.join()
            else:
                address_space = limit + _AS_HEADROOM
                resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))

        return apply


def _cgroup_parent() -> Path | None:
    """The cgroup v2 directory children's groups can be created in with the memory controller.

    Usable only if the memory controller is enabled for its children (or can be, at the root,
    which is exempt from the no-internal-processes rule) and we may write there.
    """
    controllers = CGROUP_ROOT / "cgroup.controllers"
    try:
        if "memory" not in controllers.read_text().split():
            return None
        own = _own_cgroup()
        base = CGROUP_ROOT / own.lstrip("/") if own else CGROUP_ROOT
        subtree = base / "cgroup.subtree_control"
        if "memory" not in subtree.read_text().split():
            if base != CGROUP_ROOT:
                return None
            subtree.write_text("+memory")
        if not os.access(base, os.W_OK):
            return None
    except OSError:
        return None
    return base


def _own_cgroup() -> str | None:
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith("0::"):
            return line[3:]
    return None

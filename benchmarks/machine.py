"""A description of the machine and software a benchmark ran on, for results.json.

Read from /proc and package metadata (the code's git version is in benchmarks.snapshot).
Importing Django or the drivers here would grow the parent, and every child's measured peak
RSS starts from the parent's (see benchmarks.process). The database server's version comes
from the children, which connect anyway.
"""

from __future__ import annotations

import os
import platform
import sqlite3
from importlib import metadata
from typing import Any

_PACKAGES = ("django", "orjson", "ijson", "django-guardian", "psycopg", "mysqlclient", "matplotlib")


def describe() -> dict[str, Any]:
    """The machine and the software versions the figures were measured with."""
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "memory_bytes": _meminfo("MemTotal"),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "versions": {name: _version(name) for name in _PACKAGES},
        "load_average_at_start": os.getloadavg(),
    }


def _cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def _meminfo(key: str) -> int | None:
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None

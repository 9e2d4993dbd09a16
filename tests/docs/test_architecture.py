"""docs/architecture.md names every module of the engine, and only modules that exist.

The page's "What lives where" table is how a newcomer finds a step's folder; a module added
without a row, or a row left behind by a module that moved, fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "architecture.md"


def table_paths() -> set[str]:
    """The paths in the first column of the page's "What lives where" table."""
    text = PAGE.read_text()
    section = text.split("## What lives where", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([^`]+)` \|", section, flags=re.M))


def engine_modules() -> set[str]:
    """Every module of ``exporter/`` a reader may look for (commands are listed as a folder)."""
    modules = set()
    for path in (ROOT / "exporter").rglob("*.py"):
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith("exporter/management/commands/"):
            continue
        if path.name == "__init__.py" and path.parent != ROOT / "exporter":
            continue
        modules.add(relative)
    return modules


def test_every_engine_module_has_a_row():
    missing = sorted(engine_modules() - table_paths())
    assert not missing, f"docs/architecture.md, 'What lives where', has no row for {missing}"


def test_every_row_names_something_that_exists():
    gone = sorted(p for p in table_paths() if not (ROOT / p.rstrip("/")).exists())
    assert not gone, f"docs/architecture.md, 'What lives where', names {gone}, which do not exist"


def test_the_table_is_read():
    # A page whose table the parser no longer finds must not pass the two tests above vacuously.
    paths = table_paths()
    assert "exporter/batches.py" in paths and "exporter/sinks/" in paths, sorted(paths)[:5]

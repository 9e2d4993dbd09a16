"""What is measured: a small registry of cases, each with its contenders.

A case is a workload over an archive (here: a data-only manifest export). A contender is one way
to do it, run as its own child process; its ``command`` builds the child's command line from the
output directory the run writes into. Later cases plug in as more entries of :data:`CASES`:

* an export with files: a case with ``needs_files=True`` (the archive is generated with files);
* an incremental re-run: a contender whose ``prepare`` writes the first export into the output
  directory before the measured run;
* import and verify: contenders whose ``prepare`` puts a manifest in place and whose command
  reads it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

CommandBuilder = Callable[[Path], list[str]]
Prepare = Callable[[Path, dict[str, str]], None]

#: What ``dumpdata`` must dump to hold what the manifest holds.
DUMPDATA_APPS = ("documents", "auth", "contenttypes", "guardian")

#: The hook for the ``document_exporter`` management command (in progress). Once it exists, set
#: this to the arguments of a data-only export (``"{out}"`` stands for the output directory),
#: e.g. ``("document_exporter", "{out}", "--data-only")``: the "stream" contender then runs the
#: command (in process, through ``benchmarks.child manage``, so queries are still counted)
#: instead of calling the streaming builder directly, and "classic" can follow with the
#: command's classic switch if it gets one.
DOCUMENT_EXPORTER_ARGS: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Contender:
    name: str
    description: str
    command: CommandBuilder
    #: Its peak RSS grows with the archive: project it from the previous sizes and skip a size
    #: whose projection exceeds the memory cap instead of letting the child find out slowly.
    memory_grows: bool = False
    #: Runs (unmeasured, in the parent) before each measured run, with the run's output
    #: directory and child environment: e.g. a first export for an incremental re-run.
    prepare: Prepare | None = None


@dataclass(frozen=True)
class Case:
    name: str
    description: str
    contenders: tuple[Contender, ...]
    #: (numerator, denominator) pairs of contenders whose time ratios the report shows.
    ratios: tuple[tuple[str, str], ...] = ()
    #: The archive needs its files on disk (generate_archive without --no-files).
    needs_files: bool = False

    def contender(self, name: str) -> Contender:
        for contender in self.contenders:
            if contender.name == name:
                return contender
        known = ", ".join(c.name for c in self.contenders)
        raise KeyError(f"case {self.name} has no contender {name!r} (known: {known})")


def child_command(workload: str, out: Path, *args: str) -> list[str]:
    """The command line of a :mod:`benchmarks.child` run."""
    return [sys.executable, "-m", "benchmarks.child", workload, str(out), *args]


def _stream_command(out: Path) -> list[str]:
    if DOCUMENT_EXPORTER_ARGS is not None:
        return child_command("manage", out, *DOCUMENT_EXPORTER_ARGS)
    return child_command("stream", out)


def _dumpdata_command(out: Path) -> list[str]:
    # --all: the base managers, so that trashed documents are dumped like in the manifest.
    return child_command(
        "manage", out, "dumpdata", *DUMPDATA_APPS, "--all", "--indent", "2", "-o", "{out}/dump.json"
    )


DATA_ONLY = Case(
    name="data-only",
    description="Manifest export of the whole database, no files.",
    contenders=(
        Contender(
            "classic",
            "ClassicManifestBuilder: Django's python serializer, all records in memory, one dumps",
            lambda out: child_command("classic", out),
            memory_grows=True,
        ),
        Contender(
            "stream",
            "StreamingManifestBuilder(batch_size=500): row batches straight to disk",
            _stream_command,
        ),
        Contender(
            "dumpdata",
            f"manage.py dumpdata {' '.join(DUMPDATA_APPS)} --all --indent 2",
            _dumpdata_command,
        ),
        Contender(
            "floor",
            "raw DB-API cursor over the same tables, orjson.dumps per row tuple (lower bound)",
            lambda out: child_command("floor", out),
        ),
    ),
    ratios=(("classic", "stream"), ("stream", "floor")),
)

CASES: dict[str, Case] = {case.name: case for case in (DATA_ONLY,)}

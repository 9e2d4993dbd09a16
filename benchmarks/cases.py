"""What is measured: a small registry of cases, each with its contenders.

A case is a workload over an archive. A contender is one way to do it, run as its own child
process; its ``command`` builds the child's command line from the run's output directory and
what its ``prepare`` made (:mod:`benchmarks.prepare`). The cases:

* ``data-only``: a manifest export of the whole database, no files: the command's exporters
  (built as ``document_exporter --data-only`` builds them) against ``dumpdata`` and a raw
  read-and-write floor;
* ``files``: a full export with files into an empty directory (``needs_files``), against ``cp -r``
  of the media folder;
* ``incremental``: an unchanged re-run; ``prepare`` writes the first export with the same
  command, unmeasured; against a data-only export of the same archive (and, for ``-c``, that
  export followed by ``sha256sum`` of every media file);
* ``import``: a data-only manifest loaded into an empty, migrated database, against Django's
  ``loaddata``; ``prepare`` puts the manifest in place (made once per archive) and makes the
  database;
* ``verify``: ``verify_export`` reading a data-only manifest back, against a bare ijson parse;
* ``s3``: a full export with files into object storage (moto's S3 server, a local process, see
  :mod:`benchmarks.object_store`) and an unchanged re-run, against a plain boto3 loop that PUTs
  the files of a directory export of the same archive.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from benchmarks.object_store import ObjectStoreFailed
from benchmarks.prepare import Prepared, PrepareFailed, RunContext

CommandBuilder = Callable[[Path, Prepared], list[str]]
Prepare = Callable[[RunContext], Prepared]

#: What ``dumpdata`` must dump to hold what the manifest holds.
DUMPDATA_APPS = ("documents", "auth", "contenttypes", "guardian")


@dataclass(frozen=True)
class Contender:
    """One way to do a case's work, run as its own child process."""

    name: str
    description: str
    command: CommandBuilder
    #: Its peak RSS grows with the archive: project it from the previous sizes and skip a size
    #: whose projection exceeds the memory cap instead of letting the child find out slowly.
    memory_grows: bool = False
    #: Runs (unmeasured: in the parent, or as separate capped children) before each measured
    #: run: e.g. a first export for an incremental re-run. None: the archive's environment.
    prepare: Prepare | None = None


@dataclass(frozen=True)
class Case:
    """A workload over an archive, and the contenders that do it."""

    name: str
    description: str
    contenders: tuple[Contender, ...]
    #: (numerator, denominator) pairs of contenders whose time ratios the report shows.
    ratios: tuple[tuple[str, str], ...] = ()
    #: The archive needs its files on disk (generate_archive without --no-files).
    needs_files: bool = False

    def contender(self, name: str) -> Contender:
        """The contender called ``name``; KeyError naming the known ones otherwise."""
        for contender in self.contenders:
            if contender.name == name:
                return contender
        known = ", ".join(c.name for c in self.contenders)
        raise KeyError(f"case {self.name} has no contender {name!r} (known: {known})")


def child_command(workload: str, out: Path, *args: str) -> list[str]:
    """The command line of a :mod:`benchmarks.child` run."""
    return [sys.executable, "-m", "benchmarks.child", workload, str(out), *args]


def _dumpdata_command(out: Path, prepared: Prepared) -> list[str]:
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
            "document_exporter {out} --data-only: ClassicExporter, Django's python serializer, "
            "all records in memory, one dumps",
            lambda out, prepared: child_command("classic", out),
            memory_grows=True,
        ),
        Contender(
            "stream",
            "document_exporter {out} --stream --data-only: StreamingExporter, batches of 500 "
            "rows straight to disk",
            lambda out, prepared: child_command("stream", out),
        ),
        Contender(
            "dumpdata",
            f"manage.py dumpdata {' '.join(DUMPDATA_APPS)} --all --indent 2",
            _dumpdata_command,
        ),
        Contender(
            "floor",
            "raw DB-API cursor over the same tables, orjson.dumps per row tuple (lower bound)",
            lambda out, prepared: child_command("floor", out),
        ),
    ),
    ratios=(("classic", "stream"), ("stream", "floor")),
)

#: The export directory of the files and incremental cases, inside the run's output directory.
EXPORT_DIR = "export"


def _exporter_args(target: str, flags: tuple[str, ...]) -> list[str]:
    return ["document_exporter", target, *flags, "--no-progress-bar"]


def _exporter_command(*flags: str) -> CommandBuilder:
    """``document_exporter {out}/export <flags>``, in process through ``benchmarks.child``."""

    def command(out: Path, prepared: Prepared) -> list[str]:
        return child_command("manage", out, *_exporter_args(f"{{out}}/{EXPORT_DIR}", flags))

    return command


def _empty_target(context: RunContext) -> Prepared:
    """The exporter wants its target to exist: an empty ``{out}/export``."""
    (context.out / EXPORT_DIR).mkdir()
    return Prepared(env=context.archive.env)


def _media(context: RunContext) -> Prepared:
    """Nothing to make: name the archive's media folder (``$ARCHIVE_DATA_DIR/media``)."""
    media = Path(context.archive.env["ARCHIVE_DATA_DIR"]) / "media"
    return Prepared(env=context.archive.env, inputs={"media": media})


def _media_and_empty_target(context: RunContext) -> Prepared:
    """An empty ``{out}/export``, and the archive's media folder named."""
    _empty_target(context)
    return _media(context)


def _data_only_then_sha256sum(out: Path, prepared: Prepared) -> list[str]:
    """A data-only ``--stream`` export into ``{out}/export``, then ``sha256sum`` of every
    media file, in one child."""
    flags = ("--stream", "--data-only")
    return child_command(
        "manage-sha256sum",
        out,
        str(prepared.inputs["media"]),
        *_exporter_args(f"{{out}}/{EXPORT_DIR}", flags),
    )


def _first_export(*flags: str) -> Prepare:
    """A first export into ``{out}/export`` with the same command, as an unmeasured child."""

    def prepare(context: RunContext) -> Prepared:
        target = context.out / EXPORT_DIR
        target.mkdir()
        context.workspace.manage(
            context.archive.env,
            *_exporter_args(str(target), flags),
            log_name=f"{context.name}-prepare",
        )
        return Prepared(env=context.archive.env)

    return prepare


def _export_to_read(context: RunContext) -> Prepared:
    """The archive's data-only stream export (made once per archive), in the archive's env."""
    export = context.workspace.data_only_export(context.archive)
    return Prepared(env=context.archive.env, inputs={"export": export})


def _export_and_empty_database(context: RunContext) -> Prepared:
    """The archive's data-only export, and a fresh empty migrated database to load it into."""
    export = context.workspace.data_only_export(context.archive)
    prepared = context.workspace.empty_database(context.archive, f"{context.name}-migrate")
    prepared.inputs["export"] = export
    return prepared


def _reading(*args: str) -> CommandBuilder:
    """``benchmarks.child read-manage <export> <args>``; ``{export}`` in args is the export."""

    def command(out: Path, prepared: Prepared) -> list[str]:
        export = str(prepared.inputs["export"])
        return child_command(
            "read-manage", out, export, *(arg.replace("{export}", export) for arg in args)
        )

    return command


FILES = Case(
    name="files",
    description="Full export with files (originals, thumbnails, archived versions) into an "
    "empty directory.",
    contenders=(
        Contender(
            "classic",
            "manage.py document_exporter {out}/export (classic in-memory path)",
            _exporter_command(),
            memory_grows=True,
            prepare=_empty_target,
        ),
        Contender(
            "stream",
            "manage.py document_exporter {out}/export --stream",
            _exporter_command("--stream"),
            prepare=_empty_target,
        ),
        Contender(
            "cp",
            "cp -r of the archive's media folder into {out} (the disk floor)",
            lambda out, prepared: child_command("cp", out, str(prepared.inputs["media"])),
            prepare=_media,
        ),
    ),
    ratios=(("classic", "stream"), ("stream", "cp")),
    needs_files=True,
)

INCREMENTAL = Case(
    name="incremental",
    description="Unchanged re-run: the same export again into the directory a first, "
    "unmeasured run of the same command wrote.",
    contenders=(
        Contender(
            "classic",
            "document_exporter {out}/export, second run (size and mtime compared)",
            _exporter_command(),
            memory_grows=True,
            prepare=_first_export(),
        ),
        Contender(
            "stream",
            "document_exporter {out}/export --stream, second run",
            _exporter_command("--stream"),
            prepare=_first_export("--stream"),
        ),
        Contender(
            "classic-c",
            "document_exporter {out}/export -c, second run (sha256 of every file compared)",
            _exporter_command("-c"),
            memory_grows=True,
            prepare=_first_export("-c"),
        ),
        Contender(
            "stream-c",
            "document_exporter {out}/export --stream -c, second run",
            _exporter_command("--stream", "-c"),
            prepare=_first_export("--stream", "-c"),
        ),
        Contender(
            "data-only",
            "document_exporter {out}/export --stream --data-only into an empty directory "
            "(what a re-run is held to)",
            _exporter_command("--stream", "--data-only"),
            prepare=_empty_target,
        ),
        Contender(
            "data-only+sha256sum",
            "the same, then sha256sum of every file of the media folder (what a re-run with -c "
            "is held to)",
            _data_only_then_sha256sum,
            prepare=_media_and_empty_target,
        ),
    ),
    ratios=(
        ("classic", "stream"),
        ("classic-c", "stream-c"),
        ("stream", "data-only"),
        ("stream-c", "data-only+sha256sum"),
    ),
    needs_files=True,
)

IMPORT = Case(
    name="import",
    description="Data-only manifest (document_exporter --stream --data-only) loaded into an "
    "empty, freshly migrated database.",
    contenders=(
        Contender(
            "stream",
            "manage.py document_importer <export> --data-only --no-progress-bar",
            _reading("document_importer", "{export}", "--data-only", "--no-progress-bar"),
            prepare=_export_and_empty_database,
        ),
        Contender(
            "loaddata",
            "manage.py loaddata <export>/manifest.json (Django's own fixture loader)",
            _reading("loaddata", "{export}/manifest.json"),
            memory_grows=True,
            prepare=_export_and_empty_database,
        ),
    ),
    ratios=(("loaddata", "stream"),),
)

VERIFY = Case(
    name="verify",
    description="Reading a data-only manifest back: verify_export against a bare ijson parse.",
    contenders=(
        Contender(
            "verify",
            "manage.py verify_export <export> --no-checksums",
            _reading("verify_export", "{export}", "--no-checksums"),
            prepare=_export_to_read,
        ),
        Contender(
            "ijson",
            'ijson.items(manifest.json, "item") counting records (C backend), no Django',
            lambda out, prepared: child_command(
                "ijson", out, str(prepared.inputs["export"] / "manifest.json")
            ),
            prepare=_export_to_read,
        ),
    ),
    ratios=(("verify", "ijson"),),
)

#: The key prefix of every run's export in its own new bucket.
S3_PREFIX = "paperless"
#: The s3 case's command flags, for the measured run and the first, unmeasured one alike.
S3_FLAGS = ("--stream", "--no-progress-bar")


def _new_bucket(context: RunContext) -> Prepared:
    """A new, empty bucket on the invocation's S3 server (started if it is not yet), and the
    archive's environment pointed at the server; the server drops it after the run."""
    store = context.workspace.object_store()
    prepared = Prepared(env=store.child_env(context.archive.env), cleanups=[store.reset])
    try:
        bucket = store.new_bucket()
    except ObjectStoreFailed as exc:
        prepared.cleanup()
        raise PrepareFailed("failed", f"prepare: {exc}") from None
    prepared.values["bucket"] = bucket
    prepared.values["target"] = f"s3://{bucket}/{S3_PREFIX}"
    return prepared


def _first_s3_export(context: RunContext) -> Prepared:
    """A new bucket holding a first export by the same command, run as an unmeasured child."""
    prepared = _new_bucket(context)
    try:
        context.workspace.manage(
            prepared.env,
            "document_exporter",
            prepared.values["target"],
            *S3_FLAGS,
            log_name=f"{context.name}-prepare",
        )
    except BaseException:
        prepared.cleanup()
        raise
    return prepared


def _bucket_and_files(context: RunContext) -> Prepared:
    """A new bucket, and the archive's directory export with files (made once per archive)."""
    prepared = _new_bucket(context)
    try:
        prepared.inputs["export"] = context.workspace.files_export(context.archive)
    except BaseException:
        prepared.cleanup()
        raise
    return prepared


def _s3_export_command(out: Path, prepared: Prepared) -> list[str]:
    return child_command("s3-export", out, prepared.values["target"], *S3_FLAGS)


def _boto3_command(out: Path, prepared: Prepared) -> list[str]:
    return child_command(
        "boto3-put", out, prepared.values["bucket"], S3_PREFIX, str(prepared.inputs["export"])
    )


S3 = Case(
    name="s3",
    description="Export with files into object storage (moto's S3 server, a local process): "
    "a full export into a new bucket, and an unchanged re-run.",
    contenders=(
        Contender(
            "stream",
            "manage.py document_exporter s3://<new bucket>/paperless --stream (full export)",
            _s3_export_command,
            prepare=_new_bucket,
        ),
        Contender(
            "stream-unchanged",
            "the same command again over the export a first, unmeasured run wrote there "
            "(nothing changed)",
            _s3_export_command,
            prepare=_first_s3_export,
        ),
        Contender(
            "boto3",
            "a plain boto3 loop: one put_object per file of a directory export of the same "
            "archive, one after the other (the floor)",
            _boto3_command,
            prepare=_bucket_and_files,
        ),
    ),
    ratios=(("stream", "boto3"), ("stream", "stream-unchanged")),
    needs_files=True,
)

CASES: dict[str, Case] = {
    case.name: case for case in (DATA_ONLY, FILES, INCREMENTAL, IMPORT, VERIFY, S3)
}

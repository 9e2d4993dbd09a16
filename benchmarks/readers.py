"""Workloads that read an export rather than write one: import, loaddata, verify, bare ijson.

Each gets the export (a directory made by the contender's ``prepare``, see
:mod:`benchmarks.prepare`) as its first argument. Records are the records of the export's
manifests, and the bytes behind MB/s are the manifests' bytes read: these workloads write
nothing into their output directory (the database aside).
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.workloads import Produced, Workload, count_manifest_records, iter_files

METADATA = "metadata.json"


def manifests(export: Path) -> list[Path]:
    """The manifests of an export directory: every JSON file but ``metadata.json``."""
    return sorted(
        Path(entry.path)
        for entry in iter_files(export)
        if entry.name.endswith(".json") and entry.name != METADATA
    )


def read_manage(out: Path, args: list[str]) -> Produced:
    """``<export> <command> [args...]``: a management command that reads ``export``, in process.

    In process (``call_command``) like :func:`benchmarks.workloads.manage`, so that its queries
    are counted. A failing command raises, and the child exits non-zero.
    """
    from django.core.management import call_command

    if len(args) < 2:
        raise SystemExit("read-manage: give the export, then the management command to run")
    export, command, *rest = Path(args[0]), args[1], args[2:]
    read = manifests(export)
    if not read:
        raise SystemExit(f"read-manage: no manifest in {export}")
    call_command(command, *rest)
    return Produced(
        records=sum(count_manifest_records(path) for path in read),
        bytes_read=sum(path.stat().st_size for path in read),
    )


def ijson_items(out: Path, args: list[str]) -> Produced:
    """``<manifest.json>``: ``ijson.items(f, "item")`` over it, counting the records, no Django.

    The lower bound of anything that reads a manifest as a stream. It insists on ijson's C
    backend (yajl2_c), the one the exporter's own readers get.
    """
    import ijson

    if len(args) != 1:
        raise SystemExit("ijson: name the one manifest to parse")
    backend = getattr(ijson, "backend", "?")
    if backend != "yajl2_c":
        raise SystemExit(f"ijson: the C backend yajl2_c is not in use (got {backend})")
    path = Path(args[0])
    records = 0
    with open(path, "rb") as manifest:
        for _ in ijson.items(manifest, "item"):
            records += 1
    return Produced(
        records=records, bytes_read=path.stat().st_size, extra={"ijson_backend": backend}
    )


WORKLOADS: dict[str, Workload] = {
    "read-manage": read_manage,
    "ijson": ijson_items,
}

#: Workloads that need no Django (see :data:`benchmarks.workloads.WITHOUT_DJANGO`).
WITHOUT_DJANGO = frozenset({"ijson"})

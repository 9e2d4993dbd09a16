"""Helpers of the tests that restore exports into twins: exports with files, trees of files,
paperless-made exports with their files, and the rows of paperless's own a target needs."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from tests.paperless.twin import Twin

#: The exporter's own files in a target (its file list): not part of the export's contents.
TOOL_PREFIX = ".document_exporter-"
CONSUMER_PK = (
    "from django.contrib.auth.models import User; print(User.objects.get(username='consumer').pk)"
)


def export(twin: Twin, target: Path, *args: str, env: dict[str, str] | None = None) -> Path:
    """``streaming_exporter TARGET --stream *args`` in ``twin``; ``target``."""
    target.mkdir(parents=True)
    done = twin.manage(
        "streaming_exporter", str(target), "--stream", "--no-progress-bar", *args, env=env
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return target


def tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (the exporter's own files aside), by relative path."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and not path.name.startswith(TOOL_PREFIX)
    }


def add_consumer(source: Twin, target: Twin) -> None:
    """Give ``target`` the source's ``consumer`` user, a row of paperless's own that exports
    leave out (facts 3.2) but rows of the export point at: as an installation with that
    migration history has it."""
    found = source.manage("shell", "--no-imports", "-c", CONSUMER_PK)
    assert found.returncode == 0, found.stderr
    created = target.manage(
        "shell",
        "--no-imports",
        "-c",
        "from django.contrib.auth.models import User; "
        f"User.objects.create(pk={int(found.stdout)}, username='consumer')",
    )
    assert created.returncode == 0, created.stderr


def restore(
    source: Twin, target: Twin, export_dir: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """``streaming_importer EXPORT *args`` into the freshly migrated ``target``, given the
    source's ``consumer`` user first (:func:`add_consumer`); the finished process."""
    add_consumer(source, target)
    return target.manage("streaming_importer", str(export_dir), "--no-progress-bar", *args, env=env)


def paperless_made(twin: Twin, output: Path, *args: str) -> Path:
    """An export of ``twin`` as paperless-ngx writes it (the oracle, with ``args``), with the
    files its manifest names copied in from the twin's media; ``output``."""
    sources = output.parent / f"{output.name}-sources.json"
    twin.oracle(output, "--sources", str(sources), *args)
    for name, source in json.loads(sources.read_text()).items():
        destination = output / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, destination)
    return output


def many_to_many(twin: Twin) -> dict[str, list[str]]:
    """The twin's many-to-many field names, by model label."""
    done = twin.module("tests.paperless.probe", "many_to_many", check=True)
    return json.loads(done.stdout)


def same_records(actual: bytes, expected: bytes, m2m: dict[str, list[str]]) -> None:
    """Two manifests hold the same records, each with the same values, in whatever order the
    database gave rows and related rows that tie in paperless-ngx's orderings: records by
    (model, pk), and many-to-many lists as sets."""

    def canonical(manifest: bytes) -> list:
        records = json.loads(manifest)
        for record in records:
            for name in m2m.get(record["model"], ()):
                if name in record["fields"]:
                    record["fields"][name] = sorted(record["fields"][name], key=repr)
        return sorted(records, key=lambda r: (r["model"], repr(r["pk"])))

    left, right = canonical(actual), canonical(expected)
    assert len(left) == len(right), (len(left), len(right))
    for ours, theirs in zip(left, right, strict=True):
        assert ours == theirs, (ours, theirs)

"""Benchmark archives: generated once per (size, seed, database, generator) and cached.

SQLite archives are data directories ``<cache>/sqlite-<size>-seed<seed>/``; server archives are
databases ``bench_<size>_s<seed>`` (see :mod:`benchmarks.servers`). Both are made by the
project's own commands, as subprocesses: ``manage.py migrate`` then ``manage.py
generate_archive``. A marker written only after generation succeeded tells a complete archive
from an interrupted one. It records a fingerprint of the generator, the models and the
migrations, so that a changed generator means a fresh archive rather than stale numbers.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.servers import Server

ROOT = Path(__file__).resolve().parent.parent
MARKER = "archive-complete.json"
#: What the generated rows depend on.
_FINGERPRINTED = ("documents/generator.py", "documents/models.py", "documents/migrations")


@dataclass(frozen=True)
class Archive:
    """A complete archive, and the environment a child needs to use it."""

    documents: int
    seed: int
    engine: str
    #: Where it is: a directory, or the server URL without its password.
    location: str
    env: dict[str, str]
    #: None when the cached archive was reused.
    generation_seconds: float | None

    def describe(self) -> dict[str, object]:
        """The archive as the results file records it."""
        return {
            "documents": self.documents,
            "seed": self.seed,
            "engine": self.engine,
            "location": self.location,
            "reused": self.generation_seconds is None,
            "generation_seconds": self.generation_seconds,
        }


def child_env(data_dir: Path, database_url: str | None) -> dict[str, str]:
    """The environment of every child: this one, pointed at one archive."""
    env = dict(os.environ)
    # A DATABASE_URL of the caller's shell must not silently redirect the children.
    env.pop("DATABASE_URL", None)
    # DEBUG keeps every query's SQL in memory: it would inflate the RSS being measured.
    env.pop("ARCHIVE_DEBUG", None)
    # The children import the project from their working directory (the code snapshot), and
    # from nowhere else.
    env.pop("PYTHONPATH", None)
    env["ARCHIVE_DATA_DIR"] = str(data_dir)
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    return env


def fingerprint(code: Path, with_files: bool) -> str:
    """What an archive made by the code in ``code`` depends on."""
    digest = hashlib.sha256(f"files={with_files}".encode())
    for name in _FINGERPRINTED:
        path = code / name
        for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            digest.update(str(file.relative_to(code)).encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()


def ensure_archive(
    documents: int,
    seed: int,
    *,
    cache_dir: Path,
    server: Server | None,
    with_files: bool = False,
    code: Path = ROOT,
    log: Path,
) -> Archive:
    """The cached archive for these parameters, generated first if need be.

    ``code`` is the project copy whose commands generate it (see benchmarks.snapshot).
    """
    wanted = {"fingerprint": fingerprint(code, with_files), "documents": documents, "seed": seed}
    files = "-files" if with_files else ""
    if server is None:
        data_dir = cache_dir / f"sqlite-{documents}-seed{seed}{files}"
        marker = data_dir / MARKER
        env = child_env(data_dir, None)
        location = str(data_dir)
        if _read_json(marker) == wanted:
            return Archive(documents, seed, "sqlite", location, env, None)
        shutil.rmtree(data_dir, ignore_errors=True)
        data_dir.mkdir(parents=True)
        seconds = _generate(documents, seed, with_files, env, code, log)
        marker.write_text(json.dumps(wanted))
        return Archive(documents, seed, "sqlite", location, env, seconds)

    database = f"bench_{documents}_s{seed}{files.replace('-', '_')}"
    url = server.url_for(database)
    # The media directory (empty without files) still belongs in the cache, not in ./data.
    data_dir = cache_dir / f"{server.engine}-{documents}-seed{seed}{files}"
    data_dir.mkdir(parents=True, exist_ok=True)
    env = child_env(data_dir, url)
    location = server.redacted(url)
    if server.read_marker(database) == wanted:
        return Archive(documents, seed, server.engine, location, env, None)
    shutil.rmtree(data_dir / "media", ignore_errors=True)
    server.recreate(database)
    seconds = _generate(documents, seed, with_files, env, code, log)
    server.write_marker(database, wanted["fingerprint"], documents, seed)
    return Archive(documents, seed, server.engine, location, env, seconds)


def _generate(
    documents: int, seed: int, with_files: bool, env: dict[str, str], code: Path, log: Path
) -> float:
    started = time.monotonic()
    generate = ["generate_archive", f"--documents={documents}", f"--seed={seed}"]
    generate += ["--no-progress-bar"] + ([] if with_files else ["--no-files"])
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as output:
        for command in (["migrate", "--verbosity=0"], generate):
            argv = [sys.executable, "manage.py", *command]
            output.write(f"$ {' '.join(argv)}\n".encode())
            output.flush()
            status = subprocess.call(argv, cwd=code, env=env, stdout=output, stderr=output)
            if status != 0:
                raise RuntimeError(f"{command[0]} failed (exit {status}); see {log}")
    return time.monotonic() - started


def _read_json(path: Path) -> object:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None

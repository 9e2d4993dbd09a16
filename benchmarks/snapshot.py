"""A frozen copy of the code the children run, so that one invocation measures one version.

The working tree is shared: other work edits the exporter while a long benchmark runs, and
without a copy a run of repeat 1 and a run of repeat 3 could measure different code. The
children (and the archive generator) run from a snapshot taken when the benchmark starts:

* ``worktree``: every file git would see (tracked, plus untracked but not ignored) as it is now;
* ``head``: the last commit (``git archive HEAD``), with the harness itself (``benchmarks/``)
  from the working tree, since the harness measures and is not measured.

The snapshot is byte-compiled as ``pip install`` compiles an installed package, so that no
child spends its measured time compiling, even where ``PYTHONDONTWRITEBYTECODE`` is set.
The snapshot's fingerprint (a sha256 over its Python files) goes into results.json.
"""

from __future__ import annotations

import compileall
import hashlib
import io
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path
from typing import Any

SOURCES = ("worktree", "head")
#: Not code: results and cached archives can be gigabytes.
_SKIPPED = ("benchmarks/results/", "benchmarks/cache/")


def take(root: Path, source: str) -> tuple[Path, dict[str, Any]]:
    """Copy the code into a new temporary directory; return it and its description."""
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
    dest = Path(tempfile.mkdtemp(prefix="benchmarks-code-"))
    try:
        if source == "head":
            archive = _git(root, "archive", "--format=tar", "HEAD", text=False)
            with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
                tar.extractall(dest, filter="data")
            harness = [p for p in _worktree_files(root) if p.startswith("benchmarks/")]
            shutil.rmtree(dest / "benchmarks", ignore_errors=True)
            _copy(root, dest, harness)
        else:
            _copy(root, dest, _worktree_files(root))
        if not compileall.compile_dir(dest, quiet=2):
            raise RuntimeError(f"the code in {dest} does not compile")
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)
        raise
    description = {
        "source": source,
        "commit": _git(root, "rev-parse", "HEAD").strip(),
        # What differs from the commit, for a worktree snapshot.
        "changed_files": _git(root, "status", "--porcelain").splitlines()
        if source == "worktree"
        else [],
        "fingerprint": fingerprint(dest),
    }
    return dest, description


def fingerprint(root: Path) -> str:
    """A sha256 over the paths and contents of every Python file under ``root``."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _worktree_files(root: Path) -> list[str]:
    listing = _git(root, "ls-files", "--cached", "--others", "--exclude-standard", "-z")
    return [
        name
        for name in listing.split("\0")
        if name and not name.startswith(_SKIPPED) and (root / name).is_file()
    ]


def _copy(root: Path, dest: Path, names: list[str]) -> None:
    for name in names:
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / name, target)


def _git(root: Path, *args: str, text: bool = True) -> Any:
    return subprocess.run(
        ["git", *args], cwd=root, capture_output=True, check=True, text=text
    ).stdout

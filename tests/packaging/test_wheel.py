"""The wheel holds the ``exporter`` package and nothing else at top level: the reference site
(``archive``, ``documents``), the paperless-ngx twin, the tests and the benchmarks stay out of a
paperless-ngx install, while the paperless plan and the management commands go in."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from importlib.metadata import version
from pathlib import Path, PurePosixPath

import pytest

from tests.helpers.processes import ROOT

pytestmark = pytest.mark.one_database

#: The oldest setuptools that reads the project's PEP 639 ``license = "MIT"``.
SETUPTOOLS_NEEDED = 77


def working_tree_copy(destination: Path) -> Path:
    """The project's tracked and new (not ignored) files, copied to ``destination``: the build
    then writes its ``build/`` and ``*.egg-info`` there, not into the checkout."""
    listed = (
        subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        )
        .stdout.decode("utf-8")
        .split("\0")
    )
    for relpath in filter(None, listed):
        source = ROOT / relpath
        if source.is_file():
            (destination / relpath).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / relpath)
    return destination


def build_wheel(project: Path, out: Path) -> Path:
    """``pip wheel`` of ``project`` into ``out``; the wheel file. Without build isolation when
    this environment's setuptools can build the project, else pip fetches a setuptools."""
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out)]
    if int(version("setuptools").split(".")[0]) >= SETUPTOOLS_NEEDED:
        command.append("--no-build-isolation")
    done = subprocess.run([*command, str(project)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    wheels = list(out.glob("*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


@pytest.fixture(scope="module")
def wheel_names(tmp_path_factory) -> list[str]:
    """The entry names of the project's wheel."""
    base = tmp_path_factory.mktemp("wheel")
    wheel = build_wheel(working_tree_copy(base / "project"), base / "dist")
    with zipfile.ZipFile(wheel) as archive:
        return archive.namelist()


def test_only_exporter_at_top_level(wheel_names):
    top = {PurePosixPath(name).parts[0] for name in wheel_names}
    assert {name for name in top if not name.endswith(".dist-info")} == {"exporter"}


def test_paperless_plan_and_commands_are_inside(wheel_names):
    names = set(wheel_names)
    assert "exporter/paperless/__init__.py" in names
    assert any(
        n.startswith("exporter/paperless/") and n != "exporter/paperless/__init__.py" for n in names
    )
    commands = "exporter/management/commands/"
    for command in (
        "document_exporter",
        "document_importer",
        "streaming_exporter",
        "streaming_importer",
        "verify_export",
    ):
        assert f"{commands}{command}.py" in names, command
    assert "exporter/apps.py" in names

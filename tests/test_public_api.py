"""The public API: every name of ``exporter.__all__`` imports from ``exporter`` and is
documented, and ``import exporter`` alone (as Django does while it loads the app registry)
imports no model machinery."""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import exporter

ROOT = Path(__file__).resolve().parents[1]


def test_import_exporter_alone_imports_no_django_model():
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    code = (
        "import sys, exporter\n"
        "assert exporter.__version__\n"
        "assert 'ExportPlan' in dir(exporter)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'django'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_every_public_name_imports_from_exporter_and_from_its_module():
    assert len(set(exporter.__all__)) == len(exporter.__all__)
    assert set(exporter.__all__) <= set(dir(exporter))
    for name in exporter.__all__:
        value = getattr(importlib.import_module("exporter"), name)
        module = importlib.import_module(exporter._MODULES[name])
        assert getattr(module, name) is value, name
        if inspect.isclass(value) or inspect.isfunction(value):
            assert value.__module__ == module.__name__, f"{name} is defined in {value.__module__}"
    with pytest.raises(AttributeError):
        exporter.NoSuchName  # noqa: B018


def own_docstring(value) -> str | None:
    """The docstring written for ``value``: not inherited, nor made up by dataclass."""
    doc = vars(value).get("__doc__") if inspect.isclass(value) else value.__doc__
    if not doc:
        return None
    if dataclasses.is_dataclass(value) and doc.startswith(f"{value.__name__}("):
        return None
    return doc


def documented_constants(module_name: str) -> set[str]:
    """The module-level names assigned right under a ``#:`` comment in the module's source."""
    path = Path(importlib.import_module(module_name).__file__)
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    names = set()
    for node in ast.parse(source).body:
        if not isinstance(node, ast.Assign | ast.AnnAssign) or node.lineno < 2:
            continue
        if lines[node.lineno - 2].strip().startswith("#:"):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


def test_every_public_name_is_documented():
    undocumented = []
    for name in exporter.__all__:
        value = getattr(exporter, name)
        if inspect.isclass(value) or inspect.isfunction(value):
            if own_docstring(value) is None:
                undocumented.append(name)
        elif name not in documented_constants(exporter._MODULES[name]):
            undocumented.append(f"{name} (no #: comment)")
        if not re.search(rf"\b{name}\b", exporter.__doc__):
            undocumented.append(f"{name} (not in the package docstring)")
    assert undocumented == []


def test_every_public_method_of_the_public_classes_is_documented():
    undocumented = []
    for name in exporter.__all__:
        value = getattr(exporter, name)
        if not inspect.isclass(value):
            continue
        for attribute, member in vars(value).items():
            if attribute.startswith("_"):
                continue
            function = member.fget if isinstance(member, property) else member
            function = getattr(function, "__func__", function)
            if inspect.isfunction(function) and not function.__doc__:
                undocumented.append(f"{name}.{attribute}")
    assert undocumented == []

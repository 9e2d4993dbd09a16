"""docs/cli.md against the commands' own parsers: regenerated in process and compared."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load_generator():
    spec = importlib.util.spec_from_file_location(
        "cli_reference", ROOT / "scripts" / "cli_reference.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.setup_django()
    return module


cli_reference = _load_generator()


@pytest.fixture
def written() -> str:
    """docs/cli.md as committed."""
    return cli_reference.REFERENCE.read_text(encoding="utf-8")


def documented_names(section: str) -> set[str]:
    """The option names in the first column of a section's tables (metavars left out)."""
    names: set[str] = set()
    for cell in re.findall(r"^\| `([^`]+)` \|", section, flags=re.MULTILINE):
        for spelling in cell.replace("\\|", "|").split(", "):
            names.add(spelling.split(" ")[0])
    return names


def sections(text: str) -> dict[str, str]:
    """The reference's sections by heading."""
    parts = re.split(r"^## ", text, flags=re.MULTILINE)[1:]
    return {part.splitlines()[0]: part for part in parts}


def test_reference_matches_the_parsers(written):
    generated = cli_reference.render_reference()
    assert written == generated, (
        "docs/cli.md is out of date with the commands' options; run "
        f"`{cli_reference.REGENERATE}`.\n" + cli_reference.describe_difference(written, generated)
    )


def test_an_option_missing_from_the_reference_is_caught(written):
    parsers = cli_reference.command_parsers()
    parsers["verify_export"].add_argument(
        "--made-up-option", action="store_true", help="An option no command has."
    )
    generated = cli_reference.render_reference(parsers)
    assert generated != written
    difference = cli_reference.describe_difference(written, generated)
    added = [line for line in difference.splitlines() if line.startswith("+")]
    assert any("--made-up-option" in line for line in added), difference
    assert "--made-up-option" in sections(generated)["verify_export"]


def test_every_option_of_every_command_is_documented(written):
    by_heading = sections(written)
    common = documented_names(by_heading["Options of every command"])
    for app, name in cli_reference.COMMANDS:
        parser = cli_reference.command_parser(app, name)
        assert name in by_heading, f"docs/cli.md has no section for {name}"
        own = documented_names(by_heading[name])
        for action in parser._actions:
            spellings = action.option_strings or [action.dest]
            where = common if cli_reference.is_common(action) else own
            missing = [spelling for spelling in spellings if spelling not in where]
            assert not missing, f"{name}: {missing} not in docs/cli.md"
        assert cli_reference.usage_line(parser) in by_heading[name]

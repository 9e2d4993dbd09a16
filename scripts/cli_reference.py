"""The command-line reference, docs/cli.md, generated from the commands' own argparse parsers.

    python scripts/cli_reference.py          print the reference
    python scripts/cli_reference.py --write  write it to docs/cli.md
    python scripts/cli_reference.py --check  exit 1, naming the difference, if docs/cli.md is stale

Every option, its value, default, choices and help come from the parser each command builds for
``--help``, so the reference cannot say what the commands do not. The output depends on nothing
of the terminal: help text is never wrapped, the usage lines are wrapped at a fixed width.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "docs" / "cli.md"
#: (app, command) of every command the reference covers, in the order it shows them.
COMMANDS = (
    ("exporter", "document_exporter"),
    ("exporter", "document_importer"),
    ("exporter", "verify_export"),
    ("documents", "generate_archive"),
)
#: Django's options of every command, listed once at the end rather than per command.
#: ``-v/--verbosity`` is not among them: how much a command prints matters per command.
COMMON_OPTIONS = (
    "--help",
    "--version",
    "--settings",
    "--pythonpath",
    "--traceback",
    "--no-color",
    "--force-color",
    "--skip-checks",
)
#: Width of the usage lines: fixed, so that the output is the same on every terminal.
USAGE_WIDTH = 100
REGENERATE = "python scripts/cli_reference.py --write"


def setup_django() -> None:
    """Make the project importable and Django ready, as ``manage.py`` does."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "archive.settings")
    import django

    django.setup()


def command_parser(app: str, name: str) -> argparse.ArgumentParser:
    """The parser ``manage.py <name> --help`` shows, built by the command itself."""
    from django.core.management import load_command_class

    return load_command_class(app, name).create_parser("manage.py", name)


def command_parsers() -> dict[str, argparse.ArgumentParser]:
    """A fresh parser for every command of :data:`COMMANDS`, by command name."""
    return {name: command_parser(app, name) for app, name in COMMANDS}


def is_common(action: argparse.Action) -> bool:
    """Whether ``action`` is one of Django's options of every command."""
    return bool(set(action.option_strings) & set(COMMON_OPTIONS))


def own_actions(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    """The command's own arguments in the order it added them, then ``-v/--verbosity``."""
    actions = [action for action in parser._actions if not is_common(action)]
    return sorted(actions, key=lambda action: "--verbosity" in action.option_strings)


def _formatter(parser: argparse.ArgumentParser) -> argparse.HelpFormatter:
    return argparse.HelpFormatter(parser.prog, width=USAGE_WIDTH, max_help_position=USAGE_WIDTH)


def usage_line(parser: argparse.ArgumentParser) -> str:
    """The usage of ``parser`` without Django's common options, wrapped at USAGE_WIDTH."""
    formatter = _formatter(parser)
    formatter.add_usage(
        parser.usage, own_actions(parser), parser._mutually_exclusive_groups, prefix=""
    )
    return formatter.format_help().strip()


def action_name(parser: argparse.ArgumentParser, action: argparse.Action) -> str:
    """How the option is spelled in the reference: ``-z, --zip``, ``--keep N``, ``target``."""
    formatter = _formatter(parser)
    if not action.option_strings:
        return formatter._format_args(action, action.dest)
    names = ", ".join(action.option_strings)
    if action.nargs == 0:
        return names
    metavar = formatter._format_args(action, action.dest.upper())
    return f"{names} {metavar}"


def action_default(action: argparse.Action) -> str:
    """The option's default as the reference shows it; empty where there is none to show."""
    if action.required:
        return "required"
    if action.nargs == 0 or action.default in (None, argparse.SUPPRESS):
        return ""
    return f"`{action.default}`"


def action_help(
    parser: argparse.ArgumentParser, action: argparse.Action, excludes: Iterable[str]
) -> str:
    """The help text of the option, on one line, with the options it cannot be combined with."""
    text = " ".join((_formatter(parser)._expand_help(action) if action.help else "").split())
    others = [name for name in excludes if name]
    if others:
        text += " Not with " + ", ".join(f"`{name}`" for name in others) + "."
    return text


def _exclusions(parser: argparse.ArgumentParser) -> dict[int, list[str]]:
    """For each option in a mutually exclusive group, the longest names of the others."""
    found: dict[int, list[str]] = {}
    for group in parser._mutually_exclusive_groups:
        for action in group._group_actions:
            found[id(action)] = [
                max(other.option_strings, key=len)
                for other in group._group_actions
                if other is not action and other.option_strings
            ]
    return found


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def exit_statuses(epilog: str | None) -> list[str]:
    """The epilog's ``Exit status: 0 done; 1 failed ...`` as table rows, else as a paragraph."""
    if not epilog:
        return []
    text = " ".join(epilog.split())
    if not text.startswith("Exit status: "):
        return [text, ""]
    rows = ["| exit status | meaning |", "|---|---|"]
    for item in text.removeprefix("Exit status: ").rstrip(".").split("; "):
        match = re.fullmatch(r"(\d+(?: or \d+)*) (.*)", item)
        if match is None:
            return [text, ""]
        status = match.group(1).replace(" or ", ", ")
        rows.append(f"| {status} | {_cell(match.group(2))} |")
    return [*rows, ""]


def render_command(name: str, parser: argparse.ArgumentParser) -> str:
    """The reference section of one command: description, usage, options, exit statuses."""
    excludes = _exclusions(parser)
    lines = [f"## {name}", ""]
    if parser.description:
        lines += [" ".join(parser.description.split()), ""]
    lines += ["```text", usage_line(parser), "```", ""]
    lines += ["| argument | default | what it does |", "|---|---|---|"]
    for action in own_actions(parser):
        help_text = action_help(parser, action, excludes.get(id(action), ()))
        lines.append(
            f"| `{_cell(action_name(parser, action))}` | {action_default(action)} "
            f"| {_cell(help_text)} |"
        )
    lines.append("")
    lines += exit_statuses(parser.epilog)
    return "\n".join(lines)


def render_common(parser: argparse.ArgumentParser) -> str:
    """Django's options of every command, once."""
    lines = [
        "## Options of every command",
        "",
        "Django adds these to every management command; they work the same on all four.",
        "",
        "| argument | what it does |",
        "|---|---|",
    ]
    for action in parser._actions:
        if is_common(action):
            text = action_help(parser, action, ())
            lines.append(f"| `{_cell(action_name(parser, action))}` | {_cell(text)} |")
    return "\n".join([*lines, ""])


def render_reference(parsers: Mapping[str, argparse.ArgumentParser] | None = None) -> str:
    """The whole of docs/cli.md, for ``parsers`` (by command name; default: the real ones)."""
    if parsers is None:
        parsers = command_parsers()
    header = [
        "# Command-line reference",
        "",
        "<!-- Generated from the commands' argparse parsers by scripts/cli_reference.py; do not",
        f"     edit by hand. After changing an option, run: {REGENERATE} -->",
        "",
        "Run every command from the project directory as `python manage.py <command>`; settings",
        "come from the environment (see [settings.md](settings.md)). `manage.py <command> --help`",
        "prints the same as below. The guides explain what the options are for:",
        "[exporting](exporting.md), [verifying](verifying.md), [restoring](restoring.md).",
        "",
        "Commands: " + ", ".join(f"[{name}](#{name})" for name in parsers) + ".",
        "",
    ]
    sections = [render_command(name, parser) for name, parser in parsers.items()]
    common = render_common(next(iter(parsers.values())))
    return "\n".join([*header, *sections, common]).rstrip("\n") + "\n"


def describe_difference(expected: str, actual: str) -> str:
    """The lines in which the written reference and the generated one differ, as a diff."""
    diff = difflib.unified_diff(
        expected.splitlines(),
        actual.splitlines(),
        fromfile="docs/cli.md",
        tofile="generated from the parsers",
        lineterm="",
    )
    return "\n".join(diff)


def main(argv: list[str] | None = None) -> int:
    """Print, write or check the reference; see the module docstring."""
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = arguments.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help=f"Write {REFERENCE.relative_to(ROOT)}.")
    mode.add_argument(
        "--check", action="store_true", help="Exit 1 if the written reference is out of date."
    )
    options = arguments.parse_args(argv)
    setup_django()
    generated = render_reference()
    if options.write:
        REFERENCE.parent.mkdir(parents=True, exist_ok=True)
        REFERENCE.write_text(generated, encoding="utf-8")
        print(f"Wrote {REFERENCE.relative_to(ROOT)}.")
        return 0
    if options.check:
        written = REFERENCE.read_text(encoding="utf-8") if REFERENCE.exists() else ""
        if written == generated:
            print(f"{REFERENCE.relative_to(ROOT)} is up to date.")
            return 0
        print(
            f"{REFERENCE.relative_to(ROOT)} differs from the commands' parsers; run "
            f"`{REGENERATE}`:\n{describe_difference(written, generated)}",
            file=sys.stderr,
        )
        return 1
    sys.stdout.write(generated)
    return 0


if __name__ == "__main__":
    sys.exit(main())

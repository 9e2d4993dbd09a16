"""In a paperless-ngx site our commands are reached by their aliases: ``document_exporter`` and
``document_importer`` stay paperless-ngx's own (its app comes first and shadows ours), while
``streaming_exporter`` and ``streaming_importer`` are ours, the very commands the reference
site calls ``document_exporter`` and ``document_importer``."""

from __future__ import annotations

import re

import pytest

from tests.helpers.processes import manage
from tests.paperless.twin import Twin

# --help and command lookup read no database: the SQLite pass is enough.
pytestmark = pytest.mark.one_database

#: A terminal width for both sites, so that argparse wraps their help alike.
WIDE = {"COLUMNS": "100"}
ALIASES = [("streaming_exporter", "document_exporter"), ("streaming_importer", "document_importer")]


@pytest.fixture
def bare_twin(tmp_path) -> Twin:
    """A twin whose (never migrated) SQLite database is in tmp_path."""
    return Twin(tmp_path / "twin", f"sqlite:///{tmp_path / 'twin.sqlite3'}")


def normalised(help_text: str, command: str) -> str:
    """``--help`` output with the program name taken out and the usage block's wrapping
    (whose indent follows the program name's length) undone."""
    text = help_text.replace(f"manage.py {command}", "PROG")
    usage, _, rest = text.partition("\n\n")
    return " ".join(usage.split()) + "\n\n" + rest


@pytest.mark.parametrize(("alias", "ours"), ALIASES)
def test_alias_help_is_our_command_help(bare_twin, tmp_path, alias, ours):
    twin_help = bare_twin.manage(alias, "--help", env=WIDE)
    assert twin_help.returncode == 0, twin_help.stderr
    reference = manage(tmp_path / "reference", ours, "--help", env=WIDE)
    assert reference.returncode == 0, reference.stderr
    assert twin_help.stdout.startswith(f"usage: manage.py {alias} ")
    assert normalised(twin_help.stdout, alias) == normalised(reference.stdout, ours)


@pytest.mark.parametrize(("alias", "ours"), ALIASES)
def test_paperless_commands_are_not_ours(bare_twin, tmp_path, alias, ours):
    """The twin's own ``document_exporter``/``document_importer`` run, not ours: their help
    is another command's."""
    theirs = bare_twin.manage(ours, "--help", env=WIDE)
    assert theirs.returncode == 0, theirs.stderr
    alias_help = bare_twin.manage(alias, "--help", env=WIDE)
    assert normalised(theirs.stdout, ours) != normalised(alias_help.stdout, alias)
    assert "--manifest-layout" not in theirs.stdout


def test_shadowed_document_exporter_exits_with_its_message(bare_twin, tmp_path):
    target = tmp_path / "export"
    target.mkdir()
    done = bare_twin.manage("document_exporter", str(target))
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "Traceback" not in output, output
    # The twin's stand-in for paperless-ngx's command names ours as the one to use.
    assert re.search(r"does not implement .*use streaming_exporter", output), output
    assert list(target.iterdir()) == []

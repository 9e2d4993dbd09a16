"""What the commands share: exit codes, option types, passphrase sources, and the one place
where errors, database failures and signals become the user's message and exit status.

The library raises typed errors (``ExportError`` and its kinds, Django's database errors,
:class:`exporter.interrupts.Interrupted`); :class:`ArchiveCommand` turns each into one line on
standard error and a documented exit status, never a traceback.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections
from django.db import Error as DatabaseLibraryError
from django.db.migrations.executor import MigrationExecutor

from exporter import interrupts
from exporter.batches import MAX_BATCH_SIZE, validate_batch_size
from exporter.errors import ExportError, PostImportFailed, UsageError
from exporter.export.guard import describe_database, sqlite_file

__all__ = [
    "EXIT_DONE",
    "EXIT_FAILED",
    "EXIT_PROBLEMS",
    "EXIT_POST_IMPORT",
    "EXIT_USAGE",
    "PASSPHRASE_ENV",
    "ArchiveCommand",
    "DatabaseProblem",
    "add_passphrase_arguments",
    "batch_size_option",
    "check_database",
    "describe_database",
    "resolve_passphrase",
    "seconds_option",
]

EXIT_DONE = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
#: The run finished, but some documents' files could not be exported (restic's convention).
EXIT_PROBLEMS = 3
#: The import is complete, but a post-import step of the plan failed (document_importer).
EXIT_POST_IMPORT = 4
#: The environment variable a passphrase may come from instead of the command line.
PASSPHRASE_ENV = "DOCUMENT_EXPORTER_PASSPHRASE"


class DatabaseProblem(ExportError):
    """The database cannot be used: missing, unreachable, or not migrated."""


# -- option types ------------------------------------------------------------------------------


def batch_size_option(value: str) -> int:
    """argparse type of --batch-size: a whole number from 1 to MAX_BATCH_SIZE."""
    text = value.strip()
    try:
        if not text.isdigit():
            raise ValueError(value)
        return validate_batch_size(int(text))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a whole number, at least 1 and at most {MAX_BATCH_SIZE}; got {value!r}"
        ) from None


def seconds_option(value: str) -> float:
    """argparse type of --lock-timeout: a number of seconds, 0 or more."""
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds, got {value!r}") from None
    if not 0 <= number < float("inf"):
        raise argparse.ArgumentTypeError(f"must be 0 or more seconds, got {value!r}")
    return number


def whole_number_option(value: str) -> int:
    """argparse type of a count: a whole number, 0 or more."""
    text = value.strip()
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"must be a whole number, 0 or more; got {value!r}")
    return int(text)


# -- passphrases -------------------------------------------------------------------------------


def add_passphrase_arguments(parser: CommandParser, purpose: str) -> None:
    """--passphrase, --passphrase-file and --ask-passphrase; see :func:`resolve_passphrase`."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--passphrase",
        default=None,
        help=f"{purpose} Other users of this host can read it in the process list: prefer "
        f"--passphrase-file, --ask-passphrase or the {PASSPHRASE_ENV} environment variable.",
    )
    group.add_argument(
        "--passphrase-file",
        default=None,
        metavar="FILE",
        help="Read the passphrase from the first line of FILE.",
    )
    group.add_argument(
        "--ask-passphrase",
        action="store_true",
        help="Ask for the passphrase on the terminal.",
    )


def resolve_passphrase(
    options: dict[str, Any], *, confirm: bool, warnings: list[str]
) -> str | None:
    """The passphrase from the options, the environment or a prompt; None if none was given.

    ``--passphrase P`` works and adds a warning to ``warnings``. ``confirm`` asks twice at the
    prompt (for an export, where a typo would lock the secrets away).
    """
    if options.get("passphrase") is not None:
        warnings.append(
            "--passphrase on the command line is visible to every user of this host (ps); "
            f"use --passphrase-file, --ask-passphrase or {PASSPHRASE_ENV} instead."
        )
        return options["passphrase"]
    if options.get("passphrase_file"):
        path = Path(options["passphrase_file"])
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"Cannot read the passphrase file {path}: {exc}.") from None
        passphrase = text.splitlines()[0] if text else ""
        if not passphrase:
            raise UsageError(f"The passphrase file {path} is empty: put the passphrase in it.")
        return passphrase
    if options.get("ask_passphrase"):
        if not sys.stdin.isatty():
            raise UsageError(
                "--ask-passphrase needs a terminal: use --passphrase-file or "
                f"{PASSPHRASE_ENV} in scripts."
            )
        passphrase = getpass.getpass("Passphrase: ")
        if confirm and getpass.getpass("Passphrase again: ") != passphrase:
            raise UsageError("The two passphrases differ: nothing was done.")
        return passphrase
    from_environment = os.environ.get(PASSPHRASE_ENV)
    if from_environment:
        return from_environment
    return None


# -- the database ------------------------------------------------------------------------------


def check_database(using: str = DEFAULT_DB_ALIAS) -> None:
    """Refuse a database that is missing, unreachable or not migrated, with what to do."""
    connection = connections[using]
    where = describe_database(using)
    database_file = sqlite_file(using)
    if database_file is not None and not database_file.exists():
        # Connecting would create an empty one: a typo in a path must not look like an archive.
        raise DatabaseProblem(
            f"The {where} does not exist. Check ARCHIVE_DATA_DIR (or DATABASE_URL); for a "
            "new archive, run `manage.py migrate` first."
        )
    try:
        connection.ensure_connection()
    except DatabaseLibraryError as exc:
        raise DatabaseProblem(
            f"Cannot connect to the {where}: {first_line(exc)}. Check that the server runs and "
            "that DATABASE_URL names it, its user and its password."
        ) from None
    executor = MigrationExecutor(connection)
    unapplied = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if unapplied:
        first = unapplied[0][0]
        raise DatabaseProblem(
            f"The {where} is not migrated: {len(unapplied)} migrations are not applied (the "
            f"first is {first.app_label}.{first.name}). Run `manage.py migrate` first."
        )


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message, without a trailing period."""
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__).rstrip(".")


# -- the commands' base ------------------------------------------------------------------------


class ArchiveCommand(BaseCommand):
    """A command whose every failure is one clear message and a documented exit status.

    Subclasses implement ``handle`` as usual. ``exit_status_help`` is shown under --help;
    ``failure_note`` ends the message of a database failure or an interruption (what was left
    as it was); ``uses_database`` says whether to check the database before ``handle``.
    """

    exit_status_help = (
        "Exit status: 0 done; 1 failed (the message says why); 2 bad usage; "
        "130 or 143 stopped by SIGINT or SIGTERM."
    )
    failure_note = "Nothing was changed."
    uses_database = True

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        """Django's parser, with the exit statuses under --help."""
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.epilog = self.exit_status_help
        return parser

    def needs_database(self, options: dict[str, Any]) -> bool:
        """Whether this run uses the database (checked before ``handle``)."""
        return self.uses_database

    def execute(self, *args: Any, **options: Any) -> Any:
        """Run the command with signals raising; turn every failure into a message and its
        exit status."""
        try:
            with interrupts.signals_raise():
                if self.needs_database(options):
                    check_database()
                return super().execute(*args, **options)
        except interrupts.Interrupted as exc:
            raise CommandError(
                f"Stopped by {exc}. {self.failure_note}", returncode=exc.exit_code
            ) from None
        except KeyboardInterrupt:
            raise CommandError(f"Stopped by SIGINT. {self.failure_note}", returncode=130) from None
        except UsageError as exc:
            raise CommandError(str(exc), returncode=EXIT_USAGE) from None
        except PostImportFailed as exc:
            raise CommandError(str(exc), returncode=EXIT_POST_IMPORT) from None
        except ExportError as exc:
            raise CommandError(str(exc), returncode=EXIT_FAILED) from None
        except Exception as exc:
            # Django's wrapped errors, and the driver's own (raw cursors raise those).
            driver_error = getattr(connections[DEFAULT_DB_ALIAS].Database, "Error", ())
            if not isinstance(exc, (DatabaseLibraryError, driver_error)):
                raise
            raise CommandError(
                f"The {describe_database()} failed: {first_line(exc)}. {self.failure_note}",
                returncode=EXIT_FAILED,
            ) from None

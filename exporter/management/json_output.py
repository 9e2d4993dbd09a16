"""``--json``: one JSON object on standard output at the end of a command, for cron jobs and
monitoring; its schema is ``docs/json-output.schema.json``, described in docs/json-output.md.

:class:`JsonOutput` is mixed into a command before
:class:`~exporter.management.cli.ArchiveCommand`: the command fills
:attr:`JsonOutput.json_body` as it runs, and the object is written once the command ends,
successful or not, with its exit status. The human summary is not printed to standard output
then (warnings and problems still go to standard error).
"""

from __future__ import annotations

import io
import json
import time
from typing import Any

from django.core.management.base import CommandError, CommandParser, OutputWrapper

from exporter.readback.report import VerifyReport

__all__ = ["SCHEMA_VERSION", "JsonOutput", "add_json_argument", "status_of", "verify_body"]

#: The version of the object's shape: raised when a field changes meaning or goes away.
SCHEMA_VERSION = 1

#: What each exit status means, as the object's "status".
STATUSES = {
    0: "ok",
    1: "failed",
    2: "usage",
    3: "problems",
    4: "post_import_failed",
    130: "interrupted",
    143: "interrupted",
}


def add_json_argument(parser: CommandParser) -> None:
    """The ``--json`` option."""
    parser.add_argument(
        "--json",
        action="store_true",
        help="Print one JSON object on standard output when done (counts, bytes, stage "
        "durations, problems, warnings, exit status; see docs/json-output.md) instead of the "
        "summary.",
    )


def status_of(exit_code: int) -> str:
    """The object's "status" for an exit status."""
    return STATUSES.get(exit_code, "failed")


def verify_body(report: VerifyReport, location: str) -> dict[str, Any]:
    """What a verification found, as the object carries it."""
    return {
        "source": location,
        "verified": report.ok and not report.unverifiable,
        "manifests": report.manifests,
        "records": dict(sorted(report.records.items())),
        "records_total": sum(report.records.values()),
        "files_checked": report.files_checked,
        "bytes_hashed": report.bytes_hashed,
        "problems": list(report.problems),
        "problems_total": len(report.problems) + report.more_problems,
        "recorded_problems": list(report.recorded),
        "notes": list(report.notes),
        "warnings": [*report.alerts, *report.warnings],
    }


class JsonOutput:
    """The ``--json`` behaviour of a command (mixed in before ``ArchiveCommand``)."""

    #: The command's part of the object, filled as it runs.
    json_body: dict[str, Any]
    #: Stage durations in seconds, by stage name, set by the command when it has them.
    json_durations: dict[str, float]

    def wants_json(self) -> bool:
        """Whether this run prints the JSON object."""
        return getattr(self, "_json", False)

    def summary_stream(self, stream: OutputWrapper) -> OutputWrapper:
        """Where the human summary goes: ``stream``, or nowhere with ``--json``."""
        return OutputWrapper(io.StringIO()) if self.wants_json() else stream

    def execute(self, *args: Any, **options: Any) -> Any:
        """Run the command; with ``--json`` write the object when it ends, however it ends."""
        self._json = bool(options.get("json"))
        self.json_body = {}
        self.json_durations = {}
        if not self._json:
            return super().execute(*args, **options)
        started = time.monotonic()
        try:
            result = super().execute(*args, **options)
        except CommandError as exc:
            self.write_json(exc.returncode, str(exc), time.monotonic() - started)
            raise
        self.write_json(0, None, time.monotonic() - started)
        return result

    def write_json(self, exit_code: int, message: str | None, elapsed: float) -> None:
        """Write the object: the command's body, its exit status, message and durations."""
        name = type(self).__module__.rpartition(".")[2]
        durations = {"total": round(elapsed, 3)}
        durations.update({k: round(v, 3) for k, v in self.json_durations.items()})
        document = {
            "schema_version": SCHEMA_VERSION,
            "command": getattr(self, "json_name", name),
            "exit_code": exit_code,
            "status": status_of(exit_code),
            "message": message,
            **self.json_body,
            "durations": durations,
        }
        self.stdout.write(json.dumps(document, ensure_ascii=False, default=str))

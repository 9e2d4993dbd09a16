"""How the commands show a verification: problems first, then notes and the number of
warnings (their list with ``-v 2``), and a last line that says "Verified" only when nothing
is wrong.

``verify_export`` and ``document_exporter --verify`` both print through :func:`print_verification`
and end through :func:`verification_failure`, so that the two read alike.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, OutputWrapper

from exporter.management.cli import EXIT_FAILED, EXIT_PROBLEMS
from exporter.readback.report import VerifyReport

__all__ = ["describe_counts", "print_verification", "problem_count", "verification_failure"]


def problem_count(report: VerifyReport) -> int:
    """All the problems a verification found, those only counted included."""
    return len(report.problems) + report.more_problems


def describe_counts(report: VerifyReport) -> str:
    """What was read: manifests, records by model, files checked, bytes hashed."""
    counts = ", ".join(f"{label} {count}" for label, count in sorted(report.records.items()))
    return (
        f"{report.manifests} manifests, {sum(report.records.values())} records ({counts}); "
        f"{report.files_checked} files checked, {report.bytes_hashed / 1e6:.1f} MB hashed"
    )


def print_verification(
    command: BaseCommand,
    report: VerifyReport,
    location: str,
    verbosity: int,
    *,
    show_recorded: bool = True,
    out: OutputWrapper | None = None,
) -> None:
    """Print a verification's findings to the command's streams, in reading order.

    Problems (and the problems the export recorded itself, unless ``show_recorded`` is False
    because the caller listed them already) go first, on standard error; then the notes and
    the warnings' number (with ``verbosity`` 2 or more, the warnings themselves); then, on
    standard output (or ``out``), what was read, which starts with "Verified" only when
    nothing is wrong.
    """
    err, out = command.stderr, out or command.stdout
    for alert in report.alerts:
        err.write(f"Warning: {alert}")
    for problem in report.problems:
        err.write(f"Problem: {problem}")
    if report.more_problems:
        err.write(f"... and {report.more_problems} more problems.")
    if show_recorded:
        for recorded in report.recorded:
            err.write(f"Recorded by the export: {recorded}")
    if verbosity > 0:
        for note in report.notes:
            err.write(f"Note: {note}")
    if verbosity > 1:
        for warning in report.warnings:
            err.write(f"Warning: {warning}")
    elif report.warnings and verbosity > 0:
        err.write(f"{len(report.warnings)} warnings (-v 2 lists them).")
    if report.unverifiable:
        return
    if not report.ok:
        out.write(f"Read {location}: {describe_counts(report)}.")
    elif report.recorded:
        out.write(
            f"Verified {location}, except for {len(report.recorded)} problems the export "
            f"recorded itself: {describe_counts(report)}."
        )
    else:
        out.write(f"Verified {location}: {describe_counts(report)}.")


def verification_failure(
    report: VerifyReport, location: str, *, show_recorded: bool = True
) -> CommandError | None:
    """The error to end a verification that found problems with, or None when it found none.

    Problems give exit status 1 ("Verification failed: N problems"); problems the export
    recorded itself and nothing else give 3.
    """
    recorded = len(report.recorded)
    if not report.ok:
        also = f" (and {recorded} recorded by the export itself)" if recorded else ""
        return CommandError(
            f"Verification failed: {problem_count(report)} problems in {location}{also}.",
            returncode=EXIT_FAILED,
        )
    if recorded and show_recorded:
        return CommandError(
            f"Verified {location}, except for {recorded} problems the export recorded itself "
            "(listed above): those document files are not in the export, or only as the "
            "previous export's copy.",
            returncode=EXIT_PROBLEMS,
        )
    return None

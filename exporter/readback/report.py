"""What a verification found: :class:`VerifyReport`, which ``verify_export`` prints and turns
into its exit status (:mod:`exporter.management.verify_output`)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

__all__ = ["MAX_REPORTED", "VerifyReport"]

#: Problems kept with their message; past this many a broken export's report would grow with
#: its size, so the rest are only counted.
MAX_REPORTED = 200


@dataclass
class VerifyReport:
    """The outcome of :class:`exporter.readback.verify.ExportVerifier`: every problem found,
    with where it is, the warnings, the problems the export recorded itself, and what was read.

    The export is good when :attr:`ok`; :attr:`clean` when the export recorded no problem either.
    """

    problems: list[str] = field(default_factory=list)
    #: Problems beyond the first MAX_REPORTED are counted, not kept.
    more_problems: int = 0
    warnings: list[str] = field(default_factory=list)
    #: What opening the export did to it and must always be told (it completed a commit a
    #: stopped exporter had left half-done), unlike warnings, which are counted.
    alerts: list[str] = field(default_factory=list)
    #: What was not checked, or differed harmlessly (a many-to-many list in another order):
    #: worth knowing, never a reason to fail.
    notes: list[str] = field(default_factory=list)
    #: The problems the export recorded itself (files it could not export), described.
    recorded: list[str] = field(default_factory=list)
    #: The export could not be verified at all (missing, unreadable, not an export): the
    #: problem says why.
    unverifiable: bool = False
    #: Records read, by model label.
    records: Counter = field(default_factory=Counter)
    manifests: int = 0
    files_checked: int = 0
    bytes_hashed: int = 0

    @property
    def ok(self) -> bool:
        """No problem but those the export recorded itself."""
        return not self.problems

    @property
    def clean(self) -> bool:
        """No problem at all, recorded or not."""
        return self.ok and not self.recorded

    def fatal(self, message: str) -> None:
        """The export cannot be verified: ``message`` says why."""
        self.unverifiable = True
        self.problem(message)

    def problem(self, message: str) -> None:
        """Add a problem: kept while fewer than MAX_REPORTED are, counted after."""
        if len(self.problems) < MAX_REPORTED:
            self.problems.append(message)
        else:
            self.more_problems += 1

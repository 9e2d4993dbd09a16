"""The commands' progress: a bar per stage of the run, named for it, with its total, rate and
ETA when the run knows its total; a bar of bytes with decimal units (MB, as the summaries say).

:class:`StageBars` draws on standard error, on a terminal only (the commands decide), and
times every stage either way, for ``--json``'s durations.
"""

from __future__ import annotations

import sys
import time

from tqdm import tqdm

from exporter.progress import ExportProgress

__all__ = ["StageBars", "bars_wanted"]


def bars_wanted(options: dict, *, stdout_too: bool = False) -> bool:
    """Whether to draw bars: not asked away (``--no-progress-bar``, ``-v 0``), and standard
    error a terminal (and standard output too, with ``stdout_too``, when it carries the
    report)."""
    if options.get("no_progress_bar") or options.get("verbosity", 1) < 1:
        return False
    if not sys.stderr.isatty():
        return False
    return not stdout_too or sys.stdout.isatty()


class StageBars(ExportProgress):
    """A bar per stage and one of bytes, drawn when ``enabled``; stage times kept always.

    ``bytes_label`` names what the bytes are ("copied", or "hashed" when verifying).
    """

    def __init__(self, enabled: bool, *, bytes_label: str = "copied") -> None:
        self.enabled = enabled
        #: A run counts its files first only for bars that show the totals.
        self.wants_totals = enabled
        self.bytes_label = bytes_label
        self._bytes_total: int | None = None
        #: Seconds spent in each stage, by name, in the order they began.
        self.durations: dict[str, float] = {}
        self._stage: str | None = None
        self._since = 0.0
        self._bar: tqdm | None = None
        self._bytes: tqdm | None = None

    def stage(self, name: str, *, total: int | None = None, unit: str = "") -> None:
        """End the current stage's bar and time; begin ``name``'s."""
        self._end_stage()
        self._stage, self._since = name, time.monotonic()
        if self.enabled:
            self._bar = tqdm(
                total=total,
                desc=name,
                unit=f" {unit}" if unit else "",
                # A stage that counts nothing shows its name and time, not "0 it/s".
                bar_format=None if unit or total is not None else "{desc} [{elapsed}]",
                position=0,
                leave=False,
                dynamic_ncols=True,
            )

    def advance(self, count: int = 1) -> None:
        """Advance the current stage's bar."""
        if self._bar is not None:
            self._bar.update(count)

    def start(self, documents: int) -> None:
        """Give the current stage its total of documents, if it has none yet."""
        if self._bar is not None and self._bar.total is None:
            self._bar.total = documents
            self._bar.refresh()

    def document_done(self) -> None:
        """One more document of the current stage."""
        self.advance()

    def files_planned(self, files: int, size: int) -> None:
        """The bytes' bar gets its total (copied and unchanged files together), and so its
        percentage and ETA."""
        self._bytes_total = size

    def bytes_skipped(self, count: int) -> None:
        """An unchanged file's bytes count as done."""
        self.bytes_copied(count)

    def bytes_copied(self, count: int) -> None:
        """Advance the bytes' bar, shown from the first byte (an unchanged re-run with no
        totals has none)."""
        if not self.enabled:
            return
        if self._bytes is None:
            label = "file bytes" if self._bytes_total is not None else f"bytes {self.bytes_label}"
            self._bytes = tqdm(
                desc=label,
                total=self._bytes_total,
                initial=count,
                unit="B",
                unit_scale=True,
                unit_divisor=1000,
                position=1,
                leave=False,
                dynamic_ncols=True,
            )
        else:
            self._bytes.update(count)

    def finish(self) -> None:
        """End the last stage, and close the bars."""
        self._end_stage()
        if self._bytes is not None:
            self._bytes.close()
            self._bytes = None

    def _end_stage(self) -> None:
        if self._stage is not None:
            spent = time.monotonic() - self._since
            self.durations[self._stage] = self.durations.get(self._stage, 0.0) + spent
            self._stage = None
        if self._bar is not None:
            self._bar.close()
            self._bar = None

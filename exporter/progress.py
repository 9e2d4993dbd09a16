"""Progress hooks: how a command shows a run's progress while the library never prints."""

from __future__ import annotations

__all__ = ["ExportProgress"]


class ExportProgress:
    """Hooks a command can override to show progress; the library itself never prints."""

    def start(self, documents: int) -> None:
        """The run will export this many documents."""

    def document_done(self) -> None:
        """One more document is exported."""

    def bytes_copied(self, count: int) -> None:
        """This many more bytes of files were copied."""

    def finish(self) -> None:
        """The run is over, successful or not."""

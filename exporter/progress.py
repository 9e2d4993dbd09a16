"""Progress hooks: how a command shows a run's progress while the library never prints.

A run calls :meth:`ExportProgress.stage` as each of its stages begins (an export's "reading",
"copying files" and "committing"; an import's "loading" and "copying files"; a verification's
"reading"), and the other hooks as work is done. The base class does nothing: a command passes
its own subclass to draw bars or time the stages.
"""

from __future__ import annotations

__all__ = ["ExportProgress"]


class ExportProgress:
    """Hooks a command can override to show progress; the library itself never prints."""

    def stage(self, name: str, *, total: int | None = None, unit: str = "") -> None:
        """A stage of the run begins: ``name`` says what it does, ``total`` (when known) how
        many ``unit`` of work it has; :meth:`advance` counts them."""

    def advance(self, count: int = 1) -> None:
        """This many more units of the current stage are done."""

    def start(self, documents: int) -> None:
        """The run will export (or import) this many documents."""

    def document_done(self) -> None:
        """One more document is exported."""

    def bytes_copied(self, count: int) -> None:
        """This many more bytes of files were copied (or, verifying, hashed)."""

    def finish(self) -> None:
        """The run is over, successful or not."""

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

    #: Whether the run should count its document files and their bytes before copying them
    #: (a pass over the documents) and report them through :meth:`files_planned`.
    wants_totals: bool = False

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

    def files_planned(self, files: int, size: int) -> None:
        """The run will hand this many files of ``size`` bytes in all to its sink (asked for
        with :attr:`wants_totals`)."""

    def bytes_skipped(self, count: int) -> None:
        """A file of this many bytes was left as it was: the export already held it."""

    def finish(self) -> None:
        """The run is over, successful or not."""

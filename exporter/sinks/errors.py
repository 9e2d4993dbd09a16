"""
The errors a sink raises about the export it writes.

A sink knows which file of the export it was writing when the operating system refused a
write; its caller does not. So the sink says it: :class:`SinkWriteError` carries the name the
user knows the file by, and the OSError itself as its cause. :class:`SourceChanged` is a
document file whose bytes are not the ones the sink was told to expect.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

__all__ = ["SinkWriteError", "SourceChanged", "writing_to"]


class SinkWriteError(OSError):
    """
    Writing a file of the export failed: a full disk, an I/O error, a permission.

    :attr:`export_name` is the file the bytes were going to, by its name in the export
    (``manifest.json``, ``originals/x.pdf``), or, for a zip, the archive and its entry
    (``backup.zip (entry manifest.json)``). The OSError is the cause (``raise ... from``); its
    errno and its reason are this error's, so that a caller may treat it as the OSError it is.
    """

    def __init__(self, export_name: str, error: OSError) -> None:
        super().__init__(error.errno, error.strerror or str(error))
        #: The export's name of the file that could not be written.
        self.export_name = export_name

    def __str__(self) -> str:
        return f"{self.strerror} while writing {self.export_name}"


class SourceChanged(ValueError):
    """A document file copied into the export does not have the sha256 it was given.

    The file was replaced after the export read its checksum (a writer that did not take the
    media lock): the copy would contradict the manifest, so the sink refuses it.
    """

    def __init__(self, source: str | os.PathLike[str], expected: str, actual: str) -> None:
        super().__init__(f"{source} has checksum {actual}, expected {expected}")
        #: The document file that was being copied.
        self.source = Path(source)
        #: The sha256 the sink was told the file has.
        self.expected = expected
        #: The sha256 of the bytes that were read.
        self.actual = actual


class writing_to:  # noqa: N801 - used as a function: ``with writing_to(name):``
    """
    Raise an OSError of the block as a :class:`SinkWriteError` naming ``export_name``.

    Two pass through as they are: a SinkWriteError, which already names its file (a zip names
    the archive and the entry), and FileNotFoundError, which is a missing source, the document's
    problem and not the export's. A class, not a generator: it wraps every file's copy.
    """

    __slots__ = ("export_name",)

    def __init__(self, export_name: str) -> None:
        self.export_name = export_name

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, _: Any
    ) -> bool:
        if (
            kind is not None
            and issubclass(kind, OSError)
            and not issubclass(kind, FileNotFoundError | SinkWriteError)
        ):
            raise SinkWriteError(self.export_name, error) from error  # type: ignore[arg-type]
        return False

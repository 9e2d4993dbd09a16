"""``tests.helpers.stop_point`` with two more kinds of event, in the importer's file stage.

``python -m tests.helpers.import_stop_point <manage.py arguments>`` with ``STOP_AT=<kind>:<n>`` runs
the command until the n-th event of that kind and freezes it there (SIGSTOP), as
``tests.helpers.stop_point`` does, which this runner installs too (``bulk``, ``replace``, ...). The
test then sends SIGINT or SIGTERM and SIGCONT: the signal lands exactly there. Kinds added:

* ``temp``: a temporary file created in the media directory, just after ``os.open`` created
  it and before the caller got its descriptor (the moment a bare ``try`` around the copy
  would miss);
* ``copy``: a write of a chunk into the importer's temporary copy (``os.fdopen``), flushed,
  so that a partial temporary file is on disk.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from tests.helpers import stop_point


def install() -> None:
    """The hooks of ``tests.helpers.stop_point``, and the two of the importer's file stage."""
    from django.conf import settings

    from exporter.sinks.files import is_temp_name

    stop_point.install()
    media = str(Path(settings.MEDIA_ROOT).resolve())
    real_open = os.open
    real_fdopen = os.fdopen

    def watched_os_open(path: Any, flags: int, mode: int = 0o777, **kwargs: Any) -> int:
        fd = real_open(path, flags, mode, **kwargs)
        name = os.fspath(path)
        if flags & os.O_CREAT and name.startswith(media) and is_temp_name(os.path.basename(name)):
            stop_point.stop_if_due("temp", name)
        return fd

    def watched_fdopen(fd: int, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        opened = real_fdopen(fd, mode, *args, **kwargs)
        path = os.readlink(f"/proc/self/fd/{fd}")
        if "w" not in mode or not path.startswith(media):
            return opened
        return stop_point.WatchedFile(opened, "copy", path)

    os.open = watched_os_open
    os.fdopen = watched_fdopen


if __name__ == "__main__":
    stop_point.main(sys.argv[1:], install)

"""
The file-system helpers the sinks share: safe relative names, temporary files, chunked hashing
and syncing.

Every file a sink writes first exists as a temporary file next to its destination, named
``.<name>.<hex>.tmp`` (:func:`create_temp`); such names are never data (:func:`is_temp_name`),
so a later run may remove any it finds.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import itertools
import os
import re
import secrets
import stat
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO, TypeVar

from exporter.format import checksum_hasher

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None

__all__ = [
    "CHUNK_SIZE",
    "DirectoryLock",
    "NAME_MAX",
    "create_temp",
    "file_sha256",
    "fsync_directory",
    "is_temp_name",
    "iter_chunks",
    "lock_directory",
    "lstat_or_none",
    "mtime_granularity",
    "plainly_safe",
    "remove_quietly",
    "same_content",
    "sync_files",
    "syncs_whole_file_systems",
    "validate_relpath",
]

CHUNK_SIZE = 1 << 20
#: A path as a sink passes it around: a ``str`` where it is built for every file, else a Path.
PathT = TypeVar("PathT", str, Path)
#: The longest file name (in UTF-8 bytes) the common file systems accept.
NAME_MAX = 255

# The names of temporary files: ".<name>.<hex token>.tmp", as create_temp() makes them. They
# are never data, so a sink may remove any it finds.
_TEMP_NAME = re.compile(r"\..+\.[0-9a-f]+\.tmp", re.DOTALL)
_TEMP_SUFFIX_BYTES = len(".") + 12 + len(".tmp")
_CREATE_ATTEMPTS = 100
_TOKEN_MASK = (1 << 48) - 1
_tokens = itertools.count(secrets.randbits(48))
# A time with a non-zero digit at every decimal place and an odd second: reading it back from a
# file shows to what the file system rounds modification times.
_PROBE_NS = 1_700_000_001_123_456_789
_GRANULARITIES = tuple(10**power for power in range(10)) + (2 * 10**9,)


def is_temp_name(name: str) -> bool:
    """Tell whether ``name`` is that of a temporary file (``.<name>.<hex>.tmp``)."""
    return _TEMP_NAME.fullmatch(name) is not None


def plainly_safe(relpath: object) -> bool:
    """Whether ``relpath`` passes :func:`validate_relpath` by whole-string tests, as almost
    every name does (False says only that the whole rule must decide): no component starts
    with a dot (which rules out ``.``, ``..`` and the temporary names) or is empty, and the
    whole name is valid Unicode of at most :data:`NAME_MAX` UTF-8 bytes, so each component
    is."""
    if (
        type(relpath) is not str
        or not relpath
        or relpath[0] in "/."
        or relpath[-1] == "/"
        or "//" in relpath
        or "/." in relpath
        or "\\" in relpath
        or "\x00" in relpath
    ):
        return False
    try:
        return len(relpath.encode("utf-8")) <= NAME_MAX
    except UnicodeEncodeError:
        return False


def validate_relpath(relpath: str) -> tuple[str, ...]:
    """
    Check that ``relpath`` is a safe relative POSIX path and return its components.

    Raise ValueError unless ``relpath`` is a non-empty string without backslashes or NUL bytes,
    does not start with ``/``, and splits on ``/`` into components that are neither empty nor
    ``.`` or ``..``, are valid Unicode of at most :data:`NAME_MAX` UTF-8 bytes, and do not look
    like temporary files (those are removed at commit).
    """
    if plainly_safe(relpath):
        return tuple(relpath.split("/"))
    return _checked_parts(relpath)


def _checked_parts(relpath: str) -> tuple[str, ...]:
    """:func:`validate_relpath` component by component: the rule itself."""
    if not isinstance(relpath, str) or not relpath:
        raise ValueError(f"Export path {relpath!r} is empty or not a string.")
    # A backslash is a separator on Windows and in many unzip tools: refuse it outright.
    if "\\" in relpath or "\x00" in relpath:
        raise ValueError(f"Export path {relpath!r} contains a backslash or a NUL byte.")
    if relpath.startswith("/"):
        raise ValueError(f"Export path {relpath!r} is absolute.")
    parts = tuple(relpath.split("/"))
    for part in parts:
        if part in ("", ".", ".."):
            raise ValueError(f"Export path {relpath!r} has an empty, '.' or '..' component.")
        try:
            size = len(part.encode("utf-8"))
        except UnicodeEncodeError as error:
            raise ValueError(f"Export path {relpath!r} is not valid Unicode.") from error
        if size > NAME_MAX:
            raise ValueError(
                f"Export path {relpath!r} has a component of {size} bytes (at most {NAME_MAX})."
            )
        if is_temp_name(part):
            raise ValueError(f"Export path {relpath!r} is named like a temporary file.")
    return parts


def create_temp(
    path: PathT, mode: int = 0o666, *, register: Callable[[PathT], object] | None = None
) -> tuple[PathT, int]:
    """
    Create a new, empty temporary file next to ``path``; return its path and a write descriptor.

    ``register`` is called with each candidate name before the file is created, so that a
    caller's clean-up knows the name even if an exception (a signal) lands between the creation
    and the caller's ``try``.

    The name is ``.<name>.<12 hex digits>.tmp``, with ``<name>`` shortened if needed to keep
    the whole within :data:`NAME_MAX` bytes. ``mode`` is masked by the umask, as with ``open()``.
    A ``str`` path gives a ``str``, a ``Path`` a ``Path``.
    """
    directory, name = os.path.split(os.fspath(path))
    room = NAME_MAX - _TEMP_SUFFIX_BYTES - 1
    encoded = name.encode("utf-8", "surrogateescape")
    if len(encoded) > room:
        name = encoded[:room].decode("utf-8", "ignore")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    as_path = isinstance(path, Path)
    for _ in range(_CREATE_ATTEMPTS):
        # Tokens count up from a random start: unique within the process without a call for
        # randomness per file; O_EXCL settles a clash with anyone else's.
        token = next(_tokens) & _TOKEN_MASK
        candidate = os.path.join(directory, f".{name}.{token:012x}.tmp")
        result = Path(candidate) if as_path else candidate
        if register is not None:
            register(result)
        try:
            return result, os.open(candidate, flags, mode)
        except FileExistsError:
            continue
    raise FileExistsError(f"No unused temporary file name next to {path}.")


def mtime_granularity(directory: Path, *, register: Callable[[Path], object] | None = None) -> int:
    """The step ``directory``'s file system truncates modification times to; 0 if unknown.

    Found with a temporary probe file (``register`` as for :func:`create_temp`).
    """
    temp, fd = create_temp(directory / "mtime-probe", register=register)
    try:
        os.utime(fd, ns=(_PROBE_NS, _PROBE_NS))
        kept = os.fstat(fd).st_mtime_ns
    finally:
        os.close(fd)
        remove_quietly(temp)
    truncations = (step for step in _GRANULARITIES if kept == _PROBE_NS - _PROBE_NS % step)
    return next(truncations, 0)


def iter_chunks(file: BinaryIO, buffer: bytearray) -> Iterator[memoryview]:
    """Yield the rest of ``file`` in views of ``buffer``; each is valid until the next one."""
    view = memoryview(buffer)
    while count := file.readinto(buffer):
        yield view[:count]


def file_sha256(file: BinaryIO, buffer: bytearray, like: str | None = None) -> str:
    """Return the sha256 hex digest of the rest of ``file``, read in chunks; with ``like``, a
    digest of the same algorithm as that one (md5 for an md5 digest, see
    :func:`exporter.format.checksum_hasher`)."""
    sha256 = checksum_hasher(like)
    for chunk in iter_chunks(file, buffer):
        sha256.update(chunk)
    return sha256.hexdigest()


def same_content(path: Path, size: int, digest: str, buffer: bytearray) -> bool:
    """Tell whether ``path`` is a regular file (not a link) of ``size`` bytes, sha256 ``digest``."""
    try:
        status = os.lstat(path)
    except FileNotFoundError:
        return False
    # A size mismatch settles it without reading the file.
    if not stat.S_ISREG(status.st_mode) or status.st_size != size:
        return False
    with open(path, "rb", buffering=0) as existing:
        return file_sha256(existing, buffer, like=digest) == digest


def fsync_directory(directory: Path) -> None:
    """Make the renames and creations in ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    except OSError as error:
        # Some file systems (several FUSE and network ones) cannot sync a directory at all.
        if error.errno not in (errno.EINVAL, errno.ENOTSUP):
            raise
    finally:
        os.close(fd)


def lock_directory(directory: Path) -> int:
    """
    Take an exclusive ``flock`` on ``directory`` and return the descriptor that holds it.

    Closing the descriptor releases the lock. Raise BlockingIOError at once if another process
    holds it. Where the file system cannot lock (some network ones) the descriptor is returned
    unlocked.
    """
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | os.O_CLOEXEC)
    if fcntl is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise
        except OSError:
            pass
    return fd


def lstat_or_none(path: Path) -> os.stat_result | None:
    """The ``lstat`` of ``path``, or None if there is nothing there."""
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None


class DirectoryLock:
    """
    An exclusive lock on one directory, held by a run from :meth:`acquire` to :meth:`release`.

    Two runs into one target would remove each other's temporary files. The lock is an
    ``flock`` on the directory itself (:func:`lock_directory`), so that nothing is added to the
    export. Where the file system cannot lock (some network ones) the run goes on unlocked.
    """

    def __init__(self) -> None:
        self._fd: int | None = None

    def acquire(self, directory: Path) -> None:
        """Take the lock on ``directory``; raise BlockingIOError if another run holds it."""
        try:
            self._fd = lock_directory(directory)
        except BlockingIOError:
            raise BlockingIOError(
                errno.EWOULDBLOCK, "Another export is writing to this directory", directory
            ) from None

    def release(self) -> None:
        """Let the lock go; releasing again, or a lock never taken, does nothing."""
        if self._fd is not None:
            # Closing the descriptor releases the flock.
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None


def remove_quietly(path: Path) -> None:
    """Remove ``path`` if possible; cleaning up must not hide the error that caused it."""
    with contextlib.suppress(OSError):
        os.unlink(path)


def _load_syncfs():
    """Linux's ``syncfs(2)`` through the C library, or None where there is none."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        syncfs = libc.syncfs
    except (OSError, AttributeError):
        return None
    syncfs.argtypes = (ctypes.c_int,)
    syncfs.restype = ctypes.c_int
    return syncfs


_syncfs = _load_syncfs()


def syncs_whole_file_systems() -> bool:
    """Tell whether :func:`sync_files` syncs a whole file system at once (Linux's syncfs)."""
    return _syncfs is not None


def sync_files(directory: Path, paths: Iterable[Path]) -> None:
    """
    Make the data of ``paths``, all on the file system of ``directory``, durable.

    One ``syncfs`` of that file system where Linux has it: an export of 100,000 files would
    otherwise pay 100,000 ``fsync`` calls, each a journal commit, and spend most of a full copy
    waiting for them (measured: 25,000 copies took 20 s with an fsync each, against 1.7 s for
    ``cp -r``). ``syncfs`` reports write-back errors since Linux 5.8. Elsewhere each file is
    opened again and synced.
    """
    if _syncfs is not None:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            if _syncfs(fd) == 0:
                return
            code = ctypes.get_errno()
        finally:
            os.close(fd)
        if code not in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
            raise OSError(code, os.strerror(code), str(directory))
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

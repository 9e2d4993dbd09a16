"""
The export names of documents' files: safe on every common file system, short enough, unique.

A document's files share a *stem*: ``<stem><ext>`` (the original), ``<stem>-thumbnail.webp``,
``<stem>-archive.pdf`` and ``<stem>-manifest.json``. The stem is made in three steps:

1. **Made of the document's values**: :func:`default_stem` (``"<created> <correspondent>
   <title>"``) or, with a filename format, :func:`format_document_path` (a relative posix path
   such as ``"2024/ACME/Invoice"``). :func:`document_stem` picks one.
2. **Sanitised** per path component (:func:`sanitize_component`): the characters ``/ \\ : * ? "
   < > |``, C0 controls, DEL and lone surrogates become ``-``; leading spaces and dots and
   trailing spaces and dots are stripped (Windows drops trailing ones, Unix hides names with a
   leading dot and ``..`` must never appear); a Windows device name (``CON``, ``nul.txt``,
   ``COM1``...) gets ``-`` after the device part; an empty result becomes ``document``.
3. **Shortened** to a byte budget (:func:`shorten`), then **made unique** by
   :class:`exporter.export.unique_names.UniqueNameRegistry`, which appends ``_01``, ``_02``...
   (``_100`` after ``_99``).

Byte budget: every name component stays within 255 bytes, counted as the larger of its UTF-8
length and the UTF-8 length of its NFD form (HFS+ stores names decomposed and counts UTF-16
units, which never exceed UTF-8 bytes). The last component of a stem gets
:data:`STEM_MAX_BYTES` (232): 255 less the longest suffix (``-thumbnail.webp``, 15 bytes;
extensions are cut to 15 bytes as well) less room for a counter up to ``_9999999``.
Directory components get the full 255. Names are cut at a code point boundary, never inside a
UTF-8 sequence; a combining mark may be separated from its base character, which only changes
how the last character looks.

Callers pass plain values: this module never queries Django's database.
"""

from __future__ import annotations

import datetime
import re
import string
import unicodedata
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

__all__ = [
    "EXPORT_SUFFIXES",
    "FALLBACK_NAME",
    "MAX_COUNTER",
    "MAX_EXTENSION_BYTES",
    "MAX_NAME_BYTES",
    "REPLACEMENT",
    "STEM_MAX_BYTES",
    "default_stem",
    "document_file_names",
    "document_placeholders",
    "document_stem",
    "export_suffixes",
    "format_document_path",
    "format_stem",
    "name_bytes",
    "normalize_extension",
    "sanitize_component",
    "shorten",
]

#: The longest file name component that every common file system accepts, in bytes.
MAX_NAME_BYTES = 255
#: What replaces each character that is unsafe in a file name.
REPLACEMENT = "-"
#: The name used when sanitising leaves nothing.
FALLBACK_NAME = "document"
#: What follows the stem in the names of a document's derived files, by file role.
EXPORT_SUFFIXES: Mapping[str, str] = MappingProxyType(
    {
        "thumbnail": "-thumbnail.webp",
        "archive": "-archive.pdf",
        "manifest": "-manifest.json",
    }
)
#: Extensions of originals are cut to this, so that no suffix is longer than the derived ones.
MAX_EXTENSION_BYTES = max(len(suffix) for suffix in EXPORT_SUFFIXES.values())
#: The highest counter a registry appends; its room is kept free in every stem.
MAX_COUNTER = 9_999_999
#: The byte budget of a stem's last component: room for the longest suffix and counter.
STEM_MAX_BYTES = MAX_NAME_BYTES - MAX_EXTENSION_BYTES - len(f"_{MAX_COUNTER}")

# Forbidden on Windows or everywhere, plus lone surrogates, which cannot be encoded at all.
_UNSAFE = re.compile('[\x00-\x1f\x7f"*/:<>?\\\\|\ud800-\udfff]')
_WINDOWS_DEVICES = frozenset(
    ["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"]
    + [f"{port}{n}" for port in ("COM", "LPT") for n in "0123456789\u00b9\u00b2\u00b3"]
)
# sanitize_component() needs room for a device name plus the REPLACEMENT mark.
_MIN_BUDGET = 8


# -- one component -----------------------------------------------------------------------------


def name_bytes(text: str) -> int:
    """The bytes ``text`` takes as a file name: max of its UTF-8 and NFD UTF-8 lengths."""
    if text.isascii():
        return len(text)
    return max(len(text.encode("utf-8")), len(unicodedata.normalize("NFD", text).encode("utf-8")))


def shorten(text: str, max_bytes: int) -> str:
    """
    Return the longest prefix of ``text`` that takes at most ``max_bytes`` (see
    :func:`name_bytes`), cut between code points. ``text`` must hold no lone surrogates.
    """
    if text.isascii():
        return text[:max_bytes]
    if name_bytes(text) <= max_bytes:
        return text
    # Both lengths add up code point by code point: NFD decomposes each one on its own and then
    # only reorders marks, which keeps the length.
    utf8 = nfd = 0
    for index, char in enumerate(text):
        utf8 += len(char.encode("utf-8"))
        nfd += len(unicodedata.normalize("NFD", char).encode("utf-8"))
        if utf8 > max_bytes or nfd > max_bytes:
            return text[:index]
    return text


def sanitize_component(
    text: str, *, max_bytes: int = MAX_NAME_BYTES, fallback: str = FALLBACK_NAME
) -> str:
    """
    Return ``text`` as one safe file name component of at most ``max_bytes``.

    The rules are in the module docstring. The result is never empty, ``.`` or ``..``, and
    holds no ``/``, ``\\`` or NUL. ``fallback`` (sanitised in turn) replaces an empty result.
    """
    if max_bytes < _MIN_BUDGET:
        raise ValueError(f"max_bytes must be at least {_MIN_BUDGET}, not {max_bytes}.")
    return _clean(text, max_bytes) or _clean(fallback, max_bytes) or FALLBACK_NAME


def _clean(text: str, max_bytes: int) -> str:
    """:func:`sanitize_component` without the fallback: may return ""."""
    text = _UNSAFE.sub(REPLACEMENT, text).lstrip(" .")
    text = shorten(text, max_bytes).rstrip(" .")
    device = text.split(".", 1)[0].rstrip(" ")
    if device.upper() in _WINDOWS_DEVICES:
        # "CON-.pdf" is a file, "CON.pdf" is the console. Cutting the end cannot undo the mark.
        text = shorten(device + REPLACEMENT + text[len(device) :], max_bytes).rstrip(" .")
    return text


def normalize_extension(original_ext: str) -> str:
    """
    Return an original's extension (``""`` or like ``Path.suffix``: ``".pdf"``) safe to append.

    Unsafe characters become ``-``, trailing spaces and dots go, and it is cut to
    :data:`MAX_EXTENSION_BYTES`. Raises ``ValueError`` if it neither is empty nor starts with a
    dot.
    """
    if not original_ext:
        return ""
    if not original_ext.startswith("."):
        raise ValueError(f"An extension must be empty or start with '.', not {original_ext!r}.")
    ext = shorten(_UNSAFE.sub(REPLACEMENT, original_ext), MAX_EXTENSION_BYTES).rstrip(" .")
    return ext if len(ext) > 1 else ""


# -- stems -------------------------------------------------------------------------------------


def default_stem(
    created: datetime.date | str | None, correspondent: str | None, title: str | None
) -> str:
    """
    The default stem: ``"<created> <correspondent> <title>"``, sanitised and shortened.

    Empty or None parts are left out with their space; ``created`` is an ISO date (a ``date``
    is formatted as one).
    """
    if isinstance(created, datetime.date):
        created = _as_date(created).isoformat()
    text = " ".join(part for part in (created, correspondent, title) if part)
    return sanitize_component(text, max_bytes=STEM_MAX_BYTES)


def format_document_path(
    fmt: str, values: Mapping[str, Any], *, fallback: str = FALLBACK_NAME
) -> str:
    """
    Fill a filename format and return the result as a safe, relative posix path (a stem).

    ``fmt`` is a ``str.format`` template with named placeholders only, such as
    ``"{created_year}/{correspondent}/{title}"``: its ``/`` separate directories. Each value
    is made safe as part of a single component first, so a ``/`` in a title never makes a
    directory; None becomes ``"none"``, other values ``str(value)``. Then each component is
    sanitised (:func:`sanitize_component` rules): empty components (from ``//``, a leading or
    trailing ``/``, an empty value, ``.`` or ``..``) are dropped, directories are cut to 255
    bytes and the last component to :data:`STEM_MAX_BYTES`. If nothing is left, the result is
    ``fallback``, a single component (sanitised too).

    Raises ``ValueError`` for an unknown placeholder (naming the known ones), a positional,
    attribute or index placeholder, a conversion or format spec, or a malformed template.
    """
    pieces = _parse_format(fmt, values)
    text = "".join(
        literal if name is None else _UNSAFE.sub(REPLACEMENT, _placeholder_text(values[name]))
        for literal, name in pieces
    )
    parts = [part for part in (_clean(part, MAX_NAME_BYTES) for part in text.split("/")) if part]
    if not parts:
        return sanitize_component(fallback, max_bytes=STEM_MAX_BYTES)
    parts[-1] = sanitize_component(parts[-1], max_bytes=STEM_MAX_BYTES, fallback=fallback)
    return "/".join(parts)


def format_stem(fmt: str, values: Mapping[str, Any]) -> str:
    """
    :func:`format_document_path` falling back to the default stem of ``values``.

    ``values`` should hold ``created``, ``correspondent`` and ``title`` for the fallback; the
    ones missing count as empty.
    """
    fallback = default_stem(values.get("created"), values.get("correspondent"), values.get("title"))
    return format_document_path(fmt, values, fallback=fallback)


def document_placeholders(
    *,
    pk: Any,
    created: datetime.date | str,
    title: str | None,
    correspondent: str | None = None,
) -> dict[str, str | None]:
    """
    The placeholders :func:`document_stem` offers a filename format.

    ``created`` (ISO date), ``created_year`` (4 digits), ``created_month`` and ``created_day``
    (2 digits), ``correspondent``, ``title`` and ``doc_pk`` (an int zero-padded to 7 digits).
    """
    date = _as_date(created)
    return {
        "created": date.isoformat(),
        "created_year": f"{date.year:04}",
        "created_month": f"{date.month:02}",
        "created_day": f"{date.day:02}",
        "correspondent": correspondent,
        "title": title,
        "doc_pk": f"{pk:07}" if isinstance(pk, int) else str(pk),
    }


def document_stem(
    *,
    pk: Any,
    created: datetime.date | str,
    title: str | None,
    correspondent: str | None = None,
    filename_format: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> str:
    """
    The stem to claim for a document, before it is made unique.

    Without ``filename_format``, :func:`default_stem`. With it, :func:`format_document_path`
    over :func:`document_placeholders` plus ``extra`` (which may add placeholders such as
    ``document_type``, or override the standard ones), falling back to the default stem when
    the format leaves nothing.
    """
    stem = default_stem(created, correspondent, title)
    if not filename_format:
        return stem
    values: dict[str, Any] = document_placeholders(
        pk=pk, created=created, title=title, correspondent=correspondent
    )
    values.update(extra or {})
    return format_document_path(filename_format, values, fallback=stem)


def _as_date(value: datetime.date | str) -> datetime.date:
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    return datetime.date.fromisoformat(value)


def _placeholder_text(value: Any) -> str:
    return "none" if value is None else str(value)


def _parse_format(fmt: str, values: Mapping[str, Any]) -> list[tuple[str, str | None]]:
    """The template as (literal text, placeholder name or None) pieces, checked."""
    try:
        parsed = list(string.Formatter().parse(fmt))
    except ValueError as exc:
        raise ValueError(f"Invalid filename format {fmt!r}: {exc}.") from None
    pieces: list[tuple[str, str | None]] = []
    for literal, name, spec, conversion in parsed:
        pieces.append((literal, None))
        if name is None:
            continue
        if not name.isidentifier():
            raise ValueError(
                f"Invalid placeholder {{{name}}} in filename format {fmt!r}: use plain names "
                "such as {title}."
            )
        if spec or conversion:
            raise ValueError(
                f"Placeholder {{{name}}} in filename format {fmt!r} has a conversion or format "
                "spec; only plain names such as {title} are supported."
            )
        if name not in values:
            known = ", ".join(f"{{{key}}}" for key in sorted(values))
            raise ValueError(
                f"Unknown placeholder {{{name}}} in filename format {fmt!r}. "
                f"Known placeholders: {known}."
            )
        pieces.append(("", name))
    return pieces


# -- a document's names ------------------------------------------------------------------------


def export_suffixes(original_ext: str) -> tuple[str, ...]:
    """Everything appended to a document's stem: its extension, then the derived suffixes."""
    return (normalize_extension(original_ext), *EXPORT_SUFFIXES.values())


def document_file_names(stem: str, original_ext: str) -> dict[str, str]:
    """
    The names of a document's files for a (unique) stem, by file role.

    Returns ``{"original": <stem><ext>, "thumbnail": <stem>-thumbnail.webp, "archive":
    <stem>-archive.pdf, "manifest": <stem>-manifest.json}``; ``original_ext`` goes through
    :func:`normalize_extension`.
    """
    names = {"original": stem + normalize_extension(original_ext)}
    names.update((role, stem + suffix) for role, suffix in EXPORT_SUFFIXES.items())
    return names

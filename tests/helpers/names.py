"""Export names under test: their bytes, and what makes a name safe on every file system."""

from __future__ import annotations

import unicodedata

from hypothesis import strategies as st

from exporter.export.naming import MAX_NAME_BYTES

#: A filename format with a folder per year and per correspondent.
FORMAT = "{created_year}/{correspondent}/{title}"

#: Characters that UTF-8 can encode.
NO_SURROGATES = st.characters(exclude_categories=["Cs"])


def utf8(text: str) -> int:
    """The length of ``text`` in UTF-8 bytes."""
    return len(text.encode("utf-8"))


def assert_safe_component(component: str, max_bytes: int = MAX_NAME_BYTES) -> None:
    """``component`` is one non-empty path component, within ``max_bytes`` in NFC and NFD, with
    no leading or trailing space or dot."""
    assert component
    assert component not in (".", "..")
    assert "/" not in component and "\\" not in component and "\x00" not in component
    assert utf8(component) <= max_bytes
    assert utf8(unicodedata.normalize("NFD", component)) <= max_bytes
    assert component == component.strip(" ")
    assert not component.endswith(".") and not component.startswith(".")

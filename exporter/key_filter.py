"""A fixed-size Bloom filter of strings: "certainly not added" without asking the database.

The engine keeps what grows with the archive (names claimed, files written) in private SQLite
files, so that memory stays flat; but nearly every question it asks of them ("is this name
taken?") has the answer no, and a query costs more than the rest of a document's export.
A :class:`KeyFilter` in front answers most of those noes from memory of a fixed size, whatever
the archive's size; a "maybe" is asked of the database as before.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["FILTER_BITS", "KeyFilter"]

#: The default size: 2 MiB, at a million keys about one "maybe" in 200 for a key never added.
FILTER_BITS = 1 << 24


class KeyFilter:
    """A Bloom filter of ``bits`` bits (a power of two, at least 8) with three positions per
    key, from the process's string hash (double hashing of its two 32-bit halves)."""

    def __init__(self, bits: int = FILTER_BITS) -> None:
        if bits < 8 or bits & (bits - 1):
            raise ValueError(f"A filter's bits must be a power of two, at least 8: not {bits}.")
        self._bits = bytearray(bits // 8)
        self._mask = bits - 1

    def add(self, key: str) -> None:
        """Add ``key``."""
        bits = self._bits
        first, second, third = _positions(key, self._mask)
        bits[first >> 3] |= 1 << (first & 7)
        bits[second >> 3] |= 1 << (second & 7)
        bits[third >> 3] |= 1 << (third & 7)

    def may_contain(self, key: str) -> bool:
        """False if ``key`` was certainly never added; True if it may have been."""
        bits = self._bits
        first, second, third = _positions(key, self._mask)
        return bool(
            bits[first >> 3] >> (first & 7) & 1
            and bits[second >> 3] >> (second & 7) & 1
            and bits[third >> 3] >> (third & 7) & 1
        )

    def may_contain_any(self, keys: Iterable[str]) -> bool:
        """False if no key of ``keys`` was ever added; True if one may have been."""
        bits, mask = self._bits, self._mask
        for key in keys:
            # _positions, inline: this runs for every possible owner of every name.
            hashed = hash(key)
            low, high = hashed & 0xFFFFFFFF, ((hashed >> 32) & 0xFFFFFFFF) | 1
            first, second, third = low & mask, (low + high) & mask, (low + 2 * high) & mask
            if (
                bits[first >> 3] >> (first & 7) & 1
                and bits[second >> 3] >> (second & 7) & 1
                and bits[third >> 3] >> (third & 7) & 1
            ):
                return True
        return False


def _positions(key: str, mask: int) -> tuple[int, int, int]:
    """The key's three bits: double hashing of the two 32-bit halves of its string hash."""
    hashed = hash(key)
    low, high = hashed & 0xFFFFFFFF, ((hashed >> 32) & 0xFFFFFFFF) | 1
    return low & mask, (low + high) & mask, (low + 2 * high) & mask

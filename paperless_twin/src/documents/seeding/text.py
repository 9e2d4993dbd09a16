"""Awkward but valid values for the seed: text, numbers, JSON, timestamps.

Every value here survives all three databases: no NUL characters (PostgreSQL refuses them), no
lone surrogates, and names that must be unique carry an ASCII index, because MariaDB's utf8mb4
collations compare case-, accent- and emoji-insensitively.
"""

from __future__ import annotations

import datetime
import random

__all__ = [
    "AWKWARD_FLOATS",
    "FRAGMENTS",
    "Texts",
]

# Pieces that break naive encoders: quotes, backslashes, control characters, the JSON line
# separators, emoji (4-byte UTF-8), CJK, right-to-left text and combining marks.
FRAGMENTS = (
    'say "hi"', "it's", "back\\slash", "C:\\temp\\new", "tab\there", "cr\rlf\n",
    "bell\x07", "unit\x1fsep", "del\x7f", "line\u2028sep", "para\u2029sep", "😀", "🧾📄",
    "請求書", "日本語テキスト", "Grüße", "naïve café", "שלום", "e\u0301", "<b>&amp;</b>",
    "{json}", "[1, 2]", "50% off", "a/b", "x:y", "why?", "*star*", "pipe|", "\u00a0nbsp",
)

AWKWARD_FLOATS = (1e-05, 1e16, 0.1 + 0.2, 1.5, 0.1, -2.5e-10, 123456.789, 2.0**53, 3.0)

_WORDS = (
    "Invoice", "Receipt", "Contract", "Letter", "Statement", "Policy", "Report", "Notice",
    "Bescheid", "Rechnung", "Quittung", "Übersicht", "見積書", "領収書", "Facture", "Reçu",
)


class Texts:
    """A deterministic source of awkward values, driven by one ``random.Random``."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def fragment(self) -> str:
        """One awkward piece of text."""
        return self.rng.choice(FRAGMENTS)

    def sentence(self, pieces: int = 4) -> str:
        """Words and awkward fragments joined by spaces."""
        parts = [self.rng.choice(_WORDS) if self.rng.random() < 0.5 else self.fragment()
                 for _ in range(pieces)]
        return " ".join(parts)

    def title(self, index: int) -> str:
        """A document title: unique by its index, never ending in a space or a dot."""
        words = [self.rng.choice(_WORDS) for _ in range(self.rng.randint(1, 3))]
        extra = self.fragment() if self.rng.random() < 0.6 else ""
        title = " ".join(w for w in [*words, extra] if w).strip()[:90]
        # "#<index>" keeps titles apart even where sanitising maps different characters to "-".
        return f"{title} #{index}"

    def content(self) -> str:
        """A document's text: several lines of words and fragments."""
        lines = [self.sentence(self.rng.randint(3, 9)) for _ in range(self.rng.randint(1, 6))]
        return "\n".join(lines)

    def moment(self, start_year: int = 2015, end_year: int = 2026) -> datetime.datetime:
        """An aware UTC datetime with microseconds (some exactly on the second)."""
        start = datetime.datetime(start_year, 1, 1, tzinfo=datetime.UTC)
        span = (datetime.datetime(end_year, 12, 31, tzinfo=datetime.UTC) - start).total_seconds()
        moment = start + datetime.timedelta(seconds=self.rng.uniform(0, span))
        if self.rng.random() < 0.15:
            return moment.replace(microsecond=0)
        return moment

    def day(self) -> datetime.date:
        """A date, occasionally at an edge (1970-01-01, 2038-01-19, a leap day)."""
        edges = (datetime.date(1970, 1, 1), datetime.date(2038, 1, 19), datetime.date(2024, 2, 29))
        if self.rng.random() < 0.05:
            return self.rng.choice(edges)
        return self.moment().date()

    def nested_json(self) -> dict:
        """A JSON object with nesting, floats, unicode, empty containers and nulls."""
        return {
            "name": self.fragment(),
            "ratio": self.rng.choice(AWKWARD_FLOATS),
            "count": self.rng.randint(-5, 10**12),
            "flags": [True, False, None],
            "nested": {"deeper": {"list": [1.5, 0.1, "😀", {}], "empty": []}, "ü": "ß"},
        }

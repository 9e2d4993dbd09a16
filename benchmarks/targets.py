"""The targets a case is held to, checked against its summaries and ratios.

The data-only targets come from the streaming exporter's issue: flat memory, an order of
magnitude over the classic path, and close to the floor. The incremental ones hold an unchanged
re-run to what it cannot do with less: a data-only export (and with ``-c``, hashing every file).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

MiB = 1 << 20
Summary = dict[str, Any]
Target = dict[str, str]

FLAT_GROWTH_MB_PER_10K = 0.1
RSS_AT_1M_MB = 100
SPEEDUP_OVER_CLASSIC = 10
SPEEDUP_AT = 100_000
FLOOR_FACTOR = 1.5
RERUN_FACTOR = 1.3


def _met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def data_only(summaries: list[Summary], ratios: list[dict[str, Any]]) -> list[Target]:
    """The data-only case's targets: flat and small stream RSS, speed-up, distance to floor."""
    stream = {
        s["documents"]: s["peak_rss_bytes"]["median"] / MiB
        for s in summaries
        if s["case"] == "data-only" and s["contender"] == "stream" and s["runs_ok"]
    }
    targets = [_flat(stream), _rss_at_1m(stream)]
    by_pair = {
        (r["numerator"], r["denominator"], r["documents"]): r
        for r in ratios
        if r["case"] == "data-only" and r["export_seconds"]
    }
    targets.append(_speedup(summaries, by_pair))
    targets.append(_near_floor(by_pair))
    return targets


def _flat(stream: dict[int, float]) -> Target:
    name = f"stream peak RSS flat (< {FLAT_GROWTH_MB_PER_10K} MB per 10,000 documents)"
    if len(stream) < 2:
        return {"target": name, "result": "not measured", "detail": "needs two sizes"}
    small, large = min(stream), max(stream)
    growth = (stream[large] - stream[small]) / (large - small) * 10_000
    points = ", ".join(f"{n:,}: {mb:.1f} MB" for n, mb in sorted(stream.items()))
    return {
        "target": name,
        "result": _met(growth < FLAT_GROWTH_MB_PER_10K),
        "detail": f"{growth:+.3f} MB per 10,000 from {small:,} to {large:,} ({points})",
    }


def _rss_at_1m(stream: dict[int, float]) -> Target:
    name = f"stream peak RSS < {RSS_AT_1M_MB} MB at 1,000,000 documents"
    if 1_000_000 not in stream:
        largest = max(stream, default=None)
        detail = f"largest measured: {largest:,}" if largest else "stream not measured"
        return {"target": name, "result": "not measured", "detail": detail}
    rss = stream[1_000_000]
    return {"target": name, "result": _met(rss < RSS_AT_1M_MB), "detail": f"{rss:.1f} MB"}


def _speedup(summaries: list[Summary], by_pair: dict[tuple, dict[str, Any]]) -> Target:
    name = f"stream ≥ {SPEEDUP_OVER_CLASSIC}× faster than classic at {SPEEDUP_AT:,}"
    ratio = by_pair.get(("classic", "stream", SPEEDUP_AT))
    if ratio is None:
        classic = next(
            (
                s
                for s in summaries
                if (s["contender"], s["documents"]) == ("classic", SPEEDUP_AT)
                and s["status"] == "exceeded"
            ),
            None,
        )
        if classic is not None:
            return {"target": name, "result": "met", "detail": f"classic {classic['reason']}"}
        return {"target": name, "result": "not measured", "detail": f"no pair at {SPEEDUP_AT:,}"}
    export, wall = ratio["export_seconds"], ratio["wall_seconds"]
    return {
        "target": name,
        "result": _met(export["median"] >= SPEEDUP_OVER_CLASSIC),
        "detail": f"{export['median']:.1f}× [{export['min']:.1f}–{export['max']:.1f}] export "
        f"time, {wall['median']:.1f}× wall",
    }


def _near_floor(by_pair: dict[tuple, dict[str, Any]]) -> Target:
    return _within(
        by_pair, "stream", "floor", FLOOR_FACTOR, f"stream within {FLOOR_FACTOR}× of the floor"
    )


def _within(
    by_pair: dict[tuple, dict[str, Any]], numerator: str, denominator: str, factor: float, name: str
) -> Target:
    """Whether ``numerator`` takes at most ``factor`` times ``denominator``'s export time, at
    every size measured."""
    ratios = {n: r for (a, b, n), r in by_pair.items() if (a, b) == (numerator, denominator)}
    if not ratios:
        detail = f"no {numerator}/{denominator} pair"
        return {"target": name, "result": "not measured", "detail": detail}
    details = [
        f"{n:,}: {r['export_seconds']['median']:.2f}× ({r['wall_seconds']['median']:.2f}× wall)"
        for n, r in sorted(ratios.items())
    ]
    ok = all(r["export_seconds"]["median"] <= factor for r in ratios.values())
    return {"target": name, "result": _met(ok), "detail": "; ".join(details)}


def incremental(summaries: list[Summary], ratios: list[dict[str, Any]]) -> list[Target]:
    """The unchanged re-run's targets: near a data-only export of the same archive, and with
    ``-c`` near a data-only export plus ``sha256sum`` of every media file."""
    by_pair = {
        (r["numerator"], r["denominator"], r["documents"]): r
        for r in ratios
        if r["case"] == "incremental" and r["export_seconds"]
    }
    return [
        _within(
            by_pair,
            "stream",
            "data-only",
            RERUN_FACTOR,
            f"unchanged re-run within {RERUN_FACTOR}× of a data-only export",
        ),
        _within(
            by_pair,
            "stream-c",
            "data-only+sha256sum",
            RERUN_FACTOR,
            f"unchanged re-run with -c within {RERUN_FACTOR}× of a data-only export and "
            "sha256sum of the media",
        ),
    ]


TARGETS: dict[str, Callable[[list[Summary], list[dict[str, Any]]], list[Target]]] = {
    "data-only": data_only,
    "incremental": incremental,
}


def evaluate(summaries: list[Summary], ratios: list[dict[str, Any]]) -> list[Target]:
    """Every registered case's targets, for the cases that were run."""
    cases = {s["case"] for s in summaries}
    return [t for case, check in TARGETS.items() if case in cases for t in check(summaries, ratios)]

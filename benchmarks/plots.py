"""The PNG plots of a results file: peak RSS and throughput against the archive size.

Two plots per case: ``rss_vs_n.png`` and ``throughput_vs_n.png`` for the data-only case (the
names the README embeds), ``rss_vs_n-<case>.png`` and ``throughput_vs_n-<case>.png`` for the
others. Throughput is records/s, or MB/s where a contender has no records (``cp``) or where bytes
are the point (verify).

matplotlib is imported here only, once every child has run (see benchmarks.machine).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

MiB = 1 << 20
Summary = dict[str, Any]
_STYLE = {
    "classic": ("tab:red", "o"),
    "stream": ("tab:blue", "s"),
    "dumpdata": ("tab:orange", "^"),
    "floor": ("tab:gray", "D"),
    "cp": ("tab:gray", "D"),
    "classic-c": ("tab:pink", "v"),
    "stream-c": ("tab:cyan", "P"),
    "data-only": ("tab:green", "x"),
    "data-only+sha256sum": ("tab:olive", "*"),
    "loaddata": ("tab:orange", "^"),
    "verify": ("tab:blue", "s"),
    "ijson": ("tab:gray", "D"),
}
#: The case whose plots keep the plain names (rss_vs_n.png, throughput_vs_n.png).
MAIN_CASE = "data-only"
#: Cases whose throughput plot shows MB/s rather than records/s.
_MB_PER_SECOND = frozenset({"files", "verify"})
_THROUGHPUT_TITLES = {
    "data-only": "Export throughput",
    "files": "Export throughput",
    "incremental": "Re-run throughput",
    "import": "Import throughput",
    "verify": "Read throughput",
}


def plot_names(case: str) -> tuple[str, str]:
    """The file names of a case's two plots: (peak RSS, throughput)."""
    if case == MAIN_CASE:
        return "rss_vs_n.png", "throughput_vs_n.png"
    return f"rss_vs_n-{case}.png", f"throughput_vs_n-{case}.png"


def write_plots(summaries: list[Summary], out: Path, cap_bytes: int) -> list[Path]:
    """Write each case's peak RSS and throughput plots into ``out``; return their paths."""
    cases = list(dict.fromkeys(s["case"] for s in summaries))
    return [
        path
        for case in cases
        for path in _write_case(case, [s for s in summaries if s["case"] == case], out, cap_bytes)
    ]


def _write_case(case: str, summaries: list[Summary], out: Path, cap_bytes: int) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot, ticker

    rss_name, throughput_name = plot_names(case)
    if case in _MB_PER_SECOND:
        throughput_key, throughput_unit = "mb_per_second", "MB/s"
    else:
        throughput_key, throughput_unit = "records_per_second", "records/s"
    throughput_title = _THROUGHPUT_TITLES.get(case, "Throughput")
    paths = []
    for name, title, key, scale, unit in (
        (rss_name, "Peak RSS of the child", "peak_rss_bytes", MiB, "peak RSS (MB)"),
        (throughput_name, throughput_title, throughput_key, 1, throughput_unit),
    ):
        figure, axes = pyplot.subplots(figsize=(8, 5), dpi=120)
        for label, points in _series(summaries).items():
            color, marker = _STYLE.get(label, (None, "o"))
            ok = [(s["documents"], s[key]) for s in points if s["runs_ok"] and s[key]]
            if ok:
                xs = [n for n, _ in ok]
                medians = [v["median"] / scale for _, v in ok]
                errors = [
                    [m - v["min"] / scale for m, (_, v) in zip(medians, ok, strict=True)],
                    [v["max"] / scale - m for m, (_, v) in zip(medians, ok, strict=True)],
                ]
                axes.errorbar(
                    xs, medians, yerr=errors, color=color, marker=marker, capsize=3, label=label
                )
            exceeded = [s["documents"] for s in points if s["status"] == "exceeded"]
            if exceeded and key == "peak_rss_bytes":
                # Where the cap stopped it: drawn on the cap line, since the true peak is unknown.
                axes.scatter(
                    exceeded,
                    [cap_bytes / scale] * len(exceeded),
                    color=color,
                    marker="x",
                    s=80,
                    zorder=3,
                    label=f"{label}: exceeded",
                )
        if key == "peak_rss_bytes":
            axes.axhline(cap_bytes / scale, color="black", linestyle=":", linewidth=1)
            axes.annotate(
                f"memory cap {cap_bytes / (1 << 30):.0f} GiB",
                (0.01, cap_bytes / scale),
                xycoords=("axes fraction", "data"),
                va="bottom",
                fontsize=8,
            )
        axes.set_xscale("log")
        axes.set_yscale("log")
        # Label the measured sizes themselves, and plain numbers rather than powers of ten.
        sizes = sorted({s["documents"] for s in summaries})
        axes.set_xticks(sizes, [_short(n) for n in sizes])
        axes.xaxis.set_minor_formatter(ticker.NullFormatter())
        axes.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
        axes.set_xlabel("documents in the archive (N)")
        axes.set_ylabel(unit)
        axes.set_title(f"{case}: {title} (median, bars: min–max)")
        axes.grid(True, which="both", alpha=0.3)
        axes.legend(fontsize=8)
        figure.tight_layout()
        path = out / name
        figure.savefig(path)
        pyplot.close(figure)
        paths.append(path)
    return paths


def _short(number: int) -> str:
    for size, suffix in ((1_000_000, "M"), (1_000, "k")):
        if number >= size and number % (size // 10) == 0:
            return f"{number / size:g}{suffix}"
    return f"{number:,}"


def _series(summaries: list[Summary]) -> dict[str, list[Summary]]:
    """One case's summaries by line: the contender's name."""
    series: dict[str, list[Summary]] = {}
    for summary in summaries:
        series.setdefault(summary["contender"], []).append(summary)
    for points in series.values():
        points.sort(key=lambda s: s["documents"])
    return series

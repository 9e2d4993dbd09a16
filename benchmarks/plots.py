"""The PNG plots of a results file: peak RSS and throughput against the archive size.

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
}


def write_plots(summaries: list[Summary], out: Path, cap_bytes: int) -> list[Path]:
    """Write rss_vs_n.png and throughput_vs_n.png into ``out``; return their paths."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot, ticker

    paths = []
    for name, title, key, scale, unit in (
        ("rss_vs_n.png", "Peak RSS of the child", "peak_rss_bytes", MiB, "peak RSS (MB)"),
        ("throughput_vs_n.png", "Export throughput", "records_per_second", 1, "records/s"),
    ):
        figure, axes = pyplot.subplots(figsize=(8, 5), dpi=120)
        for label, points in _series(summaries).items():
            color, marker = _STYLE.get(label.rsplit("/", 1)[-1], (None, "o"))
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
        axes.set_title(f"{title} (median, bars: min–max)")
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
    """Summaries by line: the contender's name, prefixed by its case when there are several."""
    cases = {s["case"] for s in summaries}
    series: dict[str, list[Summary]] = {}
    for summary in summaries:
        label = summary["contender"]
        if len(cases) > 1:
            label = f"{summary['case']}/{label}"
        series.setdefault(label, []).append(summary)
    for points in series.values():
        points.sort(key=lambda s: s["documents"])
    return series

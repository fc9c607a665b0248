"""The per-seed spread of a seed sweep (``--seeds``): every seed's errors as dots, the median as a bar.

A student comparing two recipes needs to see how far one seed moves a result before believing a
0.05-point difference. This figure puts each seed's dense and pruned errors (validation and test)
side by side, one column per measurement, with the median marked and the seed written next to
its dot. It reads OUT/summary.json as :mod:`minnet.cli.sweep` writes it.
"""

import statistics

from matplotlib.ticker import PercentFormatter

from minnet.plotting import new_figure

COLUMNS = (("val_error_before", "dense\nvalidation"), ("val_error_after", "pruned\nvalidation"),
           ("error_before", "dense\ntest"), ("error_after", "pruned\ntest"))


def spread_columns(summary):
    """[(label, [(seed, error in percent)], median in percent)] for every measured column.

    summary: {"seeds": [{"seed", "error_before", ...}]}; a column some seed did not measure
    (``--no-test`` leaves the test errors out) is dropped.
    """
    columns = []
    for key, label in COLUMNS:
        values = [(r["seed"], 100 * r[key]) for r in summary["seeds"] if r.get(key) is not None]
        if values and len(values) == len(summary["seeds"]):
            columns.append((label, values, statistics.median(v for _, v in values)))
    return columns


def plot_seed_spread(summary, title=""):
    """One dot per seed and column, a horizontal bar at each column's median, seeds labelled.

    Returns a Figure; y axis: top-1 error in percent.
    """
    columns = spread_columns(summary)
    fig = new_figure(1.5 + 1.4 * max(1, len(columns)), 3.6)
    ax = fig.subplots()
    for i, (label, values, median) in enumerate(columns):
        n = len(values)
        # Spread the dots sideways a little so equal errors stay visible as separate seeds.
        offsets = [0.18 * (k - (n - 1) / 2) / max(1, n - 1) * 2 for k in range(n)]
        color = "tab:blue" if "dense" in label else "tab:red"
        ax.scatter([i + o for o in offsets], [v for _, v in values], color=color, zorder=3, s=28)
        for o, (seed, v) in zip(offsets, values):
            ax.annotate(f"{seed}", (i + o, v), xytext=(4, 0), textcoords="offset points",
                        fontsize=7, va="center", color="0.3")
        ax.hlines(median, i - 0.3, i + 0.3, color="0.45", lw=1.5, zorder=2,
                  label="median" if i == 0 else None)
    ax.set_xticks(range(len(columns)), [c[0] for c in columns])
    ax.set_xlim(-0.6, len(columns) - 0.4)
    ax.yaxis.set_major_formatter(PercentFormatter(decimals=2))
    ax.set_ylabel("top-1 error (dots: seeds, labelled)")
    ax.grid(axis="y", alpha=0.3)
    if columns:
        ax.legend(loc="best", fontsize=8, frameon=False)
    compressions = [r["compression"] for r in summary["seeds"] if r.get("compression")]
    if compressions:
        title += f" (median compression {statistics.median(compressions):.1f}x)"
    ax.set_title(title or f"{len(summary['seeds'])} seeds: the spread of one result", fontsize=10)
    return fig

"""Draw the paper's figures from the numbers in :mod:`minnet.figdata` (the only module using matplotlib).

Every function takes data (never a model) and returns a ``matplotlib.figure.Figure``; nothing here
computes a number a test would want to check. We use matplotlib's object API with the Agg canvas
instead of ``pyplot``: no global "current figure", no GUI backend, so it works headless (CI, a
server, a worker process) without touching the user's backend choice.

    fig = plot_sensitivity(figdata.sensitivity_curves(rows))
    save_png(fig, "sensitivity.png")          # atomic write
"""

import io

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

from minnet.atomic import atomic_write_bytes

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
DPI = 100


def new_figure(width, height):
    """A Figure of ``width`` x ``height`` inches attached to an Agg (in-memory raster) canvas."""
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def figure_to_png(fig, dpi=DPI):
    """The figure rendered as PNG bytes (starting with PNG_MAGIC)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def save_png(fig, path, dpi=DPI):
    """Render ``fig`` to ``path`` as PNG, atomically (a reader never sees half an image)."""
    return atomic_write_bytes(path, figure_to_png(fig, dpi=dpi))


def _percent_label(value, _pos=None):
    """'0.5%', '2%', '60%': a tick label in plain percent (no powers of ten)."""
    return f"{value:g}%"


def percent_axis(ax, which="y", log=False):
    """Label an axis that holds percentages with plain percent ticks ("2%", "60%").

    ax: a matplotlib Axes; which: "x" or "y". log: also put the axis on a log scale, with ticks at
    1, 2, 3 and 5 times each power of ten and unlabelled minor ticks; matplotlib's default log ticks
    read "6x10^1", which a student should not have to decode.
    """
    axis = ax.xaxis if which == "x" else ax.yaxis
    if log:
        (ax.set_xscale if which == "x" else ax.set_yscale)("log")
        axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 3.0, 5.0)))
        axis.set_minor_locator(LogLocator(base=10, subs=(4.0, 6.0, 7.0, 8.0, 9.0)))
        axis.set_minor_formatter(NullFormatter())
    axis.set_major_formatter(FuncFormatter(_percent_label))
    return ax


def plot_weight_histograms(histograms, log=False, show_pruned=False):
    """Paper Fig. 7: per layer (rows), the surviving weights at each stage (columns), side by side.

    histograms: :func:`minnet.figdata.weight_histograms`. Pruned connections are left out of the
    bars (one bar at zero would flatten the rest); with ``show_pruned`` they appear as a separate
    grey bar at 0 and the count is in every panel's title either way. log: log-scale counts, which
    shows the tails and the gap left around zero after pruning.
    """
    layers = list(histograms)
    stages = list(histograms[layers[0]]["stages"])
    fig = new_figure(3.2 * len(stages), 2.3 * len(layers))
    axes = fig.subplots(len(layers), len(stages), squeeze=False, sharex="row")
    for i, name in enumerate(layers):
        edges = histograms[name]["edges"]
        width = edges[1] - edges[0]
        for j, stage in enumerate(stages):
            ax, h = axes[i, j], histograms[name]["stages"][stage]
            ax.bar(edges[:-1], h["counts"], width=width, align="edge", color="tab:blue")
            if show_pruned and h["pruned"]:
                ax.bar([0.0], [h["pruned"]], width=width, color="0.6", label="pruned (zero)")
                ax.legend(fontsize=7, loc="upper right")
            if log:
                ax.set_yscale("log")
            kept = int(h["counts"].sum())
            ax.set_title(f"{name}, {stage}\n{kept:,} kept, {h['pruned']:,} pruned", fontsize=8)
            ax.tick_params(labelsize=7)
            if i == len(layers) - 1:
                ax.set_xlabel("weight value", fontsize=8)
        axes[i, 0].set_ylabel("count", fontsize=8)
    return fig


def plot_fig4_mask(image, keep_map=None):
    """Paper Fig. 4: the mask of fc1 with its 784 inputs along the horizontal axis.

    image: :func:`minnet.figdata.fig4_mask_image`, (300 neurons, 784 inputs); a kept connection is
    a dark dot. The inputs fall into 28 bands of 28 (one per image row, separated by faint lines),
    so the image's top and bottom rows, which pruning empties, sit at the left and right, as in
    the paper ("sparse on the left and right"). keep_map: the optional (28, 28)
    :func:`minnet.figdata.input_keep_map`, drawn below with a labelled colour bar.
    """
    rows, cols = image.shape
    fig = new_figure(10, 7.0 if keep_map is not None else 3.6)
    if keep_map is not None:
        grid = fig.add_gridspec(2, 2, height_ratios=[1.0, 1.25], width_ratios=[1.4, 1.0])
        ax = fig.add_subplot(grid[0, :])
        ax_rows, ax2 = fig.add_subplot(grid[1, 0]), fig.add_subplot(grid[1, 1])
    else:
        ax = fig.subplots()
    ax.imshow(image, cmap="gray_r", aspect="auto", interpolation="nearest")
    for band in range(28, cols, 28):                 # one band per image row
        ax.axvline(band - 0.5, color="tab:red", lw=0.3, alpha=0.5)
    ax.set_xlabel("input pixel (784), in 28 bands of 28: image row 0 (top) at the left, 27 (bottom) "
                  "at the right")
    ax.set_ylabel(f"fc1 neuron (0-{rows - 1})")
    shown = sorted(set(range(0, cols // 28, 3)) | {cols // 28 - 1})
    ax.set_xticks([28 * r + 13.5 for r in shown], [f"row {r}" for r in shown], fontsize=7)
    ax.set_title(f"fc1 mask: {int(image.sum()):,} of {image.size:,} connections kept "
                 f"({100 * image.mean():.1f}%); dark = kept", fontsize=10)
    if keep_map is not None:
        per_row = keep_map.sum(axis=1)               # kept connections reading each image row
        ax_rows.bar(np.arange(len(per_row)), per_row, color="tab:blue")
        ax_rows.set_xlabel("image row (one band of the mask above)")
        ax_rows.set_ylabel("connections kept")
        ax_rows.set_title("kept connections per image row: few at the top and bottom", fontsize=10)
        im = ax2.imshow(keep_map, cmap="viridis")
        ax2.set_title("per pixel: fc1 neurons still reading it", fontsize=10)
        ax2.set_xticks([])
        ax2.set_yticks([])
        bar = fig.colorbar(im, ax=ax2, shrink=0.9)
        bar.set_label("fc1 neurons reading the pixel (of 300)")
    return fig


def plot_neuron_masks(indices, masks):
    """The 28 x 28 input mask of a few fc1 neurons (:func:`minnet.figdata.neuron_input_masks`)."""
    k = max(len(indices), 1)
    fig = new_figure(1.6 * k, 2.0)
    axes = np.atleast_1d(fig.subplots(1, k))
    for ax, n, m in zip(axes, indices, masks):
        ax.imshow(m, cmap="gray_r", interpolation="nearest")
        ax.set_title(f"neuron {n}\n{int(m.sum())} inputs", fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    return fig


def plot_sensitivity(curves, dense_accuracy=None):
    """Paper Fig. 6: accuracy vs sparsity, one line per layer (each layer pruned alone, no retraining).

    curves: :func:`minnet.figdata.sensitivity_curves`; dense_accuracy: drawn as a dashed line.
    The legend sits outside the axes, so it never hides a point.
    """
    fig = new_figure(7, 4)
    ax = fig.subplots()
    for name, (pct, acc) in curves.items():
        ax.plot(pct, 100 * acc, marker="o", ms=3, label=name)
    if dense_accuracy is not None:
        ax.axhline(100 * dense_accuracy, color="0.5", ls="--", lw=1, label="unpruned")
    ax.set_xlabel("parameters pruned away in the layer")
    ax.set_ylabel("accuracy")
    percent_axis(ax, "x")
    percent_axis(ax, "y")
    ax.set_title("Sensitivity of each layer to pruning (no retraining)")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0))
    return fig


PAPER_FIG5_WINDOW = (-4.5, 0.5)   # the y range of the paper's Fig. 5, in points


def plot_tradeoff(curves, ylim="fit"):
    """Paper Fig. 5: accuracy change (points) vs parameters pruned (%), one line per method.

    curves: :func:`minnet.figdata.tradeoff_curves`. Dashed = without retraining, solid = with,
    dotted = iterative; L1 orange, L2 blue. ylim: "fit" (default) fits the axis to every point;
    when the data fall more than 8 points the axis is symmetric-log (linear within 1 point of 0,
    logarithmic beyond), so the region where the methods differ stays readable next to a 60-point
    drop (a --quick run). The paper's window (-4.5 to +0.5 points) is shaded. A (low, high)
    tuple fixes the range; None leaves matplotlib's.
    """
    fig = new_figure(8.5, 4.5)
    ax = fig.subplots()
    colours = {"L1": "tab:orange", "L2": "tab:blue"}
    values = []
    for label, (pct, loss) in curves.items():
        style = "--" if "w/o" in label else ":" if "iterative" in label else "-"
        colour = "tab:green" if "iterative" in label else colours.get(label[:2], None)
        ax.plot(pct, -loss, ls=style, marker="o", ms=3, color=colour, label=label)
        values += list(-np.asarray(loss, dtype=float))
    ax.axhline(0, color="0.5", lw=0.8)
    ax.axhspan(*PAPER_FIG5_WINDOW, color="0.93", zorder=0, label="the paper's Fig. 5 window")
    if isinstance(ylim, str) and values:
        lo, hi = min(min(values), PAPER_FIG5_WINDOW[0]), max(max(values), PAPER_FIG5_WINDOW[1])
        if lo < -8:
            ax.set_yscale("symlog", linthresh=1.0, linscale=0.6)
            ticks = [t for t in (2, 1, 0, -1, -2, -5, -10, -20, -50, -100) if lo * 1.3 <= t <= hi * 1.3 + 1]
            ax.set_yticks(ticks, [f"{t:+g}" if t else "0" for t in ticks])
            ax.set_ylim(lo * 1.15, hi + 0.5)
        else:
            pad = 0.05 * (hi - lo)
            ax.set_ylim(lo - pad, hi + pad)
    elif ylim is not None and not isinstance(ylim, str):
        ax.set_ylim(*ylim)
    ax.set_xlim(-2, 102)
    percent_axis(ax, "x")
    ax.set_xlabel("parameters pruned away")
    ax.set_ylabel("accuracy change (points)")
    ax.set_title("Trade-off: accuracy vs parameters pruned")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    return fig


def plot_training_curves(curves, prune_errors=None):
    """Validation error over every epoch of a run, dense training then each retraining round.

    curves: :func:`minnet.figdata.training_curves`; prune_errors: optional list of validation errors (%)
    measured right after each prune, drawn as red crosses where the next step starts. Each step is
    a band named on the top axis; the names turn vertical when a band is too narrow for its name
    written across, so they never overlap. The legend sits below the axes, off the data.
    """
    fig = new_figure(7, 4.2)
    ax = fig.subplots()
    ax.plot(curves["epoch"], curves["val_error"], marker="o", ms=3, color="tab:blue",
            label="validation error after each epoch")
    steps = curves["steps"]
    for i, step in enumerate(steps):
        ax.axvspan(step["start"] - 0.5, step["end"] + 0.5, color="0.9" if i % 2 else "white", zorder=0)
    if prune_errors:
        starts = [s["start"] - 0.5 for s in steps[1:]]
        ax.plot(starts[:len(prune_errors)], prune_errors[:len(starts)], "x", color="tab:red", ms=7,
                label="right after pruning, before retraining")
    ax.set_xlim(0.5, max(len(curves["epoch"]), 1) + 0.5)
    if steps:
        # ~5.5 px per character at 7 pt; the axes are ~560 px wide at 100 dpi.
        span = max(len(curves["epoch"]), 1)
        fits = all(len(st["label"]) * 5.5 < 560 * (st["end"] - st["start"] + 1) / span for st in steps)
        top = ax.secondary_xaxis("top")
        top.set_xticks([(st["start"] + st["end"]) / 2 for st in steps], [st["label"] for st in steps],
                       fontsize=7, rotation=0 if fits else 90)
        top.tick_params(length=0)
    ax.set_xlabel("epoch (over the whole run)")
    ax.set_ylabel("validation error")
    percent_axis(ax, "y", log=True)    # errors of 1.5% and 40% on one readable axis
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2, frameon=False)
    return fig


def plot_layer_kept(data):
    """Per-layer bars of weights and FLOPs kept (%), paper Table 2's last two columns."""
    names = data["names"] + ["total"]
    w = list(data["weights_pct"]) + [data["total_weights_pct"]]
    f = list(data["flops_pct"]) + [data["total_flops_pct"]]
    x = np.arange(len(names))
    fig = new_figure(1.3 * len(names) + 2, 3.5)
    ax = fig.subplots()
    for offset, values, label in ((-0.2, w, "weights kept"), (0.2, f, "FLOPs kept")):
        bars = ax.bar(x + offset, values, width=0.4, label=label)
        ax.bar_label(bars, fmt="%.1f%%", fontsize=7)
    ax.set_xticks(x, names)
    ax.set_ylabel("kept (%)")
    ax.set_ylim(0, max(max(w), max(f)) * 1.2 + 1)
    ax.legend(fontsize=8)
    ax.set_title("What pruning kept, per layer")
    return fig

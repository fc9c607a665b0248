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
from matplotlib.ticker import FormatStrFormatter, MaxNLocator

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
    """Paper Fig. 4: the (784, 300) mask of fc1, inputs as rows in 28 bands of 28 (one per image row).

    image: :func:`minnet.figdata.fig4_mask_image`; a kept connection is a dark dot. keep_map: the
    optional (28, 28) :func:`minnet.figdata.input_keep_map`, drawn beside it as an image.
    """
    rows, cols = image.shape
    fig = new_figure(8.5 if keep_map is not None else 5.5, 7.5)
    if keep_map is not None:
        ax, ax2 = fig.subplots(1, 2, width_ratios=[2.2, 1.6])
    else:
        ax = fig.subplots()
    ax.imshow(image, cmap="gray_r", aspect="auto", interpolation="nearest")
    for band in range(28, rows, 28):                 # one band per image row
        ax.axhline(band - 0.5, color="tab:red", lw=0.3, alpha=0.5)
    ax.set_xlabel(f"fc1 neuron (0-{cols - 1})")
    ax.set_ylabel("input pixel (28 bands of 28 = image rows)")
    ax.set_yticks(np.arange(0, rows + 1, 28 * 4))
    ax.set_title(f"fc1 mask: {int(image.sum()):,} of {image.size:,} kept "
                 f"({100 * image.mean():.1f}%)", fontsize=10)
    if keep_map is not None:
        im = ax2.imshow(keep_map, cmap="viridis")
        ax2.set_title("neurons still reading each pixel", fontsize=10)
        ax2.set_xticks([])
        ax2.set_yticks([])
        fig.colorbar(im, ax=ax2, shrink=0.6)
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
    """
    fig = new_figure(6, 4)
    ax = fig.subplots()
    for name, (pct, acc) in curves.items():
        ax.plot(pct, 100 * acc, marker="o", ms=3, label=name)
    if dense_accuracy is not None:
        ax.axhline(100 * dense_accuracy, color="0.5", ls="--", lw=1, label="unpruned")
    ax.set_xlabel("parameters pruned away in the layer (%)")
    ax.set_ylabel("accuracy (%)")
    ax.set_title("Sensitivity of each layer to pruning (no retraining)")
    ax.grid(alpha=0.3)
    ax.legend()
    return fig


def plot_tradeoff(curves, ylim=(-5.0, 1.0)):
    """Paper Fig. 5: accuracy change (points) vs parameters pruned (%), one line per method.

    curves: :func:`minnet.figdata.tradeoff_curves`. Dashed = without retraining, solid = with,
    dotted = iterative; L1 orange, L2 blue. ylim: the y range, as the paper's -4.5..+0.5 window
    (the region where the methods differ; curves that fall further leave through the bottom), or
    None for the full range.
    """
    fig = new_figure(7, 4.5)
    ax = fig.subplots()
    colours = {"L1": "tab:orange", "L2": "tab:blue"}
    for label, (pct, loss) in curves.items():
        style = "--" if "w/o" in label else ":" if "iterative" in label else "-"
        colour = "tab:green" if "iterative" in label else colours.get(label[:2], None)
        ax.plot(pct, -loss, ls=style, marker="o", ms=3, color=colour, label=label)
    ax.axhline(0, color="0.5", lw=0.8)
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.set_xlabel("parameters pruned away (%)")
    ax.set_ylabel("accuracy change (points)")
    ax.set_title("Trade-off: accuracy vs parameters pruned")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    return fig


def plot_training_curves(curves, prune_errors=None):
    """Validation error over every epoch of a run, dense training then each retraining round.

    curves: :func:`minnet.figdata.training_curves`; prune_errors: optional list of validation errors (%)
    measured right after each prune, drawn as red crosses where the next step starts.
    """
    fig = new_figure(7, 3.8)
    ax = fig.subplots()
    ax.plot(curves["epoch"], curves["val_error"], marker="o", ms=3, color="tab:blue",
            label="validation error after epoch")
    for i, step in enumerate(curves["steps"]):
        ax.axvspan(step["start"] - 0.5, step["end"] + 0.5, color="0.9" if i % 2 else "white", zorder=0)
        ax.text((step["start"] + step["end"]) / 2, 1.0, step["label"], transform=ax.get_xaxis_transform(),
                ha="center", va="bottom", fontsize=7)
    if prune_errors:
        starts = [s["start"] - 0.5 for s in curves["steps"][1:]]
        ax.plot(starts[:len(prune_errors)], prune_errors[:len(starts)], "x", color="tab:red", ms=7,
                label="right after pruning")
    ax.set_xlabel("epoch (over the whole run)")
    ax.set_ylabel("validation error (%)")
    ax.set_yscale("log")               # errors of 1.5% and 40% on one readable axis
    ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
    ax.yaxis.set_minor_formatter(FormatStrFormatter("%g"))
    ax.tick_params(axis="y", which="minor", labelsize=7)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
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

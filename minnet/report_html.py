"""Render a run: its figures (matplotlib Figures) and one self-contained HTML page.

Only rendering happens here: :mod:`minnet.run_folder` loads a run folder and computes its sweeps,
and ``python -m minnet report`` (:mod:`minnet.cli.report`) writes the files. The page embeds its
images as base64 data URIs with inline CSS, so it opens in a browser with no server.
"""

import base64
import html

import numpy as np

from minnet import figdata, plotting
from minnet.stats import format_table

# The figures of a run, in page order: file stem -> caption.
CAPTIONS = {
    "weight_histograms": "Weight distribution per layer before pruning, after pruning (dense weights "
                         "under the final mask) and after retraining; pruned zeros left out (paper Fig. 7).",
    "fig4_mask": "Sparsity pattern of fc1 (784 inputs x 300 neurons), inputs as 28 bands of 28 "
                 "(one band per image row), as in paper Fig. 4; right: how many neurons read each pixel.",
    "neuron_masks": "The 28 x 28 input pixels a few fc1 neurons still read after pruning.",
    "training_curves": "Validation error over the run: dense training, then retraining after each "
                       "prune round; crosses: error right after pruning, before retraining.",
    "layer_kept": "Weights and FLOPs kept per layer (paper Table 2's last columns).",
    "sensitivity": "Sensitivity: each layer pruned alone, no retraining (paper Fig. 6).",
    "tradeoff": "Accuracy vs parameters pruned, L1 and L2, with and without retraining (paper Fig. 5).",
}


def build_figures(report, dense, pruned, sensitivity=None, tradeoff=None, log_histograms=False):
    """{figure stem: matplotlib Figure} for a run, in page order (see CAPTIONS).

    fig4_mask and neuron_masks need a first layer with 784 inputs (LeNet-300-100); sensitivity and
    tradeoff are drawn only when their rows are given.
    """
    figures = {}
    stages = {"before pruning": dense, "after pruning": figdata.apply_mask(dense, pruned),
              "after retraining": pruned}
    figures["weight_histograms"] = plotting.plot_weight_histograms(
        figdata.weight_histograms(stages), log=log_histograms)
    first = pruned.prunable_layers()[0]
    mask = first.mask
    if mask.ndim == 2 and mask.shape[1] == figdata.IMAGE_SIDE ** 2:
        figures["fig4_mask"] = plotting.plot_fig4_mask(figdata.fig4_mask_image(mask),
                                                       figdata.input_keep_map(mask))
        figures["neuron_masks"] = plotting.plot_neuron_masks(*figdata.neuron_input_masks(mask, 8))
    prune_errors = [np.nan if r.get("val_error_after_prune") is None else
                    100 * r["val_error_after_prune"] for r in report["rounds"]]
    figures["training_curves"] = plotting.plot_training_curves(
        figdata.training_curves(report["history"]), prune_errors)
    figures["layer_kept"] = plotting.plot_layer_kept(figdata.layer_kept(report))
    if sensitivity:
        before = report.get("val_error_before")
        dense_acc = None if before is None else 1.0 - before
        figures["sensitivity"] = plotting.plot_sensitivity(figdata.sensitivity_curves(sensitivity),
                                                           dense_acc)
    if tradeoff:
        figures["tradeoff"] = plotting.plot_tradeoff(figdata.tradeoff_curves(tradeoff))
    return figures


def _table(header, rows):
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _paper_kept(model_name):
    from minnet.pruning import paper_keep_ratios
    try:
        return paper_keep_ratios(model_name)
    except ValueError:
        return {}


_CSS = """body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;
color:#222}table{border-collapse:collapse;margin:1rem 0}th,td{border:1px solid #ccc;
padding:.25rem .6rem;text-align:right}th{background:#f3f3f3}td:first-child{text-align:left}
figure{margin:1.5rem 0}img{max-width:100%}figcaption{color:#555;font-size:.9rem}
code,pre{background:#f6f6f6;padding:.1rem .3rem}pre{padding:.6rem;overflow-x:auto}"""


def render_html(report, pngs):
    """The report page as one HTML string: Table 1 line, Table 2, prune rounds, then the figures.

    report: report.json's contents; pngs: {figure stem: PNG bytes}, embedded as base64 data URIs
    so the page is a single file with no server and no external files.
    """
    err = lambda e: "-" if e is None else f"{100 * e:.2f}%"
    t1 = _table(["Network", "Top-1 test error", "Validation error", "Parameters", "Compression"], [
        [f"{report['model']} ref", err(report["error_before"]), err(report.get("val_error_before")),
         f"{report['params_before']:,}", ""],
        [f"{report['model']} pruned", err(report["error_after"]), err(report.get("val_error_after")),
         f"{report['params_after']:,}", f"{report['compression']:.1f}x"]])
    paper = _paper_kept(report["model"])
    k = lambda n: f"{n / 1e6:.1f}M" if n >= 1e6 else f"{n / 1e3:.1f}K"
    rows = [[r["name"], k(r["weights"]), k(r["flops"]), f"{r['act_pct']:.0f}%",
             f"{r['remaining_pct']:.1f}%", f"{r['remaining_flops_pct']:.1f}%",
             f"{100 * paper[r['name']]:.0f}%" if r["name"] in paper else "-"] for r in report["layers"]]
    tot = report["totals"]
    rows.append(["Total", k(tot["weights"]), k(tot["flops"]), "", f"{tot['remaining_pct']:.1f}%",
                 f"{tot['remaining_flops_pct']:.1f}%", ""])
    t2 = _table(["Layer", "Weights", "FLOP", "Act%", "Weights%", "FLOP%", "Weights% (paper)"], rows)
    t3 = _table(["Phase", "Round", "Kept", "Validation error after prune", "... after retrain"], [
        [r["phase"], r["round"], ", ".join(f"{n} {100 * v:.1f}%" for n, v in r["kept"].items()),
         err(r.get("val_error_after_prune")), err(r.get("val_error_after_retrain"))]
        for r in report["rounds"]])
    figs = "".join(
        f'<figure><img alt="{stem}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'
        f"<figcaption>{html.escape(CAPTIONS.get(stem, stem))}</figcaption></figure>"
        for stem, png in pngs.items())
    title = f"minnet pruning report: {report['model']}, seed {report.get('seed')}"
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}"
            f"</title><style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>"
            f"<p>Command: <code>{html.escape(str(report.get('command', '')))}</code></p>"
            f"<h2>Table 1: error and parameters</h2>{t1}"
            f"<h2>Table 2: per layer</h2>{t2}<pre>{html.escape(format_table(report['layers'], tot))}</pre>"
            f"<h2>Prune rounds</h2>{t3}<h2>Figures</h2>{figs}</body></html>\n")

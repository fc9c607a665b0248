"""Render a run: its figures (matplotlib Figures) and one self-contained HTML page.

Only rendering happens here: :mod:`minnet.run_folder` loads a run folder and computes its sweeps,
and ``python -m minnet report`` (:mod:`minnet.cli.report`) writes the files. The page embeds its
images as base64 data URIs with inline CSS, so it opens in a browser with no server.
"""

import base64
import html

import numpy as np

from minnet import figdata, plotting

# The figures of a run, in page order: file stem -> caption.
CAPTIONS = {
    "weight_histograms": "Weight distribution per layer before pruning, after pruning (dense weights "
                         "under the final mask) and after retraining; pruned zeros left out (paper Fig. 7).",
    "fig4_mask": "Sparsity pattern of fc1 (300 neurons x 784 inputs), drawn as paper Fig. 4: the inputs "
                 "run along the horizontal axis in 28 bands of 28, one per image row, so the image's "
                 "top and bottom rows sit at the left and right; below: kept connections per image "
                 "row, and how many neurons read each pixel.",
    "neuron_masks": "The 28 x 28 input pixels a few fc1 neurons still read after pruning.",
    "training_curves": "Validation error over the run: dense training, then retraining after each "
                       "prune round; crosses: error right after pruning, before retraining.",
    "layer_kept": "Weights and FLOPs kept per layer (paper Table 2's last columns).",
    "sensitivity": "Sensitivity: each layer pruned alone, no retraining (paper Fig. 6).",
    "tradeoff": "Accuracy vs parameters pruned, L1 and L2, with and without retraining (paper Fig. 5). "
                "Grey band: the range the paper's figure shows; beyond 8 points of loss the axis "
                "turns logarithmic so that large drops fit.",
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


_CSS = """body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;
color:#222}table{border-collapse:collapse;margin:1rem 0}th,td{border:1px solid #ccc;
padding:.25rem .6rem;text-align:right}th{background:#f3f3f3}td:first-child{text-align:left}
figure{margin:1.5rem 0}img{max-width:100%}figcaption{color:#555;font-size:.9rem}
code,pre{background:#f6f6f6;padding:.1rem .3rem}pre{padding:.6rem;overflow-x:auto}
.quick{background:#fff3cd;border:1px solid #e0c36c;padding:.6rem}"""


ACT_FLOP_NOTE = ("Act% is the fraction of a layer's outputs that are nonzero after its ReLU, measured on "
                 "a batch of images; FLOP% is the fraction of the layer's multiply-adds left, its "
                 "kept weights times the nonzero inputs they read (the previous layer's Act%).")


def render_html(report, pngs):
    """The report page as one HTML string: Table 1, Table 2 (ours beside the paper's), prune rounds,
    then the figures.

    report: report.json's contents; pngs: {figure stem: PNG bytes}, embedded as base64 data URIs
    so the page is a single file with no server and no external files. A ``--quick`` run
    (:func:`minnet.figdata.run_is_quick`) is flagged at the top: its numbers are a smoke test.
    """
    err = lambda e: "-" if e is None else f"{100 * e:.2f}%"
    paper = figdata.paper_numbers(report["model"])
    p_err = (lambda i: f"{paper['error'][i]:.2f}%") if paper else (lambda i: "-")
    p_par = (lambda i: paper["params"][i]) if paper else (lambda i: "-")
    t1 = _table(["Network", "Top-1 test error", "Validation error", "Parameters", "Compression",
                 "Paper: error", "Paper: parameters"], [
        [f"{report['model']} dense (before pruning)", err(report["error_before"]),
         err(report.get("val_error_before")), f"{report['params_before']:,}", "", p_err(0), p_par(0)],
        [f"{report['model']} pruned", err(report["error_after"]), err(report.get("val_error_after")),
         f"{report['params_after']:,}", f"{report['compression']:.1f}x", p_err(1),
         p_par(1) + (f" ({paper['compression']}x)" if paper else "")]])
    k = lambda n: f"{n / 1e6:.1f}M" if n >= 1e6 else f"{n / 1e3:.1f}K"
    pl = lambda name, key: (f"{paper['layers'][name][key]}%" if paper and name in paper["layers"]
                            else "-")
    rows = [[r["name"], k(r["weights"]), k(r["flops"]), f"{r['act_pct']:.0f}%", pl(r["name"], "act"),
             f"{r['remaining_pct']:.1f}%", pl(r["name"], "weights"),
             f"{r['remaining_flops_pct']:.1f}%", pl(r["name"], "flops")] for r in report["layers"]]
    tot = report["totals"]
    pt = (lambda key: f"{paper['total'][key]}%") if paper else (lambda key: "-")
    rows.append(["Total", k(tot["weights"]), k(tot["flops"]), "", pt("act"),
                 f"{tot['remaining_pct']:.1f}%", pt("weights"), f"{tot['remaining_flops_pct']:.1f}%",
                 pt("flops")])
    t2 = _table(["Layer", "Weights", "FLOP", "Act%", "Act% (paper)", "Weights%", "Weights% (paper)",
                 "FLOP%", "FLOP% (paper)"], rows)
    t3 = _table(["Phase", "Round", "Kept", "Validation error after prune", "... after retrain"], [
        [r["phase"], r["round"], ", ".join(f"{n} {100 * v:.1f}%" for n, v in r["kept"].items()),
         err(r.get("val_error_after_prune")), err(r.get("val_error_after_retrain"))]
        for r in report["rounds"]])
    figs = "".join(
        f'<figure><img alt="{stem}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'
        f"<figcaption>{html.escape(CAPTIONS.get(stem, stem))}</figcaption></figure>"
        for stem, png in pngs.items())
    quick = figdata.run_is_quick(report)
    title = (f"minnet pruning report: {report['model']}, seed {report.get('seed')}"
             + (" (--quick run)" if quick else ""))
    banner = ("<p class='quick'><strong>A --quick run:</strong> a slice of the data and a few "
              "epochs, to check that the pipeline works. Its errors are far from the paper's and "
              "from a full run's; do not compare them.</p>" if quick else "")
    source = ("<p>Paper columns: Han et al. 2015, Tables 1-3 (LeNet-300-100, LeNet-5).</p>"
              if paper else "<p>The paper gives no table for this network.</p>")
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}"
            f"</title><style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>{banner}"
            f"<p>Command: <code>{html.escape(str(report.get('command', '')))}</code></p>"
            f"<h2>Table 1: error and parameters</h2>{t1}{source}"
            f"<h2>Table 2: per layer</h2>{t2}<p>{html.escape(ACT_FLOP_NOTE, quote=False)}</p>"
            f"<h2>Prune rounds</h2>{t3}<h2>Figures</h2>{figs}</body></html>\n")

"""The numbers behind every figure, as plain arrays and dicts (no drawing here).

DESIGN.md: "numbers and pictures are separate". Each function below turns a model, a report or a
sweep's rows into exactly what one figure shows, so a test can check the numbers (do the histogram
counts add up to the surviving weights? is the Fig. 4 image the mask?) without looking at pixels.
:mod:`minnet.plotting` then only draws what these return.

Figures (Han et al. 2015):
    weight_histograms      Fig. 7   weight distribution before / after pruning / after retraining
    fig4_mask_image        Fig. 4   LeNet-300-100 fc1 mask, 784 inputs across in 28 bands of 28
    neuron_input_masks     -        the 28 x 28 receptive field kept by a few fc1 neurons
    sensitivity_curves     Fig. 6   accuracy vs sparsity, one curve per layer
    tradeoff_curves        Fig. 5   accuracy loss vs fraction pruned (L1/L2, retrain or not)
    training_curves        -        validation error over the epochs of a run, across prune rounds
    layer_kept             Table 2  per-layer weights and FLOPs kept
"""

import numpy as np

from minnet.errors import ConfigError

IMAGE_SIDE = 28          # MNIST images are 28 x 28; fc1 of LeNet-300-100 sees them flattened


def _layer_weights_and_mask(layer):
    w = np.asarray(layer.weight, dtype=np.float64)
    return w, np.asarray(layer.mask, dtype=bool)


def weight_histograms(stages, bins=60, layers=None):
    """Histograms of the surviving weights of each layer at each stage (paper Fig. 7).

    stages: {stage label: Sequential}, e.g. {"before pruning": dense, "after pruning": pruned_once,
            "after retraining": retrained}; all with the same architecture.
    bins: number of equal-width bins, shared by all stages of a layer (edges span the smallest to
          the largest surviving weight over the stages, so the panels are comparable).
    layers: names of the layers to include (default: every prunable layer).
    Returns {layer: {"edges": (bins + 1,) array, "stages": {label: {"counts": (bins,) int array,
    "pruned": int}}}}. ``counts`` covers only the connections the mask keeps, so
    counts.sum() == mask.sum(); ``pruned`` = mask.size - mask.sum() (the zeros drawn apart, or left
    out: otherwise one bar at 0 would dwarf the rest).
    """
    if not stages:
        raise ConfigError("weight_histograms: give at least one stage")
    first = next(iter(stages.values()))
    names = layers or [l.name for l in first.prunable_layers()]
    result = {}
    for name in names:
        kept = {}
        for label, model in stages.items():
            w, mask = _layer_weights_and_mask(model.layer(name))
            kept[label] = (w[mask], int(mask.size - mask.sum()))
        values = np.concatenate([v for v, _ in kept.values()])
        lo, hi = (float(values.min()), float(values.max())) if values.size else (-1.0, 1.0)
        if lo == hi:                       # a single value: give the bin a width
            lo, hi = lo - 0.5, hi + 0.5
        edges = np.linspace(lo, hi, bins + 1)
        result[name] = {"edges": edges, "stages": {
            label: {"counts": np.histogram(v, bins=edges)[0], "pruned": pruned}
            for label, (v, pruned) in kept.items()}}
    return result


def apply_mask(dense_model, pruned_model):
    """A copy of ``dense_model`` with the masks of ``pruned_model``: the weights right after pruning.

    A run folder keeps the dense model (before pruning) and the final model (after retraining); the
    middle panel of Fig. 7 ("after pruning, before retraining") is the dense weights under the final
    mask. For an iterative run this is what one-shot pruning to the final mask would leave.
    """
    model = dense_model.copy()
    for layer in model.prunable_layers():
        for key in layer.masks:
            layer.set_mask(key, pruned_model.layer(layer.name).masks[key])
    return model


def fig4_mask_image(mask):
    """The mask of LeNet-300-100's fc1 drawn as in paper Fig. 4: (300, 784), inputs as columns.

    mask: (300, 784) bool, Dense's W layout (out, in). Returns a copy of it as the picture: row j
    is neuron j; column c is input pixel c = 28 * image_row + image_col, so the columns fall into
    28 bands of 28, one band per image row. The paper draws the 784 inputs along the horizontal
    axis: the bands at the left and right (the image's top and bottom rows) come out almost empty,
    since digits live in the centre of the image ("sparse on the left and right").
    """
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim != 2 or mask.shape[1] != IMAGE_SIDE * IMAGE_SIDE:
        raise ConfigError(f"fig4_mask_image: expected a (units, 784) mask, got {mask.shape}")
    return mask.copy()


def input_keep_map(mask):
    """How many neurons still read each pixel: (28, 28) ints = fig4 image columns summed, reshaped."""
    return np.asarray(mask, dtype=bool).sum(axis=0).reshape(IMAGE_SIDE, IMAGE_SIDE)


def neuron_input_masks(mask, count=8):
    """The 28 x 28 input mask of a few fc1 neurons: which pixels each one still reads.

    mask: (units, 784) bool. Picks ``count`` neurons spread evenly over the ranking by number of
    surviving inputs (from the most connected to the least, skipping neurons with none), so the
    panel shows the range rather than only the extremes.
    Returns (neuron indices (k,) int, masks (k, 28, 28) bool), k = min(count, live neurons).
    """
    mask = np.asarray(mask, dtype=bool)
    kept = mask.sum(axis=1)
    live = np.flatnonzero(kept > 0)
    order = live[np.argsort(-kept[live], kind="stable")]
    k = min(count, len(order))
    if k == 0:
        return np.zeros(0, dtype=int), np.zeros((0, IMAGE_SIDE, IMAGE_SIDE), dtype=bool)
    picks = order[np.linspace(0, len(order) - 1, k).round().astype(int)]
    return picks, mask[picks].reshape(k, IMAGE_SIDE, IMAGE_SIDE)


def sensitivity_curves(rows):
    """Sensitivity rows -> {layer: (sparsity percents (n,) int, accuracy (n,) float)} (paper Fig. 6).

    rows: what :func:`minnet.pruning.sensitivity.sensitivity_analysis` returns,
    [{"layer", "sparsity" (int percent), "accuracy"}]. Layers keep their order of appearance;
    points are sorted by sparsity.
    """
    curves = {}
    for r in rows:
        curves.setdefault(r["layer"], []).append((int(r["sparsity"]), float(r["accuracy"])))
    return {name: (np.array([p for p, _ in sorted(pts)]), np.array([a for _, a in sorted(pts)]))
            for name, pts in curves.items()}


def tradeoff_curves(result):
    """Trade-off sweep -> {curve label: (percent pruned (n,) int, accuracy loss in points (n,))}.

    result: what :func:`minnet.tradeoff.tradeoff_sweep` returns. Labels follow paper Fig. 5, e.g.
    "L2 regularization w/o retrain", "L1 regularization w/ retrain",
    "L2 regularization w/ iterative prune and retrain". Loss = 100 x (dense accuracy - accuracy).
    """
    names = {"none": "w/o retrain", "retrain": "w/ retrain", "iterative": "w/ iterative prune and retrain"}
    curves = {}
    for r in result["rows"]:
        label = f"{r['regularization'].upper()} regularization {names[r['mode']]}"
        curves.setdefault(label, []).append((int(r["pruned"]), 100.0 * float(r["accuracy_loss"])))
    return {label: (np.array([p for p, _ in sorted(pts)]), np.array([v for _, v in sorted(pts)]))
            for label, pts in curves.items()}


def training_curves(history):
    """Validation error per epoch over a whole run, with the step each epoch belongs to.

    history: report["history"] / history.json, a list of per-step fit histories
    [{"step": "train"|"retrain", "phase", "round", "epoch": [...], "val_acc": [...], ...}].
    Returns {"epoch": (E,) running epoch number 1..E over all steps, "val_error": (E,) in percent
    (NaN where a step had no validation set), "train_loss": (E,), "steps": [{"label", "start", "end"}]}
    where start/end are the running epoch numbers of a step's first and last epoch.
    """
    errors, losses, steps, n = [], [], [], 0
    for h in history:
        k = len(h["epoch"])
        if k == 0:
            continue
        errors += [np.nan if a is None else 100.0 * (1.0 - a) for a in h["val_acc"]]
        losses += list(h["loss"])
        if h["step"] == "train":
            label = "dense training"
        elif h["step"] == "finetune":
            label = "fine-tune all"
        else:
            label = f"{h['phase']} round {h['round']}"
        steps.append({"label": label, "start": n + 1, "end": n + k})
        n += k
    return {"epoch": np.arange(1, n + 1), "val_error": np.array(errors, dtype=float),
            "train_loss": np.array(losses, dtype=float), "steps": steps}


def layer_kept(report):
    """Per-layer weights and FLOPs kept (paper Table 2 columns), for a bar chart.

    report: report.json's contents. Returns {"names": [...], "weights_pct": (L,), "flops_pct": (L,),
    "total_weights_pct": float, "total_flops_pct": float}, percentages 0-100.
    """
    rows = report["layers"]
    return {"names": [r["name"] for r in rows],
            "weights_pct": np.array([r["remaining_pct"] for r in rows], dtype=float),
            "flops_pct": np.array([r["remaining_flops_pct"] for r in rows], dtype=float),
            "total_weights_pct": float(report["totals"]["remaining_pct"]),
            "total_flops_pct": float(report["totals"]["remaining_flops_pct"])}


# The paper's Tables 1-3 for the LeNets (Han et al. 2015; ../shared/PAPER.md): top-1 test error (%)
# and parameters before / after, and per layer (Act%, FLOP% kept); Weights% kept comes from
# minnet.pruning.paper_keep_ratios, the one copy of those numbers.
PAPER_LENETS = {
    "lenet300": {"error": (1.64, 1.59), "params": ("267K", "22K"), "compression": 12,
                 "act_flop": {"fc1": (38, 8), "fc2": (65, 4), "fc3": (100, 17)},
                 "total": {"act": 46, "weights": 8, "flops": 8}},
    "lenet5": {"error": (0.80, 0.77), "params": ("431K", "36K"), "compression": 12,
               "act_flop": {"conv1": (82, 66), "conv2": (72, 10), "fc1": (55, 6), "fc2": (100, 10)},
               "total": {"act": 77, "weights": 8, "flops": 16}},
}


def paper_numbers(model):
    """The paper's numbers for ``model`` beside a run's: None when the paper has no LeNet table.

    Returns {"error": (dense %, pruned %), "params": (dense, pruned) as the paper writes them,
    "compression": x, "layers": {name: {"act": %, "weights": %, "flops": %}}, "total": {...}}.
    """
    from minnet.pruning import paper_keep_ratios
    paper = PAPER_LENETS.get(model)
    if paper is None:
        return None
    keep = paper_keep_ratios(model)
    layers = {name: {"act": act, "weights": round(100 * keep[name]), "flops": flops}
              for name, (act, flops) in paper["act_flop"].items()}
    return {"error": paper["error"], "params": paper["params"], "compression": paper["compression"],
            "layers": layers, "total": dict(paper["total"])}


def run_is_quick(report):
    """True when report.json describes a ``--quick`` run (a data slice, few epochs: a smoke test).

    Read from a "quick" flag if the run recorded one, else from the command line, else from the
    config matching every field --quick sets (:func:`minnet.recipes.quick_overrides`).
    """
    from minnet.recipes import quick_overrides
    cfg = report.get("config") or {}
    if report.get("quick") or cfg.get("quick"):
        return True
    if "--quick" in str(report.get("command") or "").split():
        return True
    overrides = quick_overrides(cfg.get("model") or report.get("model") or "")
    return bool(cfg) and all(cfg.get(k) == v for k, v in overrides.items())

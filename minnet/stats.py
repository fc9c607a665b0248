"""Per-layer numbers of a (pruned) model, as data: weights, survivors, FLOPs (paper Tables 2-5).

Definitions (Han et al. 2015, Tables 2-5):
    weights          W.size (biases are counted in the model totals, not per layer)
    remaining        number of kept connections (True entries of the mask)
    flops            2 x multiply-adds of the dense layer for one input example:
                       Dense  (out, in):              2 * out * in
                       Conv2D (out, in/g, kh, kw):    2 * W.size * H_out * W_out
    remaining_flops  flops x (remaining / weights) x (fraction of nonzero input activations):
                     a pruned weight and a zero input both skip their multiply-add. As in the
                     paper's tables, the network's own input (the image) counts as dense.
    act_fraction     fraction of nonzero *outputs* of the layer (after its fused ReLU), the "Act%"
                     column; the next prunable layer's input fraction is the previous one's output
                     fraction as seen after any pooling/flatten in between.
Output sizes and activation fractions come from one forward pass on a sample batch
(:func:`profile_activations`); numbers only, no plotting here.
"""

import numpy as np


def profile_activations(model, sample):
    """Run ``sample`` (N, ...) through the model in inference mode and record, per layer,
    {"input_shape", "output_shape" (without N), "input_nonzero", "output_nonzero"} (fractions in [0, 1]).
    """
    x = np.asarray(sample)
    if model.dtype is not None and x.dtype != model.dtype:
        x = x.astype(model.dtype)
    profile = {}
    for layer in model.layers:
        y = layer.forward(x, training=False)
        profile[layer.name] = {"input_shape": tuple(x.shape[1:]), "output_shape": tuple(y.shape[1:]),
                               "input_nonzero": float(np.count_nonzero(x) / x.size),
                               "output_nonzero": float(np.count_nonzero(y) / y.size)}
        x = y
    return profile


def layer_flops(layer, output_shape):
    """2 x multiply-adds of one dense forward pass of ``layer`` for one example.

    Dense: 2 * W.size. Conv2D: 2 * W.size * H_out * W_out (each output position reuses every weight
    once; W.size = out * in/groups * kh * kw already accounts for groups).
    """
    w = layer.weight
    if layer.kind == "conv":
        return 2 * int(w.size) * int(np.prod(output_shape[1:]))
    return 2 * int(w.size)


def layer_stats(model, sample, activation_sparsity=True):
    """One row per prunable layer: the numbers of the paper's per-layer tables, as dicts.

    sample: a batch (N, ...) for the forward pass that gives output sizes and activation fractions.
    activation_sparsity=False counts every input activation as nonzero (remaining_flops then scale
    with the kept weights only, e.g. for randomly initialised AlexNet/VGG-16).
    Row keys: name, kind, shape, weights, remaining, remaining_pct, input_act_pct, act_pct, flops,
    remaining_flops, remaining_flops_pct (percentages 0-100).
    """
    profile = profile_activations(model, sample)
    rows, first = [], True
    for layer in model.layers:
        if "W" not in layer.masks:
            continue
        p = profile[layer.name]
        weights = int(layer.weight.size)
        remaining = layer.n_kept
        # The image is the network's input, not an activation: the paper's tables count it dense.
        input_act = 1.0 if first or not activation_sparsity else p["input_nonzero"]
        first = False
        flops = layer_flops(layer, p["output_shape"])
        remaining_flops = flops * (remaining / weights) * input_act
        rows.append({"name": layer.name, "kind": layer.kind, "shape": list(layer.weight.shape),
                     "weights": weights, "remaining": remaining,
                     "remaining_pct": 100.0 * remaining / weights,
                     "input_act_pct": 100.0 * input_act,
                     "act_pct": 100.0 * (p["output_nonzero"] if activation_sparsity else 1.0),
                     "flops": flops, "remaining_flops": int(round(remaining_flops)),
                     "remaining_flops_pct": 100.0 * remaining_flops / flops})
    return rows


def model_totals(model, rows):
    """Whole-model totals from ``layer_stats`` rows plus the model's biases and other parameters.

    params counts every parameter; remaining_params counts kept weights plus all unmasked
    parameters (biases are never pruned). compression = params / remaining_params (Table 1).
    """
    params = model.count_params()
    pruned_away = sum(int(m.size - m.sum()) for l in model.layers for m in l.masks.values())
    weights = sum(r["weights"] for r in rows)
    remaining = sum(r["remaining"] for r in rows)
    flops = sum(r["flops"] for r in rows)
    remaining_flops = sum(r["remaining_flops"] for r in rows)
    return {"weights": weights, "remaining": remaining, "remaining_pct": 100.0 * remaining / weights,
            "params": params, "remaining_params": params - pruned_away,
            "compression": params / (params - pruned_away),
            "flops": flops, "remaining_flops": remaining_flops,
            "remaining_flops_pct": 100.0 * remaining_flops / flops if flops else 0.0}


def format_table(rows, totals):
    """A text table in the form of the paper's Table 2: Layer, Weights, FLOP, Act%, Weights%, FLOP%."""
    def k(n):
        return f"{n / 1e6:.1f}M" if n >= 1e6 else f"{n / 1e3:.1f}K"
    lines = [f"{'Layer':<10}{'Weights':>10}{'FLOP':>10}{'Act%':>7}{'Weights%':>10}{'FLOP%':>8}"]
    for r in rows:
        lines.append(f"{r['name']:<10}{k(r['weights']):>10}{k(r['flops']):>10}{r['act_pct']:>6.0f}%"
                     f"{r['remaining_pct']:>9.1f}%{r['remaining_flops_pct']:>7.1f}%")
    lines.append(f"{'Total':<10}{k(totals['weights']):>10}{k(totals['flops']):>10}{'':>7}"
                 f"{totals['remaining_pct']:>9.1f}%{totals['remaining_flops_pct']:>7.1f}%")
    return "\n".join(lines)

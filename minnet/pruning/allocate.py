"""From sensitivity curves to per-layer thresholds: the paper's rule, with one knob.

Han et al. 2015 prune a layer's connections below ``q x std`` (sec. 2, their Caffe code), with each
layer's quality parameter q set from its sensitivity (Fig. 6: "the most sensitive layer gets the
smallest threshold"). The paper does not say how the q's were picked; minnet makes it a rule:

1. **Scan** (:func:`minnet.pruning.sensitivity_analysis`): prune each layer alone at sparsities
   s = 0 .. 99% on the trained weights, no retraining, and measure the validation loss L_l(s).
2. **Equal damage**: for a tolerated loss increase eps, layer l may be pruned up to
   s_l(eps) = the sparsity where L_l(s) - L_l(0) first exceeds eps (linear between scan points).
   A layer whose loss rises early (sensitive) stops at a small s, so a small q; a layer that does
   not care is pruned far. eps is the one number the rule needs, and it is found by bisection so
   that the whole model, biases counted, is ``compression`` times smaller: the user's one knob.
3. **q from the curve**: q_l = (the |w| at quantile s_l of the layer's weights) / std_l, where
   std_l is the std before the first prune. Pruning |w| <= q_l x std_l removes exactly s_l.
4. **Iterate** (:func:`round_factor`): round r of R aims at keep_l^(r/R) of each layer (geometric,
   like the sparsity schedule) and prunes |w| <= c_r x q_l x std_l, with one factor c_r for all the
   layers of the phase, solved on the *current* weights. Retraining moves weights (survivors
   spread out, Fig. 7), so the fixed q_l alone would land short of the target; one shared factor
   corrects that and keeps the layers' ratios, hence their order of sensitivity.
"""

import numpy as np

from minnet.errors import ConfigError

# Scan levels in integer percent: coarse where nothing happens, fine where the curves bend.
SCAN_LEVELS = (0, 20, 40, 50, 60, 70, 75, 80, 84, 87, 90, 92, 94, 95, 96, 97, 98, 99)


def curves_from_rows(rows):
    """{layer: (sparsity fractions (K,), loss increases (K,))} from sensitivity_analysis rows.

    Needs a 0% level per layer (the unpruned loss that increases are measured from).
    """
    curves = {}
    for row in rows:
        curves.setdefault(row["layer"], []).append((row["sparsity"] / 100.0, row["loss"]))
    out = {}
    for name, points in curves.items():
        points.sort()
        s = np.array([p[0] for p in points])
        loss = np.array([p[1] for p in points])
        if s[0] != 0.0:
            raise ConfigError(f"the scan of {name} has no 0% level to measure increases from")
        out[name] = (s, loss - loss[0])
    return out


def tolerated_sparsity(sparsities, increases, tolerance):
    """The largest sparsity reached before the loss increase first exceeds ``tolerance``.

    sparsities (K,) ascending from 0, increases (K,) with increases[0] = 0; linear between points.
    Example: s = [0, .5, .9], inc = [0, .1, .5], tolerance .3 -> .5 + .4 * (.3 - .1) / (.5 - .1) = .7
    """
    for k in range(1, len(sparsities)):
        if increases[k] > tolerance:
            below = max(tolerance - increases[k - 1], 0.0)
            frac = below / (increases[k] - increases[k - 1]) if increases[k] > increases[k - 1] else 0.0
            return float(sparsities[k - 1] + frac * (sparsities[k] - sparsities[k - 1]))
    return float(sparsities[-1])


def allocate(curves, sizes, total_params, compression):
    """Per-layer sparsities of equal validation damage that make the model ``compression`` x smaller.

    curves: from :func:`curves_from_rows`; sizes: {layer: number of weights}; total_params: all the
    model's parameters (biases and unpruned layers stay). Finds the smallest tolerance eps (by
    bisection, 60 steps) at which sum_l sizes_l (1 - s_l(eps)) + fixed <= total / compression;
    where s_l(eps) jumps there (a noisy or flat curve), the sparsities just before and after the
    jump are blended so the model keeps exactly total / compression.
    Returns {"tolerance": eps, "sparsity": {layer: s_l}, "predicted_compression": float}.
    Raises ConfigError if even the scan's deepest level cannot reach ``compression``.
    """
    fixed = total_params - sum(sizes.values())
    budget = total_params / compression

    def kept(eps):
        return fixed + sum(n * (1.0 - tolerated_sparsity(*curves[l], eps)) for l, n in sizes.items())

    hi = max(float(inc.max()) for s, inc in curves.values()) + 1.0
    if kept(hi) > budget:
        raise ConfigError(f"a compression of {compression:g}x is out of reach: pruning every layer "
                          f"to the scan's deepest level gives {total_params / kept(hi):.1f}x; "
                          "lower --compression")
    lo = 0.0
    if kept(lo) <= budget:         # flat curves: the target costs nothing, even pruned this far
        s_lo, k_lo, hi = {l: 0.0 for l in sizes}, float(total_params), lo
    else:
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            lo, hi = (lo, mid) if kept(mid) <= budget else (mid, hi)
        s_lo, k_lo = {l: tolerated_sparsity(*curves[l], lo) for l in sizes}, kept(lo)
    # A curve that dips (a scan on few images is noisy) or stays flat makes s_l(eps) jump: past the
    # jump the model may be far smaller than asked (a 12x target gave 19-32x on a 200-image scan).
    # Close the gap with one blend t of the layers' sparsities just before and after it, so the kept
    # count is the budget (a layer whose sparsity did not jump is unchanged). Within one weight of
    # the budget there is no jump to close, and s_l(hi) is kept as it is (smooth curves).
    s_hi, k_hi = {l: tolerated_sparsity(*curves[l], hi) for l in sizes}, kept(hi)
    t = max(0.0, (k_lo - budget) / (k_lo - k_hi)) if k_hi < budget - 1.0 else 1.0
    sparsity = s_hi if t == 1.0 else {l: s_lo[l] + t * (s_hi[l] - s_lo[l]) for l in sizes}
    kept_blend = fixed + sum(n * (1.0 - sparsity[l]) for l, n in sizes.items())
    return {"tolerance": hi, "sparsity": sparsity, "predicted_compression": total_params / kept_blend}


def quality_for_sparsity(w, std, sparsity):
    """q such that pruning |w| <= q x std removes the fraction ``sparsity`` of w.

    w: the layer's weights (any shape); std > 0: its std before the first prune. q is the
    |w| at that quantile over std (0 when sparsity is 0).
    """
    if sparsity <= 0.0:
        return 0.0
    k = int(round(sparsity * w.size))
    if k == 0:
        return 0.0
    magnitudes = np.sort(np.abs(w), axis=None)
    return float(magnitudes[min(k, w.size) - 1]) / std


def round_factor(weights, masks, qualities, stds, planned_kept, floor=0.0):
    """The shared factor c of one round: pruning |w| <= c x q_l x std_l keeps <= ``planned_kept``.

    weights, masks: lists (one per layer of the phase) of the current weights and keep-masks;
    qualities, stds: the layers' q_l and std before the first prune; planned_kept: the round's
    total number of weights to keep; floor: the previous round's factor (thresholds never fall).
    Each kept weight has a ratio |w| / (q_l std_l) (inf for q_l = 0: such a layer is never pruned);
    c is the (planned_kept + 1)-th largest ratio, so exactly planned_kept survive (barring ties),
    or ``floor`` if that is larger. Returns c.
    """
    ratios = []
    for w, m, q, s in zip(weights, masks, qualities, stds):
        scale = q * s
        r = np.abs(w[m]).astype(np.float64)
        ratios.append(r / scale if scale > 0 else np.full(r.shape, np.inf))
    r = np.concatenate(ratios) if ratios else np.zeros(0)
    if planned_kept >= r.size:
        return float(floor)
    c = float(np.partition(r, r.size - planned_kept - 1)[r.size - planned_kept - 1])
    return max(c, float(floor))

"""Reference solution to exercise 8 (per-layer sparsities from a scan). See ../ex08_layer_sparsities.py."""

import numpy as np


def tolerated_sparsity(sparsities, increases, tolerance):
    """Linear interpolation at the first scan point whose increase exceeds the tolerance."""
    for k in range(1, len(sparsities)):
        if increases[k] > tolerance:
            below = max(tolerance - increases[k - 1], 0.0)    # a dip may already sit above it
            rise = increases[k] - increases[k - 1]
            frac = below / rise if rise > 0 else 0.0
            return float(sparsities[k - 1] + frac * (sparsities[k] - sparsities[k - 1]))
    return float(sparsities[-1])                              # never exceeded: the deepest level


def choose_sparsities(curves, sizes, compression):
    """Equal damage: the smallest tolerated increase eps whose sparsities reach the target."""
    increases = {name: (np.asarray(s, float), np.asarray(loss, float) - loss[0])
                 for name, (s, loss) in curves.items()}
    total = sum(w + b for w, b in sizes.values())
    biases = sum(b for _, b in sizes.values())
    budget = total / compression                              # parameters we may keep

    def kept(eps):
        return biases + sum(w * (1.0 - tolerated_sparsity(*increases[name], eps))
                            for name, (w, _) in sizes.items())

    lo, hi = 0.0, max(float(inc.max()) for _, inc in increases.values()) + 1.0
    if kept(hi) > budget:
        raise ValueError(f"{compression}x is out of reach even at the deepest scanned levels")
    if kept(lo) <= budget:
        hi = lo                                               # no damage needed at all
    for _ in range(60):                                       # kept(eps) only falls as eps grows
        if hi == lo:
            break
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if kept(mid) <= budget else (mid, hi)
    return {name: tolerated_sparsity(*increases[name], hi) for name in curves}

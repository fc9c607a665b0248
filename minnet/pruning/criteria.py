"""Pruning criteria: pure functions that map weight arrays to boolean keep-masks (True = keep).

The paper prunes by magnitude (Han et al. 2015, sec. 2): a connection whose |w| is small contributes
little, so it is removed. Three ways to choose "small" live here:

* :func:`prune_by_std`       the paper's rule, threshold = quality x std of the layer's weights;
* :func:`prune_by_sparsity`  a target fraction per layer (keep the largest-|w| fraction);
* :func:`prune_global`       one magnitude threshold shared by every layer.

None of them touches a layer: they take arrays and return masks, and the pipeline applies the masks
with ``layer.set_mask``. Biases are never pruned (the paper prunes connections, i.e. weights).
"""

import numpy as np

from minnet.errors import ConfigError, DTypeError


def _check_weights(w, where):
    if not isinstance(w, np.ndarray) or w.dtype.kind != "f":
        got = w.dtype if isinstance(w, np.ndarray) else type(w).__name__
        raise DTypeError(f"{where}: expected a float weight array, got {got}")
    if w.size == 0:
        raise ConfigError(f"{where}: the weight array is empty")
    if not np.isfinite(w).all():
        bad = int(np.size(w) - np.count_nonzero(np.isfinite(w)))
        raise ConfigError(f"{where}: {bad} weights are NaN or inf; no threshold can be computed "
                         "(the model diverged: retrain it with a lower learning rate)")


def check_sparsity(sparsity, where="sparsity"):
    """Return ``sparsity`` as a float, or raise ValueError unless it lies in [0, 1).

    Sparsity is the fraction of connections *removed*; 1.0 would remove them all and leave a network
    that cannot compute anything, so it is refused.
    """
    try:
        s = float(sparsity)
    except (TypeError, ValueError):
        raise ConfigError(f"{where} must be a number in [0, 1), got {sparsity!r}") from None
    if not 0.0 <= s < 1.0:
        raise ConfigError(f"{where} must be in [0, 1) (the fraction of weights removed), got {sparsity}")
    return s


def check_quality(quality, where="quality"):
    """Return ``quality`` as a float, or raise ValueError unless it is a finite number > 0."""
    try:
        q = float(quality)
    except (TypeError, ValueError):
        raise ConfigError(f"{where} must be a number > 0, got {quality!r}") from None
    if not (np.isfinite(q) and q > 0.0):
        raise ConfigError(f"{where} must be a finite number > 0 (threshold = quality x std), got {quality}")
    return q


def prune_by_std(w, quality, std=None):
    """The paper's rule: keep |w| > quality * std (Han et al. 2015, sec. 2; their Caffe code).

    w: weight array of any shape; quality: the quality parameter q > 0; std: the standard deviation
    of the layer's weights *before the first prune* (``layer.pruning_record.std_before``), or None
    for ``np.std(w)``. Using the original std keeps the threshold's scale fixed across rounds: the
    std of an already-pruned layer is smaller, and the same q would then prune less each round.
    Returns a bool array shaped like w. On Gaussian-like weights q = 1 removes about 68%.

    Example: w = [-0.3, 0.05, 0.2, -0.01], std = 0.1, q = 1.5 -> threshold 0.15
             -> mask [True, False, True, False]
    """
    _check_weights(w, "prune_by_std")
    q = check_quality(quality)
    s = float(np.std(w)) if std is None else float(std)
    if not (np.isfinite(s) and s >= 0.0):
        raise ConfigError(f"prune_by_std: std must be finite and >= 0, got {std}")
    return np.abs(w) > q * s


def keep_count(size, sparsity):
    """How many of ``size`` connections survive at ``sparsity``: round((1 - sparsity) * size), >= 1.

    At least one connection is kept so that no layer is cut off entirely.
    """
    s = check_sparsity(sparsity)
    return max(1, int(round((1.0 - s) * size)))


def _top_k_mask(magnitudes, k):
    """Flat bool mask of the k largest entries; ties at the cut go to the lowest indices.

    np.partition finds the k-th largest value v in O(n) (a full sort of AlexNet's fc6, 38M weights,
    takes seconds). Everything above v is kept; of the entries equal to v, the first ones by index
    fill the remaining places, so the same weights always give the same mask.
    """
    n = magnitudes.size
    if k >= n:
        return np.ones(n, dtype=bool)
    v = np.partition(magnitudes, n - k)[n - k]
    mask = magnitudes > v
    ties = np.flatnonzero(magnitudes == v)
    mask[ties[:k - int(mask.sum())]] = True
    return mask


def prune_by_sparsity(w, sparsity):
    """Keep the round((1 - sparsity) * w.size) weights of largest |w| (at least one).

    w: weight array of any shape; sparsity in [0, 1): the fraction removed. Ties in |w| are broken
    towards the lower flat (C-order) index, so the result is deterministic.
    Returns a bool array shaped like w.

    Example: w = [0.1, -0.4, 0.1, 0.3], sparsity 0.5 -> keep 2 -> mask [False, True, False, True]
             w = [0.2, 0.2, 0.2, 0.2], sparsity 0.5 -> tie    -> mask [True, True, False, False]
    """
    _check_weights(w, "prune_by_sparsity")
    k = keep_count(w.size, sparsity)
    return _top_k_mask(np.abs(w).ravel(), k).reshape(w.shape)


def prune_global(weights, sparsity):
    """One magnitude threshold across layers: keep the largest-|w| fraction of *all* the weights.

    weights: a list of arrays (one per layer); sparsity in [0, 1): the fraction removed overall.
    Layers with larger weights keep more of them. Ties are broken towards the earlier layer and then
    the lower flat index. Returns a list of bool masks, shaped like the inputs.

    Example: [[0.1, 0.5], [0.3, 0.2]], sparsity 0.5 -> keep the 2 largest (0.5, 0.3)
             -> [[False, True], [True, False]]
    """
    weights = list(weights)
    if not weights:
        raise ConfigError("prune_global: no weight arrays given")
    for i, w in enumerate(weights):
        _check_weights(w, f"prune_global (array {i})")
    flat = np.concatenate([np.abs(w).ravel().astype(np.float64) for w in weights])
    keep = _top_k_mask(flat, keep_count(flat.size, sparsity))
    masks, start = [], 0
    for w in weights:
        masks.append(keep[start:start + w.size].reshape(w.shape))
        start += w.size
    return masks


def prune_probabilistic(w, sparsity, rng):
    """Keep each weight at random with probability p_i = min(1, |w_i| / tau) (paper sec. 3.4's
    "probabilistic pruning of parameters based on their absolute value", which it found worse).

    w: weight array of any shape; sparsity in [0, 1): the *expected* fraction removed; rng: a
    NumPy Generator (the only source of randomness). tau > 0 is solved (bisection on the mean of
    p, which falls as tau grows) so that sum_i p_i = round((1 - sparsity) * w.size).
    Why this rule: it is the most literal reading of the paper's sentence with no free parameter:
    the chance of surviving is proportional to |w|, is 0 only for w = 0, and weights above tau
    survive for certain. At high sparsity tau exceeds every |w| (on Gaussian weights at 90%,
    tau ~ 10 x mean |w|), so even the largest weights may go: that is what makes it worse than
    magnitude pruning, which keeps exactly the largest. At least one weight is kept (the largest).
    Returns a bool array shaped like w.

    Example: w = [0.1, 0.2, 0.4, 0.8], sparsity 0.5 -> keep 2 expected -> tau = 0.7:
             p = [0.14, 0.29, 0.57, 1]
    """
    _check_weights(w, "prune_probabilistic")
    target = (1.0 - check_sparsity(sparsity)) * w.size
    a = np.abs(w).astype(np.float64).ravel()
    if not np.isfinite(a).all():
        raise ConfigError("prune_probabilistic: the weights contain NaN or inf")
    lo, hi = 0.0, max(float(a.max()), 1e-300) * w.size   # mean p(lo) = 1 >= target >= mean p(hi)
    for _ in range(100):
        tau = 0.5 * (lo + hi)
        lo, hi = (tau, hi) if np.minimum(1.0, a / tau).sum() > target else (lo, tau)
    p = np.minimum(1.0, a / hi)
    keep = rng.random(a.size) < p
    keep[np.argmax(a)] = True
    return keep.reshape(w.shape)

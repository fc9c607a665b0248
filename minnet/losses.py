"""Softmax cross-entropy, the loss of every network in the paper."""

import numpy as np

from minnet.errors import ConfigError, DTypeError, ShapeError
from minnet.kernels.loss import softmax_xent
from minnet.layers.base import check_float_array


def softmax_cross_entropy(logits, y):
    """Mean softmax cross-entropy and its gradient with respect to the logits.

    logits: (N, C) float, y: (N,) integer labels in [0, C).
        p = softmax(logits)                       computed as exp(z - max z) / sum: stable for huge z
        loss = -(1/N) sum_n log p[n, y_n]         log p taken as (z - max z) - log sum exp(z - max z)
        dlogits = (p - onehot(y)) / N
    Returns (loss as a Python float, dlogits of shape (N, C) and the logits' dtype).
    One Numba pass does it all (:func:`minnet.kernels.loss.softmax_xent`); the same formula in
    NumPy, step by step, is :func:`minnet.kernels.reference.softmax_cross_entropy`.
    """
    check_float_array(logits, "softmax_cross_entropy")
    if logits.ndim != 2:
        raise ShapeError(f"softmax_cross_entropy: logits must be (N, C), got shape {logits.shape}")
    y = np.asarray(y)
    n, c = logits.shape
    if y.shape != (n,):
        raise ShapeError(f"softmax_cross_entropy: labels must have shape ({n},), got {y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        raise DTypeError(f"softmax_cross_entropy: labels must be integers, got dtype {y.dtype}")
    dlogits = np.empty_like(logits)
    loss, bad_row = softmax_xent(np.ascontiguousarray(logits), y, dlogits)
    if bad_row >= 0:
        raise ConfigError(f"softmax_cross_entropy: labels must lie in [0, {c}), "
                         f"got {y[bad_row]} at row {bad_row} (values from {y.min()} to {y.max()})")
    return float(loss), dlogits

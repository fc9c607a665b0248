"""Plain NumPy ground truth for every Numba kernel in :mod:`minnet.kernels`.

These are written for clarity, not speed. Tests assert that each ``@njit`` kernel returns the same
numbers as its reference here (see ``tests/test_kernels.py``).
"""

import numpy as np


def bias_relu_forward(z, b):
    """y = max(z + b, 0) for z (N, F) and b (F,)."""
    return np.maximum(z + b, 0)


def relu_backward(dout, y):
    """dz = dout * [y > 0] for dout, y of the same shape (y is the ReLU output)."""
    return dout * (y > 0)


def dropout_forward(x, u, rate):
    """Inverted dropout: keep where u >= rate, scale kept values by 1 / (1 - rate).

    Returns (out, scale) with scale = [u >= rate] / (1 - rate), the factor backward multiplies by.
    """
    scale = (u >= rate).astype(x.dtype) / x.dtype.type(1 - rate)
    return x * scale, scale


def masked_sgd_update(w, v, g, mask, lr, momentum, weight_decay, l1):
    """One SGD step with momentum, L2 and L1 (Caffe's convention), pruned entries pinned at zero.

    v <- momentum * v + lr * (g + weight_decay * w + l1 * sign(w));  w <- w - v;
    where mask is False: w = 0 and v = 0. Returns new (w, v).
    """
    step = g + weight_decay * w + l1 * np.sign(w)
    v = momentum * v + lr * step
    w = w - v
    w = np.where(mask, w, 0).astype(w.dtype)
    v = np.where(mask, v, 0).astype(v.dtype)
    return w, v

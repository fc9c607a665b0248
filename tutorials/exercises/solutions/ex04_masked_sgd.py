"""Reference solution to exercise 4 (masked SGD with momentum). See ../ex04_masked_sgd.py."""

import numpy as np


def masked_sgd_step(w, v, g, mask, lr, momentum, weight_decay):
    """Caffe's momentum update on the kept entries; pruned weights and velocities pinned at 0."""
    v_new = momentum * v + lr * (g + weight_decay * w)
    w_new = w - v_new
    return np.where(mask, w_new, 0.0), np.where(mask, v_new, 0.0)

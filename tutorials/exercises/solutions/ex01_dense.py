"""Reference solution to exercise 1 (Dense forward and backward). See ../ex01_dense.py for the text."""

import numpy as np


def dense_forward(x, W, b):
    """y = x W^T + b;  x (N, in), W (out, in), b (out,) -> y (N, out)."""
    return x @ W.T + b


def dense_backward(dout, x, W, mask=None):
    """(dx, dW, db) = (dout W, dout^T x masked, sum_n dout)."""
    dx = dout @ W                    # (N, out) @ (out, in) -> (N, in)
    dW = dout.T @ x                  # (out, N) @ (N, in)   -> (out, in)
    db = dout.sum(axis=0)            # (out,)
    if mask is not None:
        dW = np.where(mask, dW, 0.0)  # a pruned connection does not learn
    return dx, dW, db

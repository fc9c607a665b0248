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


# -- CSR kernels (minnet.kernels.csr) --------------------------------------------------------------

def csr_to_dense(indptr, indices, data, shape):
    """The dense matrix (rows, cols) a CSR triple stands for; repeated (i, j) entries add up."""
    dense = np.zeros(shape, dtype=data.dtype)
    rows = np.repeat(np.arange(shape[0]), np.diff(indptr))
    np.add.at(dense, (rows, indices.astype(np.int64)), data)
    return dense


def csr_matmul_t(indptr, indices, data, bias, relu, xt):
    """Y^T = act(W X^T + b) with W densified: xt (cols, N) -> (rows, N); act = ReLU if relu."""
    W = csr_to_dense(indptr, indices, data, (indptr.shape[0] - 1, xt.shape[0]))
    z = W @ xt + bias[:, None]
    return np.maximum(z, 0) if relu else z


def csr_matvec(indptr, indices, data, bias, relu, x):
    """y = act(W x + b) for one vector x (cols,) -> (rows,)."""
    return csr_matmul_t(indptr, indices, data, bias, relu, x[:, None])[:, 0]


def csr_sddmm_t(indptr, indices, dzt, xt):
    """The dense gradient dW = dZ^T X, read off at the stored entries: (nnz,) in data's order."""
    rows = np.repeat(np.arange(indptr.shape[0] - 1), np.diff(indptr))
    dW = dzt @ xt.T
    return dW[rows, indices.astype(np.int64)]


def csr_t_matmul_t(indptr, indices, data, dzt, n_cols):
    """dX^T = W^T dZ^T with W densified: dzt (rows, N) -> (n_cols, N). Takes W's own CSR (not the
    transposed structure), so it also checks that the transposed structure is right."""
    W = csr_to_dense(indptr, indices, data, (indptr.shape[0] - 1, n_cols))
    return W.T @ dzt

"""Plain NumPy ground truth for every Numba kernel in :mod:`minnet.kernels`.

These are written for clarity, not speed. Tests assert that each ``@njit`` kernel returns the same
numbers as its reference here (``tests/test_losses_kernels.py``, ``tests/test_csr_kernels.py``, ``tests/test_conv.py``,
``tests/test_properties.py``).
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

def _entry_rows(block_ptr):
    """Row of every stored entry; block_ptr (n_blocks, rows + 1), or a plain CSR indptr."""
    block_ptr = np.atleast_2d(block_ptr)
    rows = np.arange(block_ptr.shape[1] - 1)
    return np.concatenate([rows[:0]] + [np.repeat(rows, np.diff(p)) for p in block_ptr])


def csr_to_dense(block_ptr, indices, data, shape):
    """The dense matrix (rows, cols) a CSR triple stands for; repeated (i, j) entries add up."""
    dense = np.zeros(shape, dtype=data.dtype)
    np.add.at(dense, (_entry_rows(block_ptr), indices.astype(np.int64)), data)
    return dense


def csr_matmul_t(block_ptr, indices, data, bias, relu, xt):
    """Y^T = act(W X^T + b) with W densified: xt (cols, N) -> (rows, N); act = ReLU if relu."""
    W = csr_to_dense(block_ptr, indices, data, (np.shape(block_ptr)[-1] - 1, xt.shape[0]))
    z = W @ xt + bias[:, None]
    return np.maximum(z, 0) if relu else z


def csr_matvec(block_ptr, indices, data, bias, relu, x):
    """y = act(W x + b) for one vector x (cols,) -> (rows,)."""
    return csr_matmul_t(block_ptr, indices, data, bias, relu, x[:, None])[:, 0]


def csr_sddmm_t(block_ptr, indices, dzt, xt):
    """The dense gradient dW = dZ^T X, read off at the stored entries: (nnz,) in data's order."""
    dW = dzt @ xt.T
    return dW[_entry_rows(block_ptr), indices.astype(np.int64)]


def csr_t_matmul_t(block_ptr, indices, data, dzt, n_cols):
    """dX^T = W^T dZ^T with W densified: dzt (rows, N) -> (n_cols, N). Takes W's own CSR (not the
    transposed structure), so it also checks that the transposed structure is right."""
    W = csr_to_dense(block_ptr, indices, data, (np.shape(block_ptr)[-1] - 1, n_cols))
    return W.T @ dzt


# -- convolution and pooling kernels (minnet.kernels.conv) -----------------------------------------

def _conv_out(size, k, s, p):
    return (size + 2 * p - k) // s + 1


def im2col(x, kh, kw, sh, sw, ph, pw):
    """x (N, C, H, W) -> col (C*kh*kw, N*OH*OW): row (c, i, j), column (n, oy, ox) holds
    x_padded[n, c, oy*sh + i, ox*sw + j] (zero padding)."""
    n, c, h, w = x.shape
    oh, ow = _conv_out(h, kh, sh, ph), _conv_out(w, kw, sw, pw)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    col = np.empty((c, kh, kw, n, oh, ow), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            # (N, C, OH, OW) -> (C, N, OH, OW): tap (i, j) of every window at once
            col[:, i, j] = xp[:, :, i:i + sh * oh:sh, j:j + sw * ow:sw].transpose(1, 0, 2, 3)
    return col.reshape(c * kh * kw, n * oh * ow)


def col2im(col, x_shape, kh, kw, sh, sw, ph, pw):
    """The adjoint of im2col: add every column entry back onto the input position it came from."""
    n, c, h, w = x_shape
    oh, ow = _conv_out(h, kh, sh, ph), _conv_out(w, kw, sw, pw)
    cols = col.reshape(c, kh, kw, n, oh, ow)
    dxp = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=col.dtype)
    for i in range(kh):
        for j in range(kw):
            dxp[:, :, i:i + sh * oh:sh, j:j + sw * ow:sw] += cols[:, i, j].transpose(1, 0, 2, 3)
    return dxp[:, :, ph:ph + h, pw:pw + w]


def conv_output_from_gemm(z, b, relu, n):
    """z (OC, N*P), b (OC,) -> (N, OC, P): z + b (then ReLU if relu), images first."""
    y = z.reshape(z.shape[0], n, -1).transpose(1, 0, 2) + b[None, :, None]
    return np.maximum(y, 0) if relu else y


def conv_grad_to_gemm(dout, y, relu):
    """dout, y (N, OC, P) -> (dz (OC, N*P), db (OC,)) with dz = dout * [y > 0] if relu."""
    g = dout * (y > 0) if relu else dout
    return g.transpose(1, 0, 2).reshape(dout.shape[1], -1), g.sum(axis=(0, 2))


def conv2d(x, W, b, stride, padding, groups):
    """Direct convolution by its definition (no im2col), as a ground truth for Conv2D:
    y[n, k, oy, ox] = b[k] + sum_{c, i, j} W[k, c, i, j] * x_padded[n, g*Cg + c, oy*sh + i, ox*sw + j]
    with g = k // (OC / groups) and Cg = C / groups."""
    (sh, sw), (ph, pw) = stride, padding
    n, c, h, w = x.shape
    oc, cg, kh, kw = W.shape
    oh, ow = _conv_out(h, kh, sh, ph), _conv_out(w, kw, sw, pw)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    y = np.empty((n, oc, oh, ow), dtype=np.result_type(x, W))
    per_group = oc // groups
    for k in range(oc):
        g = k // per_group
        for oy in range(oh):
            for ox in range(ow):
                window = xp[:, g * cg:(g + 1) * cg, oy * sh:oy * sh + kh, ox * sw:ox * sw + kw]
                y[:, k, oy, ox] = np.einsum("ncij,cij->n", window, W[k]) + b[k]
    return y


def maxpool_forward(x, kh, kw, sh, sw, ph, pw):
    """x (N, C, H, W) -> (out, argmax), both (N, C, OH, OW); argmax = y*W + x inside the plane,
    the first maximum in row-major window order (np.argmax's rule); padding never wins."""
    n, c, h, w = x.shape
    oh, ow = _conv_out(h, kh, sh, ph), _conv_out(w, kw, sw, pw)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
    out = np.empty((n, c, oh, ow), dtype=x.dtype)
    argmax = np.empty((n, c, oh, ow), dtype=np.int64)
    for oy in range(oh):
        for ox in range(ow):
            window = xp[:, :, oy * sh:oy * sh + kh, ox * sw:ox * sw + kw].reshape(n, c, -1)
            best = window.argmax(axis=2)                      # index inside the window, row-major
            out[:, :, oy, ox] = np.take_along_axis(window, best[..., None], axis=2)[..., 0]
            yy = oy * sh - ph + best // kw
            xx = ox * sw - pw + best % kw
            argmax[:, :, oy, ox] = yy * w + xx
    return out, argmax


def maxpool_backward(dout, argmax, x_shape):
    """dx (N, C, H, W): each dout entry added at its argmax position in its (n, c) plane."""
    n, c, h, w = x_shape
    dx = np.zeros((n, c, h * w), dtype=dout.dtype)
    for i in range(n):
        for k in range(c):
            np.add.at(dx[i, k], argmax[i, k].ravel(), dout[i, k].ravel())
    return dx.reshape(x_shape)


def softmax_cross_entropy(logits, y):
    """Mean softmax cross-entropy and d loss / d logits, step by step in NumPy.

    shifted = z - max_c z;  log p = shifted - log sum_c exp(shifted);  loss = -mean_n log p[n, y_n];
    dlogits = (softmax(z) - onehot(y)) / N. Returns (loss, dlogits).
    """
    n = logits.shape[0]
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    sum_exp = exp.sum(axis=1, keepdims=True)
    rows = np.arange(n)
    loss = float(-(shifted[rows, y] - np.log(sum_exp[:, 0])).mean())
    dlogits = exp / sum_exp
    dlogits[rows, y] -= 1
    return loss, dlogits / n


def sparse_conv2d(indptr, indices, data, bias, relu, x, kh, kw, sh, sw, ph, pw):
    """Direct sparse convolution by its definition, in float64 (ground truth for
    :mod:`minnet.kernels.sparse_conv`). W2 (OC, C*kh*kw) in CSR (indptr, indices, data), column
    r = (c*kh + i)*kw + j; x (N, C, H, W) -> (N, OC, OH, OW):
    y[n, oc] = act(bias[oc] + sum_{k in row oc} data[k] * x_padded[n, c, i::sh, j::sw] (OH x OW))."""
    n, c, h, w = x.shape
    oc = indptr.shape[0] - 1
    oh, ow = _conv_out(h, kh, sh, ph), _conv_out(w, kw, sw, pw)
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    y = np.zeros((n, oc, oh, ow))
    for row in range(oc):
        for k in range(indptr[row], indptr[row + 1]):
            ch, i, j = np.unravel_index(int(indices[k]), (c, kh, kw))
            y[:, row] += float(data[k]) * xp[:, ch, i:i + sh * oh:sh, j:j + sw * ow:sw]
    y += bias.astype(np.float64)[None, :, None, None]
    return np.maximum(y, 0) if relu else y

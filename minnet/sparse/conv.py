"""SparseConv2D: a pruned convolution with its kept weights in CSR (paper sec. 4).

Conv2D computes z = W2 @ col with W2 = W viewed as (OC, C/groups*kh*kw) and col = im2col(x)
(C*kh*kw, N*OH*OW). Here W2 is stored in CSR. Groups become one block-diagonal CSR matrix: output
channel k of group g reads columns g*C/groups*kh*kw + j, so column r = (c*kh + i)*kw + j names
input channel c of the whole input and one matrix covers all groups.

Forward (back-end "minnet") is a *direct* sparse convolution (:mod:`minnet.kernels.sparse_conv`,
Park et al. 2017): each kept weight adds a shifted input plane, times the weight, to its output
plane; no im2col. Why: col has C*kh*kw rows of N*OH*OW numbers (128 MB for LeNet-5's conv2 at batch
1000) and a CSR product over it streams one row of col through the cache per kept weight; the
direct kernel reads each image's few KB from L1 instead (measured at batch 1000: conv1 45 -> 11 ms,
conv2 53 -> 15 ms on one thread). Back-end "scipy" keeps the im2col + CSR-product route.

Backward still works on col (the SDDMM for dW and the transposed product for dcol, as the sparse
Dense layer does, with the N*OH*OW output positions as the batch): it unfolds the input saved by
forward with im2col when it is called, so inference never builds col.

The layer owns its geometry (:class:`minnet.layers.conv.ConvGeometry`, shared with Conv2D: the
checks, output_shape and the config keys), and saves like SparseDense: config = geometry + backend
+ nnz, params "data" and "b", the structure (block_ptr, indices) as array state.
"""

import numpy as np

from minnet.kernels.conv import col2im, conv_grad_to_gemm, conv_output_from_gemm, im2col
from minnet.kernels.csr import csr_sddmm_t, csr_t_matmul_t, csr_transpose_structure
from minnet.kernels.sparse_conv import sparse_conv2d_parallel, sparse_conv2d_serial
from minnet.errors import ConfigError, OrderError, ShapeError
from minnet.layers.base import Layer, check_float_array
from minnet.layers.conv import Conv2D, ConvGeometry
from minnet.layers.registry import register_layer
from minnet.sparse.csr import column_index_dtype, csr_to_dense, dense_to_csr, shared_scipy_csr
from minnet.sparse.layers import BACKENDS, csr_from_saved, fill_masked_copy, placeholder_csr
from minnet.thread_choice import ThreadChoice

SPARSE_CONV = ThreadChoice()     # one thread or all, per layer shape (see minnet.thread_choice)


def sparse_conv2d(indptr, indices, data, bias, relu, x, kernel_size, stride, padding, out):
    """out = act(conv(x, W) + b) for W2 (OC, C*kh*kw) in CSR, by the direct sparse kernel.

    x (N, C, H, W) C-contiguous, out (N, OC, OH, OW); see :func:`sparse_conv2d_parallel` for the
    formula. Fewer than PARALLEL_MIN_WORK multiply-adds (LeNet-5 at batch 1) run on one thread;
    larger calls on one or all threads, whichever has lately been faster (same numbers either way).
    Returns out.
    """
    args = (indptr, indices, data, bias, relu, x, *kernel_size, *stride, *padding, out)
    work = data.shape[0] * out.shape[0] * out.shape[2] * out.shape[3]
    if out.shape[0] * out.shape[1] < 2:          # the parallel kernel splits (image, channel) pairs
        return sparse_conv2d_serial(*args)
    key = ("conv", x.shape, data.shape[0], kernel_size, stride, padding)
    return SPARSE_CONV.run(key, work, sparse_conv2d_serial, sparse_conv2d_parallel, *args)


@register_layer
class SparseConv2D(ConvGeometry, Layer):
    """Conv2D with its kept weights in CSR; forward and backward cost scale with the kept weights.

    forward:  x (N, C, H, W) -> y (N, OC, OH, OW)
        y[n, oc] = act(b[oc] + sum over kept (c, i, j) of W[oc, c, i, j] * x[n, c] shifted by (i, j))
        computed directly (no im2col, :func:`sparse_conv2d`); it equals act(W2 col + b) with
        col = im2col(x) (K, N*OH*OW), K = C*kh*kw, W2 (OC, K) block-diagonal CSR over the groups
    backward: dout -> dx, with col = im2col(x) of the x saved by forward
        3. dz = dout * [y > 0] back to (OC, N*OH*OW);  db = sum of dz
        2. dW2 at the kept connections (SDDMM of dz and col); dcol = W2^T dz (transposed CSR)
        1. dx = col2im(dcol)
    params: "data" (nnz,), "b" (OC,). Output channel k of group g = k // (OC / groups) may only
    use columns g*K/groups ... (g+1)*K/groups - 1 of W2.

    Built from its config (what loading does) the layer holds ``nnz`` placeholder connections of
    weight 0 (the first nnz of each group's W_g in row-major order); ``load_state`` puts the saved
    structure in place. Real layers come from :meth:`from_dense`.
    """

    kind = "conv"

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, groups=1,
                 activation=None, backend="minnet", nnz=0, name=None):
        super().__init__(name)
        self._set_geometry(in_channels, out_channels, kernel_size, stride, padding, groups, activation)
        if backend not in BACKENDS:
            raise ConfigError(f"{self.describe()}: backend must be one of {BACKENDS}, got {backend!r}")
        self.backend = backend
        kh, kw = self.kernel_size
        self.n_cols = self.in_channels * kh * kw                  # K, rows of col
        oc, cols_per_group = self.out_channels, self.n_cols // self.groups
        indptr, rows, local = placeholder_csr(nnz, oc, cols_per_group, self.describe())
        indices = local + rows // (oc // self.groups) * cols_per_group
        self._set_csr(indptr, indices.astype(column_index_dtype(self.n_cols)),
                      np.zeros(indices.shape[0], np.float32), np.zeros(oc, np.float32))

    def _set_csr(self, indptr, indices, data, bias):
        """Adopt plain CSR arrays of the block-diagonal W2 (OC, K): indptr (OC + 1,), indices
        (nnz,) into all K columns, data (nnz,), bias (OC,). Checks them (every entry inside its
        row's group) and derives the transposed structure."""
        indptr, indices = np.asarray(indptr, np.int32), np.asarray(indices)
        data, bias = np.ascontiguousarray(data), np.ascontiguousarray(bias, dtype=data.dtype)
        oc, cols_per_group = self.out_channels, self.n_cols // self.groups
        ok = (indptr.shape == (oc + 1,) and bias.shape == (oc,) and data.ndim == 1
              and indices.shape == data.shape and indices.dtype.kind in "iu" and indptr[0] == 0
              and indptr[-1] == data.shape[0] and not np.any(np.diff(indptr) < 0))
        if ok and indices.size:
            first = np.repeat(np.arange(oc) // (oc // self.groups), np.diff(indptr)) * cols_per_group
            wide = indices.astype(np.int64)
            ok = bool(np.all((wide >= first) & (wide < first + cols_per_group)))
        if not ok:
            raise ShapeError(f"{self.describe()}: inconsistent CSR arrays (indptr {indptr.shape}, "
                             f"indices {indices.shape}, data {data.shape}, bias {bias.shape}; "
                             f"{oc} output channels, {self.groups} groups of {cols_per_group} columns)")
        self.block_ptr = indptr[None, :]      # kernels' layout with one column block: plain CSR
        self.indices = indices
        self.params = {"data": data, "b": bias}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.t_indptr, self.t_rows, self.t_perm = csr_transpose_structure(indptr, self.indices,
                                                                          self.n_cols)
        self._scipy = None
        self._x = self._col = self._y = None            # the last forward's cache is stale

    @classmethod
    def from_dense(cls, conv: Conv2D, backend="minnet", index_dtype=None):
        """The SparseConv2D computing the same function as a (masked) Conv2D (its trainable flag
        and pruning record come along). index_dtype: default uint16 when K <= 65536."""
        sparse = cls(**conv.geometry_config(), backend=backend, name=conv.name)
        oc, groups = conv.out_channels, conv.groups
        W2 = conv.weight.reshape(oc, -1)
        cols_per_group = W2.shape[1]
        indptr, indices, data = dense_to_csr(W2, conv.mask.reshape(oc, -1), np.int64)
        group_of_entry = np.repeat(np.arange(oc) // (oc // groups), np.diff(indptr))
        indices = indices + group_of_entry * cols_per_group        # block-diagonal column offsets
        sparse._set_csr(indptr, indices.astype(index_dtype or column_index_dtype(sparse.n_cols)),
                        data, conv.params["b"].copy())
        sparse.trainable = conv.trainable
        sparse.state = dict(conv.state_dict())
        return sparse

    def to_dense(self) -> Conv2D:
        """The masked Conv2D with the same weights (and trainable flag and pruning record)."""
        conv = Conv2D(**self.geometry_config(), rng=0, dtype=self.params["data"].dtype,
                      name=self.name)
        oc = self.out_channels
        cols_per_group = self.n_cols // self.groups
        group_of_entry = np.repeat(np.arange(oc) // (oc // self.groups), np.diff(self.block_ptr[0]))
        local = self.indices.astype(np.int64) - group_of_entry * cols_per_group
        W2, mask = csr_to_dense(self.block_ptr[0], local, self.params["data"], (oc, cols_per_group))
        shape = conv.weight.shape
        return fill_masked_copy(self, conv, W2.reshape(shape), mask.reshape(shape))

    @property
    def nnz(self):
        """Number of stored (kept) connections."""
        return int(self.params["data"].shape[0])

    def forward(self, x, training=False):
        data, b = self.params["data"], self.params["b"]
        check_float_array(x, self.describe(), data.dtype)
        n, oc, oh, ow = self.output_shape(x.shape)
        x = np.ascontiguousarray(x)
        y = np.empty((n, oc, oh * ow), dtype=data.dtype)
        col = None
        if self.backend == "minnet":                  # direct: act(conv + b) in one kernel
            sparse_conv2d(self.block_ptr[0], self.indices, data, b, self.activation == "relu", x,
                          self.kernel_size, self.stride, self.padding, y.reshape(n, oc, oh, ow))
        else:                                         # im2col, CSR product, bias + act + layout
            col = self._im2col(x)
            z = self._scipy_matrix() @ col
            conv_output_from_gemm(z, b, self.activation == "relu", y)
        self._x, self._col, self._y = x, col, y       # backward rebuilds col if it is None
        return y.reshape(n, oc, oh, ow)

    def _im2col(self, x):
        n, _, oh, ow = self.output_shape(x.shape)
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        col = np.empty((self.n_cols, n * oh * ow), dtype=self.params["data"].dtype)
        return im2col(x, kh, kw, sh, sw, ph, pw, col)

    def backward(self, dout, need_dx=True):
        if self._x is None:
            raise OrderError(f"{self.describe()}: backward called before forward")
        if self._col is None:
            self._col = self._im2col(self._x)
        n, oc, plane = self._y.shape
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        dz = np.empty((oc, n * plane), dtype=self._y.dtype)               # 3. ReLU, layout, db
        db = self.grads["b"] if self.trainable else np.empty_like(self.grads["b"])
        conv_grad_to_gemm(np.ascontiguousarray(dout).reshape(n, oc, plane), self._y,
                          self.activation == "relu", dz, db)
        if self.trainable:                                                # 2. kept dW, dcol
            csr_sddmm_t(self.block_ptr, self.indices, dz, self._col, self.grads["data"])
        if not need_dx:                                                   # nobody below needs dx
            return None
        dcol = np.empty_like(self._col)
        csr_t_matmul_t(self.t_indptr, self.t_rows, self.t_perm, self.params["data"], dz, dcol)
        dx = np.empty(self._x.shape, dtype=dz.dtype)                      # 1. col2im
        col2im(dcol, kh, kw, sh, sw, ph, pw, dx)
        return dx

    def _scipy_matrix(self):
        self._scipy = shared_scipy_csr(self._scipy, self.params["data"], self.indices,
                                       self.block_ptr[0], (self.out_channels, self.n_cols))
        return self._scipy

    def astype(self, dtype):
        super().astype(dtype)
        self._scipy = None
        return self

    # -- saving: the Layer contract (see the module docstring) -------------------------------------
    def config(self):
        """Constructor arguments: the geometry, the back-end and the number of kept connections."""
        return {**self.geometry_config(), "backend": self.backend, "nnz": self.nnz,
                "name": self.name}

    def state_dict(self):
        """The layer's numbers (pruning record) and its CSR structure: block_ptr, indices."""
        return {**self.state, "block_ptr": self.block_ptr, "indices": self.indices}

    def load_state(self, state):
        """Take the saved structure (params["data"] already loaded, in the same order); entries
        outside their group or otherwise inconsistent raise ShapeError."""
        state = dict(state)
        indptr, indices, data = csr_from_saved(state, self.params["data"], self.out_channels,
                                               self.describe())
        self._set_csr(indptr, indices, data, self.params["b"])
        self.state = {k: v for k, v in state.items() if k not in ("block_ptr", "indices")}

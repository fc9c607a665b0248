"""SparseConv2D: a pruned convolution as a CSR weight matrix times the im2col matrix (paper sec. 4).

Conv2D computes z = W2 @ col with W2 = W viewed as (OC, C/groups*kh*kw) and col = im2col(x)
(C*kh*kw, N*OH*OW). Here W2 is stored in CSR and the product is the same CSR kernel the sparse
Dense layer uses, with the N*OH*OW output positions playing the role of the batch. Groups become one
block-diagonal CSR matrix: output channel k of group g reads columns g*C/groups*kh*kw + j of col, so
one product covers all groups.
"""

import numpy as np

from minnet.kernels.conv import col2im, conv_grad_to_gemm, conv_output_from_gemm, im2col
from minnet.kernels.csr import csr_sddmm_t, csr_t_matmul_t, csr_transpose_structure
from minnet.layers.base import Layer, check_float_array
from minnet.layers.conv import Conv2D
from minnet.sparse.csr import column_index_dtype, csr_to_dense, dense_to_csr, shared_scipy_csr
from minnet.sparse.layers import BACKENDS, csr_forward_t


class SparseConv2D(Layer):
    """Conv2D with its kept weights in CSR; forward and backward cost scale with the kept weights.

    forward:  x (N, C, H, W) -> y (N, OC, OH, OW)
        1. col = im2col(x)                          (K, N*OH*OW), K = C*kh*kw
        2. z = W2 col                               W2 (OC, K) block-diagonal CSR over the groups
        3. y = act(z + b) in (N, OC, OH, OW) layout
    backward: dout -> dx
        3. dz = dout * [y > 0] back to (OC, N*OH*OW);  db = sum of dz
        2. dW2 at the kept connections (SDDMM of dz and col); dcol = W2^T dz (transposed CSR)
        1. dx = col2im(dcol)
    params: "data" (nnz,), "b" (OC,); the geometry is the dense layer's (``conv`` attribute).
    """

    kind = "conv"

    def __init__(self, conv: Conv2D, backend="minnet", index_dtype=None):
        super().__init__(conv.name)
        if backend not in BACKENDS:
            raise ValueError(f"SparseConv2D: backend must be one of {BACKENDS}, got {backend!r}")
        self.backend = backend
        self.geometry = Conv2D(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride,
                               conv.padding, conv.groups, conv.activation, rng=0,
                               dtype=conv.weight.dtype, name=conv.name)  # shapes and checks only
        oc, groups = conv.out_channels, conv.groups
        W2 = conv.weight.reshape(oc, -1)
        rows_per_group, outs = W2.shape[1], oc // groups
        self.n_cols = rows_per_group * groups
        indptr, indices, data = dense_to_csr(W2, conv.mask.reshape(oc, -1), np.int64)
        group_of_entry = np.repeat(np.arange(oc) // outs, np.diff(indptr))
        indices = indices + group_of_entry * rows_per_group        # block-diagonal column offsets
        self.block_ptr = indptr[None, :]      # kernels' layout with one column block: plain CSR
        self.indices = indices.astype(index_dtype or column_index_dtype(self.n_cols))
        self.params = {"data": data, "b": conv.params["b"].copy()}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.t_indptr, self.t_rows, self.t_perm = csr_transpose_structure(indptr, self.indices,
                                                                          self.n_cols)
        self.trainable = conv.trainable
        self._scipy = None
        self._x_shape = self._col = self._y = None

    def to_dense(self) -> Conv2D:
        """The masked Conv2D with the same weights."""
        g = self.geometry
        conv = Conv2D(g.in_channels, g.out_channels, g.kernel_size, g.stride, g.padding, g.groups,
                      g.activation, rng=0, dtype=self.params["data"].dtype, name=self.name)
        oc = g.out_channels
        rows_per_group = self.n_cols // g.groups
        group_of_entry = np.repeat(np.arange(oc) // (oc // g.groups), np.diff(self.block_ptr[0]))
        local = self.indices.astype(np.int64) - group_of_entry * rows_per_group
        W2, mask = csr_to_dense(self.block_ptr[0], local, self.params["data"], (oc, rows_per_group))
        conv.weight[...] = W2.reshape(conv.weight.shape)
        conv.params["b"][...] = self.params["b"]
        conv.prune(mask.reshape(conv.weight.shape))
        conv.trainable = self.trainable
        return conv

    @property
    def nnz(self):
        return int(self.params["data"].shape[0])

    def forward(self, x, training=False):
        data, b, g = self.params["data"], self.params["b"], self.geometry
        check_float_array(x, self.describe(), data.dtype)
        n, oc, oh, ow = g.output_shape(x.shape)
        (kh, kw), (sh, sw), (ph, pw) = g.kernel_size, g.stride, g.padding
        x = np.ascontiguousarray(x)
        col = np.empty((self.n_cols, n * oh * ow), dtype=data.dtype)     # 1. im2col
        im2col(x, kh, kw, sh, sw, ph, pw, col)
        if self.backend == "scipy":                                       # 2. CSR product
            z = self._scipy_matrix() @ col
        else:
            z = np.empty((oc, n * oh * ow), dtype=data.dtype)
            csr_forward_t(self.block_ptr, self.indices, data, np.zeros_like(b), False, col, z)
        y = np.empty((n, oc, oh * ow), dtype=data.dtype)                  # 3. bias, ReLU, layout
        conv_output_from_gemm(z, b, g.activation == "relu", y)
        self._x_shape, self._col, self._y = x.shape, col, y
        return y.reshape(n, oc, oh, ow)

    def backward(self, dout, need_dx=True):
        if self._col is None:
            raise RuntimeError(f"{self.describe()}: backward called before forward")
        g = self.geometry
        n, oc, plane = self._y.shape
        (kh, kw), (sh, sw), (ph, pw) = g.kernel_size, g.stride, g.padding
        dz = np.empty((oc, n * plane), dtype=self._y.dtype)               # 3. ReLU, layout, db
        db = self.grads["b"] if self.trainable else np.empty_like(self.grads["b"])
        conv_grad_to_gemm(np.ascontiguousarray(dout).reshape(n, oc, plane), self._y,
                          g.activation == "relu", dz, db)
        if self.trainable:                                                # 2. kept dW, dcol
            csr_sddmm_t(self.block_ptr, self.indices, dz, self._col, self.grads["data"])
        if not need_dx:                                                   # nobody below needs dx
            return None
        dcol = np.empty_like(self._col)
        csr_t_matmul_t(self.t_indptr, self.t_rows, self.t_perm, self.params["data"], dz, dcol)
        dx = np.empty(self._x_shape, dtype=dz.dtype)                      # 1. col2im
        col2im(dcol, kh, kw, sh, sw, ph, pw, dx)
        return dx

    def _scipy_matrix(self):
        self._scipy = shared_scipy_csr(self._scipy, self.params["data"], self.indices,
                                       self.block_ptr[0], (self.geometry.out_channels, self.n_cols))
        return self._scipy

    def astype(self, dtype):
        super().astype(dtype)
        self._scipy = None
        return self

    def config(self):
        return dict(self.geometry.config(), backend=self.backend, nnz=self.nnz)

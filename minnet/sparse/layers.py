"""SparseDense: a pruned fully connected layer stored and computed in CSR (paper sec. 4).

Activations inside the layer are kept *transposed*, batch last: the layer computes
Y^T = act(W X^T + b) with X^T (in, N) contiguous (see :mod:`minnet.kernels.csr` for why), and
returns Y^T.T, a free view with the usual shape (N, out). The next sparse layer takes .T of that
view and gets back a contiguous X^T without copying, so only the first sparse layer of a stack
(and the first backward step) ever transposes data.

Saving: the CSR layers keep the Layer contract, so :meth:`minnet.Sequential.save` and ``load``
handle them like any layer. ``config()`` is the geometry plus ``nnz`` (``SparseDense(**config)``
builds a layer with nnz placeholder connections of weight 0); the kept weights are the parameter
"data", and the index structure (block_ptr, indices) is array state (``state_dict`` /
``load_state``), laid out again for this build's kernels when it is loaded.
"""

import numpy as np

from minnet import hooks
from minnet.errors import ConfigError, OrderError, ShapeError
from minnet.kernels.csr import (BLOCK_COLS, csr_column_blocks, csr_entry_rows, csr_forward_t_serial,
                                csr_matmul_t, csr_matvec, csr_sddmm_t, csr_t_matmul_t,
                                csr_transpose_structure)
from minnet.kernels.dense import relu_backward
from minnet.layers.base import Layer, check_float_array
from minnet.layers.dense import Dense
from minnet.layers.registry import register_layer
from minnet.sparse.csr import column_index_dtype, csr_to_dense, dense_to_csr, shared_scipy_csr
from minnet.thread_choice import PARALLEL_MIN_WORK

BACKENDS = ("minnet", "scipy")


def csr_forward_t(block_ptr, indices, data, bias, relu, xt, out_t):
    """Y^T = act(W X^T + b) with the fastest of the four CSR forward kernels for this size.

    block_ptr (n_blocks, rows + 1) as in :mod:`minnet.kernels.csr` (a plain CSR indptr is
    ``indptr[None, :]``), xt (cols, N) C-contiguous, out_t (rows, N). Fewer than
    PARALLEL_MIN_WORK multiply-adds (nnz * N) run on one thread through the cheapest call,
    :func:`csr_forward_t_serial`; larger products use the matrix-vector kernel on 1-D views at
    N = 1 and the batch kernel otherwise. Returns out_t.
    """
    n = xt.shape[1]
    if data.shape[0] * n < PARALLEL_MIN_WORK:
        csr_forward_t_serial(block_ptr, indices, data, bias, relu, xt, out_t)
    elif n == 1:
        csr_matvec(block_ptr, indices, data, bias, relu, xt.reshape(-1), out_t.reshape(-1))
    else:
        csr_matmul_t(block_ptr, indices, data, bias, relu, xt, out_t)
    return out_t


def placeholder_csr(nnz, n_rows, n_cols, where):
    """(indptr (n_rows + 1,) int32, rows (nnz,), cols (nnz,)) of the first ``nnz`` entries of an
    (n_rows, n_cols) matrix in row-major order: the structure a CSR layer built from its config
    holds until ``load_state`` brings the saved one. ValueError if nnz does not fit."""
    nnz = int(nnz)
    if not 0 <= nnz <= n_rows * n_cols:
        raise ConfigError(f"{where}: nnz must be between 0 and {n_rows} x {n_cols} = "
                         f"{n_rows * n_cols}, got {nnz}")
    pos = np.arange(nnz, dtype=np.int64)
    rows, cols = pos // n_cols, pos % n_cols
    indptr = np.zeros(n_rows + 1, dtype=np.int32)
    np.cumsum(np.bincount(rows, minlength=n_rows), out=indptr[1:])
    return indptr, rows, cols


def csr_from_saved(state, data, n_rows, where):
    """Plain CSR (indptr, indices, data), entries in row order, from a CSR layer's saved state.

    state: {"block_ptr": (n_blocks, n_rows + 1), "indices": (nnz,), ...} as ``state_dict`` wrote
    it, with ``data`` (nnz,) in the same (column-blocked) storage order. The rows' entries keep
    their stored order, so re-blocking with the same block width gives back the same arrays.
    Raises ShapeError naming ``where`` when the arrays are missing or disagree.
    """
    if "block_ptr" not in state or "indices" not in state:
        raise ShapeError(f"{where}: the saved state lacks the CSR structure (block_ptr, indices)")
    block_ptr, indices = np.asarray(state["block_ptr"]), np.asarray(state["indices"])
    if (block_ptr.ndim != 2 or block_ptr.shape[0] < 1 or block_ptr.shape[1] != n_rows + 1
            or block_ptr.dtype.kind not in "iu" or indices.dtype.kind not in "iu"
            or indices.shape != data.shape or block_ptr[0, 0] != 0
            or block_ptr[-1, -1] != data.shape[0] or np.any(np.diff(block_ptr, axis=1) < 0)
            or np.any(block_ptr[1:, 0] != block_ptr[:-1, -1])):
        raise ShapeError(f"{where}: saved CSR structure is inconsistent (block_ptr "
                         f"{block_ptr.shape}, indices {indices.shape}, {data.shape[0]} weights, "
                         f"{n_rows} rows)")
    rows = csr_entry_rows(block_ptr)
    order = np.argsort(rows, kind="stable")
    indptr = np.zeros(n_rows + 1, dtype=np.int32)
    np.cumsum(np.bincount(rows, minlength=n_rows), out=indptr[1:])
    return indptr, indices[order], data[order]


def fill_masked_copy(sparse, layer, W, mask):
    """Make ``layer`` (a fresh Dense or Conv2D) the masked dense twin of the CSR layer ``sparse``:
    weights W (layer.weight's shape) pruned by ``mask``, the bias, the trainable flag and the
    pruning record (the state's numbers, not the CSR arrays). Returns layer."""
    layer.weight[...] = W
    layer.params["b"][...] = sparse.params["b"]
    layer.prune(mask)
    layer.trainable = sparse.trainable
    layer.load_state({k: v for k, v in sparse.state_dict().items() if not isinstance(v, np.ndarray)})
    return layer


def _as_columns(x):
    """X^T as a C-contiguous (features, N) array; free when x is the .T view a sparse layer returned."""
    xt = x.T
    return xt if xt.flags.c_contiguous else np.ascontiguousarray(xt)


@register_layer
class SparseDense(Layer):
    """A Dense layer whose weight matrix W (out, in) is stored in CSR: only the kept connections.

    forward:  x (N, in) -> y (N, out)
        Y^T = act(W X^T + b)        one Numba kernel (bias and ReLU fused), or scipy's CSR product
    backward: dout (N, out) -> dx (N, in)
        1. dZ^T = dout^T * [Y^T > 0]                 (undoes the ReLU; dZ^T = dout^T without it)
        2. dW at the kept connections only: g[k] = (dZ^T X)[i_k, j_k]  (SDDMM, cost nnz * N)
           db = sum_n dZ^T[:, n]
        3. dX^T = W^T dZ^T                           (transposed structure, cost nnz * N)
    cache: X^T and Y^T from the last forward.

    Storage: built from plain CSR arrays (indptr, indices, data); the minnet back-end keeps them
    in the column-blocked order of :func:`minnet.kernels.csr.csr_column_blocks` (layers with more
    than BLOCK_COLS = 4096 inputs: the forward kernel then uses x in L1-sized blocks), described by
    ``block_ptr`` (n_blocks, out + 1); with one block, ``block_ptr[0]`` is the plain indptr.

    params: "data" (nnz,) the kept weights in storage order, "b" (out,). grads have the same
    shapes, so :class:`minnet.optim.SGD` retrains the layer unchanged: it updates the data vector
    with an all-True mask (pruned connections are not stored, so nothing can bring them back)
    and weight decay / momentum act on exactly the surviving weights, as on the masked dense
    layer (paper sec. 3.3: retrain the kept connections). ``block_ptr`` and ``indices`` are fixed.

    backend: "minnet" (our Numba kernels) or "scipy" (scipy.sparse's CSR product, on plain CSR:
    one block) for forward; backward always uses the Numba kernels.

    Built from its config (``SparseDense(in_features, out_features, activation, backend, nnz)``,
    what loading does) the layer holds ``nnz`` placeholder connections of weight 0, the first nnz
    in row-major order; ``load_state`` then puts the saved structure in place. Real layers come
    from :meth:`from_dense` or :meth:`from_csr`.
    """

    kind = "fc"

    def __init__(self, in_features, out_features, activation=None, backend="minnet", nnz=0,
                 name=None):
        super().__init__(name)
        if activation not in (None, "relu"):
            raise ConfigError(f"{self.describe()}: activation must be None or 'relu', got {activation!r}")
        if backend not in BACKENDS:
            raise ConfigError(f"{self.describe()}: backend must be one of {BACKENDS}, got {backend!r}")
        if int(in_features) < 1 or int(out_features) < 1:
            raise ConfigError(f"{self.describe()}: in_features and out_features must be >= 1, "
                             f"got {in_features}, {out_features}")
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.activation, self.backend = activation, backend
        indptr, _, cols = placeholder_csr(nnz, self.out_features, self.in_features, self.describe())
        self._set_csr(indptr, cols.astype(column_index_dtype(self.in_features)),
                      np.zeros(cols.shape[0], np.float32), np.zeros(self.out_features, np.float32))

    def _set_csr(self, indptr, indices, data, bias):
        """Adopt plain CSR arrays (indptr (out + 1,), indices, data (nnz,), bias (out,)): check them,
        lay them out for the kernels, and derive the transposed structure."""
        indptr, indices = np.asarray(indptr, np.int32), np.asarray(indices)
        data, bias = np.ascontiguousarray(data), np.ascontiguousarray(bias, dtype=data.dtype)
        if (indptr.shape != (self.out_features + 1,) or bias.shape != (self.out_features,)
                or indices.shape != data.shape or data.ndim != 1 or indices.dtype.kind not in "iu"
                or indptr[0] != 0 or indptr[-1] != data.shape[0] or np.any(np.diff(indptr) < 0)
                or (indices.size and (indices.min() < 0 or indices.max() >= self.in_features))):
            raise ShapeError(f"{self.describe()}: inconsistent CSR arrays (indptr {indptr.shape}, "
                             f"indices {indices.shape}, data {data.shape}, bias {bias.shape}, "
                             f"in_features {self.in_features})")
        # scipy needs plain CSR (one block); minnet's kernels take wide layers in column blocks.
        block_cols = self.in_features if self.backend == "scipy" else BLOCK_COLS
        self.block_ptr, self.indices, data = csr_column_blocks(indptr, indices, data,
                                                               self.in_features, max(block_cols, 1))
        self.params = {"data": data, "b": bias}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        # The structure of W^T (a permutation of the entries), for dx in backward.
        self.t_indptr, self.t_rows, self.t_perm = csr_transpose_structure(
            self.block_ptr, self.indices, self.in_features)
        self._scipy = None                  # scipy matrix sharing self.params["data"]
        self._xt = self._yt = None

    # -- conversion ------------------------------------------------------------------------------
    @classmethod
    def from_csr(cls, indptr, indices, data, bias, in_features, activation=None, backend="minnet",
                 name=None):
        """The layer y = act(W x + b) with W (len(indptr) - 1, in_features) given as plain CSR:
        indptr (out + 1,), indices (nnz,) of any integer type, data (nnz,) float, bias (out,).
        Inconsistent arrays raise ShapeError."""
        layer = cls(in_features, max(len(indptr) - 1, 1), activation, backend, 0, name)
        if len(indptr) < 2:
            raise ShapeError(f"{layer.describe()}: indptr needs at least 2 entries (1 row), "
                             f"got {len(indptr)}")
        layer._set_csr(indptr, indices, data, bias)
        return layer

    @classmethod
    def from_dense(cls, layer: Dense, backend="minnet", index_dtype=None):
        """The SparseDense computing the same function as a (masked) Dense layer (its trainable
        flag and pruning record come along)."""
        indptr, indices, data = dense_to_csr(layer.weight, layer.mask, index_dtype)
        sparse = cls.from_csr(indptr, indices, data, layer.params["b"].copy(), layer.in_features,
                              layer.activation, backend, layer.name)
        sparse.trainable = layer.trainable
        sparse.state = dict(layer.state_dict())
        return sparse

    def to_dense(self) -> Dense:
        """The masked Dense layer with the same weights (pruned connections zero, mask False)."""
        dense = Dense(self.in_features, self.out_features, self.activation, rng=0,
                      dtype=self.dtype, name=self.name)
        W, mask = csr_to_dense(self.block_ptr, self.indices, self.params["data"],
                               (self.out_features, self.in_features))
        return fill_masked_copy(self, dense, W, mask)

    @property
    def nnz(self):
        """Number of stored (kept) connections."""
        return int(self.params["data"].shape[0])

    @property
    def density(self):
        """Kept fraction of the out x in connections."""
        return self.nnz / (self.out_features * self.in_features)

    # -- forward and backward --------------------------------------------------------------------
    def forward(self, x, training=False):
        data, b = self.params["data"], self.params["b"]
        check_float_array(x, self.describe(), data.dtype)
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ShapeError(f"{self.describe()}: expected input of shape (N, {self.in_features}), "
                             f"got {x.shape}")
        xt = _as_columns(x)
        n = xt.shape[1]
        relu = self.activation == "relu"
        # Looked up at call time: --use-exercises puts a student's CSR product here (minnet.hooks).
        forward_t = hooks.implementation("csr_forward_t", csr_forward_t)
        if self.backend == "scipy":
            yt = self._scipy_matrix() @ (xt[:, 0] if n == 1 else xt)
            yt = yt.reshape(self.out_features, n)
            yt += b[:, None]
            if relu:
                np.maximum(yt, 0, out=yt)
        else:
            yt = np.empty((self.out_features, n), dtype=data.dtype)
            forward_t(self.block_ptr, self.indices, data, b, relu, xt, yt)
        self._xt, self._yt = xt, yt
        return yt.T

    def backward(self, dout, need_dx=True):
        if self._xt is None:
            raise OrderError(f"{self.describe()}: backward called before forward")
        if dout.shape != (self._yt.shape[1], self._yt.shape[0]):
            raise ShapeError(f"{self.describe()}: dout has shape {dout.shape}, "
                             f"the last output had shape {self._yt.T.shape}")
        dzt = _as_columns(dout)
        if self.activation == "relu":                    # 1. undo the ReLU
            masked = np.empty_like(self._yt)
            relu_backward(dzt.reshape(-1), self._yt.reshape(-1), masked.reshape(-1))
            dzt = masked
        if self.trainable:                               # 2. gradients at the kept connections
            csr_sddmm_t(self.block_ptr, self.indices, dzt, self._xt, self.grads["data"])
            np.sum(dzt, axis=1, out=self.grads["b"])
        if not need_dx:                                  # the lowest trained layer: nobody needs dx
            return None
        dxt = np.empty((self.in_features, dzt.shape[1]), dtype=dzt.dtype)
        csr_t_matmul_t(self.t_indptr, self.t_rows, self.t_perm, self.params["data"], dzt, dxt)
        return dxt.T                                     # 3. gradient for the layer below

    def _scipy_matrix(self):
        self._scipy = shared_scipy_csr(self._scipy, self.params["data"], self.indices,
                                       self.block_ptr[0],
                                       (self.out_features, self.in_features))
        return self._scipy

    def astype(self, dtype):
        super().astype(dtype)
        self._scipy = None
        return self

    # -- saving: the Layer contract (see the module docstring) -------------------------------------
    def config(self):
        """Constructor arguments: the geometry, the back-end and the number of kept connections."""
        return {"in_features": self.in_features, "out_features": self.out_features,
                "activation": self.activation, "backend": self.backend, "nnz": self.nnz,
                "name": self.name}

    def state_dict(self):
        """The layer's numbers (pruning record) and its CSR structure: block_ptr, indices."""
        return {**self.state, "block_ptr": self.block_ptr, "indices": self.indices}

    def load_state(self, state):
        """Take the saved structure (with params["data"] already loaded, in the same storage order)
        and lay it out again for this build's kernels. Inconsistent arrays raise ShapeError."""
        state = dict(state)
        indptr, indices, data = csr_from_saved(state, self.params["data"], self.out_features,
                                               self.describe())
        self._set_csr(indptr, indices, data, self.params["b"])
        self.state = {k: v for k, v in state.items() if k not in ("block_ptr", "indices")}

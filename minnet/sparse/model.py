"""to_sparse / to_dense: convert a whole pruned model between masked-dense and CSR layers.

The result is an ordinary :class:`minnet.Sequential`, so ``forward``, ``predict``,
:func:`minnet.train.fit` and :class:`minnet.optim.SGD` work on it unchanged.
"""

import copy

import numpy as np

from minnet.errors import ConfigError, DTypeError
from minnet.layers.conv import Conv2D
from minnet.layers.dense import Dense
from minnet.model import Sequential
from minnet.sparse.conv import SparseConv2D
from minnet.sparse.layers import BACKENDS, SparseDense


def to_sparse(model: Sequential, backend="minnet", index_dtype=None) -> Sequential:
    """A copy of ``model`` whose Dense and Conv2D layers store and multiply W in CSR (paper sec. 4).

    model: a (pruned) Sequential; each weight's mask decides which connections are stored.
    backend: "minnet" (Numba kernels) or "scipy" (scipy.sparse CSR) for the forward products.
    index_dtype: column index type; default uint16 when a layer has <= 65536 inputs, else uint32.
    Trainable flags and pruning records come along; other layers are deep-copied. The outputs
    equal the masked dense model's up to float32 rounding (the sums run in a different order).
    """
    if index_dtype is not None and (np.dtype(index_dtype).kind not in "iu"
                                    or np.dtype(index_dtype).itemsize < 2):
        raise DTypeError(f"to_sparse: index_dtype must be an integer type of 16 bits or more "
                         f"(uint16, uint32, int32, int64), got {np.dtype(index_dtype)}")
    if backend not in BACKENDS:
        raise ConfigError(f"to_sparse: backend must be one of {BACKENDS}, got {backend!r}")
    layers = []
    for layer in model.layers:
        if isinstance(layer, Dense):
            layers.append(SparseDense.from_dense(layer, backend, index_dtype))
        elif isinstance(layer, Conv2D):
            layers.append(SparseConv2D.from_dense(layer, backend, index_dtype))
        else:
            layers.append(copy.deepcopy(layer))
    return Sequential(layers)


def to_dense(model: Sequential) -> Sequential:
    """The masked dense model back from a sparse one (e.g. to save it or prune it further)."""
    return Sequential([layer.to_dense() if isinstance(layer, (SparseDense, SparseConv2D))
                       else copy.deepcopy(layer) for layer in model.layers])

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


def to_sparse(model: Sequential, backend="minnet", index_dtype=None, layers=None) -> Sequential:
    """A copy of ``model`` whose Dense and Conv2D layers store and multiply W in CSR (paper sec. 4).

    model: a (pruned) Sequential; each weight's mask decides which connections are stored.
    backend: "minnet" (Numba kernels) or "scipy" (scipy.sparse CSR) for the forward products.
    index_dtype: column index type; default uint16 when a layer has <= 65536 inputs, else uint32.
    layers: names of the Dense/Conv2D layers to convert (default: all of them); the others stay
    masked dense. Why choose: CSR pays where few weights are kept, and dense BLAS does several
    times more multiply-adds per second than any sparse loop. Measured at batch 1 with the
    paper's kept fractions (random masks, 2 threads, medians of 5 passes): AlexNet's fc6 at 9%
    ran 5.3x faster as CSR, but its conv layers at 35-84% ran slower (conv1, 11x11 stride 4 at
    84%: 17.9 ms against 1.65 ms). The whole network took 29.1 ms as CSR and 15.0 ms masked
    dense, and 15.5-21.2 ms with ``layers=["fc6", "fc7", "fc8"]`` (5 runs). The cause: after
    a parallel CSR product, Numba's OpenMP threads keep spinning for a while (libgomp's default
    wait), and the dense convolutions of the next image then share the 2 cores with them (conv1
    4.5 ms instead of 1.6). With ``GOMP_SPINCOUNT=20000`` set in the environment before Python
    starts, the fc-only model took 11.0-13.9 ms (4 runs), faster than dense, and the CSR layers
    were as fast as before (how it was measured: docs/benchmarks.md, round 5). minnet leaves
    the setting to you: it would change every OpenMP library in the process, PyTorch's too.
    VGG-16 as CSR was 1.6x faster overall (116 against 185 ms), though its conv5 layers were
    1.3-1.7x slower. Time your own model both ways (:func:`minnet.sparse.layer_report` times each
    FC layer).
    Trainable flags and pruning records come along; other layers are deep-copied. The outputs
    equal the masked dense model's up to float32 rounding (the sums run in a different order).
    """
    if index_dtype is not None and (np.dtype(index_dtype).kind not in "iu"
                                    or np.dtype(index_dtype).itemsize < 2):
        raise DTypeError(f"to_sparse: index_dtype must be an integer type of 16 bits or more "
                         f"(uint16, uint32, int32, int64), got {np.dtype(index_dtype)}")
    if backend not in BACKENDS:
        raise ConfigError(f"to_sparse: backend must be one of {BACKENDS}, got {backend!r}")
    convertible = [layer.name for layer in model.layers if isinstance(layer, (Dense, Conv2D))]
    if layers is None:
        chosen = set(convertible)
    else:
        chosen = {layers} if isinstance(layers, str) else set(layers)
        unknown = sorted(chosen - set(convertible))
        if unknown:
            raise ConfigError(f"to_sparse: layers {unknown} are not Dense or Conv2D layers of this "
                              f"model; those are {convertible}")
    converted = []
    for layer in model.layers:
        if isinstance(layer, Dense) and layer.name in chosen:
            converted.append(SparseDense.from_dense(layer, backend, index_dtype))
        elif isinstance(layer, Conv2D) and layer.name in chosen:
            converted.append(SparseConv2D.from_dense(layer, backend, index_dtype))
        else:
            converted.append(copy.deepcopy(layer))
    return Sequential(converted)


def to_dense(model: Sequential) -> Sequential:
    """The masked dense model back from a sparse one (e.g. to save it or prune it further)."""
    return Sequential([layer.to_dense() if isinstance(layer, (SparseDense, SparseConv2D))
                       else copy.deepcopy(layer) for layer in model.layers])

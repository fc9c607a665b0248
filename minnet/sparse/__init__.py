"""Sparse inference, retraining and storage of pruned models (Han et al. 2015, sec. 4).

    sparse_model = to_sparse(pruned_model, backend="minnet")   # Dense layers -> CSR layers
    logits = sparse_model.forward(x)                           # y = W x with W in CSR
    sparse_model.save("model.npz"); Sequential.load("model.npz")   # like any model, CSR kept
    save_sparse(pruned_model, "model.sparse.npz")              # compact: narrow or 5/8-bit indices
    pruned_model = load_sparse("model.sparse.npz")             # (Sequential.load reads it too)
    print_layer_report(pruned_model)                           # density, bytes, time per layer

SparseDense and SparseConv2D keep the Layer contract (config round-trips, the CSR structure is
array state) and register themselves (:func:`minnet.layers.register_layer`) on import.

Modules: :mod:`~minnet.sparse.csr` (masked dense <-> CSR arrays), :mod:`~minnet.sparse.layers`
(SparseDense), :mod:`~minnet.sparse.conv` (SparseConv2D),
:mod:`~minnet.sparse.model` (whole-model conversion),
:mod:`~minnet.sparse.storage` (compressed files), :mod:`~minnet.sparse.report` (per-layer table).
"""

from minnet.sparse.conv import SparseConv2D
from minnet.sparse.csr import csr_to_dense, dense_to_csr
from minnet.sparse.layers import SparseDense
from minnet.sparse.model import to_dense, to_sparse
from minnet.sparse.report import format_layer_report, layer_report, print_layer_report
from minnet.sparse.storage import load_sparse, save_sparse

__all__ = ["SparseDense", "SparseConv2D", "to_sparse", "to_dense", "dense_to_csr", "csr_to_dense", "save_sparse",
           "load_sparse", "layer_report", "format_layer_report", "print_layer_report"]

"""Sparse inference, retraining and storage of pruned models (Han et al. 2015, sec. 4).

    sparse_model = to_sparse(pruned_model, backend="minnet")   # Dense layers -> CSR layers
    logits = sparse_model.forward(x)                           # y = W x with W in CSR
    save_sparse(pruned_model, "model.sparse.npz")              # CSR arrays, narrow indices
    pruned_model = load_sparse("model.sparse.npz")
    print_layer_report(pruned_model)                           # density, bytes, time per layer

Modules: :mod:`~minnet.sparse.csr` (masked dense <-> CSR arrays), :mod:`~minnet.sparse.layers`
(SparseDense), :mod:`~minnet.sparse.model` (whole-model conversion),
:mod:`~minnet.sparse.storage` (compressed files).
"""

from minnet.sparse.csr import csr_to_dense, dense_to_csr
from minnet.sparse.layers import SparseDense
from minnet.sparse.model import to_dense, to_sparse
from minnet.sparse.storage import load_sparse, save_sparse

__all__ = ["SparseDense", "to_sparse", "to_dense", "dense_to_csr", "csr_to_dense", "save_sparse",
           "load_sparse"]

"""Turning a masked dense weight matrix into CSR arrays, and back (the format itself: kernels/csr.py).

Index types are the narrowest that fit (paper sec. 4 stores indices in few bits): column indices are
uint16 when the matrix has at most 65536 columns, else uint32; row pointers are int32. (scipy gets
its own int32 copy of the indices; the saved files go narrower still, see storage.py.)
"""

import numpy as np
import scipy.sparse

from minnet.errors import ConfigError, ShapeError
from minnet.kernels.csr import csr_entry_rows


def column_index_dtype(n_cols: int):
    """uint16 if every column index fits (n_cols <= 65536), else uint32 (see kernels/csr.py: why
    unsigned)."""
    return np.dtype(np.uint16) if n_cols <= np.iinfo(np.uint16).max + 1 else np.dtype(np.uint32)


def narrowest_unsigned_dtype(max_value: int):
    """The smallest unsigned integer dtype that holds 0 .. max_value (for saved index arrays)."""
    for t in (np.uint8, np.uint16, np.uint32, np.uint64):
        if max_value <= np.iinfo(t).max:
            return np.dtype(t)
    raise ConfigError(f"{max_value} does not fit in 64 bits")


def dense_to_csr(W, mask, index_dtype=None):
    """CSR arrays of the kept connections of a 2-D weight matrix.

    W (rows, cols) float, mask (rows, cols) bool (True = connection kept) ->
    (indptr (rows + 1,) int32, indices (nnz,) ``index_dtype``, data (nnz,) W's dtype), entries of a
    row in increasing column order. The *mask* decides what is stored, not W != 0: a kept weight
    that happens to be 0.0 is still a connection that retraining may move.
    """
    W, mask = np.asarray(W), np.asarray(mask, dtype=bool)
    if W.ndim != 2 or mask.shape != W.shape:
        raise ShapeError(f"dense_to_csr: W must be 2-D with a mask of its shape, got {W.shape}, "
                         f"mask {mask.shape}")
    if mask.sum() > np.iinfo(np.int32).max:
        raise ConfigError("dense_to_csr: more than 2^31 - 1 nonzeros do not fit int32 row pointers")
    index_dtype = column_index_dtype(W.shape[1]) if index_dtype is None else np.dtype(index_dtype)
    indptr = np.zeros(W.shape[0] + 1, dtype=np.int32)
    np.cumsum(mask.sum(axis=1), out=indptr[1:])
    indices = np.nonzero(mask)[1].astype(index_dtype)
    data = np.ascontiguousarray(W[mask])
    return indptr, indices, data


def csr_to_dense(indptr, indices, data, shape):
    """(W, mask): the dense matrix (rows, cols) and its kept-connection mask from CSR arrays.

    indptr: a plain CSR indptr (rows + 1,) or the kernels' column-blocked block_ptr
    (n_blocks, rows + 1), see :mod:`minnet.kernels.csr`."""
    rows = csr_entry_rows(indptr)
    W = np.zeros(shape, dtype=data.dtype)
    mask = np.zeros(shape, dtype=bool)
    W[rows, indices] = data
    mask[rows, indices] = True
    return W, mask


def shared_scipy_csr(cached, data, indices, indptr, shape):
    """A ``scipy.sparse.csr_matrix`` of ``shape`` over ``data`` itself (shared, not copied).

    Sharing means the optimiser's in-place steps on ``data`` are seen by scipy with no rebuild;
    ``cached`` (the matrix from the last call, or None) is returned unchanged while it still wraps
    this very array, and rebuilt when the array was replaced (astype, loading). scipy takes int32
    indices only, so minnet's narrow indices are widened once, here.
    """
    if cached is not None and cached.data is data:
        return cached
    matrix = scipy.sparse.csr_matrix((data, indices.astype(np.int32), indptr), shape=shape, copy=False)
    matrix.data = data
    return matrix

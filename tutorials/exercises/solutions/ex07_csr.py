"""Reference solution to exercise 7 (CSR storage and product). See ../ex07_csr.py."""

import numpy as np


def csr_from_dense(W, mask):
    """(indptr, indices, data) of the kept entries, row by row, columns increasing."""
    rows, cols = np.nonzero(mask)                  # row-major order: rows, then columns
    indptr = np.zeros(W.shape[0] + 1, dtype=np.int64)
    np.cumsum(mask.sum(axis=1), out=indptr[1:])
    return indptr, cols, W[rows, cols]


def csr_matvec(indptr, indices, data, x):
    """y[i] = sum of data[k] * x[indices[k]] over row i's entries k."""
    n_rows = len(indptr) - 1
    y = np.zeros(n_rows, dtype=np.float64)
    for i in range(n_rows):
        start, end = indptr[i], indptr[i + 1]
        y[i] = np.dot(data[start:end], x[indices[start:end]])
    return y

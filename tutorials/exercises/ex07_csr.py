"""Exercise 7: compressed sparse row (CSR) storage and the sparse product y = W x.

Goes with tutorial 09. Check with  python -m minnet.exercises check -k ex07_csr

Objective: store a pruned matrix in CSR form and multiply with it, touching only the kept
entries, so that pruning saves memory and time.
Time: about 35 minutes.

A pruned layer keeps ~10% of its weights. Storing and multiplying the other 90% zeros is waste, so a
pruned matrix W (rows, cols) is stored in CSR form: only the kept entries, row by row.

    data     (nnz,)        the kept weights, row 0's first, then row 1's, ...
    indices  (nnz,)        the column of each entry of data
    indptr   (rows + 1,)   row i's entries are data[indptr[i] : indptr[i + 1]]; indptr[0] = 0 and
                           indptr[-1] = nnz. An empty row (a neuron whose inputs were all pruned)
                           has indptr[i] == indptr[i + 1].

Example: W = [[0, 2, 0],            indptr  = [0, 1, 1, 3]
              [0, 0, 0],            indices = [1, 0, 2]
              [3, 0, 4]]            data    = [2, 3, 4]

Which entries are "kept" is decided by the pruning mask, not by W != 0: a kept weight may happen to
be exactly 0.0 and must still be stored (retraining may move it).

The product y = W x then only touches the kept entries (cost nnz instead of rows * cols):

    y[i] = sum over k in range(indptr[i], indptr[i + 1]) of  data[k] * x[indices[k]]

(a half-open range, like Python's: indptr[i + 1] itself is the first entry of the *next* row.)

A CSR matrix does not promise that the columns inside a row are sorted; your product must not assume
it. (Your csr_from_dense should produce them sorted, as minnet does.)

Use NumPy and plain Python loops (no scipy.sparse, no minnet).
"""

import numpy as np


def csr_from_dense(W, mask):
    """The CSR arrays of the kept entries of W.

    W: (rows, cols) float, mask: (rows, cols) bool (True = kept).
    Returns (indptr, indices, data): (rows + 1,) ints, (nnz,) ints, (nnz,) floats, with the entries
    of each row in increasing column order.

    Hints: list the kept positions row by row (NumPy's nonzero does so, columns increasing); the
    values come in the same order; indptr is a running total of the per-row counts, starting at 0.
    """
    raise NotImplementedError("write csr_from_dense")


def csr_matvec(indptr, indices, data, x):
    """y = W x for W in CSR form.

    indptr: (rows + 1,), indices: (nnz,), data: (nnz,), x: (cols,). Returns y: (rows,) floats.

    Hint: for each row, sum value x the entry of x at that value's column, over the row's entries.
    """
    raise NotImplementedError("write csr_matvec")

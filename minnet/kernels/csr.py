"""CSR kernels: a pruned weight matrix times activations, and its gradients at the nonzeros only.

A pruned weight matrix W (rows, cols) is stored in compressed sparse row (CSR) form, optionally
split into column blocks (see below):
    block_ptr (n_blocks, rows + 1) int32   block b of row i is entries k = block_ptr[b, i] ..
                                           block_ptr[b, i + 1] - 1; with one block, block_ptr[0]
                                           is the usual CSR ``indptr`` (pass ``indptr[None, :]``)
    indices (nnz,)       any integer type; minnet uses uint16 when cols <= 65536, else uint32:
                         fewer bytes to read, and unsigned indices spare Numba the negative-index
                         (wrap-around) check it adds for signed ones (measured ~1.3x on AlexNet fc6)
    data    (nnz,)       float32/64       value of entry k
Entries inside a row (or block) may be in any order (nothing here assumes sorted columns).

Column blocks: y = W x reads x[j] at random j for every nonzero. When x is larger than the core's
L1 data cache (32-48 KB: AlexNet's fc6 has 9216 inputs = 36 KB, VGG-16's 25088 = 98 KB), these
reads miss L1 while data and indices stream past, and the kernel slows down 1.5-2x (measured: 1.5
cycles per nonzero on fc6 against 0.85 on fc7, whose x is 16 KB). Splitting the columns into blocks
of at most BLOCK_COLS and storing block 0 of every row, then block 1 of every row, ... keeps every
stream sequential, and the kernels run each chunk of rows block by block, so only one block of x
is in use at a time (:func:`csr_column_blocks` builds the layout; measured 1.4x on fc6, 1.5x on
VGG-16's fc6). BLOCK_COLS is chosen from this CPU's L1 size (:func:`block_cols_for`; 8192 columns
= 32 KB on a 48 KB L1), so a block's column indices always fit uint16. Layers of up to BLOCK_COLS
inputs have one block: plain CSR.

Layout of the activations: the batch is the *last*, contiguous axis. ``xt`` is X^T with shape
(cols, N) and the kernels write Y^T (rows, N). Why: for one nonzero W[i, j] the kernel then reads
the N numbers xt[j, :] in one contiguous run and adds them to the N accumulators of output row i,
which the compiler vectorises. A layer keeps its activations transposed between sparse layers, so
the transposes cost nothing but a view (see :mod:`minnet.sparse`).

Determinism: every parallel kernel splits the work over *output rows* (``prange`` over i). Each
output number is summed by exactly one thread, in the order its entries are stored, so the result
is bit-identical from run to run and for any number of threads. (Splitting over the nonzeros and
adding partial sums would make the rounding depend on the thread schedule.) That is also why the
backward pass uses the transposed structure (:func:`csr_transpose_structure`) instead of
scattering into dx.

Each parallel kernel has a ``_serial`` twin with the same numbers: starting Numba's thread pool
costs tens of microseconds, more than a whole 300x100 layer takes at batch 1. The row loops are
shared helpers, so both twins run the same code: the parallel kernels ``prange`` over
``ROW_CHUNKS`` chunks of rows (of columns, for W^T), each chunk a call of the serial loop (measured
1.5-2x faster than ``prange`` over single rows, whose outlined loop body compiled worse). The
products ``csr_matvec``, ``csr_matmul_t``, ``csr_sddmm_t`` and ``csr_t_matmul_t`` are thin Python
functions that run the ``_parallel`` or the ``_serial`` kernel, whichever has lately been faster
for that shape (:mod:`minnet.thread_choice`): when another program keeps a core busy, a parallel
call waits for the thread sharing that core.
Plain NumPy references for all of them are in :mod:`minnet.kernels.reference`.
"""

from pathlib import Path

import numpy as np
from numba import njit, prange

from minnet.thread_choice import CSR_FORWARD, ThreadChoice

CSR_BACKWARD = ThreadChoice()      # the gradient products' own per-shape choices


# -- forward: Y^T = act(W X^T + b) ---------------------------------------------------------------

def l1_data_cache_bytes(default=32 * 1024):
    """The L1 data cache of CPU 0 in bytes, from Linux's sysfs; ``default`` where unknown."""
    try:
        for index in sorted(Path("/sys/devices/system/cpu/cpu0/cache").glob("index*")):
            if ((index / "level").read_text().strip() == "1"
                    and (index / "type").read_text().strip() in ("Data", "Unified")):
                size = (index / "size").read_text().strip()             # e.g. "48K"
                return int(size[:-1]) * 1024 if size.endswith("K") else int(size)
    except (OSError, ValueError):
        pass
    return default


def block_cols_for(l1_bytes):
    """Columns per block: the largest power of two whose float32 x fills at most 2/3 of L1 (the
    rest holds the streamed data and indices), between 1024 and 65536 (uint16 column indices
    inside a block would allow up to 65536). 48 KB -> 8192, 32 KB -> 4096."""
    cols = 1024
    while (2 * cols) * 4 <= l1_bytes * 2 // 3 and 2 * cols <= 65536:
        cols *= 2
    return cols


# Measured on AMD EPYC (Zen 5, 48 KB L1d), one thread, cycles per nonzero with blocks of
# 2048 / 4096 / 8192 / 12544 columns: AlexNet fc6 0.86 / 0.79 / 0.74 / 0.78, VGG-16 fc6
# 1.10 / 0.93 / 0.83 / 1.59 (12544 columns = 49 KB of x: no longer fits, and the cost doubles).
BLOCK_COLS = block_cols_for(l1_data_cache_bytes())


# The matrix-vector row loop may reassociate its sums (LLVM flags reassoc/nsz/contract, nothing
# about NaN or infinity): the compiler then vectorises y_i = sum_k data[k] * x[indices[k]] with
# 16-wide loads of data and indices and a gather of x. Measured on AMD EPYC (Zen 5), one thread,
# cycles per nonzero: AlexNet fc7 0.75 -> 0.66, fc6 0.82 -> 0.75, VGG-16 fc6 0.94 -> 0.87, against
# the previous hand-written eight partial sums in a fixed order. The order of the additions is now
# the compiler's: fixed for a given build and CPU (so results stay bit-identical from run to run
# and for any number of threads, as both use this one loop), but not across CPU types; the
# results agree with the exact sum to float32 rounding (tests: |error| <= 1e-5 * max |y|).
_REASSOC = {"reassoc", "nsz", "contract"}


@njit(inline="always")
def _segment_dot(seg_data, seg_cols, x):
    # The caller passes slices walked with range(0, ...): Numba then knows every position is >= 0
    # and drops the negative-index (wrap-around) fix-up it would otherwise emit for each read of
    # data[k] with a k loaded from block_ptr (measured 1.7x faster on a 4096 x 4096 layer).
    s = seg_data.dtype.type(0)
    for j in range(seg_data.shape[0]):
        s += seg_data[j] * x[seg_cols[j]]
    return s


@njit(inline="always")
def _bias_act(acc, b, relu):
    # Returns the value for the caller to store: storing to ``out`` inside an inlined helper
    # measured 1.2x slower (the compiler then re-reads more around the store).
    acc += b
    if relu and acc < 0:
        acc = type(acc)(0)
    return acc


# Rows per parallel call are split in this many chunks: enough to even out rows of different
# lengths over up to ~8 threads; a compile-time constant (so the kernels can be cached on disk).
ROW_CHUNKS = 64


@njit(cache=True, fastmath=_REASSOC)
def _matvec_rows(block_ptr, indices, data, bias, relu, x, out, lo, hi):
    # Block by block over rows lo..hi: out[i] holds the running sum between blocks; the last
    # block adds the bias and applies the activation.
    last = block_ptr.shape[0] - 1
    for b in range(last + 1):
        start, stop = block_ptr[b], block_ptr[b, 1:]
        for i in range(lo, hi):
            s = _segment_dot(data[start[i]:stop[i]], indices[start[i]:stop[i]], x)
            if b > 0:
                s += out[i]
            out[i] = _bias_act(s, bias[i], relu) if b == last else s


@njit(cache=True)
def _chunk_bounds(n_rows, c):
    size = (n_rows + ROW_CHUNKS - 1) // ROW_CHUNKS
    return min(n_rows, c * size), min(n_rows, (c + 1) * size)


@njit(cache=True, parallel=True)
def csr_matvec_parallel(block_ptr, indices, data, bias, relu, x, out):
    """y = act(W x + b) for one input vector, W in CSR, parallel over rows (paper sec. 4: sparse FC).

    Shapes: block_ptr (n_blocks, rows + 1), indices/data (nnz,), bias (rows,), x (cols,), out (rows,).
        out[i] = act(sum_{k in row i, any block} data[k] * x[indices[k]] + bias[i])
    act is max(., 0) when ``relu`` is True, else the identity. An all-zero row (a neuron whose
    inputs were all pruned) gives act(bias[i]). Rows are split in chunks over threads; each
    out[i] is summed by one thread in a fixed order. Returns out.
    """
    n_rows = block_ptr.shape[1] - 1
    for c in prange(ROW_CHUNKS):
        lo, hi = _chunk_bounds(n_rows, c)
        _matvec_rows(block_ptr, indices, data, bias, relu, x, out, lo, hi)
    return out


@njit(cache=True)
def csr_matvec_serial(block_ptr, indices, data, bias, relu, x, out):
    """:func:`csr_matvec_parallel` on one thread, same numbers (for small layers, where starting
    threads costs more, and for busy machines, see :func:`csr_matvec`)."""
    _matvec_rows(block_ptr, indices, data, bias, relu, x, out, 0, block_ptr.shape[1] - 1)
    return out


@njit(cache=True)
def _matmul_rows(block_ptr, indices, data, bias, relu, xt, out_t, lo, hi):
    n = xt.shape[1]
    zero = data.dtype.type(0)
    last = block_ptr.shape[0] - 1
    # N accumulators for one output row, in a scratch array of this call's own: the compiler then
    # knows they cannot overlap the input rows and vectorises the inner loop (measured 2x faster
    # than accumulating in out_t's row directly).
    acc = np.empty(n, dtype=data.dtype)
    for b in range(last + 1):
        start, stop = block_ptr[b], block_ptr[b, 1:]
        # Branches on b stay outside the loops over m, which the compiler vectorises.
        for i in range(lo, hi):
            out = out_t[i]
            if b == 0:                     # the first block starts from the bias ...
                init = bias[i]
                for m in range(n):
                    acc[m] = init
            else:                          # ... the others from the previous blocks' sums
                for m in range(n):
                    acc[m] = out[m]
            row_data = data[start[i]:stop[i]]           # slices: see _segment_dot
            row_cols = indices[start[i]:stop[i]]
            for k in range(row_data.shape[0]):
                w = row_data[k]
                src = xt[row_cols[k]]      # row j of X^T: the batch's values of input j, contiguous
                for m in range(n):
                    acc[m] += w * src[m]
            if relu and b == last:
                for m in range(n):
                    out[m] = zero if acc[m] < zero else acc[m]
            else:
                for m in range(n):
                    out[m] = acc[m]


@njit(cache=True, parallel=True)
def csr_matmul_t_parallel(block_ptr, indices, data, bias, relu, xt, out_t):
    """Y^T = act(W X^T + b) for a batch, W in CSR, parallel over rows of W (in chunks).

    Shapes: block_ptr (n_blocks, rows + 1), xt = X^T (cols, N) C-contiguous, bias (rows,),
    out_t = Y^T (rows, N).
        out_t[i, n] = act(bias[i] + sum_{k in row i, any block} data[k] * xt[indices[k], n])
    Work and memory traffic scale with nnz * N, not rows * cols. Returns out_t.
    """
    n_rows = block_ptr.shape[1] - 1
    for c in prange(ROW_CHUNKS):
        lo, hi = _chunk_bounds(n_rows, c)
        _matmul_rows(block_ptr, indices, data, bias, relu, xt, out_t, lo, hi)
    return out_t


@njit(cache=True)
def csr_matmul_t_serial(block_ptr, indices, data, bias, relu, xt, out_t):
    """:func:`csr_matmul_t_parallel` on one thread, same numbers."""
    _matmul_rows(block_ptr, indices, data, bias, relu, xt, out_t, 0, block_ptr.shape[1] - 1)
    return out_t


@njit(cache=True)
def csr_forward_t_serial(block_ptr, indices, data, bias, relu, xt, out_t):
    """Y^T = act(W X^T + b) on one thread for any batch N, written into out_t; returns nothing.

    Shapes: block_ptr (n_blocks, rows + 1), xt = X^T (cols, N) and out_t = Y^T (rows, N), both
    C-contiguous. N = 1 runs the loop of :func:`csr_matvec_serial`, N > 1 the loop of
    :func:`csr_matmul_t_serial`, so the numbers are theirs, bit for bit.

    The entry for small products (LeNet's layers at batch 1), where calling costs more than
    computing. It takes the 2-D arrays as they are, because a reshape in Python costs ~0.1 us, and
    it returns None, because handing an array back to Python costs ~0.25 us (Numba builds a new
    array object for it): more than LeNet-300-100's fc3 product itself, ~0.09 us (measured on
    AMD EPYC, Zen 5).
    """
    rows = block_ptr.shape[1] - 1
    if xt.shape[1] == 1:      # the same memory seen as vectors: a view, no copy
        _matvec_rows(block_ptr, indices, data, bias, relu, xt.reshape(-1), out_t.reshape(-1),
                     0, rows)
    else:
        _matmul_rows(block_ptr, indices, data, bias, relu, xt, out_t, 0, rows)


def csr_matvec(block_ptr, indices, data, bias, relu, x, out):
    """:func:`csr_matvec_parallel` or :func:`csr_matvec_serial`, whichever has lately been faster
    for this shape (:mod:`minnet.thread_choice`: a busy core stalls the parallel kernel). Same
    arguments, same bit-identical result. Returns out."""
    key = ("matvec", block_ptr.shape[1], data.shape[0])
    return CSR_FORWARD.run(key, data.shape[0], csr_matvec_serial, csr_matvec_parallel,
                           block_ptr, indices, data, bias, relu, x, out)


def csr_matmul_t(block_ptr, indices, data, bias, relu, xt, out_t):
    """:func:`csr_matmul_t_parallel` or :func:`csr_matmul_t_serial`, chosen as in
    :func:`csr_matvec`. Returns out_t."""
    key = ("matmul", block_ptr.shape[1], data.shape[0], xt.shape[1])
    return CSR_FORWARD.run(key, data.shape[0] * xt.shape[1], csr_matmul_t_serial,
                           csr_matmul_t_parallel, block_ptr, indices, data, bias, relu, xt, out_t)


# -- backward: gradients at the surviving connections only ---------------------------------------

@njit(cache=True)
def _sddmm_rows(block_ptr, indices, dzt, xt, out, lo, hi):
    n = dzt.shape[1]
    for i in range(lo, hi):
        g = dzt[i]
        for b in range(block_ptr.shape[0]):
            for k in range(block_ptr[b, i], block_ptr[b, i + 1]):
                src = xt[indices[k]]
                acc = out.dtype.type(0)
                for m in range(n):
                    acc += g[m] * src[m]
                out[k] = acc


@njit(cache=True, parallel=True)
def csr_sddmm_t_parallel(block_ptr, indices, dzt, xt, out):
    """Weight gradient at the nonzeros only: a sampled dense-dense product (SDDMM).

    The dense gradient is dW = dZ^T X (rows, cols); retraining a pruned layer (paper sec. 3.3) only
    needs it where a connection survives, so for every stored entry k = (i, j):
        out[k] = sum_n dzt[i, n] * xt[j, n]        (= dW[i, j])
    Shapes: block_ptr (n_blocks, rows + 1), dzt = dZ^T (rows, N), xt = X^T (cols, N), out (nnz,)
    in the order of ``data``. Cost is nnz * N instead of rows * cols * N. Parallel over chunks of
    rows; each out[k] is one dot product in a fixed order (deterministic). Returns out.
    """
    n_rows = block_ptr.shape[1] - 1
    for c in prange(ROW_CHUNKS):
        lo, hi = _chunk_bounds(n_rows, c)
        _sddmm_rows(block_ptr, indices, dzt, xt, out, lo, hi)
    return out


@njit(cache=True)
def csr_sddmm_t_serial(block_ptr, indices, dzt, xt, out):
    """:func:`csr_sddmm_t_parallel` on one thread, same numbers."""
    _sddmm_rows(block_ptr, indices, dzt, xt, out, 0, block_ptr.shape[1] - 1)
    return out


@njit(cache=True)
def _t_matmul_cols(t_indptr, t_rows, t_perm, data, dzt, out_t, lo, hi):
    n = dzt.shape[1]
    zero = data.dtype.type(0)
    for j in range(lo, hi):
        acc = out_t[j]
        for m in range(n):
            acc[m] = zero
        for p in range(t_indptr[j], t_indptr[j + 1]):
            w = data[t_perm[p]]
            src = dzt[t_rows[p]]
            for m in range(n):
                acc[m] += w * src[m]


@njit(cache=True, parallel=True)
def csr_t_matmul_t_parallel(t_indptr, t_rows, t_perm, data, dzt, out_t):
    """dX^T = W^T dZ^T with the transposed structure, parallel over chunks of the columns of W.

    ``(t_indptr, t_rows, t_perm)`` come from :func:`csr_transpose_structure`: column j of W holds
    the entries k = t_perm[t_indptr[j] .. t_indptr[j+1]-1] of ``data``, in rows t_rows[...].
        out_t[j, n] = sum_{p in column j} data[t_perm[p]] * dzt[t_rows[p], n]
    Shapes: data (nnz,), dzt = dZ^T (rows, N), out_t = dX^T (cols, N). Reading ``data`` through
    ``t_perm`` means the optimiser can update ``data`` in place and this kernel sees it. Gathering
    per output column (instead of scattering from each row of W) keeps it deterministic. Returns out_t.
    """
    n_cols = t_indptr.shape[0] - 1
    for c in prange(ROW_CHUNKS):
        lo, hi = _chunk_bounds(n_cols, c)
        _t_matmul_cols(t_indptr, t_rows, t_perm, data, dzt, out_t, lo, hi)
    return out_t


@njit(cache=True)
def csr_t_matmul_t_serial(t_indptr, t_rows, t_perm, data, dzt, out_t):
    """:func:`csr_t_matmul_t_parallel` on one thread, same numbers."""
    _t_matmul_cols(t_indptr, t_rows, t_perm, data, dzt, out_t, 0, t_indptr.shape[0] - 1)
    return out_t


# Retraining on CSR runs these twice per layer and batch. Like the forward products they pick one
# thread or all per call (:mod:`minnet.thread_choice`): with a core busy, the all-threads versions
# made a LeNet-300-100 retraining epoch on CSR 2.1x slower than masked dense (1.66 s vs 0.78 s).

def csr_sddmm_t(block_ptr, indices, dzt, xt, out):
    """:func:`csr_sddmm_t_parallel` or :func:`csr_sddmm_t_serial`: one thread below
    PARALLEL_MIN_WORK multiply-adds, else whichever has lately been faster for this shape (same
    arguments, bit-identical result). Returns out."""
    work = out.shape[0] * dzt.shape[1]
    key = ("sddmm", block_ptr.shape[1], out.shape[0], dzt.shape[1])
    return CSR_BACKWARD.run(key, work, csr_sddmm_t_serial, csr_sddmm_t_parallel,
                            block_ptr, indices, dzt, xt, out)


def csr_t_matmul_t(t_indptr, t_rows, t_perm, data, dzt, out_t):
    """:func:`csr_t_matmul_t_parallel` or :func:`csr_t_matmul_t_serial`, chosen as in
    :func:`csr_sddmm_t`. Returns out_t."""
    work = data.shape[0] * dzt.shape[1]
    key = ("t_matmul", t_indptr.shape[0], data.shape[0], dzt.shape[1])
    return CSR_BACKWARD.run(key, work, csr_t_matmul_t_serial, csr_t_matmul_t_parallel,
                            t_indptr, t_rows, t_perm, data, dzt, out_t)


# -- structure helpers (plain NumPy: run once per layer, not per batch) ---------------------------

def csr_entry_rows(block_ptr):
    """The row of every stored entry, (nnz,) int64, in the order of ``data``."""
    block_ptr = np.atleast_2d(block_ptr)
    rows = np.arange(block_ptr.shape[1] - 1)
    return np.concatenate([np.repeat(rows, np.diff(p)) for p in block_ptr] or [rows[:0]])


def csr_column_blocks(indptr, indices, data, n_cols, block_cols=BLOCK_COLS):
    """Plain CSR -> the column-blocked layout of this module's kernels (see the module docstring).

    indptr (rows + 1,), indices/data (nnz,), n_cols = cols of W -> (block_ptr (n_blocks, rows + 1)
    int32, indices, data) with n_blocks = ceil(n_cols / block_cols) (at least 1); entry k goes to
    block indices[k] // block_cols. Entries are reordered block-major (block 0 of rows 0..rows-1,
    then block 1, ...), keeping their order within each (block, row). Returns new arrays.
    """
    indptr, indices, data = np.asarray(indptr), np.asarray(indices), np.asarray(data)
    n_rows = indptr.shape[0] - 1
    n_blocks = max(1, -(-int(n_cols) // int(block_cols)))
    block = indices.astype(np.int64) // block_cols
    rows = np.repeat(np.arange(n_rows), np.diff(indptr))
    order = np.lexsort((rows, block))        # by block, then row; stable, so a row keeps its order
    # (block, row) pairs in storage order are b * n_rows + i; their running counts are the pointers
    counts = np.bincount(block * n_rows + rows, minlength=n_blocks * n_rows)
    ends = np.concatenate([[0], np.cumsum(counts)])
    block_ptr = ends[np.arange(n_blocks)[:, None] * n_rows + np.arange(n_rows + 1)]
    return block_ptr.astype(np.int32), indices[order], data[order]


def csr_transpose_structure(block_ptr, indices, n_cols):
    """The CSR structure of W^T, as a permutation of W's entries (no values are copied).

    block_ptr (n_blocks, rows + 1) (or a plain indptr), indices (nnz,) -> (t_indptr (n_cols + 1,)
    int32, t_rows (nnz,) uint32, t_perm (nnz,) uint32) such that column j of W is entries
    t_perm[t_indptr[j]:t_indptr[j+1]] of W's ``data``, lying in rows t_rows[...]. A stable sort
    keeps, within a column, the entries in row order (a column lies in one block), so the
    summation order in :func:`csr_t_matmul_t` is fixed.
    """
    indices = np.asarray(indices)
    rows = csr_entry_rows(block_ptr).astype(np.uint32)
    perm = np.argsort(indices, kind="stable").astype(np.uint32)
    counts = np.bincount(indices.astype(np.int64), minlength=n_cols)[:n_cols]
    t_indptr = np.zeros(n_cols + 1, dtype=np.int32)
    np.cumsum(counts, out=t_indptr[1:])
    return t_indptr, rows[perm], perm

"""CSR kernels against their NumPy references: all-zero rows, empty matrices, unsorted indices,
signed and unsigned 16/32-bit column indices, float32 and float64, plain CSR (one column block) and
the column-blocked layout, and bit-identical results across runs and thread counts (the kernels
parallelise over output rows, so each output has one summation order)."""

import numba
import numpy as np
import pytest

from minnet.kernels import csr, reference


def random_csr(rows, cols, density, seed=0, index_dtype=np.int32, dtype=np.float32,
               zero_rows=(), shuffle=False):
    """A random CSR triple; rows listed in ``zero_rows`` have no entries (fully pruned neurons).
    With shuffle=True the entries inside each row are in random column order."""
    rng = np.random.default_rng(seed)
    mask = rng.random((rows, cols)) < density
    mask[list(zero_rows), :] = False
    indptr = np.zeros(rows + 1, dtype=np.int32)
    np.cumsum(mask.sum(axis=1), out=indptr[1:])
    indices = np.nonzero(mask)[1].astype(index_dtype)
    data = rng.standard_normal(indices.shape[0]).astype(dtype)
    if shuffle:
        for i in range(rows):
            a, b = indptr[i], indptr[i + 1]
            p = a + rng.permutation(b - a)
            indices[a:b], data[a:b] = indices[p], data[p]
    return indptr, indices, data


def layouts(indptr, indices, data, cols):
    """The same matrix in the kernels' layouts: plain CSR (one block), three column blocks (some
    rows with empty blocks) and minnet's default BLOCK_COLS."""
    yield "plain CSR", indptr[None, :], indices, data
    yield "3 column blocks", *csr.csr_column_blocks(indptr, indices, data, cols, cols // 3 + 1)
    yield "BLOCK_COLS blocks", *csr.csr_column_blocks(indptr, indices, data, cols)


def assert_close(mine, ref, rtol=1e-5, what=""):
    """Relative error against the reference's scale; on failure show the worst entry."""
    mine, ref = np.asarray(mine, dtype=np.float64), np.asarray(ref, dtype=np.float64)
    assert mine.shape == ref.shape, f"{what}: shape {mine.shape} vs reference {ref.shape}"
    if ref.size == 0:
        return
    err = np.abs(mine - ref)
    scale = max(np.abs(ref).max(), 1e-30)
    worst = np.unravel_index(np.argmax(err), err.shape)
    assert err.max() <= rtol * scale, (f"{what}: worst entry {worst}: mine {mine[worst]!r} vs "
                                       f"reference {ref[worst]!r} (max |ref| {scale:.3g})")


# Every (index type, float type) pair compiles each kernel once more (~1 s each on a cold cache),
# so the cases cover what minnet uses (uint16/uint32 indices, float32; float64 for gradient checks)
# plus one signed-index case, rather than the full product.
CASES = [  # (rows, cols, density, zero_rows, shuffle, index dtype, float dtype)
    (7, 5, 0.5, (0, 3), False, np.uint16, np.float32),
    (300, 784, 0.08, (1, 2, 299), True, np.uint16, np.float32),
    (30, 70000, 0.01, (4,), True, np.uint32, np.float32),   # more columns than uint16 can index
    (100, 300, 0.09, (), True, np.int32, np.float32),
    (10, 100, 0.26, (9,), False, np.uint16, np.float64),
    (4, 6, 0.0, (), False, np.uint16, np.float32),          # every connection pruned: nnz = 0
]


@pytest.mark.parametrize("rows,cols,density,zero_rows,shuffle,itype,dtype", CASES)
def test_forward_kernels_match_reference(rows, cols, density, zero_rows, shuffle, itype, dtype):
    csr_triple = random_csr(rows, cols, density, 1, itype, dtype, zero_rows, shuffle)
    rng = np.random.default_rng(2)
    bias = rng.standard_normal(rows).astype(dtype)
    for layout, ptr, indices, data in layouts(*csr_triple, cols):
        for relu in (False, True):
            x = rng.standard_normal(cols).astype(dtype)
            ref = reference.csr_matvec(ptr, indices, data, bias, relu, x)
            for kernel in (csr.csr_matvec, csr.csr_matvec_parallel, csr.csr_matvec_serial):
                out = kernel(ptr, indices, data, bias, relu, x, np.empty(rows, dtype))
                assert_close(out, ref, what=f"{kernel.__name__}, {layout}")
            for n in (1, 3, 64):
                xt = rng.standard_normal((cols, n)).astype(dtype)
                ref = reference.csr_matmul_t(ptr, indices, data, bias, relu, xt)
                for kernel in (csr.csr_matmul_t, csr.csr_matmul_t_parallel,
                               csr.csr_matmul_t_serial):
                    out = kernel(ptr, indices, data, bias, relu, xt, np.empty((rows, n), dtype))
                    assert_close(out, ref, what=f"{kernel.__name__} N={n}, {layout}")
            # a fully pruned neuron outputs act(bias) exactly
            for i in zero_rows:
                assert out[i, 0] == (max(bias[i], 0) if relu else bias[i])


@pytest.mark.parametrize("rows,cols,density,zero_rows,shuffle,itype,dtype", CASES)
def test_backward_kernels_match_reference(rows, cols, density, zero_rows, shuffle, itype, dtype):
    csr_triple = random_csr(rows, cols, density, 3, itype, np.float64, zero_rows, shuffle)  # float64: exact
    rng = np.random.default_rng(4)
    n = 5
    dzt, xt = rng.standard_normal((rows, n)), rng.standard_normal((cols, n))
    for layout, ptr, indices, data in layouts(*csr_triple, cols):
        g = csr.csr_sddmm_t(ptr, indices, dzt, xt, np.empty(data.shape[0]))
        assert_close(g, reference.csr_sddmm_t(ptr, indices, dzt, xt), 1e-12, f"csr_sddmm_t, {layout}")
        t_indptr, t_rows, t_perm = csr.csr_transpose_structure(ptr, indices, cols)
        dxt = csr.csr_t_matmul_t(t_indptr, t_rows, t_perm, data, dzt, np.empty((cols, n)))
        assert_close(dxt, reference.csr_t_matmul_t(ptr, indices, data, dzt, cols), 1e-12,
                     f"csr_t_matmul_t, {layout}")


def test_transpose_structure_by_hand():
    # W = [[1, 0, 2],      column 0: entry 0 (row 0), entry 3 (row 2)
    #      [0, 0, 0],      column 1: entry 2 (row 2)
    #      [4, 3, 0]]      column 2: entry 1 (row 0); row 2 is stored unsorted (cols 1, 0)
    indptr = np.array([0, 2, 2, 4], np.int32)
    indices = np.array([0, 2, 1, 0], np.int16)
    t_indptr, t_rows, t_perm = csr.csr_transpose_structure(indptr, indices, 3)
    assert t_indptr.tolist() == [0, 2, 3, 4]
    assert t_perm.tolist() == [0, 3, 2, 1]
    assert t_rows.tolist() == [0, 2, 2, 0]


def test_column_blocks_by_hand():
    # W (3 x 7) = [[a, ., ., ., ., b, .],      blocks of 4 columns: 0-3 and 4-6
    #              [., ., ., ., ., ., .],      block 0: row 0 [a], row 2 [c]
    #              [., c, ., ., d, ., e]]      block 1: row 0 [b], row 2 [d, e]
    indptr = np.array([0, 2, 2, 5], np.int32)
    indices = np.array([0, 5, 1, 4, 6], np.uint16)
    data = np.array([1.0, 2.0, 3.0, 4.0, 5.0])           # a, b, c, d, e
    block_ptr, b_indices, b_data = csr.csr_column_blocks(indptr, indices, data, 7, 4)
    assert block_ptr.tolist() == [[0, 1, 1, 2], [2, 3, 3, 5]]
    assert b_indices.tolist() == [0, 1, 5, 4, 6]
    assert b_data.tolist() == [1.0, 3.0, 2.0, 4.0, 5.0]
    assert csr.csr_entry_rows(block_ptr).tolist() == [0, 2, 0, 2, 2]
    # one block (4 <= block_cols) is plain CSR, unchanged
    block_ptr, b_indices, b_data = csr.csr_column_blocks(indptr, indices, data, 7, 7)
    assert block_ptr.tolist() == [indptr.tolist()]
    assert b_indices.tolist() == indices.tolist() and b_data.tolist() == data.tolist()


def test_empty_matrix_shapes():
    """0 rows or 0 columns: the kernels return empty or bias-only outputs without touching memory."""
    indptr = np.zeros((1, 1), np.int32)
    empty_i, empty_d = np.zeros(0, np.int16), np.zeros(0, np.float32)
    out = csr.csr_matmul_t(indptr, empty_i, empty_d, np.zeros(0, np.float32), True,
                           np.ones((5, 2), np.float32), np.empty((0, 2), np.float32))
    assert out.shape == (0, 2)
    indptr = np.zeros((1, 4), np.int32)  # 3 rows, 0 columns
    out = csr.csr_matvec(indptr, empty_i, empty_d, np.array([1, -2, 3], np.float32), True,
                         np.zeros(0, np.float32), np.empty(3, np.float32))
    assert out.tolist() == [1, 0, 3]


def test_parallel_kernels_are_bit_identical_across_runs_and_thread_counts():
    indptr, indices, data = csr.csr_column_blocks(*random_csr(500, 700, 0.1, 5, np.uint16,
                                                              shuffle=True), 700, 300)  # 3 blocks
    rng = np.random.default_rng(6)
    xt = rng.standard_normal((700, 16)).astype(np.float32)
    dzt = rng.standard_normal((500, 16)).astype(np.float32)
    bias = rng.standard_normal(500).astype(np.float32)
    t = csr.csr_transpose_structure(indptr, indices, 700)

    def run():
        return (csr.csr_matmul_t_parallel(indptr, indices, data, bias, True, xt,
                                          np.empty((500, 16), np.float32)),
                csr.csr_matvec_parallel(indptr, indices, data, bias, False, xt[:, 0].copy(),
                                        np.empty(500, np.float32)),
                csr.csr_sddmm_t_parallel(indptr, indices, dzt, xt, np.empty(data.shape, np.float32)),
                csr.csr_t_matmul_t_parallel(*t, data, dzt, np.empty((700, 16), np.float32)))

    first = run()
    old = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        single = run()
    finally:
        numba.set_num_threads(old)
    for a, b, c in zip(first, run(), single):
        assert np.array_equal(a, b) and np.array_equal(a, c)
    # the serial twins do the same additions in the same order
    assert np.array_equal(first[0], csr.csr_matmul_t_serial(indptr, indices, data, bias, True, xt,
                                                            np.empty((500, 16), np.float32)))
    assert np.array_equal(first[1], csr.csr_matvec_serial(indptr, indices, data, bias, False,
                                                          xt[:, 0].copy(), np.empty(500, np.float32)))
    assert np.array_equal(first[2], csr.csr_sddmm_t_serial(indptr, indices, dzt, xt,
                                                           np.empty(data.shape, np.float32)))
    assert np.array_equal(first[3], csr.csr_t_matmul_t_serial(*t, data, dzt,
                                                              np.empty((700, 16), np.float32)))
    # the thread-choosing wrappers run one of the two: the same bits either way
    for _ in range(3):
        assert np.array_equal(first[1], csr.csr_matvec(indptr, indices, data, bias, False,
                                                       xt[:, 0].copy(), np.empty(500, np.float32)))
        assert np.array_equal(first[2], csr.csr_sddmm_t(indptr, indices, dzt, xt,
                                                        np.empty(data.shape, np.float32)))
        assert np.array_equal(first[3], csr.csr_t_matmul_t(*t, data, dzt,
                                                           np.empty((700, 16), np.float32)))


@pytest.mark.parametrize("seed,rows,cols,density,block_cols", [
    (0, 37, 4096 * 2 + 5, 0.09, csr.BLOCK_COLS),     # two full blocks and a ragged 5-column one
    (1, 64, 9216, 0.09, csr.BLOCK_COLS),             # AlexNet fc6's width, ragged last block
    (2, 50, 1000, 0.3, 333),                         # small ragged blocks, long rows
    (3, 20, 3000, 0.0, 700),                         # all-zero matrix in blocks
])
def test_matvec_on_wide_blocked_layers_within_float32_rounding(seed, rows, cols, density,
                                                                 block_cols):
    """The matrix-vector loop sums in the compiler's (vectorised) order: it must agree with the
    exact sum (float64) to float32 rounding, |error| <= 1e-5 * max |y|, in every layout and on
    rows with empty blocks; batch 1 and batch > 1 agree with each other the same way."""
    indptr, indices, data = random_csr(rows, cols, density, seed, np.uint16, np.float32,
                                       zero_rows=(1, rows - 1), shuffle=True)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(cols).astype(np.float32)
    bias = rng.standard_normal(rows).astype(np.float32)
    ptr, b_indices, b_data = csr.csr_column_blocks(indptr, indices, data, cols, block_cols)
    exact = reference.csr_matvec(indptr[None, :], indices, data.astype(np.float64),
                                 bias.astype(np.float64), False, x.astype(np.float64))
    for kernel in (csr.csr_matvec_serial, csr.csr_matvec_parallel, csr.csr_matvec):
        out = kernel(ptr, b_indices, b_data, bias, False, x, np.empty(rows, np.float32))
        assert_close(out, exact, 1e-5, f"{kernel.__name__}, blocks of {block_cols}")
        assert out[1] == bias[1] and out[rows - 1] == bias[rows - 1]      # no entries: the bias
    batch = csr.csr_matmul_t_serial(ptr, b_indices, b_data, bias, False,
                                    np.repeat(x[:, None], 3, axis=1), np.empty((rows, 3), np.float32))
    assert_close(batch[:, 2], exact, 1e-5, "csr_matmul_t_serial, batch 3")


def test_block_width_follows_the_l1_cache():
    """2/3 of L1 for x, a power of two, never more columns than uint16 indices can address."""
    assert csr.block_cols_for(32 * 1024) == 4096 and csr.block_cols_for(48 * 1024) == 8192
    assert csr.block_cols_for(0) == 1024 and csr.block_cols_for(1 << 30) == 65536
    assert csr.BLOCK_COLS * 4 <= max(csr.l1_data_cache_bytes(), 1536)


@pytest.mark.parametrize("block_cols", [None, 333])
@pytest.mark.parametrize("relu", [False, True])
def test_serial_forward_entry_gives_the_matvec_and_batch_kernels_numbers_bit_for_bit(block_cols,
                                                                                      relu):
    """csr_forward_t_serial (the cheap call for small products) runs the matrix-vector loop at
    N = 1 and the batch loop at N > 1: its output must equal those kernels' exactly, fill all of
    out_t, and return nothing (returning the array is what it avoids)."""
    rows, cols = 40, 1000
    indptr, indices, data = random_csr(rows, cols, 0.2, 7, np.uint16, np.float32,
                                       zero_rows=(3,), shuffle=True)
    ptr, b_indices, b_data = csr.csr_column_blocks(indptr, indices, data, cols, block_cols or cols)
    rng = np.random.default_rng(7)
    bias = rng.standard_normal(rows).astype(np.float32)
    for n in (1, 5):
        xt = rng.standard_normal((cols, n)).astype(np.float32)
        out_t = np.full((rows, n), np.nan, np.float32)
        assert csr.csr_forward_t_serial(ptr, b_indices, b_data, bias, relu, xt, out_t) is None
        if n == 1:
            want = csr.csr_matvec_serial(ptr, b_indices, b_data, bias, relu, xt[:, 0].copy(),
                                         np.empty(rows, np.float32))[:, None]
        else:
            want = csr.csr_matmul_t_serial(ptr, b_indices, b_data, bias, relu, xt,
                                           np.empty((rows, n), np.float32))
        assert np.array_equal(out_t, want), f"N = {n}"

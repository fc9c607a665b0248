"""Direct sparse convolution kernels (minnet.kernels.sparse_conv) against the NumPy reference:
padding, stride 2, groups, ReLU on/off, batch 1 and more, output channels with no kept weights,
rows of 1-3 weights (the four-at-a-time loop's tail), float32 and float64; the serial and the
parallel kernel, and the parallel one on 1 and 2 threads, give bit-identical numbers."""

import numba
import numpy as np
import pytest

from minnet.errors import ShapeError
from minnet.kernels import reference
from minnet.kernels.sparse_conv import (sparse_conv2d_parallel, sparse_conv2d_serial,
                                        weight_offsets)


def random_sparse_conv(n, c, h, w, oc, kh, kw, groups, density, dtype, seed=0, empty=(),
                       short=(), index_dtype=np.uint16):
    """(indptr, indices, data, bias, x) of a random pruned convolution: W2 (OC, C*kh*kw) in CSR,
    block-diagonal over the groups as SparseConv2D stores it. Output channels in ``empty`` keep no
    weight; those in ``short`` keep 1-3."""
    rng = np.random.default_rng(seed)
    cg = c // groups
    mask = rng.random((oc, cg * kh * kw)) < density
    mask[list(empty)] = False
    for k, row in enumerate(short):
        mask[row] = False
        mask[row, rng.choice(cg * kh * kw, 1 + k % 3, replace=False)] = True
    indptr = np.zeros(oc + 1, dtype=np.int32)
    np.cumsum(mask.sum(axis=1), out=indptr[1:])
    rows, local = np.nonzero(mask)
    indices = (local + rows // (oc // groups) * cg * kh * kw).astype(index_dtype)
    data = rng.standard_normal(indices.shape[0]).astype(dtype)
    bias = rng.normal(0, 0.5, oc).astype(dtype)
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    return indptr, indices, data, bias, x


def out_shape(x, oc, kh, kw, sh, sw, ph, pw):
    n, _, h, w = x.shape
    return n, oc, (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1


CASES = [  # (N, C, H, W, OC, kh, kw, (sh, sw), (ph, pw), groups, density, empty, short, relu, dtype)
    (1, 1, 28, 28, 20, 5, 5, (1, 1), (0, 0), 1, 0.66, (3,), (5,), False, np.float32),  # LeNet conv1
    (3, 20, 12, 12, 50, 5, 5, (1, 1), (0, 0), 1, 0.12, (0, 49), (1, 2, 7), True, np.float32),
    (2, 4, 9, 7, 6, 3, 3, (2, 2), (1, 1), 2, 0.4, (2,), (4,), True, np.float32),
    (5, 4, 8, 10, 6, 3, 2, (1, 2), (2, 0), 2, 0.5, (), (0, 1, 2), False, np.float64),
    (2, 6, 11, 9, 9, 3, 3, (2, 1), (0, 1), 3, 0.3, (8,), (), True, np.float64),
    (4, 3, 7, 7, 8, 3, 3, (1, 1), (1, 1), 1, 0.5, (0, 1), (2, 3, 4), False, np.float64),
    (1, 2, 5, 5, 4, 5, 5, (1, 1), (0, 0), 2, 1.0, (), (), True, np.float32),   # 1 x 1 output
]


def run(kernel, indptr, indices, data, bias, relu, x, kh, kw, stride, padding, oc):
    out = np.full(out_shape(x, oc, kh, kw, *stride, *padding), np.nan, dtype=data.dtype)
    return kernel(indptr, indices, data, bias, relu, x, kh, kw, *stride, *padding, out)


@pytest.mark.parametrize("case", CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_kernels_equal_the_reference(case):
    n, c, h, w, oc, kh, kw, stride, padding, groups, density, empty, short, relu, dtype = case
    indptr, indices, data, bias, x = random_sparse_conv(n, c, h, w, oc, kh, kw, groups, density,
                                                        dtype, empty=empty, short=short)
    ref = reference.sparse_conv2d(indptr, indices, data, bias, relu, x, kh, kw, *stride, *padding)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for kernel in (sparse_conv2d_serial, sparse_conv2d_parallel):
        got = run(kernel, indptr, indices, data, bias, relu, x, kh, kw, stride, padding, oc)
        assert got.dtype == dtype
        err = np.abs(got - ref).max()
        assert err <= tol * max(np.abs(ref).max(), 1.0), f"{kernel.__name__}: max error {err:.3g}"
        for k in empty:      # a channel with no kept weight outputs act(bias)
            assert np.all(got[:, k] == (max(bias[k], 0) if relu else bias[k]))


def test_reference_agrees_with_the_dense_convolution_reference():
    """The sparse reference is itself checked against the plain convolution by its definition."""
    indptr, indices, data, bias, x = random_sparse_conv(2, 4, 9, 7, 6, 3, 3, 2, 0.5, np.float64)
    W2 = reference.csr_to_dense(indptr[None, :], indices, data, (6, 36))   # (OC, C*kh*kw)
    per_group = W2.reshape(6, 4, 3, 3)
    W = np.stack([per_group[k, (k // 3) * 2:(k // 3) * 2 + 2] for k in range(6)])  # (OC, C/2, 3, 3)
    ref = reference.sparse_conv2d(indptr, indices, data, bias, False, x, 3, 3, 2, 1, 1, 0)
    assert np.allclose(ref, reference.conv2d(x, W, bias, (2, 1), (1, 0), 2), rtol=1e-12, atol=1e-12)


def test_signed_and_32_bit_indices():
    for index_dtype in (np.int32, np.uint32):
        indptr, indices, data, bias, x = random_sparse_conv(2, 3, 8, 8, 5, 3, 3, 1, 0.5,
                                                            np.float32, index_dtype=index_dtype)
        got = run(sparse_conv2d_serial, indptr, indices, data, bias, True, x, 3, 3, (1, 1), (1, 1), 5)
        ref = reference.sparse_conv2d(indptr, indices, data, bias, True, x, 3, 3, 1, 1, 1, 1)
        assert np.abs(got - ref).max() <= 1e-5 * np.abs(ref).max()


def test_weight_offsets_decode_channel_and_tap():
    indices = np.array([0, 4, 5, 24, 25, 49, 499], dtype=np.uint16)       # C*5*5 columns
    hp, wp = 12, 13
    got = weight_offsets(indices, 5, 5, hp, wp)
    want = [c * hp * wp + i * wp + j for c, i, j in
            (np.unravel_index(int(r), (20, 5, 5)) for r in indices)]
    assert got.tolist() == want


@pytest.mark.parametrize("case", [CASES[1], CASES[2], CASES[3]], ids=["lenet-conv2", "stride2", "f64"])
def test_bit_identical_for_any_thread_count(case):
    n, c, h, w, oc, kh, kw, stride, padding, groups, density, empty, short, relu, dtype = case
    indptr, indices, data, bias, x = random_sparse_conv(n + 5, c, h, w, oc, kh, kw, groups,
                                                        density, dtype, seed=7, empty=empty)
    args = (indptr, indices, data, bias, relu, x, kh, kw, stride, padding, oc)
    serial = run(sparse_conv2d_serial, *args)
    before = numba.get_num_threads()
    try:
        results = []
        for threads in sorted({1, min(2, numba.config.NUMBA_NUM_THREADS)}):
            numba.set_num_threads(threads)
            results.append(run(sparse_conv2d_parallel, *args))
    finally:
        numba.set_num_threads(before)
    for got in results:
        assert np.array_equal(got, serial)
    assert np.array_equal(run(sparse_conv2d_parallel, *args), serial)      # and run to run


def test_inconsistent_arrays_raise_shape_error():
    indptr, indices, data, bias, x = random_sparse_conv(2, 3, 8, 8, 5, 3, 3, 1, 0.5, np.float32)
    good = np.empty((2, 5, 6, 6), np.float32)
    with pytest.raises(ShapeError):                 # out of the wrong spatial size
        sparse_conv2d_serial(indptr, indices, data, bias, False, x, 3, 3, 1, 1, 0, 0,
                             np.empty((2, 5, 7, 6), np.float32))
    with pytest.raises(ShapeError):                 # indptr of another number of channels
        sparse_conv2d_serial(indptr[:-1], indices, data, bias, False, x, 3, 3, 1, 1, 0, 0, good)
    bad = indices.copy()
    bad[0] = 3 * 3 * 3                              # one past the last column
    with pytest.raises(ShapeError):
        sparse_conv2d_parallel(indptr, bad, data, bias, False, x, 3, 3, 1, 1, 0, 0, good)

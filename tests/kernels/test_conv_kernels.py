"""Conv and pooling kernels against their plain NumPy references (im2col, col2im, layouts, max-pool)."""

import numpy as np
import pytest
from conv_cases import (
    GEOMETRIES,
    POOLS,
    assert_same,
    random_input,
)

from minnet.kernels import conv as K
from minnet.kernels import reference as ref
from minnet.layers import MaxPool2D


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("geom", GEOMETRIES)
def test_im2col_and_col2im_match_reference(geom, dtype):
    n, c, h, w, kh, kw, sh, sw, ph, pw = geom
    x = random_input((n, c, h, w)).astype(dtype)
    oh, ow = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    col = np.full((c * kh * kw, n * oh * ow), np.nan, dtype=dtype)   # NaN: every entry must be written
    K.im2col(x, kh, kw, sh, sw, ph, pw, col)
    assert_same(col, ref.im2col(x, kh, kw, sh, sw, ph, pw), "im2col")

    dcol = random_input(col.shape, seed=2).astype(dtype)
    expected = ref.col2im(dcol, x.shape, kh, kw, sh, sw, ph, pw)
    dx = np.full(x.shape, np.nan, dtype=dtype)
    K.col2im(dcol, kh, kw, sh, sw, ph, pw, dx)
    assert_same(dx, expected, "col2im", rtol=1e-5, atol=1e-5)
    dx_t = np.full(x.shape, np.nan, dtype=dtype)
    K.col2im_t(np.ascontiguousarray(dcol.T), kh, kw, sh, sw, ph, pw, dx_t)   # takes dcol^T
    assert_same(dx_t, expected, "col2im_t", rtol=1e-5, atol=1e-5)
    # col2im is the adjoint of im2col: <im2col(x), dcol> = <x, col2im(dcol)>
    assert np.isclose(np.vdot(col.astype(np.float64), dcol), np.vdot(x.astype(np.float64), dx),
                      rtol=1e-5)


def test_im2col_and_col2im_reject_wrong_shapes():
    # Numba does not check indices: a wrong shape would read or write out of bounds.
    x = np.zeros((2, 1, 5, 5))
    with pytest.raises(ValueError, match="im2col"):
        K.im2col(x, 3, 3, 1, 1, 0, 0, np.zeros((9, 17)))
    with pytest.raises(ValueError, match="col2im"):
        K.col2im(np.zeros((18, 9)), 3, 3, 1, 1, 0, 0, np.zeros_like(x))
    with pytest.raises(ValueError, match="col2im_t"):
        K.col2im_t(np.zeros((9, 18)), 3, 3, 1, 1, 0, 0, np.zeros_like(x))  # dcol, not dcol^T


def test_im2col_hand_checked():
    # x = [[0 1 2], [3 4 5]], 2x2 kernel, stride 1, padding 0 -> 2 windows: [0 1 3 4] and [1 2 4 5]
    x = np.arange(6, dtype=np.float64).reshape(1, 1, 2, 3)
    col = np.empty((4, 2))
    K.im2col(x, 2, 2, 1, 1, 0, 0, col)
    np.testing.assert_array_equal(col, [[0, 1], [1, 2], [3, 4], [4, 5]])


@pytest.mark.parametrize("relu", [False, True])
def test_gemm_layout_kernels_match_reference(relu):
    rng = np.random.default_rng(0)
    n, oc, plane = 3, 4, 5
    z = rng.standard_normal((oc, n * plane)).astype(np.float32)
    b = rng.standard_normal(oc).astype(np.float32)
    y = np.empty((n, oc, plane), dtype=np.float32)
    K.conv_output_from_gemm(z, b, relu, y)
    assert_same(y, ref.conv_output_from_gemm(z, b, relu, n), "conv_output_from_gemm")

    dout = rng.standard_normal((n, oc, plane)).astype(np.float32)
    dz, db = np.empty_like(z), np.empty_like(b)
    K.conv_grad_to_gemm(dout, y, relu, dz, db)
    dz_ref, db_ref = ref.conv_grad_to_gemm(dout, y, relu)
    assert_same(dz, dz_ref, "conv_grad_to_gemm dz")
    assert_same(db, db_ref, "conv_grad_to_gemm db", rtol=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("geom", POOLS)
def test_maxpool_kernels_match_reference(geom, dtype):
    n, c, h, w, kh, kw, sh, sw, ph, pw = geom
    x = random_input((n, c, h, w)).astype(dtype)
    oh, ow = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    out = np.empty((n, c, oh, ow), dtype=dtype)
    argmax = np.empty((n, c, oh, ow), dtype=np.int32)
    K.maxpool_forward(x, kh, kw, sh, sw, ph, pw, out, argmax)
    out_ref, argmax_ref = ref.maxpool_forward(x, kh, kw, sh, sw, ph, pw)
    assert_same(out, out_ref, "maxpool out")
    np.testing.assert_array_equal(argmax, argmax_ref)

    dout = random_input(out.shape, seed=3).astype(dtype)
    dx = np.full(x.shape, np.nan, dtype=dtype)
    K.maxpool_backward(dout, argmax, dx)
    assert_same(dx, ref.maxpool_backward(dout, argmax_ref, x.shape), "maxpool dx")


def test_maxpool_ties_go_to_the_first_max_in_row_major_order():
    # One 2x2 window of equal values -> the top-left wins; in [[1 3], [3 0]] the 3 at (0, 1) wins
    # (row-major order visits (0, 1) before (1, 0)).
    x = np.array([[[[2.0, 2.0, 1.0, 3.0],
                    [2.0, 2.0, 3.0, 0.0]]]])
    pool = MaxPool2D(2)
    np.testing.assert_array_equal(pool.forward(x), [[[[2.0, 3.0]]]])
    np.testing.assert_array_equal(pool._argmax, [[[[0, 3]]]])          # y*W + x: (0, 0) and (0, 3)
    dx = pool.backward(np.array([[[[10.0, 20.0]]]]))
    np.testing.assert_array_equal(dx, [[[[10.0, 0.0, 0.0, 20.0],
                                         [0.0, 0.0, 0.0, 0.0]]]])


# -- Conv2D forward against the direct definition ----------------------------------------------------

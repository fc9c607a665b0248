"""Softmax cross-entropy (gradient check, stability) and every dense Numba kernel vs its reference."""

import numpy as np
import pytest

from gradcheck import assert_close_gradients, numerical_gradient
from minnet.kernels import dense as K
from minnet.kernels import reference as ref
from minnet.losses import softmax_cross_entropy


def test_softmax_cross_entropy_gradient():
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((6, 5))
    y = rng.integers(0, 5, 6)
    _, dlogits = softmax_cross_entropy(logits, y)
    numeric = numerical_gradient(lambda: softmax_cross_entropy(logits, y)[0], logits)
    assert_close_gradients(dlogits, numeric, "softmax_cross_entropy")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n, c", [(1, 2), (7, 10), (256, 10), (5, 1000)])
def test_softmax_kernel_matches_numpy_reference(dtype, n, c):
    rng = np.random.default_rng(n * c)
    logits = (rng.standard_normal((n, c)) * 8).astype(dtype)
    y = rng.integers(0, c, n)
    loss, d = softmax_cross_entropy(logits, y)
    ref_loss, ref_d = ref.softmax_cross_entropy(logits.astype(np.float64), y)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    assert loss == pytest.approx(ref_loss, rel=tol)
    assert d.dtype == dtype
    np.testing.assert_allclose(d, ref_d, rtol=tol, atol=tol / n)


def test_softmax_cross_entropy_known_value():
    # Uniform logits over 4 classes: loss = log 4 for every example.
    loss, d = softmax_cross_entropy(np.zeros((3, 4)), np.array([0, 1, 3]))
    assert loss == pytest.approx(np.log(4))
    np.testing.assert_allclose(d[0], [(0.25 - 1) / 3, 0.25 / 3, 0.25 / 3, 0.25 / 3])


def test_softmax_cross_entropy_is_stable_for_huge_logits():
    logits = np.array([[1e4, 0.0, -1e4], [-1e4, 1e4, 3.0]], dtype=np.float32)
    loss, d = softmax_cross_entropy(logits, np.array([1, 1]))
    assert np.isfinite(loss) and np.all(np.isfinite(d))
    assert loss == pytest.approx(1e4 / 2, rel=1e-6)   # first row: -log p = 1e4, second: 0


@pytest.mark.parametrize("labels", [np.array([0, 3]), np.array([-1, 0])])
def test_softmax_cross_entropy_rejects_labels_out_of_range(labels):
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        softmax_cross_entropy(np.zeros((2, 3)), labels)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bias_relu_forward_matches_reference(dtype):
    rng = np.random.default_rng(1)
    z = rng.standard_normal((7, 9)).astype(dtype)
    b = rng.standard_normal(9).astype(dtype)
    out = K.bias_relu_forward(z, b, np.empty_like(z))
    np.testing.assert_array_equal(out, ref.bias_relu_forward(z, b))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_backward_matches_reference(dtype):
    rng = np.random.default_rng(2)
    dout = rng.standard_normal(50).astype(dtype)
    y = np.maximum(rng.standard_normal(50), 0).astype(dtype)
    out = K.relu_backward(dout, y, np.empty_like(dout))
    np.testing.assert_array_equal(out, ref.relu_backward(dout, y))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rate", [0.0, 0.3, 0.9])
def test_dropout_forward_matches_reference(dtype, rate):
    rng = np.random.default_rng(3)
    x = rng.standard_normal(100).astype(dtype)
    u = rng.random(100).astype(dtype)
    out, scale = np.empty_like(x), np.empty_like(x)
    K.dropout_forward(x, u, rate, out, scale)
    ref_out, ref_scale = ref.dropout_forward(x, u, rate)
    np.testing.assert_allclose(out, ref_out, rtol=1e-6)
    np.testing.assert_allclose(scale, ref_scale, rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("momentum, wd, l1", [(0.0, 0.0, 0.0), (0.9, 5e-4, 0.0), (0.9, 1e-3, 1e-4)])
def test_masked_sgd_update_matches_reference(dtype, momentum, wd, l1):
    rng = np.random.default_rng(4)
    w = rng.standard_normal(64).astype(dtype)
    w[::7] = 0.0                                  # exact zeros exercise sign(0) = 0 in L1
    v = rng.standard_normal(64).astype(dtype)
    g = rng.standard_normal(64).astype(dtype)
    mask = rng.random(64) > 0.3
    ref_w, ref_v = ref.masked_sgd_update(w, v, g, mask, 0.05, momentum, wd, l1)
    K.masked_sgd_update(w, v, g, mask, 0.05, momentum, wd, l1)
    rtol = 1e-6 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(w, ref_w, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(v, ref_v, rtol=rtol, atol=rtol)
    assert np.all(w[~mask] == 0) and np.all(v[~mask] == 0)


def test_masked_sgd_update_counts_weights_that_became_nonfinite():
    w = np.array([1.0, 2.0, 3.0, 4.0], dtype=np.float32)
    v = np.zeros(4, dtype=np.float32)
    g = np.array([0.0, 3e38, np.nan, 3e38], dtype=np.float32)   # entry 3 is pruned: not counted
    mask = np.array([True, True, True, False])
    assert K.masked_sgd_update(w, v, g, mask, 10.0, 0.0, 0.0, 0.0) == 2
    assert K.masked_sgd_update(np.ones(3), np.zeros(3), np.ones(3), np.ones(3, bool), 0.1, 0.9, 0.0, 0.0) == 0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("keep", [0.0, 0.08, 0.7, 1.0])
def test_zero_pruned_matches_numpy(dtype, keep):
    rng = np.random.default_rng(5)
    g = rng.standard_normal(1000).astype(dtype)
    mask = rng.random(1000) < keep
    expected = g.copy()
    expected[~mask] = 0.0                        # the NumPy formula the kernel replaces
    assert K.zero_pruned(g, mask) == int((~mask).sum())
    np.testing.assert_array_equal(g, expected)
    assert not np.signbit(g[~mask]).any()        # +0.0, as the assignment writes

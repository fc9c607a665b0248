"""Dense, ReLU, Dropout, Flatten: float64 gradient checks (with and without masks), shapes, errors."""

import numpy as np
import pytest

from gradcheck import check_layer_gradients
from minnet.errors import DTypeError, ShapeError
from minnet.layers import Dense, Dropout, Flatten, ReLU


def random_input(shape, seed=1):
    # Keep values away from 0 so ReLU kinks do not sit within h of an evaluation point.
    x = np.random.default_rng(seed).standard_normal(shape)
    return np.where(np.abs(x) < 1e-3, 0.5, x)


@pytest.mark.parametrize("activation", [None, "relu"])
@pytest.mark.parametrize("shape", [(4, 7, 5), (1, 3, 1), (6, 10, 12)])
def test_dense_gradients(activation, shape):
    n, fin, fout = shape
    layer = Dense(fin, fout, activation=activation, rng=0, dtype=np.float64)
    layer.params["b"][:] = np.random.default_rng(2).standard_normal(fout)
    check_layer_gradients(layer, random_input((n, fin)))


def test_dense_gradients_with_mask_are_zero_where_pruned():
    layer = Dense(6, 5, activation="relu", rng=0, dtype=np.float64)
    layer.params["b"][:] = 0.3
    mask = np.random.default_rng(3).random((5, 6)) > 0.5
    layer.set_mask("W", mask)
    assert np.all(layer.params["W"][~mask] == 0.0)
    layer.forward(random_input((4, 6)))
    layer.backward(np.ones((4, 5)))
    assert np.all(layer.grads["W"][~mask] == 0.0)
    assert np.any(layer.grads["W"][mask] != 0.0)


def test_masked_dense_matches_dense_with_zeroed_weights():
    """A masked Dense computes exactly what a Dense with those weights set to 0 computes."""
    a = Dense(8, 4, rng=0, dtype=np.float64)
    b = Dense(8, 4, rng=0, dtype=np.float64)
    mask = np.random.default_rng(4).random((4, 8)) > 0.3
    a.set_mask("W", mask)
    b.params["W"] = np.where(mask, b.params["W"], 0.0)
    x = random_input((3, 8))
    np.testing.assert_array_equal(a.forward(x), b.forward(x))


def test_dense_gradcheck_with_mask_on_kept_weights():
    layer = Dense(5, 4, activation="relu", rng=1, dtype=np.float64)
    layer.params["b"][:] = 0.2
    mask = np.random.default_rng(5).random((4, 5)) > 0.4
    layer.set_mask("W", mask)
    x = random_input((3, 5))
    rng = np.random.default_rng(0)
    R = rng.standard_normal((3, 4))
    layer.forward(x)
    layer.backward(R)
    analytic = layer.grads["W"].copy()
    W = layer.params["W"]
    h = 1e-6
    for i, j in zip(*np.nonzero(mask)):
        old = W[i, j]
        W[i, j] = old + h
        fp = np.sum(layer.forward(x) * R)
        W[i, j] = old - h
        fm = np.sum(layer.forward(x) * R)
        W[i, j] = old
        num = (fp - fm) / (2 * h)
        assert abs(num - analytic[i, j]) <= 1e-6 * max(1.0, abs(num)), (i, j, num, analytic[i, j])
    assert np.all(analytic[~mask] == 0.0)


def test_relu_gradients():
    check_layer_gradients(ReLU(), random_input((3, 4, 5)))


def test_flatten_gradients_and_shape():
    layer = Flatten()
    x = random_input((2, 3, 4, 5))
    assert layer.forward(x).shape == (2, 60)
    check_layer_gradients(layer, x)


def test_dropout_gradients_with_fixed_mask():
    layer = Dropout(0.4)
    x = random_input((5, 6))
    check_layer_gradients(layer, x, training=True, before_forward=lambda: layer.reseed(7))


def test_dropout_inverted_scaling_and_inference_identity():
    layer = Dropout(0.25, seed=0)
    x = np.ones((200, 500))
    y = layer.forward(x, training=True)
    kept = y != 0
    # Kept values are scaled by 1 / (1 - 0.25) = 4/3, and about 75% are kept.
    np.testing.assert_allclose(y[kept], 4 / 3)
    assert abs(kept.mean() - 0.75) < 0.01
    np.testing.assert_array_equal(layer.forward(x, training=False), x)


def test_dropout_rate_can_change_and_is_validated():
    layer = Dropout(0.5)
    layer.rate = 0.15
    assert layer.rate == 0.15 and layer.original_rate == 0.5
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        layer.rate = 1.0


def test_dense_runs_in_float32_by_default():
    layer = Dense(3, 2, rng=0)
    y = layer.forward(np.ones((4, 3), dtype=np.float32))
    assert y.dtype == np.float32 and layer.params["W"].dtype == np.float32


@pytest.mark.parametrize("bad, error", [
    (np.ones((4, 5), dtype=np.float32), ShapeError),       # wrong width
    (np.ones((4, 3, 1), dtype=np.float32), ShapeError),    # wrong rank
    (np.ones((0, 3), dtype=np.float32), ShapeError),       # empty batch
    (np.ones((4, 3), dtype=np.int64), DTypeError),         # ints
    (np.ones((4, 3), dtype=np.float16), DTypeError),       # half precision
    (np.ones((4, 3), dtype=object), DTypeError),           # objects
    ([[1.0, 2.0, 3.0]], DTypeError),                       # not an array
])
def test_dense_rejects_bad_input_naming_the_layer(bad, error):
    layer = Dense(3, 2, rng=0, name="fc1")
    with pytest.raises(error, match="fc1"):
        layer.forward(bad)


@pytest.mark.parametrize("mask, error", [
    (np.ones((3, 2), dtype=bool), ShapeError),
    (np.ones((2, 3), dtype=np.float32), DTypeError),
])
def test_set_mask_rejects_wrong_shape_or_dtype(mask, error):
    layer = Dense(3, 2, rng=0, name="fc1")
    with pytest.raises(error, match="fc1"):
        layer.set_mask("W", mask)


def test_biases_have_no_mask():
    layer = Dense(3, 2, rng=0)
    with pytest.raises(KeyError, match="no mask"):
        layer.set_mask("b", np.ones(2, dtype=bool))

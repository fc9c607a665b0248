"""Backward with a spare core (the dW product on a helper thread) gives the very same gradients."""

import numpy as np
import pytest

from minnet.layers import Conv2D, Dense
from minnet.layers.base import spare_core


def _grads(layer, x, dout, spare):
    layer.forward(x, training=True)
    with spare_core(spare):
        dx = layer.backward(dout)
    return dx, {k: g.copy() for k, g in layer.grads.items()}


@pytest.mark.parametrize("make, x_shape", [
    (lambda: Dense(800, 500, activation="relu", rng=0), (64, 800)),      # LeNet-5's fc1
    (lambda: Conv2D(20, 50, 5, activation="relu", rng=0), (64, 20, 12, 12)),   # and its conv2
    (lambda: Conv2D(4, 6, 3, groups=2, rng=0), (3, 4, 9, 9)),
])
def test_overlapped_backward_is_bit_identical(make, x_shape):
    rng = np.random.default_rng(1)
    layer = make()
    layer.prune(rng.random(layer.weight.shape) > 0.3)       # masked gradients too
    x = rng.standard_normal(x_shape).astype(np.float32)
    dout = rng.standard_normal(layer.forward(x).shape).astype(np.float32)
    dx_plain, g_plain = _grads(layer, x, dout, spare=False)
    dx_spare, g_spare = _grads(layer, x, dout, spare=True)
    np.testing.assert_array_equal(dx_plain, dx_spare)
    for k in g_plain:
        np.testing.assert_array_equal(g_plain[k], g_spare[k], err_msg=k)
    assert not g_spare["W"][~layer.mask].any()

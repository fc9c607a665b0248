"""Shared cases of the convolution tests: inputs, geometries, a gradient check, a comparison."""

import numpy as np
from gradcheck import assert_close_gradients, numerical_gradient


def random_input(shape, seed=1):
    # Keep values away from 0 so ReLU kinks do not sit within h of an evaluation point.
    x = np.random.default_rng(seed).standard_normal(shape)
    return np.where(np.abs(x) < 1e-3, 0.5, x)


# Step for central differences. Conv and ReLU are piecewise linear, so the differences have no
# truncation error unless a step crosses a ReLU kink, and a larger step shrinks the rounding error:
# with h = 1e-6 it reaches ~1e-9 absolute, which fails the relative test on entries ~1e-3.
H = 1e-4


def check_layer_gradients(layer, x, seed=0, h=H):
    """Assert d(sum(forward(x) * R))/d{x, params} == central differences, relative error < 1e-6.

    Like ``gradcheck.check_layer_gradients`` (random R makes dL/dy = R) with a choosable step ``h``.
    """
    y = layer.forward(x)
    R = np.random.default_rng(seed).standard_normal(y.shape)
    loss = lambda: float(np.sum(layer.forward(x) * R))
    dx = layer.backward(R.copy())
    analytic = {k: g.copy() for k, g in layer.grads.items()}
    assert_close_gradients(dx, numerical_gradient(loss, x, h), f"{layer.describe()} dx")
    for k, p in layer.params.items():
        assert_close_gradients(analytic[k], numerical_gradient(loss, p, h), f"{layer.describe()} d{k}")


def assert_same(mine, expected, name, rtol=1e-6, atol=1e-6):
    """Fail showing mine vs reference at the worst entry."""
    assert mine.shape == expected.shape, f"{name}: shape {mine.shape} vs reference {expected.shape}"
    if not np.allclose(mine, expected, rtol=rtol, atol=atol):
        diff = np.abs(mine.astype(np.float64) - expected)
        worst = np.unravel_index(np.argmax(diff), diff.shape)
        raise AssertionError(f"{name}: worst entry {worst}: mine {mine[worst]!r} vs reference "
                             f"{expected[worst]!r} (max abs diff {diff.max():.3g})")


# (N, C, H, W, kh, kw, sh, sw, ph, pw): stride 2, padding 1/2, non-square inputs and kernels,
# a kernel as large as the padded input, and stride larger than the kernel.
GEOMETRIES = [
    (2, 3, 7, 6, 3, 3, 1, 1, 0, 0),
    (2, 2, 8, 9, 3, 2, 2, 2, 1, 1),
    (1, 3, 5, 7, 2, 4, 1, 2, 2, 1),
    (3, 1, 6, 5, 5, 3, 1, 1, 2, 0),
    (2, 2, 4, 4, 6, 6, 1, 1, 1, 1),
    (2, 2, 9, 9, 2, 2, 3, 3, 0, 0),
]


# -- kernels vs references ---------------------------------------------------------------------------


POOLS = [  # (N, C, H, W, kh, kw, sh, sw, ph, pw)
    (2, 3, 8, 8, 2, 2, 2, 2, 0, 0),      # LeNet-5
    (2, 2, 13, 13, 3, 3, 2, 2, 0, 0),    # AlexNet: overlapping windows
    (1, 2, 7, 6, 3, 2, 2, 1, 1, 1),      # padding, non-square
    (2, 1, 5, 9, 2, 3, 1, 3, 0, 1),
    (2, 2, 7, 5, 2, 2, 2, 2, 0, 0),      # 2x2 fast path with an odd last row and column
]

"""Central-difference gradient checks shared by the layer tests (float64, asserted)."""

import numpy as np


def numerical_gradient(f, x, h=1e-6):
    """d f / d x by central differences: (f(x + h e_i) - f(x - h e_i)) / (2h) for every entry i."""
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        fp = f()
        x[i] = old - h
        fm = f()
        x[i] = old
        grad[i] = (fp - fm) / (2 * h)
    return grad


def relative_error(a, b):
    """max |a - b| / max(|a| + |b|, tiny): 0 when equal, ~1 when unrelated."""
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), 1e-8)))


def assert_close_gradients(analytic, numeric, name, tol=1e-6):
    """Fail with the worst entry (mine vs numerical) when the relative error exceeds ``tol``."""
    err = relative_error(analytic, numeric)
    if err >= tol:
        diff = np.abs(analytic - numeric)
        worst = np.unravel_index(np.argmax(diff), diff.shape)
        raise AssertionError(f"{name}: relative error {err:.2e} >= {tol:.0e}; worst entry {worst}: "
                             f"analytic {analytic[worst]!r} vs numerical {numeric[worst]!r}")


def check_layer_gradients(layer, x, seed=0, tol=1e-6, training=False, before_forward=None):
    """Check d(sum(forward(x) * R))/d{x, params} for a random R against central differences.

    The scalar loss L = sum(y * R) with fixed random R makes dL/dy = R, so backward(R) must return
    dL/dx and fill layer.grads with dL/dparams. ``before_forward`` is called before every forward
    (e.g. to reseed dropout so every evaluation draws the same mask).
    """
    rng = np.random.default_rng(seed)

    def run():
        if before_forward is not None:
            before_forward()
        return layer.forward(x, training=training)

    y = run()
    R = rng.standard_normal(y.shape)
    loss = lambda: float(np.sum(run() * R))
    dx = layer.backward(R.copy())
    analytic = {k: g.copy() for k, g in layer.grads.items()}
    assert_close_gradients(dx, numerical_gradient(loss, x), f"{layer.describe()} dx", tol)
    for k, p in layer.params.items():
        assert_close_gradients(analytic[k], numerical_gradient(loss, p), f"{layer.describe()} d{k}", tol)

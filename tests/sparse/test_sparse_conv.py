"""SparseConv2D's direct forward (minnet.kernels.sparse_conv) on LeNet-5's convolutions with real
MNIST digits: it equals the masked Conv2D, gives the same numbers on one thread or all, and the
backward pass (which rebuilds im2col from the saved input) still gives Conv2D's gradients."""

import numpy as np
import pytest

from minnet.errors import OrderError
from minnet.models import lenet5
from minnet.sparse import SparseConv2D

LENET5_CONV_DENSITY = {"conv1": 0.66, "conv2": 0.12}       # paper Table 3


def pruned_lenet5_convs(conv_relu, dtype=np.float32, seed=0):
    """(conv1, pool1, conv2) of LeNet-5 with random masks at the paper's densities, random biases
    and output channel 3 of each fully pruned."""
    model = lenet5(seed=seed, conv_relu=conv_relu, dtype=dtype)
    rng = np.random.default_rng(seed + 1)
    layers = {layer.name: layer for layer in model.layers}
    for name, density in LENET5_CONV_DENSITY.items():
        conv = layers[name]
        mask = rng.random(conv.params["W"].shape) < density
        mask[3] = False
        conv.params["b"][...] = rng.normal(0, 0.1, conv.params["b"].shape)
        conv.set_mask("W", mask)
    return layers["conv1"], layers["pool1"], layers["conv2"]


@pytest.fixture(scope="module")
def digits(mnist):
    """64 MNIST test digits as (64, 1, 28, 28) float32."""
    return np.ascontiguousarray(mnist[1][0][:64].reshape(-1, 1, 28, 28), dtype=np.float32)


def assert_close(mine, ref, rtol, what):
    err = np.abs(np.asarray(mine, np.float64) - ref).max()
    assert mine.shape == ref.shape and err <= rtol * np.abs(ref).max(), f"{what}: error {err:.3g}"


@pytest.mark.parametrize("conv_relu", [False, True])
@pytest.mark.parametrize("batch", [1, 64])
def test_lenet5_convs_equal_masked_dense(digits, conv_relu, batch):
    conv1, pool1, conv2 = pruned_lenet5_convs(conv_relu)
    x1 = digits[:batch]
    x2 = pool1.forward(conv1.forward(x1))
    for conv, x in ((conv1, x1), (conv2, x2)):
        sparse = SparseConv2D.from_dense(conv)
        y = sparse.forward(x)
        assert_close(y, conv.forward(x), 1e-5, f"{conv.name} batch {batch}")
        assert np.all(y[:, 3] == (max(conv.params["b"][3], 0) if conv_relu else conv.params["b"][3]))


def test_one_thread_or_all_give_the_same_numbers(digits, monkeypatch):
    """Batch 64 is above PARALLEL_MIN_WORK: the layer may run either kernel; both must agree."""
    conv1, pool1, conv2 = pruned_lenet5_convs(True)
    x2 = pool1.forward(conv1.forward(digits))
    sparse = SparseConv2D.from_dense(conv2)
    outputs = []
    for mode in ("1", "all", "auto", "auto", "auto"):
        monkeypatch.setenv("MINNET_CSR_THREADS", mode)
        outputs.append(sparse.forward(x2).copy())
    for y in outputs[1:]:
        assert np.array_equal(y, outputs[0])


@pytest.mark.parametrize("training", [False, True])
def test_backward_after_direct_forward_equals_masked_dense(digits, training):
    conv1, pool1, conv2 = pruned_lenet5_convs(True, np.float64)
    x1 = digits[:4].astype(np.float64)
    x2 = pool1.forward(conv1.forward(x1))
    rng = np.random.default_rng(5)
    for conv, x in ((conv1, x1), (conv2, x2)):
        sparse = SparseConv2D.from_dense(conv)
        y = conv.forward(x, training=True)
        sparse.forward(x, training=training)
        dout = rng.standard_normal(y.shape)
        dx_dense, dx_sparse = conv.backward(dout), sparse.backward(dout)
        assert_close(dx_sparse, dx_dense, 1e-10, f"{conv.name} dx")
        assert_close(sparse.grads["data"], conv.grads["W"][conv.masks["W"]], 1e-10, f"{conv.name} dW")
        assert_close(sparse.grads["b"], conv.grads["b"], 1e-10, f"{conv.name} db")


def test_backward_uses_the_latest_forward_and_not_a_stale_one(digits):
    conv1, _, _ = pruned_lenet5_convs(False, np.float64)
    sparse = SparseConv2D.from_dense(conv1)
    with pytest.raises(OrderError):
        sparse.backward(np.ones((1, 20, 24, 24)))
    x_a, x_b = digits[:2].astype(np.float64), digits[2:5].astype(np.float64)
    sparse.forward(x_a)
    sparse.backward(np.ones((2, 20, 24, 24)))      # builds and keeps col of x_a
    sparse.forward(x_b)                            # ... which must not be reused for x_b
    dout = np.random.default_rng(6).standard_normal((3, 20, 24, 24))
    conv1.forward(x_b, training=True)
    conv1.backward(dout)
    sparse.backward(dout)
    assert_close(sparse.grads["data"], conv1.grads["W"][conv1.masks["W"]], 1e-10, "dW of x_b")

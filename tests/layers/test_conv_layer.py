"""Conv2D and MaxPool2D: kernels vs NumPy references, float64 gradient checks, masks, errors."""

import numpy as np
import pytest
from conv_cases import (
    GEOMETRIES,
    POOLS,
    H,
    assert_same,
    check_layer_gradients,
    random_input,
)
from gradcheck import assert_close_gradients, numerical_gradient

from minnet.errors import DTypeError, ShapeError
from minnet.kernels import reference as ref
from minnet.layers import Conv2D, MaxPool2D


@pytest.mark.parametrize("geom", GEOMETRIES)
@pytest.mark.parametrize("groups", [1, 2])
def test_conv2d_forward_matches_direct_convolution(geom, groups):
    n, c, h, w, kh, kw, sh, sw, ph, pw = geom
    c *= groups
    layer = Conv2D(c, 2 * groups, (kh, kw), stride=(sh, sw), padding=(ph, pw), groups=groups,
                   rng=0, dtype=np.float64)
    layer.params["b"][:] = np.random.default_rng(4).standard_normal(2 * groups)
    x = random_input((n, c, h, w))
    expected = ref.conv2d(x, layer.params["W"], layer.params["b"], (sh, sw), (ph, pw), groups)
    assert_same(layer.forward(x), expected, "Conv2D forward", rtol=1e-10, atol=1e-12)


# -- gradient checks (float64, central differences, asserted) -----------------------------------------

CONV_CASES = [  # (in, out, kernel, stride, padding, groups, input (N, H, W))
    (3, 4, 3, 1, 0, 1, (2, 6, 5)),
    (2, 3, 3, 2, 1, 1, (2, 7, 8)),              # stride 2, padding 1
    (2, 2, (2, 3), 1, 2, 1, (1, 4, 5)),         # non-square kernel, padding 2
    (4, 6, (3, 2), (2, 1), (1, 0), 2, (2, 5, 6)),  # groups 2, non-square everything
    (1, 3, 5, 1, 0, 1, (2, 6, 7)),              # LeNet-like: one input channel, 5x5
]


@pytest.mark.parametrize("activation", [None, "relu"])
@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d_gradients(case, activation):
    cin, cout, k, s, p, g, (n, h, w) = case
    layer = Conv2D(cin, cout, k, stride=s, padding=p, groups=g, activation=activation, rng=0,
                   dtype=np.float64)
    layer.params["b"][:] = np.random.default_rng(2).standard_normal(cout) * 0.3
    check_layer_gradients(layer, random_input((n, cin, h, w)))


@pytest.mark.parametrize("activation", [None, "relu"])
@pytest.mark.parametrize("groups", [1, 2])
def test_conv2d_gradients_with_mask(activation, groups):
    """With a mask: dx and db match central differences, dW matches them at the kept connections
    and is exactly 0 at the pruned ones (perturbing a pruned weight would change the output, but
    no update may ever reach it, so its gradient is defined as 0)."""
    layer = Conv2D(4, 4, (3, 2), stride=(1, 2), padding=1, groups=groups, activation=activation,
                   rng=0, dtype=np.float64)
    layer.params["b"][:] = 0.2
    mask = np.random.default_rng(5).random(layer.params["W"].shape) > 0.4
    layer.set_mask("W", mask)
    assert np.all(layer.params["W"][~mask] == 0.0)
    x = random_input((2, 4, 5, 6))
    y = layer.forward(x)
    R = np.random.default_rng(6).standard_normal(y.shape)
    loss = lambda: float(np.sum(layer.forward(x) * R))
    dx = layer.backward(R.copy())
    dW, db = layer.grads["W"].copy(), layer.grads["b"].copy()
    assert_close_gradients(dx, numerical_gradient(loss, x, H), "masked Conv2D dx")
    assert_close_gradients(db, numerical_gradient(loss, layer.params["b"], H), "masked Conv2D db")
    numeric_dW = numerical_gradient(loss, layer.params["W"], H)
    assert_close_gradients(dW[mask], numeric_dW[mask], "masked Conv2D dW (kept)")
    assert np.all(dW[~mask] == 0.0)
    assert np.any(numeric_dW[~mask] != 0.0)      # the check above is not vacuous


@pytest.mark.parametrize("geom", POOLS)
def test_maxpool_gradients(geom):
    n, c, h, w, kh, kw, sh, sw, ph, pw = geom
    pool = MaxPool2D((kh, kw), stride=(sh, sw), padding=(ph, pw))
    # A small step here: a step larger than the gap between a window's top two values would swap
    # the argmax. Pooling only selects values, so rounding stays tiny anyway.
    check_layer_gradients(pool, random_input((n, c, h, w)), h=1e-6)


def test_conv2d_then_pool_gradients():
    """The LeNet pattern conv -> pool, checked end to end (pool's backward feeds conv's)."""
    conv = Conv2D(2, 3, 3, activation="relu", rng=1, dtype=np.float64)
    pool = MaxPool2D(2)
    x = random_input((2, 2, 8, 7))
    R = np.random.default_rng(7).standard_normal((2, 3, 3, 2))
    loss = lambda: float(np.sum(pool.forward(conv.forward(x)) * R))
    loss()
    dx = conv.backward(pool.backward(R.copy()))
    assert_close_gradients(dx, numerical_gradient(loss, x, H), "conv->pool dx")
    dW = conv.grads["W"].copy()
    assert_close_gradients(dW, numerical_gradient(loss, conv.params["W"], H), "conv->pool dW")


def test_training_and_inference_forward_give_the_same_gradients(monkeypatch):
    """backward after forward(training=True) uses the kept col, after training=False it recomputes
    col from x; and a batch split into several chunks must match the batch in one chunk."""
    import minnet.layers.conv as conv_module
    x = random_input((5, 4, 7, 6))
    dout = random_input((5, 6, 5, 3), seed=2)
    results = []
    for training, chunk_bytes in ((True, conv_module.CHUNK_BYTES), (False, conv_module.CHUNK_BYTES),
                                  (True, 1500), (False, 1500)):
        monkeypatch.setattr(conv_module, "CHUNK_BYTES", chunk_bytes)
        layer = Conv2D(4, 6, 3, stride=(1, 2), padding=(0, 1), groups=2, activation="relu", rng=0,
                       dtype=np.float64)
        layer.params["b"][:] = 0.1
        if chunk_bytes == 1500:
            assert layer._images_per_chunk(15) == 1       # one image's col: 36 x 15 x 8 B > 1500 B
        y = layer.forward(x, training=training)
        results.append((y, layer.backward(dout), layer.grads["W"].copy(), layer.grads["b"].copy()))
    for other in results[1:]:
        for a, b in zip(results[0], other):
            assert_same(a, b, "chunked / inference path", rtol=1e-12, atol=1e-12)


# -- masks, freezing, init ----------------------------------------------------------------------------

def test_masked_conv_matches_conv_with_zeroed_weights():
    a = Conv2D(3, 4, 3, padding=1, rng=0, dtype=np.float64)
    b = Conv2D(3, 4, 3, padding=1, rng=0, dtype=np.float64)
    mask = np.random.default_rng(1).random(a.params["W"].shape) > 0.5
    a.set_mask("W", mask)
    b.params["W"] = np.where(mask, b.params["W"], 0.0)
    x = random_input((2, 3, 5, 5))
    np.testing.assert_array_equal(a.forward(x), b.forward(x))


def test_frozen_conv_leaves_grads_alone_and_still_returns_dx():
    layer = Conv2D(2, 3, 3, stride=2, padding=1, activation="relu", rng=0, dtype=np.float64)
    x = random_input((2, 2, 6, 6))
    layer.forward(x)
    dout = random_input((2, 3, 3, 3), seed=2)
    dx_trainable = layer.backward(dout)
    layer.trainable = False
    for g in layer.grads.values():
        g[...] = 7.0
    layer.forward(x)
    dx_frozen = layer.backward(dout)
    np.testing.assert_array_equal(dx_frozen, dx_trainable)
    assert all(np.all(g == 7.0) for g in layer.grads.values())


def test_conv2d_skips_dx_when_told_nobody_needs_it():
    """Sequential passes need_dx=False to the lowest layer it trains; grads stay the same."""
    layer = Conv2D(2, 3, 3, padding=1, groups=1, activation="relu", rng=0, dtype=np.float64)
    x, dout = random_input((2, 2, 5, 4)), random_input((2, 3, 5, 4), seed=2)
    layer.forward(x, training=True)
    assert layer.backward(dout) is not None
    expected = {k: g.copy() for k, g in layer.grads.items()}
    layer.forward(x, training=True)
    assert layer.backward(dout, need_dx=False) is None
    for k, g in layer.grads.items():
        np.testing.assert_array_equal(g, expected[k])


def test_conv2d_init_is_caffe_xavier_with_fan_in_per_group():
    layer = Conv2D(8, 64, (3, 5), groups=2, rng=0)
    a = np.sqrt(3.0 / (4 * 3 * 5))                     # fan_in = in_channels / groups * kh * kw = 60
    W = layer.params["W"]
    assert W.shape == (64, 4, 3, 5) and W.dtype == np.float32
    assert np.abs(W).max() <= a and np.abs(W).max() > 0.95 * a
    assert abs(W.mean()) < 0.05 * a
    assert np.all(layer.params["b"] == 0) and layer.kind == "conv"
    np.testing.assert_array_equal(Conv2D(8, 64, (3, 5), groups=2, rng=0).params["W"], W)  # seeded


def test_float32_forward_matches_float64():
    layer = Conv2D(3, 5, 3, stride=2, padding=1, activation="relu", rng=0)
    x = random_input((4, 3, 9, 9)).astype(np.float32)
    y32 = layer.forward(x)
    y64 = layer.astype(np.float64).forward(x.astype(np.float64))
    assert y32.dtype == np.float32
    assert_same(y32, y64, "float32 vs float64", rtol=1e-5, atol=1e-5)


# -- errors ----------------------------------------------------------------------------------------

def test_conv2d_shape_errors_name_the_layer_and_the_shapes():
    layer = Conv2D(3, 4, 5, padding=1, name="conv1")
    with pytest.raises(ShapeError, match=r"Conv2D 'conv1'.*5x5.*4x4"):
        layer.forward(np.zeros((1, 3, 2, 2), np.float32))          # 5x5 kernel > 4x4 padded input
    with pytest.raises(ShapeError, match=r"Conv2D 'conv1'.*3 input channels.*\(2, 1, 8, 8\)"):
        layer.forward(np.zeros((2, 1, 8, 8), np.float32))
    with pytest.raises(ShapeError, match=r"Conv2D 'conv1'.*\(N, C, H, W\).*\(2, 3, 8\)"):
        layer.forward(np.zeros((2, 3, 8), np.float32))
    with pytest.raises(DTypeError, match="Conv2D 'conv1'"):
        layer.forward(np.zeros((2, 3, 8, 8), np.int64))
    with pytest.raises(DTypeError, match="Conv2D 'conv1'"):
        layer.forward(np.zeros((2, 3, 8, 8), np.float64))          # layer is float32
    layer.forward(np.zeros((2, 3, 8, 8), np.float32))
    with pytest.raises(ShapeError, match=r"Conv2D 'conv1'.*dout"):
        layer.backward(np.zeros((2, 4, 5, 5), np.float32))          # output is (2, 4, 6, 6)


def test_conv2d_construction_errors():
    with pytest.raises(ValueError, match=r"Conv2D 'c'.*divisible by groups \(2\)"):
        Conv2D(3, 4, 3, groups=2, name="c")
    with pytest.raises(ValueError, match="divisible by groups"):
        Conv2D(4, 5, 3, groups=2)
    with pytest.raises(ValueError, match="activation"):
        Conv2D(1, 1, 3, activation="tanh")
    with pytest.raises(ValueError, match="kernel_size"):
        Conv2D(1, 1, (3, 3, 3))
    with pytest.raises(ValueError, match="stride"):
        Conv2D(1, 1, 3, stride=0)
    with pytest.raises(RuntimeError, match="before forward"):
        Conv2D(1, 1, 3).backward(np.zeros((1, 1, 1, 1), np.float32))


def test_maxpool_errors():
    pool = MaxPool2D(3, stride=2, name="pool1")
    with pytest.raises(ShapeError, match=r"MaxPool2D 'pool1'.*3x3.*2x2"):
        pool.forward(np.zeros((1, 1, 2, 2), np.float32))
    with pytest.raises(ShapeError, match=r"MaxPool2D 'pool1'.*\(N, C, H, W\)"):
        pool.forward(np.zeros((4, 4), np.float32))
    with pytest.raises(DTypeError, match="MaxPool2D 'pool1'"):
        pool.forward(np.zeros((1, 1, 4, 4), np.int32))
    with pytest.raises(ValueError, match="padding"):
        MaxPool2D(2, padding=2)
    pool.forward(np.zeros((1, 1, 5, 5), np.float32))
    with pytest.raises(ShapeError, match="dout"):
        pool.backward(np.zeros((1, 1, 3, 3), np.float32))


# -- an independent implementation, when available ------------------------------------------------

def test_conv2d_and_pool_match_pytorch_when_installed():
    """Against PyTorch (an independent implementation) when it is installed; otherwise the forward
    pass against minnet's direct-convolution reference, so the test always runs and can fail."""
    conv = Conv2D(4, 6, (3, 2), stride=(2, 1), padding=(1, 2), groups=2, activation="relu",
                  rng=0, dtype=np.float64)
    conv.params["b"][:] = np.linspace(-0.5, 0.5, 6)
    pool = MaxPool2D(3, stride=2, padding=1)
    x = random_input((3, 4, 9, 8))
    y = pool.forward(conv.forward(x))
    dout = random_input(y.shape, seed=3)
    dx = conv.backward(pool.backward(dout))
    try:
        import torch
    except ImportError:
        z = np.maximum(ref.conv2d(x, conv.params["W"], conv.params["b"], (2, 1), (1, 2), 2), 0)
        assert_same(y, ref.maxpool_forward(z, 3, 3, 2, 2, 1, 1)[0], "vs reference y",
                    rtol=1e-10, atol=1e-12)
        return
    F = torch.nn.functional
    xt = torch.tensor(x, requires_grad=True)
    Wt = torch.tensor(conv.params["W"], requires_grad=True)
    bt = torch.tensor(conv.params["b"], requires_grad=True)
    yt = F.max_pool2d(F.relu(F.conv2d(xt, Wt, bt, stride=(2, 1), padding=(1, 2), groups=2)),
                      3, stride=2, padding=1)
    yt.backward(torch.tensor(dout))
    assert_same(y, yt.detach().numpy(), "vs torch y", rtol=1e-10, atol=1e-12)
    assert_same(dx, xt.grad.numpy(), "vs torch dx", rtol=1e-10, atol=1e-12)
    assert_same(conv.grads["W"], Wt.grad.numpy(), "vs torch dW", rtol=1e-10, atol=1e-12)
    assert_same(conv.grads["b"], bt.grad.numpy(), "vs torch db", rtol=1e-10, atol=1e-12)

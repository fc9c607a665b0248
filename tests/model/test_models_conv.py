"""LeNet-5, AlexNet and VGG-16: exact parameter counts, layer names, shapes, a forward pass."""

import numpy as np
import pytest

from minnet.errors import ShapeError
from minnet.layers import Conv2D, MaxPool2D
from minnet.losses import softmax_cross_entropy
from minnet.model import Sequential
from minnet.models import alexnet, lenet5, vgg16


def test_lenet5_matches_the_paper():
    model = lenet5()
    assert model.count_params() == 431_080                                   # paper Table 3: 431K
    assert [l.name for l in model.layers] == ["conv1", "pool1", "conv2", "pool2", "flatten", "fc1", "fc2"]
    weights = {l.name: l.params["W"].size for l in model.layers if "W" in l.params}
    assert weights == {"conv1": 500, "conv2": 25_000, "fc1": 400_000, "fc2": 5_000}
    assert [l.name for l in model.prunable_layers()] == ["conv1", "conv2", "fc1", "fc2"]
    assert [l.kind for l in model.prunable_layers()] == ["conv", "conv", "fc", "fc"]
    # Caffe's LeNet: no ReLU after the convolutions, ReLU after fc1 only.
    assert [getattr(l, "activation", None) for l in model.layers] == [None] * 5 + ["relu", None]


def test_lenet5_dropout_option_adds_one_layer_and_keeps_the_weights():
    plain, with_dropout = lenet5(seed=4), lenet5(seed=4, dropout=0.5)
    assert [l.name for l in with_dropout.layers] == ["conv1", "pool1", "conv2", "pool2", "flatten",
                                                     "fc1", "drop1", "fc2"]
    assert with_dropout.layer("drop1").rate == 0.5
    for a, b in zip(plain.prunable_layers(), with_dropout.prunable_layers()):
        np.testing.assert_array_equal(a.params["W"], b.params["W"])      # same seed, same init
    x = np.random.default_rng(0).random((2, 1, 28, 28), dtype=np.float32)
    np.testing.assert_array_equal(plain.forward(x), with_dropout.forward(x, training=False))


def test_lenet5_shapes_and_seeding():
    x = np.random.default_rng(0).random((3, 1, 28, 28), dtype=np.float32)
    model = lenet5(seed=1)
    shapes = []
    h = x
    for layer in model.layers:
        h = layer.forward(h)
        shapes.append(h.shape)
    assert shapes == [(3, 20, 24, 24), (3, 20, 12, 12), (3, 50, 8, 8), (3, 50, 4, 4), (3, 800),
                      (3, 500), (3, 10)]
    np.testing.assert_array_equal(lenet5(seed=1).forward(x), model.forward(x))
    assert not np.array_equal(lenet5(seed=2).forward(x), model.forward(x))
    with pytest.raises(ShapeError, match="Conv2D 'conv1'"):
        model.forward(np.zeros((2, 3, 28, 28), np.float32))


def test_lenet5_whole_model_gradient_along_random_directions():
    """Backward through conv, pool, flatten and dense agrees with the directional derivative
    (L(x + h d) - L(x - h d)) / 2h for the input and for conv1's weights (float64)."""
    model = lenet5(seed=0, dtype=np.float64)
    rng = np.random.default_rng(0)
    x = rng.random((2, 1, 28, 28))
    y = np.array([3, 7])
    loss = lambda: softmax_cross_entropy(model.forward(x), y)[0]
    _, dlogits = softmax_cross_entropy(model.forward(x), y)
    dx = model.backward(dlogits, input_grad=True)
    W = model.layer("conv1").params["W"]
    dW = model.layer("conv1").grads["W"].copy()
    for target, grad in ((x, dx), (W, dW)):
        for _ in range(3):
            d = rng.standard_normal(target.shape)
            h = 1e-5
            target += h * d
            up = loss()
            target -= 2 * h * d
            down = loss()
            target += h * d
            numeric, analytic = (up - down) / (2 * h), float(np.vdot(grad, d))
            assert abs(numeric - analytic) <= 1e-6 * max(abs(numeric), abs(analytic), 1e-3), \
                f"directional derivative: analytic {analytic!r} vs numerical {numeric!r}"


def test_lenet5_save_and_load_round_trip(tmp_path):
    model = lenet5(seed=3)
    mask = np.random.default_rng(0).random(model.layer("conv2").params["W"].shape) > 0.3
    model.layer("conv2").set_mask("W", mask)
    model.save(tmp_path / "lenet5.npz")
    loaded = Sequential.load(tmp_path / "lenet5.npz")
    assert isinstance(loaded.layer("conv1"), Conv2D) and isinstance(loaded.layer("pool2"), MaxPool2D)
    assert loaded.architecture() == model.architecture()
    np.testing.assert_array_equal(loaded.layer("conv2").masks["W"], mask)
    x = np.random.default_rng(1).random((2, 1, 28, 28), dtype=np.float32)
    np.testing.assert_array_equal(loaded.forward(x), model.forward(x))


def test_alexnet_counts_names_and_one_image():
    model = alexnet(seed=0)
    weights = sum(l.params["W"].size for l in model.layers if "W" in l.params)
    biases = sum(l.params["b"].size for l in model.layers if "b" in l.params)
    assert (weights, biases) == (60_954_656, 10_568)
    conv_and_fc = [l.name for l in model.prunable_layers()]
    assert conv_and_fc == ["conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8"]
    assert [model.layer(n).groups for n in conv_and_fc[:5]] == [1, 2, 1, 2, 2]
    # Paper Table 4 weight counts per layer (rounded there: 35K, 307K, 885K, 663K, 442K, 38M, 17M, 4M).
    assert [model.layer(n).params["W"].size for n in conv_and_fc] == [
        34_848, 307_200, 884_736, 663_552, 442_368, 37_748_736, 16_777_216, 4_096_000]
    x = np.random.default_rng(0).random((1, 3, 227, 227), dtype=np.float32)
    out = model.forward(x)
    assert out.shape == (1, 1000) and out.dtype == np.float32 and np.isfinite(out).all()
    assert model.layer("pool5")._argmax.shape == (1, 256, 6, 6)
    assert model.layer("drop6").rate == 0.5
    assert alexnet(num_classes=10, dropout=0.3).layer("fc8").params["W"].shape == (10, 4096)


def test_vgg16_counts_names_and_one_image():
    model = vgg16(seed=0)
    assert model.count_params() == 138_357_544
    names = [l.name for l in model.prunable_layers()]
    assert names == ["conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1", "conv3_2", "conv3_3",
                     "conv4_1", "conv4_2", "conv4_3", "conv5_1", "conv5_2", "conv5_3",
                     "fc6", "fc7", "fc8"]
    assert model.layer("fc6").params["W"].shape == (4096, 25_088)
    x = np.random.default_rng(0).random((1, 3, 224, 224), dtype=np.float32)
    out = model.forward(x)
    assert out.shape == (1, 1000) and np.isfinite(out).all()
    assert model.layer("pool5")._argmax.shape == (1, 512, 7, 7)


def test_lenet5_benchmark_runs_and_reports_rows():
    """A tiny run of minnet.bench.conv, without PyTorch to keep it quick (the numbers themselves are
    for `python -m minnet.bench train`)."""
    from minnet.bench.conv import bench_lenet5
    rows = bench_lenet5(repeats=1, n_train=64, infer_calls=1, pause=0.0, quiet=True, with_torch=False)
    assert [r["case"] for r in rows] == ["lenet5_train_epoch_b64", "lenet5_infer_b1000"]
    for r in rows:
        assert r["minnet_s"] > 0 and r["torch_s"] is None and r["ratio"] is None
    assert rows[1]["minnet_img_s"] == pytest.approx(1000 / rows[1]["minnet_s"])


def test_lenet5_conv_relu_option_rectifies_conv_outputs_with_the_same_weights():
    from minnet.models import lenet5
    plain, rect = lenet5(seed=3), lenet5(seed=3, conv_relu=True)
    for a, b in zip(plain.prunable_layers(), rect.prunable_layers()):
        np.testing.assert_array_equal(a.params["W"], b.params["W"])
    x = np.random.default_rng(0).random((4, 1, 28, 28), dtype=np.float32)
    conv1 = rect.layer("conv1")
    assert (conv1.forward(x) >= 0).all() and (plain.layer("conv1").forward(x) < 0).any()
    assert rect.architecture() != plain.architecture()       # the option is saved with the model


def test_mlp_builder_shapes_names_and_seed():
    from minnet.models import mlp
    m = mlp((500, 150), seed=0)
    assert [l.name for l in m.prunable_layers()] == ["fc1", "fc2", "fc3"]
    assert m.count_params() == 784 * 500 + 500 + 500 * 150 + 150 + 150 * 10 + 10
    x = np.random.default_rng(0).random((3, 1, 28, 28), dtype=np.float32)
    assert m.forward(x).shape == (3, 10)
    np.testing.assert_array_equal(mlp((500, 150), seed=0).layer("fc2").params["W"],
                                  m.layer("fc2").params["W"])
    assert [l.name for l in mlp((8,), in_features=16, classes=3, dropout=0.5).layers] == [
        "flatten", "fc1", "drop1", "fc2"]
    with pytest.raises(ValueError, match="positive integers"):
        mlp((2.7, 3))

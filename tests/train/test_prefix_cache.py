"""fit's PrefixCache: training above a frozen prefix from cached features gives the same numbers,
bit for bit, as running every layer (LeNet-5 with its conv layers frozen, on real MNIST)."""

import numpy as np
import pytest

from minnet.layers import Conv2D, Dense, Dropout, Flatten, MaxPool2D
from minnet.model import Sequential
from minnet.models import lenet5
from minnet.optim import caffe_lenet_sgd
from minnet.pruning.prune import set_trainable_kinds
from minnet.train import PrefixCache, fit


def _frozen_conv_lenet5():
    model = lenet5(seed=3, dropout=0.5, conv_relu=True)
    set_trainable_kinds(model, ("fc",))          # the pipeline's FC phase: conv layers frozen
    return model


def _train(model, data, cache, epochs=1, seed=7):
    (x, y), (xv, yv) = data
    opt = caffe_lenet_sgd(policy="cosine", total_iterations=100)
    history = fit(model, opt, x, y, epochs=epochs, batch_size=64, seed=seed, validation=(xv, yv),
                  progress=False, prefix_cache=cache)
    return history, opt


@pytest.fixture(scope="module")
def data(mnist):
    (x, y), _ = mnist
    return (x[:600], y[:600]), (x[600:850], y[600:850])   # 600: the last batch is short (24)


def test_cached_prefix_gives_bit_identical_losses_and_weights(data):
    plain, cached = _frozen_conv_lenet5(), _frozen_conv_lenet5()
    cache = PrefixCache()
    h_plain, opt_plain = _train(plain, data, None, epochs=2)
    h_cached, opt_cached = _train(cached, data, cache, epochs=2)
    assert cache.computed == 2                   # training and validation features, once each
    for key in ("loss", "train_acc", "val_loss", "val_acc", "lr"):
        assert h_plain[key] == h_cached[key], key
    for a, b in zip(plain.layers, cached.layers):
        for name in a.params:
            np.testing.assert_array_equal(a.params[name], b.params[name], err_msg=f"{a.name}.{name}")
    for key, v in opt_plain.velocity.items():
        np.testing.assert_array_equal(v, opt_cached.velocity[key])


def test_cache_is_reused_while_the_prefix_is_unchanged_and_recomputed_after(data):
    model, cache = _frozen_conv_lenet5(), PrefixCache()
    _train(model, data, cache)
    _train(model, data, cache, seed=8)           # the next round of the same phase
    assert cache.computed == 2
    model.layer("conv2").prune(np.abs(model.layer("conv2").weight) > 0.05)
    _train(model, data, cache)                   # conv2 changed: its features are stale
    assert cache.computed == 4


def test_no_cache_when_the_first_layer_trains_or_only_a_flatten_is_frozen(data, tiny_mlp):
    cache = PrefixCache()
    _train(lenet5(seed=0), data, cache)          # everything trainable: no frozen prefix
    mlp = tiny_mlp(sizes=(784, 16, 10))          # fc1 is the first layer with parameters
    (x, y), _ = data
    fit(mlp, caffe_lenet_sgd(), x, y, epochs=1, progress=False, prefix_cache=cache)
    assert cache.computed == 0


def test_prefix_stops_at_dropout_and_at_dense_layers(data, tiny_mlp):
    """conv (frozen) -> pool -> dropout -> flatten -> fc: only conv -> pool is cached, the dropout
    still draws its masks every batch, and training matches the uncached path exactly. A frozen
    Dense layer ends the prefix (its BLAS rows are not batch-invariant)."""
    (x, y), _ = data
    models = [Sequential([Conv2D(1, 4, 5, rng=0, name="conv1"), MaxPool2D(2, name="pool1"),
                          Dropout(0.3, seed=1, name="drop1"), Flatten(name="flatten"),
                          Dense(576, 10, rng=2, name="fc1")]) for _ in range(2)]
    for m in models:
        m.layer("conv1").trainable = False
    assert models[0].frozen_prefix() == 2        # conv1, pool1; drop1 is random
    cache = PrefixCache()
    runs = [fit(m, caffe_lenet_sgd(), x, y, epochs=1, seed=1, progress=False, prefix_cache=c)
            for m, c in zip(models, (None, cache))]
    assert cache.computed == 1 and runs[0]["loss"] == runs[1]["loss"]
    np.testing.assert_array_equal(models[0].layer("fc1").weight, models[1].layer("fc1").weight)
    mlp = tiny_mlp(sizes=(784, 32, 10))
    mlp.layer("fc1").trainable = False
    assert mlp.frozen_prefix() == 1              # flatten only: fc1 ends the prefix


def test_features_larger_than_the_cap_are_not_cached(data):
    model, cache = _frozen_conv_lenet5(), PrefixCache(max_bytes=1000)
    history, _ = _train(model, data, cache)
    assert cache.computed == 0 and len(history["loss"]) == 1

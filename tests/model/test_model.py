"""Sequential: whole-network gradient check, LeNet-300-100 shape, save/load and its errors."""

import numpy as np
import pytest

from gradcheck import assert_close_gradients, numerical_gradient
from minnet.errors import CheckpointError, DTypeError
from minnet.layers import Dense, Dropout, Flatten
from minnet.losses import softmax_cross_entropy
from minnet.model import Sequential
from minnet.models import lenet_300_100


def small_network(seed=0):
    return Sequential([Flatten(), Dense(12, 7, activation="relu", rng=seed, name="fc1"),
                       Dropout(0.3, seed=seed, name="drop1"),
                       Dense(7, 5, activation="relu", rng=seed + 1, name="fc2"),
                       Dense(5, 3, rng=seed + 2, name="fc3")]).astype(np.float64)


@pytest.mark.parametrize("masked", [False, True])
def test_whole_network_gradient_check(masked):
    model = small_network()
    rng = np.random.default_rng(0)
    for layer in model.prunable_layers():
        layer.params["b"][:] = rng.uniform(0.1, 0.3, layer.params["b"].shape)
        if masked:
            layer.set_mask("W", rng.random(layer.params["W"].shape) > 0.4)
    x = rng.standard_normal((4, 3, 2, 2))
    y = rng.integers(0, 3, 4)

    def loss():
        model.layer("drop1").reseed(11)          # the same dropout mask for every evaluation
        return softmax_cross_entropy(model.forward(x, training=True), y)[0]

    model.layer("drop1").reseed(11)
    _, dlogits = softmax_cross_entropy(model.forward(x, training=True), y)
    dx = model.backward(dlogits, input_grad=True)
    assert_close_gradients(dx, numerical_gradient(loss, x), "network dx")
    for layer in model.prunable_layers():
        for k in ("W", "b"):
            analytic = layer.grads[k].copy()
            numeric = numerical_gradient(loss, layer.params[k])
            if k == "W" and masked:
                mask = layer.masks["W"]
                assert np.all(analytic[~mask] == 0)
                analytic, numeric = analytic[mask], numeric[mask]
            assert_close_gradients(analytic, numeric, f"{layer.name}.{k}")


def test_lenet_300_100_matches_the_paper():
    model = lenet_300_100(seed=0)
    assert model.count_params() == 266_610
    assert [l.params["W"].shape for l in model.prunable_layers()] == [(300, 784), (100, 300), (10, 100)]
    assert [l.name for l in model.prunable_layers()] == ["fc1", "fc2", "fc3"]
    out = model.forward(np.zeros((2, 1, 28, 28), dtype=np.float32))
    assert out.shape == (2, 10) and out.dtype == np.float32


def test_same_seed_same_weights_different_seed_different():
    a, b, c = lenet_300_100(seed=3), lenet_300_100(seed=3), lenet_300_100(seed=4)
    np.testing.assert_array_equal(a.layer("fc1").params["W"], b.layer("fc1").params["W"])
    assert not np.array_equal(a.layer("fc1").params["W"], c.layer("fc1").params["W"])


def test_save_load_round_trip_keeps_weights_masks_state(tmp_path):
    model = lenet_300_100(seed=0, dropout=0.5)
    fc1 = model.layer("fc1")
    fc1.set_mask("W", np.abs(fc1.params["W"]) > 0.05)
    fc1.state["std_before_pruning"] = 0.123
    model.layer("drop1").rate = 0.2
    path = model.save(tmp_path / "m.npz")
    loaded = Sequential.load(path)
    x = np.random.default_rng(0).random((5, 1, 28, 28), dtype=np.float32)
    np.testing.assert_array_equal(loaded.forward(x), model.forward(x))
    np.testing.assert_array_equal(loaded.layer("fc1").masks["W"], fc1.masks["W"])
    assert loaded.layer("fc1").state == {"std_before_pruning": 0.123}
    assert loaded.layer("drop1").rate == 0.2 and loaded.layer("drop1").original_rate == 0.5
    # load_weights into a fresh model of the same architecture works too
    fresh = lenet_300_100(seed=9, dropout=0.5).load_weights(path)
    np.testing.assert_array_equal(fresh.forward(x), model.forward(x))


def test_loading_into_another_architecture_is_a_clear_error(tmp_path):
    path = lenet_300_100(seed=0).save(tmp_path / "m.npz")
    other = Sequential([Flatten(), Dense(784, 10, name="fc1")])
    with pytest.raises(CheckpointError, match="another architecture"):
        other.load_weights(path)


@pytest.mark.parametrize("damage", ["truncate", "garbage", "foreign", "missing"])
def test_damaged_or_foreign_files_raise_checkpoint_error(tmp_path, damage):
    path = lenet_300_100(seed=0).save(tmp_path / "m.npz")
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:5000])
    elif damage == "garbage":
        path.write_bytes(b"not a zip file at all" * 10)
    elif damage == "foreign":
        np.savez(path, weights=np.ones(3))
    else:
        path.unlink()
    with pytest.raises(CheckpointError, match="m.npz"):
        Sequential.load(path)


def test_interrupted_save_leaves_previous_file_intact(tmp_path, monkeypatch):
    model = lenet_300_100(seed=0)
    path = model.save(tmp_path / "m.npz")
    before = path.read_bytes()
    import os

    def crash(*args, **kwargs):
        raise OSError("simulated crash during rename")

    monkeypatch.setattr(os, "replace", crash)
    model.layer("fc1").params["W"][:] = 0
    with pytest.raises(OSError, match="simulated"):
        model.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]      # no temp file left behind


def test_model_input_errors():
    model = lenet_300_100(seed=0)
    with pytest.raises(DTypeError, match="float32"):
        model.forward(np.zeros((2, 784), dtype=np.int32))
    x = np.zeros((2, 784), dtype=np.float32)
    x[1, 5] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        model.forward(x)


def test_atomic_writes_get_normal_file_permissions(tmp_path):
    import os
    import stat
    from minnet.atomic import atomic_write_text
    umask = os.umask(0o022)
    try:
        path = atomic_write_text(tmp_path / "page.html", "<p>hi</p>")
    finally:
        os.umask(umask)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644


def test_a_float64_model_comes_back_as_float64(tmp_path):
    model = lenet_300_100(seed=0, dtype=np.float64)
    loaded = Sequential.load(model.save(tmp_path / "m64.npz"))
    assert loaded.dtype == np.float64
    np.testing.assert_array_equal(loaded.layer("fc2").params["W"], model.layer("fc2").params["W"])
    assert Sequential.load(lenet_300_100(seed=0).save(tmp_path / "m32.npz")).dtype == np.float32

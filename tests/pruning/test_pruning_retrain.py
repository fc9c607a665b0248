"""Retraining keeps the survivors; pruned weights stay 0; freezing by kind; re-init; dropout (sec. 3.2)."""

import math

import numpy as np
import pytest

from minnet.layers import Dense, Dropout, Flatten
from minnet.model import Sequential
from minnet.optim import SGD
from minnet.pruning import (adjust_dropout, adjusted_dropout_rate, make_optimizer, prune_model,
                            reinitialize_survivors, retrain, set_trainable_kinds)
from minnet.train import fit


def blobs(n=256, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = rng.normal(size=(n, 8)).astype(np.float32) + y[:, None].astype(np.float32)
    return x, y


def mlp(seed=0, dropout=0.0):
    layers = [Dense(8, 16, activation="relu", rng=seed, name="fc1")]
    if dropout:
        layers.append(Dropout(dropout, name="drop1"))
    layers += [Dense(16, 3, rng=seed + 1, name="fc2")]
    return Sequential(layers)


@pytest.mark.parametrize("reg", [dict(weight_decay=1e-2), dict(l1=1e-2), dict(weight_decay=1e-2, l1=1e-3)])
def test_pruned_weights_stay_exactly_zero_for_200_steps(reg):
    x, y = blobs()
    m = mlp()
    prune_model(m, "sparsity", 0.7)
    masks = {l.name: l.masks["W"].copy() for l in m.prunable_layers()}
    opt = SGD(lr=0.05, momentum=0.9, **reg)
    fit(m, opt, x, y, epochs=50, batch_size=64, progress=False)    # 4 batches x 50 = 200 steps
    assert opt.iteration == 200
    for l in m.prunable_layers():
        W = l.params["W"]
        assert np.count_nonzero(W[~masks[l.name]]) == 0
        assert np.count_nonzero(W[masks[l.name]]) > 0.9 * masks[l.name].sum()   # survivors still learn


def test_retrain_starts_from_the_survivors():
    x, y = blobs()
    m = mlp()
    fit(m, SGD(lr=0.05, momentum=0.9), x, y, epochs=5, progress=False)
    prune_model(m, "sparsity", 0.5)
    before = m.layer("fc1").params["W"].copy()
    # zero epochs of retraining changes nothing: no hidden re-initialisation
    retrain(m, SGD(lr=0.01), x, y, epochs=0, progress=False)
    np.testing.assert_array_equal(m.layer("fc1").params["W"], before)
    # one small step moves the survivors only a little from where they were
    retrain(m, SGD(lr=1e-4), x, y, epochs=1, batch_size=256, progress=False)
    assert np.abs(m.layer("fc1").params["W"] - before).max() < 1e-3


def test_reinitialize_survivors_keeps_masks_and_changes_weights():
    m = mlp()
    prune_model(m, "sparsity", 0.5)
    mask = m.layer("fc1").masks["W"].copy()
    before = m.layer("fc1").params["W"].copy()
    reinitialize_survivors(m, seed=3)
    W = m.layer("fc1").params["W"]
    np.testing.assert_array_equal(m.layer("fc1").masks["W"], mask)
    assert np.count_nonzero(W[~mask]) == 0
    assert not np.allclose(W[mask], before[mask])
    assert np.abs(W).max() <= math.sqrt(3 / 8)              # xavier bound for fan_in 8
    m2 = mlp()
    prune_model(m2, "sparsity", 0.5)
    reinitialize_survivors(m2, seed=3)
    np.testing.assert_array_equal(m2.layer("fc1").params["W"], W)   # same seed, same weights


def test_freeze_by_kind_leaves_frozen_layers_untouched():
    x, y = blobs()
    m = mlp()
    before = {l.name: l.params["W"].copy() for l in m.prunable_layers()}
    m.layers[0].kind = "conv"      # pretend fc1 is a conv layer: only its kind matters here
    retrain(m, SGD(lr=0.05, momentum=0.9), x, y, epochs=2, kinds=("fc",), progress=False)
    np.testing.assert_array_equal(m.layer("fc1").params["W"], before["fc1"])
    assert not np.array_equal(m.layer("fc2").params["W"], before["fc2"])
    assert all(l.trainable for l in m.layers)           # restored after retraining
    with pytest.raises(ValueError):
        set_trainable_kinds(m, ("pool",))


def test_make_optimizer_regularisation_choice():
    l2 = make_optimizer(0.1, "constant", 0.9, "l2", 5e-4)
    l1 = make_optimizer(0.1, "inv", 0.9, "l1", 1e-5)
    assert (l2.weight_decay, l2.l1) == (5e-4, 0.0) and (l1.weight_decay, l1.l1) == (0.0, 1e-5)
    with pytest.raises(ValueError):
        make_optimizer(0.1, "inv", 0.9, "l3", 1e-5)
    cosine = make_optimizer(0.1, "cosine", 0.9, "l2", 5e-4, total_iterations=10)
    assert cosine.schedule(0) == pytest.approx(0.1) and cosine.schedule(10) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="total_iterations"):
        make_optimizer(0.1, "cosine", 0.9, "l2", 5e-4)
    with pytest.raises(ValueError, match="policy"):
        make_optimizer(0.1, "warmup", 0.9, "l2", 5e-4)


def test_adjusted_dropout_rate_hand_value():
    # paper sec. 3.2: 9% of the connections left -> 0.5 * sqrt(0.09) = 0.15
    assert adjusted_dropout_rate(0.5, 10000, 900) == pytest.approx(0.15)
    with pytest.raises(ValueError):
        adjusted_dropout_rate(0.5, 100, 200)


def test_adjust_dropout_on_a_model_by_hand():
    m = Sequential([Flatten(name="flat"),
                    Dense(10, 10, activation="relu", rng=0, name="fc1"), Dropout(0.5, name="d1"),
                    Dense(10, 10, activation="relu", rng=1, name="fc2"), Dropout(0.4, name="d2"),
                    Dense(10, 2, rng=2, name="fc3")])
    prune_model(m, "sparsity", {"fc1": 0.84, "fc2": 0.75})   # fc1 keeps 16 of 100, fc2 25 of 100
    rates = adjust_dropout(m)
    # d1 follows fc1: 0.5 * sqrt(16 / 100) = 0.2;  d2 follows fc2: 0.4 * sqrt(25 / 100) = 0.2
    assert rates == pytest.approx({"d1": 0.2, "d2": 0.2})
    assert m.layer("d1").original_rate == 0.5
    # a second call does not compound (it starts from D_o again)
    assert adjust_dropout(m) == pytest.approx({"d1": 0.2, "d2": 0.2})
    # switched off (the ablation): back to the original rates
    assert adjust_dropout(m, enabled=False) == {"d1": 0.5, "d2": 0.4}

"""Dead-neuron removal (sec. 3.5): smaller matrices, same outputs (float64, atol 1e-10)."""

import numpy as np
import pytest

from minnet.layers import Dense, Dropout, Flatten
from minnet.model import Sequential
from minnet.optim import SGD
from minnet.pruning.neurons import find_dead_neurons, remove_dead_neurons


def chain():
    m = Sequential([Flatten(name="flat"),
                    Dense(5, 4, activation="relu", rng=0, dtype=np.float64, name="fc1"),
                    Dropout(0.5, name="d1"),
                    Dense(4, 3, activation="relu", rng=1, dtype=np.float64, name="fc2"),
                    Dense(3, 2, rng=2, dtype=np.float64, name="fc3")])
    fc1, fc2 = m.layer("fc1"), m.layer("fc2")
    fc1.params["b"][...] = [0.5, -0.2, 0.3, 0.1]
    fc2.params["b"][...] = [0.4, 0.2, -0.3]
    m1 = np.ones((4, 5), dtype=bool)
    m1[0] = False        # fc1 unit 0: no inputs -> constant relu(0.5) = 0.5, folded into fc2's bias
    m1[1] = False        # fc1 unit 1: no inputs, relu(-0.2) = 0 -> contributes nothing
    fc1.set_mask("W", m1)
    m2 = np.ones((3, 4), dtype=bool)
    m2[:, 3] = False     # fc1 unit 3: no outputs
    m2[1] = False        # fc2 unit 1: no inputs -> constant relu(0.2) = 0.2
    fc2.set_mask("W", m2)
    m3 = np.ones((2, 3), dtype=bool)
    m3[:, 2] = False     # fc2 unit 2: no outputs
    m.layer("fc3").set_mask("W", m3)
    return m


def test_find_dead_neurons_by_hand():
    dead = find_dead_neurons(chain())
    assert dead["fc1"].tolist() == [True, True, False, True]     # unit 2 is the only live one
    assert dead["fc2"].tolist() == [False, True, True]


def test_remove_dead_neurons_keeps_outputs_and_shrinks():
    m = chain()
    x = np.random.default_rng(0).normal(size=(7, 5))
    before = m.predict(x)
    opt = SGD(lr=0.1, momentum=0.9)
    opt.velocity = {(l.name, k): np.ones_like(p) for l in m.layers for k, p in l.params.items()}
    result = remove_dead_neurons(m, optimizer=opt)
    assert result == {"removed": {"fc1": 3, "fc2": 2}, "skipped": []}
    np.testing.assert_allclose(m.predict(x), before, rtol=0, atol=1e-10)
    assert m.layer("fc1").params["W"].shape == (1, 5) and m.layer("fc1").params["b"].shape == (1,)
    assert m.layer("fc2").params["W"].shape == (1, 1) and m.layer("fc3").params["W"].shape == (2, 1)
    assert m.layer("fc2").masks["W"].shape == (1, 1)
    assert opt.velocity[("fc2", "W")].shape == (1, 1) and opt.velocity[("fc3", "W")].shape == (2, 1)
    assert m.layer("fc1").out_features == 1 and m.layer("fc3").in_features == 1
    # the shrunk architecture saves and loads (a loaded model is float32: compare at float32 precision)
    copy = Sequential.from_arrays(m.to_arrays())
    np.testing.assert_allclose(copy.predict(x.astype(np.float32)), before, rtol=0, atol=1e-6)


def test_no_dead_neurons_changes_nothing():
    m = Sequential([Dense(3, 2, activation="relu", rng=0, name="a"), Dense(2, 2, rng=1, name="b")])
    assert remove_dead_neurons(m) == {"removed": {}, "skipped": []}


def test_all_dead_is_refused():
    m = Sequential([Dense(3, 2, activation="relu", rng=0, name="a"), Dense(2, 2, rng=1, name="b")])
    m.layer("a").set_mask("W", np.zeros((2, 3), dtype=bool))
    with pytest.raises(ValueError, match="every unit"):
        remove_dead_neurons(m)

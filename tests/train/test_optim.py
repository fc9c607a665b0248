"""SGD: hand-computed steps, L1/L2, masks pin pruned weights and momentum at zero, schedules."""

import numpy as np
import pytest

from minnet.layers import Dense
from minnet.model import Sequential
from minnet.optim import SGD, CosineLR, InvLR, StepLR, make_schedule


def one_layer_model():
    layer = Dense(2, 1, rng=0, dtype=np.float64, name="fc")
    layer.params["W"][:] = [[1.0, -2.0]]
    layer.params["b"][:] = [0.5]
    return Sequential([layer]), layer


def test_sgd_step_by_hand():
    model, layer = one_layer_model()
    layer.grads["W"][:] = [[0.1, 0.2]]
    layer.grads["b"][:] = [0.3]
    opt = SGD(lr=0.1, momentum=0.9, weight_decay=0.01, l1=0.001)
    opt.step(model)
    # v = 0.1 * (g + 0.01 w + 0.001 sign w); w -= v
    # W[0]: 0.1 * (0.1 + 0.01 - (-0)) ... by hand: 0.1*(0.1+0.01+0.001)=0.0111 -> 0.9889
    # W[1]: 0.1*(0.2-0.02-0.001)=0.0179 -> -2.0179; b: 0.1*(0.3+0.005+0.001)=0.0306 -> 0.4694
    np.testing.assert_allclose(layer.params["W"], [[0.9889, -2.0179]])
    np.testing.assert_allclose(layer.params["b"], [0.4694])
    opt.step(model)   # momentum: v2 = 0.9 v1 + lr * step(w1)
    v1 = 0.0111
    step2 = 0.1 * (0.1 + 0.01 * 0.9889 + 0.001)
    assert layer.params["W"][0, 0] == pytest.approx(0.9889 - (0.9 * v1 + step2))


def test_pruned_weights_stay_zero_through_200_steps_with_momentum_l2_l1():
    rng = np.random.default_rng(0)
    layer = Dense(20, 10, rng=0, name="fc")
    model = Sequential([layer])
    mask = rng.random((10, 20)) > 0.7
    layer.set_mask("W", mask)
    opt = SGD(lr=0.05, momentum=0.9, weight_decay=5e-4, l1=1e-4)
    for _ in range(200):
        x = rng.standard_normal((8, 20)).astype(np.float32)
        model.forward(x, training=True)
        model.backward(rng.standard_normal((8, 10)).astype(np.float32))
        layer.grads["W"][:] += 1.0      # even a gradient forced onto pruned entries must not leak
        opt.step(model)
    W = layer.params["W"]
    assert np.count_nonzero(W[~mask]) == 0
    assert np.count_nonzero(opt.velocity[("fc", "W")][~mask]) == 0
    assert np.count_nonzero(W[mask]) == mask.sum()


def test_frozen_layers_are_not_updated():
    model, layer = one_layer_model()
    layer.trainable = False
    layer.grads["W"][:] = 1.0
    before = layer.params["W"].copy()
    SGD(lr=0.1).step(model)
    np.testing.assert_array_equal(layer.params["W"], before)


def test_schedules():
    inv = InvLR(0.01, gamma=1e-4, power=0.75)
    assert inv(0) == 0.01
    assert inv(10000) == pytest.approx(0.01 * 2 ** -0.75)
    step = StepLR(0.1, step_size=10, gamma=0.5)
    assert [step(0), step(9), step(10), step(25)] == [0.1, 0.1, 0.05, 0.025]
    assert make_schedule(inv.config())(500) == inv(500)
    with pytest.raises(ValueError, match="policy"):
        make_schedule({"policy": "warmup", "base_lr": 0.1})


def test_cosine_schedule_anneals_to_zero_and_round_trips():
    cos = CosineLR(0.01, total_iterations=100)
    assert cos(0) == pytest.approx(0.01)
    assert cos(50) == pytest.approx(0.005)
    assert cos(25) == pytest.approx(0.01 * (1 + np.sqrt(0.5)) / 2)
    assert cos(100) == pytest.approx(0.0, abs=1e-15) and cos(500) == pytest.approx(0.0, abs=1e-15)
    assert all(cos(t) >= cos(t + 1) for t in range(100))       # never rises
    assert make_schedule(cos.config())(37) == cos(37)
    with pytest.raises(ValueError, match="total_iterations"):
        CosineLR(0.01, 0)


def test_optimizer_state_round_trip():
    model, layer = one_layer_model()
    layer.grads["W"][:] = 0.5
    opt = SGD(lr=0.1, momentum=0.9)
    opt.step(model)
    other = SGD(lr=0.1, momentum=0.9)
    other.load_state_dict(opt.state_dict())
    assert other.iteration == 1
    np.testing.assert_array_equal(other.velocity[("fc", "W")], opt.velocity[("fc", "W")])

"""Pruning criteria on hand-checkable arrays; schedules; prune_model on a tiny Dense model."""

import numpy as np
import pytest

from minnet.errors import DTypeError, ShapeError
from minnet.layers import Dense, Flatten, ReLU
from minnet.model import Sequential
from minnet.pruning import (check_schedule, geometric_sparsity_schedule, linear_quality_schedule,
                            prune_by_sparsity, prune_by_std, prune_global, prune_model,
                            record_original_state, select_layers)


def test_prune_by_std_hand_example():
    w = np.array([-0.3, 0.05, 0.2, -0.01], dtype=np.float32)
    # threshold = 1.5 * 0.1 = 0.15: keep |w| > 0.15 -> -0.3 and 0.2
    np.testing.assert_array_equal(prune_by_std(w, 1.5, std=0.1), [True, False, True, False])


def test_prune_by_std_defaults_to_the_arrays_std():
    w = np.array([[1.0, -1.0], [3.0, -3.0]])      # std = sqrt(5) ~ 2.236
    # quality 1: keep |w| > 2.236 -> only the 3s
    np.testing.assert_array_equal(prune_by_std(w, 1.0), [[False, False], [True, True]])


def test_prune_by_std_boundary_is_pruned():
    w = np.array([0.5, 0.50001, -0.5])
    # threshold exactly 0.5: |w| == 0.5 is pruned (strictly greater survives)
    np.testing.assert_array_equal(prune_by_std(w, 1.0, std=0.5), [False, True, False])


@pytest.mark.parametrize("q", [0, -1.0, float("nan"), float("inf"), "a"])
def test_prune_by_std_rejects_bad_quality(q):
    with pytest.raises(ValueError, match="quality"):
        prune_by_std(np.ones(3), q, std=1.0)


def test_prune_by_sparsity_hand_examples():
    w = np.array([0.1, -0.4, 0.1, 0.3])
    # sparsity 0.5 keeps 2 of 4: the largest |w| are -0.4 and 0.3
    np.testing.assert_array_equal(prune_by_sparsity(w, 0.5), [False, True, False, True])
    # all equal: ties go to the lower index
    np.testing.assert_array_equal(prune_by_sparsity(np.full(4, 0.2), 0.5), [True, True, False, False])
    # sparsity 0 keeps everything
    assert prune_by_sparsity(w, 0.0).all()


def test_prune_by_sparsity_2d_and_rounding():
    w = np.array([[9., 1., 8.], [2., 7., 3.]])
    # 6 weights, sparsity 0.5 -> keep 3: 9, 8, 7
    np.testing.assert_array_equal(prune_by_sparsity(w, 0.5), [[True, False, True], [False, True, False]])
    # sparsity 0.99 of 6 -> round(0.06) = 0, but at least one connection survives: the 9
    assert prune_by_sparsity(w, 0.99).sum() == 1 and prune_by_sparsity(w, 0.99)[0, 0]


@pytest.mark.parametrize("s", [1.0, -0.1, 1.5, None])
def test_prune_by_sparsity_rejects_out_of_range(s):
    with pytest.raises(ValueError, match="sparsity"):
        prune_by_sparsity(np.ones(4), s)


def test_criteria_reject_non_float_arrays():
    with pytest.raises(DTypeError):
        prune_by_sparsity(np.arange(4), 0.5)
    with pytest.raises(DTypeError):
        prune_by_std([0.1, 0.2], 1.0)


def test_prune_global_hand_example():
    a, b = np.array([0.1, 0.5]), np.array([0.3, 0.2])
    # keep the 2 largest of all four (0.5, 0.3): one per layer
    ma, mb = prune_global([a, b], 0.5)
    np.testing.assert_array_equal(ma, [False, True])
    np.testing.assert_array_equal(mb, [True, False])
    # a layer of large weights keeps all of them: [[5, 6]] vs [[0.1, 0.2, 0.3, 0.4]] at sparsity 1/3
    ma, mb = prune_global([np.array([[5., 6.]]), np.array([[0.1, 0.2, 0.3, 0.4]])], 1 / 3)
    assert ma.all() and mb.tolist() == [[False, False, True, True]]


def test_prune_global_ties_prefer_earlier_layer():
    ma, mb = prune_global([np.array([1.0]), np.array([1.0])], 0.5)
    assert ma.tolist() == [True] and mb.tolist() == [False]


def test_geometric_schedule_hand_values():
    # final keep 9% in 2 rounds: keep 30% then 9%
    np.testing.assert_allclose(geometric_sparsity_schedule(0.91, 2), [0.7, 0.91])
    per_layer = geometric_sparsity_schedule({"fc1": 0.96, "fc3": 0.75}, 2)
    np.testing.assert_allclose([per_layer[0]["fc1"], per_layer[0]["fc3"]], [0.8, 0.5])
    assert geometric_sparsity_schedule(0.5, 1) == [0.5]      # one-shot is one round


def test_linear_quality_schedule_and_checks():
    assert linear_quality_schedule(2.0, 4) == [0.5, 1.0, 1.5, 2.0]
    with pytest.raises(ValueError, match="rounds"):
        linear_quality_schedule(2.0, 0)
    with pytest.raises(ValueError, match="must rise"):
        check_schedule([0.5, 0.3], "sparsity")
    with pytest.raises(ValueError, match="round 2"):
        check_schedule([0.5, 1.0], "sparsity")
    with pytest.raises(ValueError, match="empty"):
        check_schedule([], "std")
    assert check_schedule([{"fc1": 0.5}, {"fc1": 0.9}], "sparsity")


def tiny_model(seed=0, dtype=np.float32):
    return Sequential([Flatten(name="flat"),
                       Dense(4, 3, activation="relu", rng=seed, dtype=dtype, name="fc1"),
                       Dense(3, 2, rng=seed + 1, dtype=dtype, name="fc2")])


def test_prune_model_sparsity_per_layer_and_bias_untouched():
    m = tiny_model()
    m.layer("fc1").params["W"][...] = np.arange(1, 13, dtype=np.float32).reshape(3, 4)
    m.layer("fc1").params["b"][...] = 0.001
    kept = prune_model(m, "sparsity", {"fc1": 0.75})
    # 12 weights, keep 3: the values 10, 11, 12 (the last row minus its first entry)
    np.testing.assert_array_equal(m.layer("fc1").masks["W"],
                                  [[0, 0, 0, 0], [0, 0, 0, 0], [0, 1, 1, 1]])
    assert kept == {"fc1": 0.25}
    assert m.layer("fc2").masks["W"].all()                      # not named: untouched
    np.testing.assert_array_equal(m.layer("fc1").params["b"], np.float32(0.001))  # biases never pruned


def test_prune_model_std_uses_the_std_before_pruning():
    m = tiny_model()
    record_original_state(m)
    std0 = m.layer("fc1").state["std_before_pruning"]
    prune_model(m, "std", 0.5)
    w = m.layer("fc1").params["W"]
    # same threshold again after the first prune: nothing more goes (std would have grown otherwise)
    before = m.layer("fc1").masks["W"].copy()
    prune_model(m, "std", 0.5)
    np.testing.assert_array_equal(m.layer("fc1").masks["W"], before)
    assert m.layer("fc1").state["std_before_pruning"] == std0
    assert (np.abs(w[before]) > 0.5 * std0).all()


def test_prune_model_masks_only_shrink():
    m = tiny_model()
    prune_model(m, "sparsity", 0.5)
    first = m.layer("fc1").masks["W"].copy()
    m.layer("fc1").params["W"][~first] = 0.0
    prune_model(m, "sparsity", 0.75)
    assert not (m.layer("fc1").masks["W"] & ~first).any()


def test_prune_model_global():
    m = tiny_model()
    prune_model(m, "global", 0.5)
    total = sum(l.masks["W"].sum() for l in m.prunable_layers())
    assert total == 9            # 12 + 6 = 18 weights, half kept


def test_prune_model_errors():
    with pytest.raises(ValueError, match="no prunable layers"):
        prune_model(Sequential([Flatten(), ReLU()]), "sparsity", 0.5)
    with pytest.raises(ValueError, match="no prunable layers"):
        select_layers(tiny_model(), kinds=("conv",))
    with pytest.raises(ValueError, match="not prunable"):
        prune_model(tiny_model(), "sparsity", {"nope": 0.5})
    with pytest.raises(ValueError, match="method"):
        prune_model(tiny_model(), "random", 0.5)
    with pytest.raises(ValueError, match="sparsity"):
        prune_model(tiny_model(), "sparsity", 1.0)


def test_set_mask_rejects_wrong_shape_and_dtype():
    layer = tiny_model().layer("fc1")
    with pytest.raises(ShapeError):
        layer.set_mask("W", np.ones((4, 3), dtype=bool))
    with pytest.raises(DTypeError):
        layer.set_mask("W", np.ones((3, 4)))


def test_prune_by_sparsity_matches_a_stable_sort_reference_with_many_ties():
    # reference: stable argsort of -|w| keeps the k largest, ties to the lower index
    rng = np.random.default_rng(0)
    for _ in range(200):
        w = rng.integers(-4, 5, rng.integers(1, 40)).astype(np.float64)
        s = float(rng.choice([0.0, 0.25, 0.5, 0.8, 0.95]))
        k = max(1, int(round((1 - s) * w.size)))
        ref = np.zeros(w.size, dtype=bool)
        ref[np.argsort(-np.abs(w), kind="stable")[:k]] = True
        np.testing.assert_array_equal(prune_by_sparsity(w, s), ref)


def test_prune_probabilistic_hits_the_expected_sparsity_and_favours_large_weights():
    from minnet.pruning.criteria import prune_probabilistic
    w = np.random.default_rng(0).normal(size=(400, 250)).astype(np.float32)
    masks = [prune_probabilistic(w, 0.9, np.random.default_rng(s)) for s in range(3)]
    for m in masks:
        assert m.mean() == pytest.approx(0.1, abs=0.005)           # expected sparsity 90%
    assert not np.array_equal(masks[0], masks[1])                  # random ...
    np.testing.assert_array_equal(masks[0], prune_probabilistic(w, 0.9, np.random.default_rng(0)))
    a = np.abs(w)
    big, small = a > np.quantile(a, 0.99), a < np.quantile(a, 0.5)
    # keep rate proportional to |w|: the top 1% are kept ~9x as often as the bottom half
    assert masks[0][big].mean() > 5 * masks[0][small].mean()
    light = prune_probabilistic(w, 0.3, np.random.default_rng(0))
    assert light[big].all()                                        # at 30%, p = 1 above tau
    # unlike magnitude pruning, some kept weights are smaller than some pruned ones
    assert a[masks[0]].min() < a[~masks[0]].max()


def test_prune_probabilistic_hand_example_and_checks():
    from minnet.pruning.criteria import prune_probabilistic
    w = np.array([0.1, 0.2, 0.4, 0.8])
    # the docstring's example: tau = 0.7, p = [1/7, 2/7, 4/7, 1]
    keep_rate = np.mean([prune_probabilistic(w, 0.5, np.random.default_rng(s)) for s in range(4000)],
                        axis=0)
    np.testing.assert_allclose(keep_rate, [1 / 7, 2 / 7, 4 / 7, 1.0], atol=0.03)
    with pytest.raises(ValueError):
        prune_probabilistic(w, 1.0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="NaN"):
        prune_probabilistic(np.array([np.nan, 1.0]), 0.5, np.random.default_rng(0))

"""The paper's method with one knob: thresholds from sensitivity curves (minnet.pruning.allocate),
and the whole pipeline of method "sensitivity" on a real MNIST slice."""

import json

import numpy as np
import pytest

from minnet.config import RunConfig
from minnet.data import split_validation
from minnet.errors import ConfigError
from minnet.models import lenet_300_100
from minnet.pruning import run_pipeline
from minnet.pruning.allocate import (allocate, curves_from_rows, quality_for_sparsity, round_factor,
                                     tolerated_sparsity)
from minnet.pruning.criteria import prune_by_std


def test_tolerated_sparsity_interpolates_to_the_first_crossing():
    s, inc = np.array([0, .5, .9]), np.array([0, .1, .5])
    assert tolerated_sparsity(s, inc, .3) == pytest.approx(.7)      # the docstring's example
    assert tolerated_sparsity(s, inc, 0.0) == pytest.approx(0.0)
    assert tolerated_sparsity(s, inc, 9.0) == pytest.approx(.9)     # never crosses: deepest level
    # a dip after a crossing does not count: the curve is read up to its first crossing
    assert tolerated_sparsity(np.array([0, .5, .9]), np.array([0, .4, .1]), .2) == pytest.approx(.25)


def rows_of(curves):
    return [{"layer": name, "sparsity": pct, "loss": 1.0 + inc}
            for name, points in curves.items() for pct, inc in points]


# a sensitive layer (its loss rises early) and an insensitive one of the same size
CURVES = {"sensitive": [(0, 0.0), (50, 0.2), (90, 1.0)],
          "robust": [(0, 0.0), (50, 0.01), (90, 0.05)]}


def test_allocate_hits_the_compression_and_spares_the_sensitive_layer():
    curves = curves_from_rows(rows_of(CURVES))
    sizes = {"sensitive": 1000, "robust": 1000}
    out = allocate(curves, sizes, total_params=2000, compression=4.0)
    kept = sum(n * (1 - out["sparsity"][l]) for l, n in sizes.items())
    assert kept == pytest.approx(500, abs=0.5) and out["predicted_compression"] == pytest.approx(4, rel=1e-3)
    assert out["sparsity"]["robust"] == pytest.approx(0.9)          # pruned to its deepest level
    assert out["sparsity"]["sensitive"] == pytest.approx(0.6)       # takes the rest
    # equal damage: both layers sit at the same tolerated increase (robust's curve never reaches it)
    assert out["tolerance"] == pytest.approx(0.2 + 0.8 * (0.1 / 0.4), rel=1e-6)


@pytest.mark.parametrize("name, increases, sparsity", [
    # flat up to 90%: the target costs nothing, but prunes no further than asked (was 10x for 4x)
    ("flat", [0.0, 0.0, 0.0, 1.0], 0.7875),
    # a dip (a noisy scan): s(eps) jumps from 50% to past 90% when eps passes 0.01 (was 5.4x)
    ("dip", [0.0, 0.01, 0.005, 1.0], 0.7875),
])
def test_allocate_meets_the_target_where_a_curve_jumps(name, increases, sparsity):
    s = np.array([0.0, 0.5, 0.9, 0.99])
    curves = {"a": (s, np.array(increases)), "b": (s, np.array(increases))}
    out = allocate(curves, {"a": 1000, "b": 1000}, total_params=2100, compression=4.0)
    kept = 100 + sum(1000 * (1 - out["sparsity"][l]) for l in "ab")
    assert kept == pytest.approx(2100 / 4, abs=1e-6), name
    assert out["predicted_compression"] == pytest.approx(4.0, rel=1e-9)
    assert out["sparsity"]["a"] == pytest.approx(sparsity) and out["sparsity"]["b"] == pytest.approx(sparsity)


def test_allocate_leaves_smooth_curves_exactly_at_the_bisection():
    # no jump: the result is s_l at the bisection's tolerance, bit for bit (the runs' numbers stay)
    curves = curves_from_rows(rows_of(CURVES))
    out = allocate(curves, {"sensitive": 1000, "robust": 1000}, 2000, compression=4.0)
    for name in CURVES:
        assert out["sparsity"][name] == tolerated_sparsity(*curves[name], out["tolerance"])


def test_allocate_refuses_an_unreachable_compression():
    curves = curves_from_rows(rows_of(CURVES))
    with pytest.raises(ConfigError, match="out of reach.*lower --compression"):
        allocate(curves, {"sensitive": 1000, "robust": 1000}, 2000, compression=50.0)


def test_quality_for_sparsity_prunes_exactly_that_fraction():
    w = np.random.default_rng(0).normal(size=(300, 200)).astype(np.float32)
    std = float(np.std(w.astype(np.float64)))
    for s in (0.3, 0.68, 0.92):
        q = quality_for_sparsity(w, std, s)
        assert 1 - prune_by_std(w, q, std).mean() == pytest.approx(s, abs=1e-4)
    assert quality_for_sparsity(w, std, 0.0) == 0.0
    # Gaussian weights: q = 1 prunes ~68% (PAPER.md), so 68% needs q ~ 1
    assert quality_for_sparsity(w, std, 0.6827) == pytest.approx(1.0, abs=0.02)


def test_round_factor_keeps_the_planned_count_and_never_falls():
    rng = np.random.default_rng(1)
    ws = [rng.normal(size=(50, 40)), rng.normal(size=(30, 20)) * 3]
    masks = [np.ones(w.shape, bool) for w in ws]
    qs, stds = [1.0, 0.5], [1.0, 3.0]
    c = round_factor(ws, masks, qs, stds, planned_kept=700)
    kept = sum(int((np.abs(w) > c * q * s).sum()) for w, q, s in zip(ws, qs, stds))
    assert kept == 700
    # the smaller q (more sensitive layer) keeps a larger fraction at the shared factor
    frac = [float((np.abs(w) > c * q * s).mean()) for w, q, s in zip(ws, qs, stds)]
    assert frac[1] > frac[0]
    assert round_factor(ws, masks, qs, stds, planned_kept=2600, floor=0.3) == 0.3
    # q = 0: that layer is never pruned, the others carry the whole cut
    c0 = round_factor(ws, masks, [1.0, 0.0], stds, planned_kept=1000)
    assert int((np.abs(ws[0]) > c0).sum()) == 1000 - ws[1].size


def test_split_validation_is_seeded_disjoint_and_recorded():
    x = np.arange(100, dtype=np.float32)[:, None]
    y = np.arange(100) % 10
    (xt, yt), (xv, yv), rec = split_validation(x, y, 20, seed=3)
    assert len(xv) == 20 and len(xt) == 80
    assert not set(xv[:, 0]) & set(xt[:, 0]) and set(xv[:, 0]) | set(xt[:, 0]) == set(range(100))
    again = split_validation(x, y, 20, seed=3)
    np.testing.assert_array_equal(again[1][0], xv)
    assert again[2] == rec and rec["validation_size"] == 20 and len(rec["validation_indices_sha256"]) == 64
    assert not np.array_equal(split_validation(x, y, 20, seed=4)[1][0], xv)
    assert len(split_validation(x, y, 0, seed=3)[0][0]) == 100


@pytest.mark.parametrize("size", [100, -1, 2.5, True])
def test_split_validation_refuses_bad_sizes(size):
    from minnet.errors import DataError
    with pytest.raises(DataError, match="validation size"):
        split_validation(np.zeros((100, 1)), np.zeros(100, int), size, seed=0)


@pytest.fixture(scope="module")
def mnist_slice(mnist):
    (x, y), _ = mnist
    x = x[:3000].reshape(3000, -1)
    y = y[:3000]
    train, val, _ = split_validation(x[:2500], y[:2500], 500, seed=0)
    return train, val, (x[2500:], y[2500:])


def cfg(**kw):
    base = dict(epochs=2, rounds=2, retrain_epochs=1, compression=8.0, dropout=0.0, val_size=500)
    base.update(kw)
    return RunConfig(**base)


def test_sensitivity_pipeline_on_real_mnist(mnist_slice, tmp_path):
    """The default method end to end: scan on validation, q per layer, target reached, same
    seed -> same result, the most sensitive layer gets the smallest q."""
    lines = []
    model, state = run_pipeline(cfg(), lambda s: lenet_300_100(seed=s), mnist_slice, tmp_path / "a",
                                progress=False, log=lines.append)
    dense_total = model.count_params()
    pruned_away = sum(l.mask.size - l.n_kept for l in model.prunable_layers())
    assert 8.0 <= dense_total / (dense_total - pruned_away) < 8.01     # at least the target
    sens = state.sensitivity
    assert {r["layer"] for r in sens["scan"]} == {"fc1", "fc2", "fc3"}
    q = {n: d["quality"] for n, d in sens["layers"].items()}
    # sensitivity at a common level (loss increase when pruned alone to 80%) orders the qs
    at80 = {r["layer"]: r["loss"] for r in sens["scan"] if r["sparsity"] == 80}
    at0 = {r["layer"]: r["loss"] for r in sens["scan"] if r["sparsity"] == 0}
    most_sensitive = max(at80, key=lambda n: at80[n] - at0[n])
    assert min(q, key=q.get) == most_sensitive
    # the last round's thresholds are c x q_l: the ratios between layers are the scan's
    last = state.rounds[-1]["targets"]
    ratios = [last[n] / q[n] for n in last]
    assert max(ratios) == pytest.approx(min(ratios))
    assert any("sensitivity scan on 500 validation images" in line for line in lines)
    assert all(r["val_error_after_prune"] is not None for r in state.rounds)
    again_model, again = run_pipeline(cfg(), lambda s: lenet_300_100(seed=s), mnist_slice,
                                      tmp_path / "b", progress=False, log=lambda m: None)
    for a, b in zip(model.prunable_layers(), again_model.prunable_layers()):
        np.testing.assert_array_equal(a.mask, b.mask)
    state.timing = again.timing = None
    assert json.dumps(state.to_json(), sort_keys=True) == json.dumps(again.to_json(), sort_keys=True)


def test_sensitivity_method_needs_a_validation_split():
    with pytest.raises(ConfigError, match="val_size"):
        from minnet.config import check_config
        check_config(cfg(val_size=0))

"""Sensitivity analysis (Figure 6): snapshot restored per level, serial == parallel, input checks."""

import numpy as np
import pytest

from minnet.pruning.sensitivity import sensitivity_analysis
from minnet.train import evaluate


@pytest.fixture
def setup(tiny_mlp):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 6)).astype(np.float32)
    y = rng.integers(0, 3, 200)
    return lambda: (tiny_mlp((6, 8, 3)), x, y)


def test_rows_levels_and_model_untouched(setup):
    m, x, y = setup()
    w = m.layer("fc1").params["W"].copy()
    rows = sensitivity_analysis(m, x, y, sparsities=[0, 50, 90])
    assert [(r["layer"], r["sparsity"]) for r in rows] == [
        ("fc1", 0), ("fc1", 50), ("fc1", 90), ("fc2", 0), ("fc2", 50), ("fc2", 90)]
    np.testing.assert_array_equal(m.layer("fc1").params["W"], w)
    assert m.layer("fc1").masks["W"].all()
    # sparsity 0 is the unpruned model's accuracy
    assert rows[0]["accuracy"] == evaluate(m, x, y)["accuracy"]


def test_each_level_starts_from_the_snapshot(setup):
    m, x, y = setup()
    # [90, 0]: if level 0 reused the 90%-pruned copy it would not match the unpruned accuracy
    rows = sensitivity_analysis(m, x, y, sparsities=[90, 0])
    assert rows[1]["accuracy"] == evaluate(m, x, y)["accuracy"]


def test_parallel_equals_serial(setup):
    m, x, y = setup()
    assert sensitivity_analysis(m, x, y, [0, 30, 60, 95], n_jobs=2) == \
        sensitivity_analysis(m, x, y, [0, 30, 60, 95], n_jobs=1)


@pytest.mark.parametrize("levels", [[0.5], [100], [-10], [], [True]])
def test_bad_levels(setup, levels):
    m, x, y = setup()
    with pytest.raises(ValueError):
        sensitivity_analysis(m, x, y, levels)

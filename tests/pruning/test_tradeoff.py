"""The Fig. 5 trade-off sweep (minnet.tradeoff): shape of the result, sanity, parallel == serial."""

import json

import numpy as np
import pytest

from minnet.data import load_mnist
from minnet.tradeoff import tradeoff_sweep, train_dense


@pytest.fixture(scope="module")
def setup():
    (x, y), (xt, yt) = load_mnist()
    x, y = x[:1500].reshape(-1, 784), y[:1500]
    xt, yt = xt[:500].reshape(-1, 784), yt[:500]
    models = {reg: train_dense(reg, x, y, epochs=1, seed=0) for reg in ("l1", "l2")}
    return models, (x[:300], y[:300]), (xt, yt)


def test_sweep_rows_cover_every_point_and_zero_percent_loses_nothing(setup):
    models, train, test = setup
    before = {r: m.layer("fc1").params["W"].copy() for r, m in models.items()}
    out = tradeoff_sweep(models, train, test, [90, 0, 50], retrain_epochs=1)
    assert out["percents"] == [0, 50, 90]
    keys = sorted((r["regularization"], r["mode"], r["pruned"]) for r in out["rows"])
    expected = sorted([(reg, mode, p) for reg in ("l1", "l2") for mode in ("none", "retrain")
                       for p in (0, 50, 90)] + [("l2", "iterative", p) for p in (0, 50, 90)])
    assert keys == expected
    for r in out["rows"]:
        assert r["accuracy_loss"] == pytest.approx(out["dense_accuracy"][r["regularization"]] - r["accuracy"])
        if r["mode"] == "none" and r["pruned"] == 0:
            assert r["accuracy_loss"] == 0.0           # pruning nothing changes nothing
    none90 = [r for r in out["rows"] if r["mode"] == "none" and r["pruned"] == 90]
    assert all(r["accuracy_loss"] > 0.05 for r in none90)   # 90% one-shot without retraining hurts
    for reg, w in before.items():                      # the trained models are left unchanged
        np.testing.assert_array_equal(models[reg].layer("fc1").params["W"], w)


def test_parallel_equals_serial(setup):
    models, train, test = setup
    serial = tradeoff_sweep({"l2": models["l2"]}, train, test, [0, 70, 95], n_jobs=1)
    parallel = tradeoff_sweep({"l2": models["l2"]}, train, test, [0, 70, 95], n_jobs=2)
    assert parallel["rows"] == serial["rows"]
    assert parallel["dense_accuracy"] == serial["dense_accuracy"]


def test_rejects_float_percentages_and_unknown_models(setup):
    models, train, test = setup
    with pytest.raises(ValueError, match="integers"):
        tradeoff_sweep(models, train, test, [0.5])
    with pytest.raises(ValueError, match="l1"):
        tradeoff_sweep({"dropout": models["l2"]}, train, test, [10])


def test_command_line_writes_json_that_report_can_draw(tmp_path):
    from minnet import figdata
    from minnet.tradeoff import main
    out = tmp_path / "tradeoff.json"
    assert main(["--out", str(out), "--quick", "--train-limit", "300", "--test-limit", "200",
                 "--percents", "0,60"]) == 0
    result = json.loads(out.read_text())
    assert result["percents"] == [0, 60] and result["train_epochs"] == 2
    curves = figdata.tradeoff_curves(result)
    assert len(curves) == 5                   # L1/L2 x with/without retraining + iterative L2
    assert all(pct.tolist() == [0, 60] for pct, _ in curves.values())


def test_command_line_strengths_reach_training_and_retraining(tmp_path):
    """--l1-strength 5e-4 (the paper's comparison: L1 at L2's strength) is what the models train
    and retrain with; a negative strength is refused."""
    from minnet.tradeoff import DEFAULT_STRENGTHS, main, run_tradeoff
    out = tmp_path / "tradeoff.json"
    assert main(["--out", str(out), "--quick", "--train-limit", "300", "--test-limit", "100",
                 "--percents", "0", "--l1-strength", "5e-4"]) == 0
    assert json.loads(out.read_text())["settings"]["strengths"] == {"l1": 5e-4, "l2": 5e-4}
    assert DEFAULT_STRENGTHS["l1"] == 1e-4
    with pytest.raises(ValueError, match="l1 strength"):
        run_tradeoff(epochs=1, percents=(0,), train_limit=100, test_limit=50, strengths={"l1": -1.0})

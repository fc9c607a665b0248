"""The iterative pipeline: planned steps, checkpoints, and a resumed run matching an uninterrupted one."""

import json

import numpy as np
import pytest

import minnet.pruning.pipeline as pipeline
from minnet.config import RunConfig
from minnet.layers import Dense, Dropout, Flatten
from minnet.model import Sequential
from minnet.pruning import plan_steps, run_pipeline


def builder(seed):
    s = np.random.SeedSequence(seed).spawn(3)
    return Sequential([Flatten(name="flatten"),
                       Dense(20, 16, activation="relu", rng=np.random.default_rng(s[0]), name="fc1"),
                       Dropout(0.5, seed=s[2], name="drop1"),
                       Dense(16, 3, rng=np.random.default_rng(s[1]), name="fc2")])


def data(n=192, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = (rng.normal(size=(n, 20)) + y[:, None]).astype(np.float32)
    return (x[:128], y[:128]), (x[128:160], y[128:160]), (x[160:], y[160:])


def config(**kw):
    base = dict(model="lenet300", epochs=2, retrain_epochs=2, rounds=2, batch_size=32, lr=0.05,
                method="sparsity", targets={"fc1": 0.75, "fc2": 0.5}, phases=["fc"], dropout=0.0)
    base.update(kw)
    return RunConfig(**base)


def test_plan_steps_iterative_and_one_shot():
    steps = plan_steps(config(), builder(0))
    assert [s["step"] for s in steps] == ["train", "prune", "retrain", "prune", "retrain"]
    # geometric: fc1 final keep 25% -> 50% then 25%
    assert steps[1]["targets"]["fc1"] == pytest.approx(0.5) and steps[3]["targets"]["fc1"] == pytest.approx(0.75)
    one_shot = plan_steps(config(rounds=1), builder(0))
    assert [s["step"] for s in one_shot] == ["train", "prune", "retrain"]
    explicit = plan_steps(config(schedule=[0.3, 0.6, 0.9]), builder(0))
    assert [s["targets"] for s in explicit if s["step"] == "prune"] == [
        {"fc1": 0.3, "fc2": 0.3}, {"fc1": 0.6, "fc2": 0.6}, {"fc1": 0.9, "fc2": 0.9}]


def test_pipeline_reaches_targets_and_adjusts_dropout(tmp_path):
    model, state = run_pipeline(config(), builder, data(), tmp_path, progress=False, log=lambda m: None)
    assert model.layer("fc1").masks["W"].mean() == pytest.approx(0.25)
    assert model.layer("fc2").masks["W"].mean() == pytest.approx(0.5)
    # drop1 follows fc1 (25% kept): 0.5 * sqrt(0.25) = 0.25
    assert model.layer("drop1").rate == pytest.approx(0.25)
    assert [r["round"] for r in state.rounds] == [1, 2]
    assert all(r["val_error_after_retrain"] is not None for r in state.rounds)
    for name in ("checkpoint.npz", "dense.npz", "pruned.npz"):
        assert (tmp_path / name).exists()


class Killed(Exception):
    pass


def test_resume_after_a_kill_is_bit_identical(tmp_path, monkeypatch):
    cfg = config()
    a, full = run_pipeline(cfg, builder, data(), tmp_path / "full", progress=False, log=lambda m: None)

    # "Kill" the second run right after its 5th checkpoint (mid-way through round 1's retraining).
    real_save, calls = pipeline.save_checkpoint, []

    def dying_save(*args, **kwargs):
        real_save(*args, **kwargs)
        calls.append(1)
        if len(calls) == 5:
            raise Killed

    monkeypatch.setattr(pipeline, "save_checkpoint", dying_save)
    with pytest.raises(Killed):
        run_pipeline(cfg, builder, data(), tmp_path / "cut", progress=False, log=lambda m: None)
    monkeypatch.setattr(pipeline, "save_checkpoint", real_save)
    b, resumed = run_pipeline(cfg, builder, data(), tmp_path / "cut", resume=True, progress=False,
                           log=lambda m: None)

    for la, lb in zip(a.layers, b.layers):
        for k in la.params:
            np.testing.assert_array_equal(la.params[k], lb.params[k])
        for k in la.masks:
            np.testing.assert_array_equal(la.masks[k], lb.masks[k])
    full.timing = resumed.timing = None
    assert json.dumps(full.to_json(), sort_keys=True) == json.dumps(resumed.to_json(), sort_keys=True)


def test_reinit_option_runs_and_differs(tmp_path):
    kept, _ = run_pipeline(config(rounds=1), builder, data(), tmp_path / "a", progress=False,
                           log=lambda m: None)
    reinit, _ = run_pipeline(config(rounds=1, reinit=True), builder, data(), tmp_path / "b",
                             progress=False, log=lambda m: None)
    np.testing.assert_array_equal(kept.layer("fc1").masks["W"], reinit.layer("fc1").masks["W"])
    assert not np.array_equal(kept.layer("fc1").params["W"], reinit.layer("fc1").params["W"])


def test_finetune_step_retrains_all_layers_at_the_final_masks(tmp_path):
    steps = plan_steps(config(finetune_epochs=3), builder(0))
    assert [s["step"] for s in steps] == ["train", "prune", "retrain", "prune", "retrain", "finetune"]
    assert [s["step"] for s in plan_steps(config(finetune_epochs=3, phases=[]), builder(0))] == ["train"]

    plain, _ = run_pipeline(config(), builder, data(), tmp_path / "plain", progress=False, log=lambda m: None)
    tuned_model, tuned = run_pipeline(config(finetune_epochs=3), builder, data(), tmp_path / "tuned",
                         progress=False, log=lambda m: None)
    assert tuned.history[-1]["step"] == "finetune" and len(tuned.history[-1]["loss"]) == 3
    assert tuned.val_error_after_finetune == tuned.val_error_after
    for a, b in zip(plain.prunable_layers(), tuned_model.prunable_layers()):
        np.testing.assert_array_equal(a.masks["W"], b.masks["W"])        # fine-tuning never prunes
        assert not np.array_equal(a.params["W"], b.params["W"])          # ... but moves every layer
        assert np.count_nonzero(b.params["W"][~b.masks["W"]]) == 0

"""The command line and its config: layering, TOML validation, a tiny end-to-end run with --data."""

import json

import numpy as np
import pytest
from idx_files import write_idx

from minnet.cli import main, make_parser, resolve_config
from minnet.config import RunConfig, config_from_dict
from minnet.errors import ConfigError
from minnet.model import Sequential


def args(*argv):
    return make_parser().parse_args(list(argv))


def test_config_layering_recipe_file_quick_flags(tmp_path):
    cfg = resolve_config(args("prune", "--model", "lenet300"))
    # the default is the paper's method: no per-layer numbers, thresholds from the scan
    assert cfg.method == "sensitivity" and cfg.targets == {} and cfg.phases == ["fc"]
    assert cfg.val_size == 5000 and cfg.compression == 12.0 and cfg.recipe == "lenet300"
    paper = resolve_config(args("prune", "--recipe", "lenet300-paper-ratios"))
    assert paper.method == "sparsity" and paper.targets == {"fc1": 0.92, "fc2": 0.91, "fc3": 0.74}
    assert resolve_config(args("prune", "--model", "mlp", "--hidden", "64,32")).hidden == [64, 32]
    assert resolve_config(args("prune", "--model", "lenet5")).phases == ["fc", "conv"]
    toml = tmp_path / "run.toml"
    toml.write_text('epochs = 7\nrounds = 4\nmethod = "sparsity"\n[targets]\nfc1 = 0.9\n')
    cfg = resolve_config(args("prune", "--model", "lenet300", "--config", str(toml), "--epochs", "3",
                              "--target", "fc2=0.8", "--no-adjust-dropout"))
    assert (cfg.epochs, cfg.rounds, cfg.targets, cfg.adjust_dropout) == (3, 4, {"fc2": 0.8}, False)
    quick = resolve_config(args("prune", "--model", "lenet300", "--quick"))
    assert quick.train_limit and quick.epochs <= 2
    quick_file = resolve_config(args("prune", "--config", str(toml), "--quick"))
    assert quick_file.rounds == 2 and quick_file.targets == {"fc1": 0.9}   # --quick beats the file
    scheduled = resolve_config(args("prune", "--method", "sparsity", "--schedule", "0.5,0.9"))
    assert scheduled.schedule == [0.5, 0.9] and scheduled.rounds == 2     # the schedule sets rounds
    with pytest.raises(ConfigError, match="would be ignored"):
        resolve_config(args("prune", "--schedule", "0.5,0.9"))
    assert resolve_config(args("train", "--model", "lenet300")).phases == []


@pytest.mark.parametrize("text, key", [("epoch = 3\n", "epoch"), ("epochs = '3'\n", "epochs"),
                                       ("epochs = true\n", "epochs"), ("lr = -1.0\n", "lr"),
                                       ("method = 'random'\n", "method"),
                                       ("[targets]\nfc1 = 'x'\n", "targets.fc1"),
                                       ("phases = ['pool']\n", "phases")])
def test_bad_config_file_names_the_key(tmp_path, text, key):
    toml = tmp_path / "bad.toml"
    toml.write_text(text)
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        resolve_config(args("prune", "--config", str(toml)))


def test_config_from_dict_and_effective_retrain_lr():
    assert RunConfig(lr=0.01, retrain_lr=None).effective_retrain_lr() == pytest.approx(0.001)
    assert config_from_dict({"retrain_lr": 0.005}).effective_retrain_lr() == 0.005
    with pytest.raises(ConfigError, match="unknown config key 'lrr'"):
        config_from_dict({"lrr": 0.1})


def test_prune_end_to_end_on_an_idx_dataset(tiny_idx, tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["prune", "--model", "lenet300", "--data", str(tiny_idx), "--out", str(out),
                 "--epochs", "3", "--retrain-epochs", "1", "--rounds", "2", "--seed", "1",
                 "--lr", "0.05", "--val-size", "60", "--no-progress"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "Weights%" in printed and "compression" in printed
    report = json.loads((out / "report.json").read_text())
    for key in ("model", "seed", "command", "error_before", "error_after", "params_before",
                "params_after", "compression", "layers", "timing", "val_error_before",
                "val_error_after", "split", "sensitivity"):
        assert key in report
    assert report["split"]["validation_size"] == 60 and report["split"]["train_size"] == 240
    assert report["params_before"] == 266610 and report["compression"] >= 12
    assert set(report["sensitivity"]["layers"]) == {"fc1", "fc2", "fc3"}
    assert [r["name"] for r in report["layers"]] == ["fc1", "fc2", "fc3"]
    assert set(report["layers"][0]) >= {"name", "weights", "remaining", "flops", "remaining_flops"}
    pruned = Sequential.load(out / "pruned.npz")
    fc1 = report["sensitivity"]["layers"]["fc1"]
    assert pruned.layer("fc1").masks["W"].mean() == pytest.approx(1 - fc1["sparsity"], abs=0.01)
    assert Sequential.load(out / "dense.npz").layer("fc1").masks["W"].all()
    # an existing run is not overwritten by accident
    assert main(["prune", "--model", "lenet300", "--data", str(tiny_idx), "--out", str(out)]) == 2
    # --resume of a finished run reproduces the same report (timing aside)
    assert main(["prune", "--out", str(out), "--resume", "--data", str(tiny_idx), "--no-progress"]) == 0
    again = json.loads((out / "report.json").read_text())
    report.pop("timing"), again.pop("timing")
    assert again == report


def test_train_command_writes_model_and_history(tiny_idx, tmp_path):
    out = tmp_path / "train"
    assert main(["train", "--model", "lenet300", "--data", str(tiny_idx), "--out", str(out),
                 "--epochs", "1", "--val-size", "50", "--no-progress"]) == 0
    assert (out / "model.npz").exists() and not (out / "pruned.npz").exists()
    history = json.loads((out / "history.json").read_text())
    assert len(history[0]["loss"]) == 1
    rows = (out / "history.csv").read_text().splitlines()
    assert rows[0].startswith("step_index,step,phase,round,epoch,loss") and len(rows) == 2
    assert float(rows[1].split(",")[5]) == history[0]["loss"][0]


def test_bad_inputs_exit_with_code_2(tmp_path, capsys):
    assert main(["prune", "--data", str(tmp_path / "missing"), "--out", str(tmp_path / "o")]) == 2
    assert "error:" in capsys.readouterr().err


def test_prune_from_a_trained_dense_model(tiny_idx, tmp_path):
    trained = tmp_path / "train"
    assert main(["train", "--model", "lenet300", "--data", str(tiny_idx), "--out", str(trained),
                 "--epochs", "1", "--val-size", "50", "--no-progress"]) == 0
    out = tmp_path / "pruned"
    assert main(["prune", "--model", "lenet300", "--data", str(tiny_idx), "--out", str(out),
                 "--dense-model", str(trained / "model.npz"), "--rounds", "1", "--val-size", "50",
                 "--retrain-epochs", "1", "--no-progress"]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["history"][0]["step"] == "retrain"          # no dense training step ran
    assert report["split"]["validation_size"] == 50
    dense = Sequential.load(trained / "model.npz")
    np.testing.assert_array_equal(Sequential.load(out / "dense.npz").layer("fc1").params["W"],
                                  dense.layer("fc1").params["W"])


def test_mlp_on_any_idx_dataset_with_the_sensitivity_method(tiny_idx, tmp_path):
    out = tmp_path / "mlp"
    assert main(["prune", "--model", "mlp", "--hidden", "40,20", "--data", str(tiny_idx),
                 "--out", str(out), "--epochs", "2", "--retrain-epochs", "1", "--rounds", "2",
                 "--val-size", "60", "--compression", "5", "--no-progress"]) == 0
    report = json.loads((out / "report.json").read_text())
    assert [r["name"] for r in report["layers"]] == ["fc1", "fc2", "fc3"]
    assert report["params_before"] == 784 * 40 + 40 + 40 * 20 + 20 + 20 * 10 + 10
    assert report["compression"] >= 5 and report["config"]["recipe"] == "mlp"


def test_val_size_too_large_is_one_clear_error(tiny_idx, tmp_path, capsys):
    assert main(["prune", "--data", str(tiny_idx), "--out", str(tmp_path / "o"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "validation size" in err and "--val-size" in err and "Traceback" not in err


def test_dense_model_from_another_split_is_refused(tiny_idx, tmp_path, capsys):
    trained = tmp_path / "train"
    assert main(["train", "--model", "lenet300", "--data", str(tiny_idx), "--out", str(trained),
                 "--epochs", "1", "--val-size", "50", "--seed", "0", "--no-progress"]) == 0
    capsys.readouterr()
    code = main(["prune", "--model", "lenet300", "--data", str(tiny_idx), "--out", str(tmp_path / "p"),
                 "--dense-model", str(trained / "model.npz"), "--val-size", "50", "--seed", "1",
                 "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "seed = 0" in err and "--seed 0" in err and "validation split" in err


def test_no_test_flag_keeps_the_test_set_unread(tiny_idx, tmp_path, capsys, monkeypatch):
    import minnet.pruning.pipeline as pipeline
    seen = []
    real = pipeline.evaluate

    def spy(model, x, y, **kw):
        seen.append(len(x))
        return real(model, x, y, **kw)

    monkeypatch.setattr(pipeline, "evaluate", spy)
    out = tmp_path / "search"
    assert main(["prune", "--data", str(tiny_idx), "--out", str(out), "--epochs", "1",
                 "--retrain-epochs", "1", "--rounds", "1", "--val-size", "60", "--no-test",
                 "--no-progress"]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["error_before"] is None and report["error_after"] is None
    assert report["val_error_after"] is not None and "test set not read" in capsys.readouterr().out
    assert 100 not in seen and set(seen) == {60}        # only the 60 validation images, never the 100 test ones


def test_mlp_takes_any_image_size_and_class_count(tmp_path):
    """--data with 12x12 images in 4 classes: mlp sizes itself from the data; the LeNets refuse."""
    d = tmp_path / "small"
    d.mkdir()
    rng = np.random.default_rng(1)
    for prefix, n in (("train", 200), ("t10k", 40)):
        y = np.arange(n) % 4
        x = rng.integers(0, 40, size=(n, 12, 12))
        for i, c in enumerate(y):
            x[i, 3 * c:3 * c + 3, :] = 240
        write_idx(d / f"{prefix}-images-idx3-ubyte.gz", x)
        write_idx(d / f"{prefix}-labels-idx1-ubyte.gz", y)
    out = tmp_path / "run"
    assert main(["prune", "--model", "mlp", "--hidden", "16", "--data", str(d), "--out", str(out),
                 "--epochs", "2", "--retrain-epochs", "1", "--rounds", "1", "--val-size", "40",
                 "--compression", "3", "--no-progress"]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["params_before"] == 144 * 16 + 16 + 16 * 4 + 4 and report["compression"] >= 3
    assert main(["prune", "--model", "lenet300", "--data", str(d), "--out", str(tmp_path / "x"),
                 "--val-size", "40"]) == 2


@pytest.mark.parametrize("argv, words", [
    (["--target", "fcl=0.9"], ["sensitivity", "ignored", "--compression"]),
    (["--method", "sparsity", "--target", "fcl=0.9"], ["fcl", "fc1", "fc2", "fc3"]),
    (["--method", "sparsity", "--target", "all=0.9"], ["'all'", "global"]),
    (["--method", "global", "--target", "fc1=0.9"], ["global", "all"]),
])
def test_targets_that_would_be_ignored_are_refused_before_training(tiny_idx, tmp_path, capsys, argv,
                                                                   words):
    code = main(["prune", "--data", str(tiny_idx), "--out", str(tmp_path / "o"), "--val-size", "60",
                 "--no-progress", *argv])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and err.count("\n") == 1
    assert all(w in err for w in words), err
    assert not (tmp_path / "o" / "dense.npz").exists()           # refused before any training


def test_os_errors_are_one_line_and_minnet_debug_shows_the_traceback(tmp_path, capsys, monkeypatch):
    folder_as_config = tmp_path / "cfg"
    folder_as_config.mkdir()
    assert main(["prune", "--config", str(folder_as_config), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --config") and err.count("\n") == 1 and "is a folder" in err
    # a full disk while the run writes: one line naming the file
    import minnet.cli.run as run_module

    def full_disk(cfg):
        raise OSError(28, "No space left on device", str(tmp_path / "o" / "checkpoint.npz.tmp"))
    monkeypatch.setattr(run_module, "load_data", full_disk)
    argv = ["prune", "--model", "lenet300", "--quick", "--out", str(tmp_path / "o2")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "No space left" in err and "checkpoint.npz.tmp" in err
    monkeypatch.setenv("MINNET_DEBUG", "1")
    with pytest.raises(OSError):
        main([*argv, "--overwrite"])


def test_a_disk_that_fills_mid_run_loses_nothing_and_says_how_to_resume(tiny_idx, tmp_path, capsys,
                                                                        monkeypatch):
    import minnet.atomic as atomic
    out = tmp_path / "run"
    argv = ["prune", "--data", str(tiny_idx), "--out", str(out), "--no-progress", "--epochs", "2",
            "--retrain-epochs", "1", "--rounds", "2", "--val-size", "60"]
    real_fsync = atomic.os.fsync

    def fills_after_first_checkpoint(fd):   # every write after the first checkpoint hits a full disk
        if (out / "checkpoint.npz").exists():
            raise OSError(28, "No space left on device")
        real_fsync(fd)
    monkeypatch.setattr(atomic.os, "fsync", fills_after_first_checkpoint)
    assert main(argv) == 2
    err = capsys.readouterr().err              # the progress lines, then one line of error
    assert "Traceback" not in err and err.count("error:") == 1, err
    err = err.splitlines()[-1]
    assert f"could not write {out}" in err and "the disk is full" in err
    assert f"continue with: python -m minnet prune --out {out} --resume" in err
    assert not list(out.glob(".*.tmp"))                  # no half-written files left behind
    monkeypatch.setattr(atomic.os, "fsync", real_fsync)  # room again: the run goes on and finishes
    assert main(["prune", "--out", str(out), "--resume", "--no-progress"]) == 0
    assert (out / "report.json").exists()


def test_a_write_error_names_the_file_and_keeps_the_old_version(tmp_path, monkeypatch):
    import minnet.atomic as atomic
    from minnet.errors import WriteError
    target = atomic.atomic_write_text(tmp_path / "a.json", "old")

    def full(fd):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(atomic.os, "fsync", full)
    with pytest.raises(WriteError, match=r"could not write .*a\.json: No space left on device "
                                         r"\(the disk is full") as info:
        atomic.atomic_write_text(target, "new")
    assert info.value.errno == 28 and isinstance(info.value, OSError)
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_ctrl_c_says_how_to_resume_and_exits_130(tmp_path, capsys, monkeypatch):
    import minnet.cli as cli

    def interrupted(args, argv):
        raise KeyboardInterrupt
    monkeypatch.setattr(cli, "run_command", interrupted)
    (tmp_path / "r").mkdir()                              # resume is offered only from a checkpoint
    (tmp_path / "r" / "checkpoint.npz").write_bytes(b"")
    assert main(["prune", "--out", str(tmp_path / "r")]) == 130
    assert f"resume with: python -m minnet prune --out {tmp_path / 'r'} --resume" in capsys.readouterr().err


def test_resume_keeps_the_folders_settings_or_refuses(tiny_idx, tmp_path, capsys):
    out = tmp_path / "run"
    base = ["--data", str(tiny_idx), "--out", str(out), "--no-progress"]
    assert main(["prune", "--resume", *base]) == 2                    # nothing there yet
    assert "holds no run" in capsys.readouterr().err
    assert main(["prune", *base, "--epochs", "1", "--retrain-epochs", "1", "--rounds", "1",
                 "--val-size", "60"]) == 0
    capsys.readouterr()
    assert main(["prune", "--resume", *base, "--seed", "3"]) == 2      # conflicts with the run
    err = capsys.readouterr().err
    assert "--seed 3 conflicts" in err and "seed = 0" in err
    assert main(["prune", "--resume", *base]) == 0                     # finished: says so
    assert "has finished" in capsys.readouterr().out
    (out / "checkpoint.npz").unlink()
    (out / "report.json").unlink()
    assert main(["prune", "--resume", *base]) == 2
    assert "no checkpoint to resume from" in capsys.readouterr().err


def test_resume_accepts_a_new_learning_rate_and_records_it(tiny_idx, tmp_path, monkeypatch):
    import minnet.cli.run as run
    out = tmp_path / "run"
    base = ["--data", str(tiny_idx), "--out", str(out), "--no-progress"]
    calls = []

    def stop_after_config(args, cfg, command, folder):     # the first run "dies" before training
        calls.append(cfg)
        if len(calls) == 1:
            (folder / "checkpoint.npz").write_bytes(b"")
            return 1
        return 0
    monkeypatch.setattr(run, "_run_locked", stop_after_config)
    assert main(["prune", *base, "--val-size", "60"]) == 1
    assert main(["prune", "--resume", *base, "--lr", "0.002"]) == 0
    assert calls[1].lr == 0.002
    saved = json.loads((out / "config.json").read_text())
    assert saved["config"]["lr"] == 0.002 and saved["resume_changes"] == [{"lr": 0.002}]


@pytest.mark.parametrize("flag, value", [("--lr", "nan"), ("--lr", "inf"), ("--lr", "0"),
                                         ("--retrain-lr", "-0.1"), ("--reg-strength", "nan"),
                                         ("--momentum", "-0.5"), ("--compression", "inf")])
def test_nan_inf_and_negative_numbers_are_refused(flag, value):
    with pytest.raises(ConfigError, match=flag.lstrip("-").replace("-", "_")):
        resolve_config(args("prune", flag, value))

"""One row per kind of user mistake: the exception type (Python) or exit status 2 and one line
(command line), and the message names the culprit (the flag, key, layer or file).

More specific tests of the same promises live next to the code they test (resume conflicts and
NaN flags in test_cli.py, the run-folder lock in test_run_folder_lock.py, damaged model files in
tests/model/ and tests/sparse/); this file is the table a reviewer reads to see them all at once.
"""

import json
from pathlib import Path

import numpy as np
import pytest
from idx_files import write_idx

from minnet.cli import main
from minnet.config import load_config_file
from minnet.errors import CheckpointError, ConfigError, MinnetError, ShapeError
from minnet.io import model_to_arrays
from minnet.layers import Dense
from minnet.model import Sequential
from minnet.models import lenet_300_100
from minnet.optim import SGD
from minnet.pruning import prune_by_std, prune_model
from minnet.sparse import to_sparse
from minnet.train import evaluate, fit


def _nan_weights():
    w = np.ones((3, 3), np.float32)
    w[1, 1] = np.nan
    return w


def _absurd_architecture(tmp):
    arrays = model_to_arrays(lenet_300_100())
    arch = json.loads(str(arrays["architecture"]))
    arch[1]["config"]["in_features"] = 10**12
    arrays["architecture"] = np.array(json.dumps(arch))
    np.savez(tmp / "absurd.npz", **arrays)
    return tmp / "absurd.npz"


PYTHON_CASES = [
    # (what, call, exception type, text the message must contain)
    ("a fractional layer size", lambda tmp: Dense(2.7, 3), ConfigError, "in_features"),
    ("evaluate on zero examples",
     lambda tmp: evaluate(lenet_300_100(), np.zeros((0, 784), np.float32), np.zeros(0, int)),
     ShapeError, "no examples"),
    ("predict on zero examples", lambda tmp: lenet_300_100().predict(np.zeros((0, 784), np.float32)),
     ShapeError, "predict"),
    ("std pruning of NaN weights", lambda tmp: prune_by_std(_nan_weights(), 1.0), ValueError,
     "NaN"),
    ("a quality that empties a layer",
     lambda tmp: prune_model(lenet_300_100(), "std", {"fc1": 1e9}), ConfigError, "fc1"),
    ("a pruning target naming no layer",
     lambda tmp: prune_model(lenet_300_100(), "sparsity", {"fcl": 0.5}), ValueError, "fcl"),
    ("--config naming a folder", lambda tmp: load_config_file(tmp), ConfigError, "--config"),
    ("a Dense layer of integers", lambda tmp: Dense(3, 3, dtype=np.int32), MinnetError, "dtype"),
    ("fit with a string for an optimizer",
     lambda tmp: fit(lenet_300_100(), "sgd", np.zeros((2, 784), np.float32), np.zeros(2, int),
                     epochs=1), ConfigError, "optimizer"),
    ("saving a model onto a folder", lambda tmp: lenet_300_100().save(tmp), CheckpointError,
     "is a folder"),
    ("CSR with 8-bit column indices", lambda tmp: to_sparse(lenet_300_100(), index_dtype=np.int8),
     MinnetError, "index_dtype"),
    ("a layer too large to allocate", lambda tmp: Dense(10**7, 10**6), ValueError, "weights"),
    ("a model file whose architecture asks for petabytes",
     lambda tmp: Sequential.load(_absurd_architecture(tmp)), CheckpointError, "in_features"),
    # Found by the adversarial probe (notes/probe): accepted silently, or a foreign exception.
    ("a negative learning rate", lambda tmp: SGD(lr=-1), ConfigError, "lr"),
    ("a NaN learning rate", lambda tmp: SGD(lr=float("nan")), ConfigError, "lr"),
    ("evaluate in batches of 0",
     lambda tmp: evaluate(lenet_300_100(), np.zeros((2, 784), np.float32), np.zeros(2, int), 0),
     ConfigError, "batch_size"),
    ("a model of things that are not layers", lambda tmp: Sequential([3]), ConfigError, "not a layer"),
]


@pytest.mark.parametrize("what, call, kind, culprit", PYTHON_CASES, ids=[c[0] for c in PYTHON_CASES])
def test_python_mistakes_raise_a_named_minnet_error(what, call, kind, culprit, tmp_path):
    with pytest.raises(kind) as info:
        call(tmp_path)
    assert culprit in str(info.value)
    assert isinstance(info.value, (MinnetError, ValueError))


def _empty_idx(folder):
    folder.mkdir()
    for prefix in ("train", "t10k"):
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", np.zeros((0, 28, 28), np.uint8))
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", np.zeros(0, np.uint8))
    return folder


def _toml(tmp, text):
    path = tmp / "run.toml"
    path.write_text(text)
    return str(path)


def _lenet5_file(tmp):
    from minnet.models import lenet5
    lenet5().save(tmp / "lenet5.npz")
    return str(tmp / "lenet5.npz")


def _file(tmp):
    path = tmp / "a-file"
    path.write_text("x")
    return str(path)


def _report_without_layers(tmp, data):
    """A finished prune run whose report.json lost its "layers" field."""
    run = tmp / "run"
    assert main(["prune", "--data", str(data), *TINY, "--out", str(run)]) == 0
    report = json.loads((run / "report.json").read_text())
    del report["layers"]
    (run / "report.json").write_text(json.dumps(report))
    return str(run)


def _truncated_checkpoint(tmp, data):
    """A run folder whose checkpoint lost its second half (a crash mid-copy, a full disk)."""
    out = tmp / "run"
    argv = ["train", "--data", str(data), "--epochs", "2", "--val-size", "60", "--no-progress",
            "--out", str(out)]
    assert main(argv) == 0
    checkpoint = out / "checkpoint.npz"
    checkpoint.write_bytes(b"\0" * 10 + checkpoint.read_bytes()[10:len(checkpoint.read_bytes()) // 2])
    (out / "report.json").unlink()                   # looks unfinished: --resume must read the file
    return str(out)


def _prune_run(tmp, data, finished=True):
    """A prune run folder on the tiny dataset; unfinished = its report.json lost (a killed run)."""
    run = tmp / "run"
    assert main(["prune", "--data", str(data), *TINY, "--out", str(run)]) == 0
    if not finished:
        (run / "report.json").unlink()
    return str(run)


def _with_file(run, name, text):
    (Path(run) / name).write_text(text)
    return run


def _finished_run(tmp, data):
    out = tmp / "done"
    assert main(["prune", "--data", str(data), *TINY, "--out", str(out)]) == 0
    return str(out)


TINY = ["--epochs", "1", "--retrain-epochs", "1", "--rounds", "1", "--val-size", "60",
        "--no-progress"]
TINY_TRAIN = ["--epochs", "1", "--val-size", "60", "--no-progress"]
CLI_CASES = [
    # (what, argv builder (tmp folder, tiny dataset), text the one line must contain)
    ("--target on a missing layer",
     lambda t, d: ["prune", "--data", d, *TINY, "--method", "sparsity", "--target", "fcl=0.9",
                   "--out", str(t / "o")], "fcl"),
    ("a TOML [targets] table naming a missing layer",
     lambda t, d: ["prune", "--data", d, *TINY, "--method", "sparsity",
                   "--config", _toml(t, "[targets]\nfcx = 0.5\n"), "--out", str(t / "o")], "fcx"),
    ("all= with a per-layer method",
     lambda t, d: ["prune", "--data", d, *TINY, "--method", "sparsity", "--target", "all=0.5",
                   "--out", str(t / "o")], "all"),
    ("NaN learning rate in TOML",
     lambda t, d: ["prune", "--data", d, *TINY, "--config", _toml(t, "lr = nan\n"),
                   "--out", str(t / "o")], "'lr'"),
    ("negative momentum in TOML, under --quick",
     lambda t, d: ["prune", "--quick", "--config", _toml(t, "momentum = -1.0\n"),
                   "--out", str(t / "o")], "'momentum'"),
    ("--config naming a folder",
     lambda t, d: ["prune", "--data", d, *TINY, "--config", str(t), "--out", str(t / "o")],
     "--config"),
    ("--out naming a file",
     lambda t, d: ["prune", "--data", d, *TINY, "--out", _file(t)], "a-file"),
    ("an empty IDX dataset",
     lambda t, d: ["prune", "--data", str(_empty_idx(t / "empty")), *TINY, "--out", str(t / "o")],
     "no images"),
    ("a std quality that would empty a layer (the dense model is kept)",
     lambda t, d: ["prune", "--data", d, *TINY, "--method", "std", "--target", "fc1=1e9",
                   "--out", str(t / "o")], "--dense-model"),
    ("a diverging learning rate, before any checkpoint",
     lambda t, d: ["train", "--data", d, "--val-size", "60", "--no-progress", "--lr", "1e6",
                   "--out", str(t / "o")], "Nothing was checkpointed"),
    ("report on a report.json that lacks a field",
     lambda t, d: ["report", _report_without_layers(t, d)], "'layers'"),
    ("--resume from a truncated checkpoint",
     lambda t, d: ["train", "--out", _truncated_checkpoint(t, d), "--resume", "--no-progress"],
     "checkpoint.npz"),
    ("a per-layer method with no target",
     lambda t, d: ["prune", "--data", d, *TINY, "--method", "sparsity", "--out", str(t / "o")],
     "--target fc1=0.9"),
    ("--rounds that disagrees with an explicit schedule",
     lambda t, d: ["prune", "--data", d, *TINY, "--method", "sparsity", "--schedule", "0.5,0.9",
                   "--out", str(t / "o")], "rounds"),
    ("--n-jobs without --seeds",
     lambda t, d: ["prune", "--data", d, *TINY, "--n-jobs", "2", "--out", str(t / "o")], "--seeds"),
    ("--resume --lr on a finished run",
     lambda t, d: ["prune", "--out", _finished_run(t, d), "--resume", "--lr", "0.001"], "finished"),
    ("a TOML value a flag overrides is still checked",
     lambda t, d: ["prune", "--data", d, *TINY, "--config", _toml(t, "data = 5\n"),
                   "--out", str(t / "o")], "'data'"),
    ("--dense-model of another architecture",
     lambda t, d: ["prune", "--data", d, *TINY, "--dense-model", _lenet5_file(t),
                   "--out", str(t / "o")], "layer 1 is Conv2D"),
    ("--resume of a folder with no run",
     lambda t, d: ["prune", "--out", str(t), "--resume"], "no run"),
    # Found by the adversarial probe (notes/probe): `train --resume` on a prune run renamed its
    # dense.npz and deleted its pruned.npz; --config and --overwrite were ignored on --resume.
    ("train --resume of a prune run",
     lambda t, d: ["train", "--out", _prune_run(t, d, finished=False), "--resume", "--no-progress"],
     "`prune` run"),
    ("--resume with --config", lambda t, d: ["prune", "--out", _prune_run(t, d, finished=False),
                                             "--resume", "--config", _toml(t, "epochs = 9\n")],
     "--config"),
    ("--resume with --overwrite", lambda t, d: ["prune", "--out", _prune_run(t, d), "--resume",
                                                "--overwrite"], "--overwrite"),
    ("--resume of a config.json with a bad value",
     lambda t, d: ["prune", "--out", _with_file(str(t), "config.json",
                                                '{"command": "x", "config": {"epochs": "many"}}'),
                   "--resume"], "config.json"),
    ("--config naming a binary file",
     lambda t, d: ["prune", "--data", d, *TINY, "--config", _binary(t), "--out", str(t / "o")],
     "bin.toml"),
    ("--target with a sparsity above 1",
     lambda t, d: ["prune", "--data", d, *TINY, "--method", "sparsity", "--target", "fc1=1.5",
                   "--out", str(t / "o")], "fc1"),
    ("export --out onto the run's own dense.npz",
     lambda t, d: ["export", "--format", "npz", "--out", str(Path(_prune_run(t, d)) / "dense.npz"),
                   str(t / "run")], "dense.npz"),
    ("--hidden on a model without hidden sizes",
     lambda t, d: ["train", "--data", d, *TINY_TRAIN, "--hidden", "10,10", "--out", str(t / "o")], "--hidden"),
    ("--conv-relu on a model without conv layers",
     lambda t, d: ["train", "--data", d, *TINY_TRAIN, "--conv-relu", "--out", str(t / "o")], "--conv-relu"),
    ("a TOML schedule table naming a missing layer",
     lambda t, d: ["prune", "--data", d, *TINY, "--method", "sparsity", "--config",
                   _toml(t, "schedule = [{fcz = 0.5}]\n[targets]\nfc1 = 0.5\n"), "--out", str(t / "o")],
     "fcz"),
    ("a TOML value that --quick overrides is still checked",
     lambda t, d: ["prune", "--quick", "--config", _toml(t, "epochs = -1\n"), "--out", str(t / "o")],
     "'epochs'"),
    ("LeNet-5's recipe (conv phases) on LeNet-300-100, refused before training",
     lambda t, d: ["prune", "--data", d, *TINY, "--recipe", "lenet5", "--model", "lenet300",
                   "--out", str(t / "o")], "'conv', but model lenet300 has no prunable conv"),
    ("report of a run with a foreign tradeoff.json",
     lambda t, d: ["report", _with_file(_prune_run(t, d), "tradeoff.json", '{"points": 3}')],
     "tradeoff.json"),
]


def _binary(tmp):
    path = tmp / "bin.toml"
    path.write_bytes(bytes(range(256)))
    return str(path)


@pytest.mark.parametrize("what, build, culprit", CLI_CASES, ids=[c[0] for c in CLI_CASES])
def test_command_line_mistakes_are_one_named_line_and_exit_2(what, build, culprit, tmp_path,
                                                              tiny_idx, capsys):
    argv = build(tmp_path, str(tiny_idx))
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) >= 1 and err[-1].startswith("error: "), err
    assert "Traceback" not in "\n".join(err)
    assert culprit in err[-1], err[-1]


@pytest.mark.parametrize("checkpointed", [True, False])
@pytest.mark.parametrize("how", ["KeyboardInterrupt", "inside a Numba kernel"])
def test_ctrl_c_exits_130_and_offers_resume_only_with_a_checkpoint(how, checkpointed, tmp_path,
                                                                   capsys, monkeypatch):
    from minnet import cli

    def interrupted(args, argv):
        if how == "KeyboardInterrupt":
            raise KeyboardInterrupt
        try:                        # what Numba's dispatcher raises when Ctrl-C lands in a kernel
            raise KeyboardInterrupt
        except KeyboardInterrupt as e:
            raise SystemError("CPUDispatcher(...) returned a result with an exception set") from e
    monkeypatch.setattr(cli, "run_command", interrupted)
    out = tmp_path / "r"
    if checkpointed:
        out.mkdir()
        (out / "checkpoint.npz").write_bytes(b"")
    assert main(["train", "--out", str(out)]) == 130
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert ("--resume" in err) == checkpointed and ("--overwrite" in err) != checkpointed


EXERCISE_CASES = [
    ("check on a folder without exercises", lambda t: ["check", str(t)], "none of the exercise"),
    ("check on a missing path", lambda t: ["check", str(t / "nope")], "no such file"),
    ("check on a file that is no exercise", lambda t: ["check", _file(t)], "not an exercise file"),
    ("grade with a negative timeout",
     lambda t: ["grade", str(t), "--csv", str(t / "g.csv"), "--timeout", "-1"], "--timeout"),
]


@pytest.mark.parametrize("what, build, culprit", EXERCISE_CASES, ids=[c[0] for c in EXERCISE_CASES])
def test_exercise_checker_mistakes_are_one_named_line(what, build, culprit, tmp_path, capsys):
    from minnet.exercises.cli import main as exercises_main
    assert exercises_main(build(tmp_path)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and culprit in err[0], err


def test_a_target_without_a_layer_name_and_tradeoff_bounds_are_argparse_lines(capsys):
    from minnet.tradeoff import main as tradeoff_main
    for argv, run, culprit in ((["prune", "--target", "=0.5"], main, "LAYER=VALUE"),
                               (["--quick", "--out", "t.json", "--epochs", "-1"], tradeoff_main,
                                "--epochs")):
        with pytest.raises(SystemExit) as info:
            run(argv)
        assert info.value.code == 2 and culprit in capsys.readouterr().err.splitlines()[-1]


def test_argparse_mistakes_are_one_line_without_the_usage(capsys):
    """A wrong type or an unknown flag: argparse used to print the command's whole usage (27 lines
    for prune) above the error; now only the line naming the flag, and where to read more."""
    from minnet.exercises.cli import main as exercises_main
    for argv, run, culprit in ((["prune", "--epochs", "abc"], main, "--epochs"),
                               (["prune", "--model", "lenet300", "--bogus"], main, "--bogus"),
                               (["challenge", "x", "--max-val-error", "abc"], exercises_main,
                                "--max-val-error")):
        with pytest.raises(SystemExit) as info:
            run(argv)
        err = capsys.readouterr().err
        assert info.value.code == 2 and err.count("\n") == 1, err
        assert culprit in err and "usage:" not in err and "--help" in err, err

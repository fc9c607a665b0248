"""minnet.tutorial: options (script and notebook), MNIST slice, timing, honest quick-mode notes."""

import sys

import numpy as np
import pytest

import minnet
from minnet import tutorial
from minnet.tutorial import (
    BatchTimer,
    mnist_slice,
    noise_points,
    print_questions,
    quick_caveat,
    tutorial_args,
    verdict,
)


def test_mnist_slice_shapes_and_flatten():
    (x, y), (xt, yt) = mnist_slice(100, 30, flatten=True)
    assert x.shape == (100, 784) and xt.shape == (30, 784) and y.shape == (100,) and yt.shape == (30,)
    (x4, y4), _ = mnist_slice(100, 30)
    assert x4.shape == (100, 1, 28, 28)
    np.testing.assert_array_equal(x4.reshape(100, -1), x)
    np.testing.assert_array_equal(y4, y)


def test_tutorial_args_defaults_and_output_folder(tmp_path, monkeypatch):
    script = tmp_path / "tutorials" / "07_something.py"
    script.parent.mkdir()
    monkeypatch.setattr(sys, "argv", ["07_something.py", "--quick"])
    args = tutorial_args("Title line\nmore", quick_help="fast", script_file=script)
    assert args.quick and args.seed == 0
    assert args.out == tmp_path / "tutorials" / "output" / "07" and args.out.is_dir()
    monkeypatch.setattr(sys, "argv", ["07_something.py", "--out", str(tmp_path / "o")])
    args = tutorial_args("T", quick_help="fast", seed=False, script_file=script)
    assert not args.quick and not hasattr(args, "seed") and (tmp_path / "o").is_dir()


def test_tutorial_args_in_a_notebook_ignores_the_kernels_argv(tmp_path, monkeypatch):
    # A Jupyter kernel's argv is its own ("-f kernel.json"); there is no __file__ either.
    monkeypatch.setattr(sys, "argv", ["ipykernel_launcher.py", "-f", "/tmp/kernel-1.json"])
    monkeypatch.setattr(tutorial, "_TUTORIALS_DIR", tmp_path)
    monkeypatch.delenv(tutorial.NOTEBOOK_ARGS_ENV, raising=False)
    args = tutorial_args("Tutorial 05: L1 or L2?", quick_help="fast", script_file=None)
    assert args.quick and args.out == tmp_path / "output" / "05"          # default: --quick
    monkeypatch.setenv(tutorial.NOTEBOOK_ARGS_ENV, f"--seed 3 --out {tmp_path / 'nb'}")
    args = tutorial_args("Tutorial 05: L1 or L2?", quick_help="fast", script_file=None)
    assert not args.quick and args.seed == 3 and (tmp_path / "nb").is_dir()


def test_quick_caveat_speaks_only_when_a_quick_run_contradicts(capsys):
    assert not quick_caveat(False, True, "fc2 is the most sensitive.", "conv1 (0.62%)")
    assert not quick_caveat(True, False, "fc2 is the most sensitive.", "conv1 (0.62%)")
    assert capsys.readouterr().out == ""
    assert quick_caveat(True, True, "fc2 is the most sensitive.", "conv1 was, at 0.62%")
    out = capsys.readouterr().out
    assert "QUICK MODE" in out and "fc2 is the most sensitive." in out
    assert "full mode (seed 0) measured: conv1 was, at 0.62%" in " ".join(
        line.removeprefix("  !! ") for line in out.splitlines())
    assert all(line.startswith("  !! ") for line in out.splitlines())


def test_a_gap_within_the_test_noise_is_not_a_win():
    # Tutorial 04's quick run: 10.15% vs 9.90% on 2,000 images was once called a win.
    assert noise_points(0.1015, 0.0990, 2000) == pytest.approx(
        200 * np.sqrt(0.1015 * 0.8985 / 2000 + 0.099 * 0.901 / 2000))
    winner, text = verdict("iterative", 0.0990, "one-shot", 0.1015, 2000)
    assert winner is None and "within noise" in text and "+-1.90" in text
    winner, text = verdict("iterative", 0.189, "one-shot", 0.235, 2000)
    assert winner == "iterative" and "4.60 points" in text
    winner, _ = verdict("L1", 0.0316, "L2", 0.0211, 10000)       # full-mode tutorial 05 at 90%
    assert winner == "L2"


def test_batch_timer_leaves_out_the_slow_first_batches(mnist):
    (x, y), _ = mnist
    x = x[:640].reshape(640, -1)
    timer = BatchTimer()
    model = minnet.lenet_300_100(seed=0)
    minnet.fit(model, minnet.caffe_lenet_sgd(), x, y[:640], epochs=1, callbacks=[timer],
               progress=False)
    assert len(timer.seconds) == 10
    timer.seconds[:3] = [5.0, 5.0, 5.0]                          # as a cold JIT cache would
    assert timer.batch_seconds() < 1.0
    assert timer.epoch_seconds(60000) == pytest.approx(938 * timer.batch_seconds())
    with pytest.raises(ValueError, match="no batch"):
        BatchTimer().batch_seconds()


def test_print_questions_reads_the_docstrings_last_section(capsys):
    doc = """Tutorial 99: x.\n\nBody.\n\nQuestions for you (answers: teachers/):\n1. Why a,\n   and b?\n2. How c?\n"""
    assert print_questions(doc) == ["1. Why a,\n   and b?", "2. How c?"]
    out = capsys.readouterr().out
    assert "== Questions for you ==" in out and "1. Why a, and b?" in out

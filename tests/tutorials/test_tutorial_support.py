"""minnet.tutorial: the options and data slice every tutorial script starts with."""

import sys

import numpy as np

from minnet.tutorial import mnist_slice, tutorial_args


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
    args = tutorial_args(script, "Title line\nmore", quick_help="fast")
    assert args.quick and args.seed == 0
    assert args.out == tmp_path / "tutorials" / "output" / "07" and args.out.is_dir()
    monkeypatch.setattr(sys, "argv", ["07_something.py", "--out", str(tmp_path / "o")])
    args = tutorial_args(script, "T", quick_help="fast", seed=False)
    assert not args.quick and not hasattr(args, "seed") and (tmp_path / "o").is_dir()

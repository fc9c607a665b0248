"""Every figure function renders headless to a real, non-empty PNG (minnet.plotting)."""

import struct
import subprocess
import sys

import pytest

from minnet import figdata, plotting
from minnet.models import lenet_300_100
from minnet.pruning import prune_model


def png_size(data):
    """(width, height) from a PNG's IHDR chunk; fails unless ``data`` starts like a PNG."""
    assert data[:8] == plotting.PNG_MAGIC, data[:8]
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def check_png(fig, min_side=150):
    data = plotting.figure_to_png(fig)
    w, h = png_size(data)
    assert w >= min_side and h >= min_side, (w, h)
    assert len(data) > 2000                      # more than a blank canvas header
    return data


@pytest.fixture(scope="module")
def models():
    dense = lenet_300_100(seed=2)
    pruned = dense.copy()
    prune_model(pruned, "sparsity", {"fc1": 0.92, "fc2": 0.91, "fc3": 0.75})
    return dense, pruned


@pytest.mark.parametrize("log,show_pruned", [(False, False), (True, True)])
def test_weight_histograms_png(models, log, show_pruned):
    dense, pruned = models
    hist = figdata.weight_histograms({"before pruning": dense, "after retraining": pruned}, bins=20)
    check_png(plotting.plot_weight_histograms(hist, log=log, show_pruned=show_pruned))


def test_fig4_and_neuron_masks_png(models):
    mask = models[1].layer("fc1").masks["W"]
    check_png(plotting.plot_fig4_mask(figdata.fig4_mask_image(mask), figdata.input_keep_map(mask)))
    check_png(plotting.plot_fig4_mask(figdata.fig4_mask_image(mask)))
    check_png(plotting.plot_neuron_masks(*figdata.neuron_input_masks(mask, 4)), min_side=100)


def test_sensitivity_png():
    rows = [{"layer": n, "sparsity": p, "accuracy": 0.98 - (p / 100) ** k}
            for n, k in (("fc1", 4), ("fc2", 3)) for p in (0, 50, 90)]
    check_png(plotting.plot_sensitivity(figdata.sensitivity_curves(rows), dense_accuracy=0.98))


def test_tradeoff_png():
    rows = [{"regularization": r, "mode": m, "pruned": p, "accuracy_loss": (p / 100) ** 3}
            for r in ("l1", "l2") for m in ("none", "retrain") for p in (0, 50, 90)]
    rows += [{"regularization": "l2", "mode": "iterative", "pruned": p, "accuracy_loss": 0.0}
             for p in (0, 50, 90)]
    check_png(plotting.plot_tradeoff(figdata.tradeoff_curves({"rows": rows})))


def test_training_curves_and_layer_kept_png(tmp_path):
    history = [{"step": "train", "phase": None, "round": None, "epoch": [1, 2], "loss": [1, .5],
                "val_acc": [0.9, 0.95]},
               {"step": "retrain", "phase": "fc", "round": 1, "epoch": [1], "loss": [.4],
                "val_acc": [0.97]}]
    check_png(plotting.plot_training_curves(figdata.training_curves(history), prune_errors=[8.0]))
    report = {"layers": [{"name": "fc1", "remaining_pct": 8.0, "remaining_flops_pct": 8.0}],
              "totals": {"remaining_pct": 8.0, "remaining_flops_pct": 8.0}}
    fig = plotting.plot_layer_kept(figdata.layer_kept(report))
    path = plotting.save_png(fig, tmp_path / "kept.png")
    png_size(path.read_bytes())
    assert [p.name for p in tmp_path.iterdir()] == ["kept.png"]     # no temp file left behind


def test_plotting_is_headless_and_leaves_pyplot_alone():
    # A fresh interpreter with no display: drawing must work and never load pyplot (which would
    # pick a GUI backend and a global current-figure state).
    code = ("import sys, numpy as np; from minnet import plotting; "
            "d = plotting.figure_to_png(plotting.plot_neuron_masks([0], np.ones((1, 28, 28), bool))); "
            "assert d[:8] == plotting.PNG_MAGIC; assert 'matplotlib.pyplot' not in sys.modules")
    env = {"PATH": "", "MPLBACKEND": "", "HOME": "/tmp"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr

"""The numbers behind the figures (minnet.figdata), checked without drawing anything."""

import numpy as np
import pytest

from minnet import figdata
from minnet.data import load_mnist
from minnet.models import lenet_300_100
from minnet.pruning import make_optimizer, prune_model
from minnet.pruning.sensitivity import sensitivity_analysis
from minnet.train import evaluate, fit


@pytest.fixture
def dense_and_pruned():
    """An untrained LeNet-300-100 and a copy pruned to 90% / 80% / 50% (fc1 / fc2 / fc3)."""
    dense = lenet_300_100(seed=1)
    pruned = dense.copy()
    prune_model(pruned, "sparsity", {"fc1": 0.9, "fc2": 0.8, "fc3": 0.5})
    return dense, pruned


def test_histogram_counts_sum_to_surviving_weights(dense_and_pruned):
    dense, pruned = dense_and_pruned
    stages = {"before": dense, "after pruning": figdata.apply_mask(dense, pruned), "after": pruned}
    hist = figdata.weight_histograms(stages, bins=30)
    assert list(hist) == ["fc1", "fc2", "fc3"]
    for name, h in hist.items():
        assert h["edges"].shape == (31,)
        for label, model in stages.items():
            mask = model.layer(name).masks["W"]
            counts = h["stages"][label]["counts"]
            assert counts.sum() == mask.sum(), (name, label)
            assert h["stages"][label]["pruned"] == mask.size - mask.sum()
    # fc1 keeps 10%: 23,520 of 235,200 connections, and no zero of a pruned weight is in the bars.
    assert hist["fc1"]["stages"]["after"]["counts"].sum() == 23520
    assert hist["fc1"]["stages"]["before"]["pruned"] == 0


def test_histogram_excludes_the_pruned_zeros_by_value():
    # Hand-checkable: W = [[-0.3, 0, 0.2, 0]] with the two zeros pruned; 2 bins over [-0.3, 0.2]
    # -> edges [-0.3, -0.05, 0.2]: -0.3 in the first bin, 0.2 in the last; counts [1, 1], pruned 2.
    model = lenet_300_100(seed=0)
    layer = model.layer("fc3")
    layer.params["W"][...] = 0.0
    layer.params["W"][0, :4] = [-0.3, 0.0, 0.2, 0.0]
    mask = np.zeros_like(layer.masks["W"])
    mask[0, [0, 2]] = True
    layer.set_mask("W", mask)
    h = figdata.weight_histograms({"only": model}, bins=2, layers=["fc3"])["fc3"]
    np.testing.assert_allclose(h["edges"], [-0.3, -0.05, 0.2], atol=1e-7)
    assert h["stages"]["only"]["counts"].tolist() == [1, 1]
    assert h["stages"]["only"]["pruned"] == 998


def test_apply_mask_gives_dense_weights_under_the_final_mask(dense_and_pruned):
    dense, pruned = dense_and_pruned
    middle = figdata.apply_mask(dense, pruned)
    for name in ("fc1", "fc2", "fc3"):
        m = pruned.layer(name).masks["W"]
        np.testing.assert_array_equal(middle.layer(name).masks["W"], m)
        np.testing.assert_array_equal(middle.layer(name).params["W"], dense.layer(name).params["W"] * m)
    assert dense.layer("fc1").masks["W"].all()          # the dense model itself is untouched


def test_fig4_image_puts_the_784_inputs_across_as_the_paper_draws_it(dense_and_pruned):
    mask = dense_and_pruned[1].layer("fc1").masks["W"]          # (300, 784)
    image = figdata.fig4_mask_image(mask)
    # Paper Fig. 4: the inputs along the horizontal axis, so the picture is (neurons, inputs).
    assert image.shape == (300, 784) and image.dtype == bool
    np.testing.assert_array_equal(image, mask)
    assert image is not mask
    # Column 28 * r + c is pixel (r, c): band r of the image is columns 28r .. 28r + 27.
    keep_map = figdata.input_keep_map(mask)
    assert keep_map[3, 5] == image[:, 28 * 3 + 5].sum()
    with pytest.raises(ValueError, match="784"):
        figdata.fig4_mask_image(np.ones((100, 300), dtype=bool))
    # Prune the image's top and bottom 3 rows: in the picture they are the left and right columns.
    border = np.ones((300, 784), dtype=bool)
    border[:, :84] = border[:, -84:] = False
    picture = figdata.fig4_mask_image(border)
    assert not picture[:, :84].any() and not picture[:, -84:].any() and picture[:, 84:-84].all()


def test_neuron_masks_are_rows_of_the_mask_as_images():
    mask = np.zeros((5, 784), dtype=bool)
    mask[0, :10] = True           # 10 inputs, all in image row 0
    mask[2, 28:31] = True         # 3 inputs, image row 1
    mask[4, 783] = True           # 1 input, the bottom-right pixel; neurons 1 and 3 are dead
    idx, images = figdata.neuron_input_masks(mask, count=8)
    assert idx.tolist() == [0, 2, 4]                      # most to least connected, dead skipped
    assert images.shape == (3, 28, 28)
    assert images[0, 0, :10].all() and images[0].sum() == 10
    assert images[1, 1, 0:3].all() and images[2, 27, 27]


def test_training_curves_concatenate_steps_in_order():
    history = [{"step": "train", "phase": None, "round": None, "epoch": [1, 2],
                "loss": [1.0, 0.5], "val_acc": [0.9, 0.95]},
               {"step": "retrain", "phase": "fc", "round": 1, "epoch": [1],
                "loss": [0.4], "val_acc": [0.97]},
               {"step": "finetune", "phase": "all", "round": None, "epoch": [1, 2],
                "loss": [0.3, 0.2], "val_acc": [0.98, None]}]
    c = figdata.training_curves(history)
    assert c["epoch"].tolist() == [1, 2, 3, 4, 5]
    np.testing.assert_allclose(c["val_error"], [10.0, 5.0, 3.0, 2.0, np.nan])
    assert [(s["label"], s["start"], s["end"]) for s in c["steps"]] == \
        [("dense training", 1, 2), ("fc round 1", 3, 3), ("fine-tune all", 4, 5)]


def test_tradeoff_curves_group_by_method_and_sort():
    result = {"rows": [
        {"regularization": "l2", "mode": "none", "pruned": 90, "accuracy_loss": 0.5},
        {"regularization": "l2", "mode": "none", "pruned": 50, "accuracy_loss": 0.01},
        {"regularization": "l1", "mode": "retrain", "pruned": 50, "accuracy_loss": -0.002}]}
    curves = figdata.tradeoff_curves(result)
    pct, loss = curves["L2 regularization w/o retrain"]
    assert pct.tolist() == [50, 90]
    np.testing.assert_allclose(loss, [1.0, 50.0])
    assert set(curves) == {"L2 regularization w/o retrain", "L1 regularization w/ retrain"}


def test_layer_kept_reads_the_report_rows():
    report = {"layers": [{"name": "fc1", "remaining_pct": 8.0, "remaining_flops_pct": 8.0},
                         {"name": "fc2", "remaining_pct": 9.0, "remaining_flops_pct": 4.0}],
              "totals": {"remaining_pct": 8.1, "remaining_flops_pct": 7.9}}
    d = figdata.layer_kept(report)
    assert d["names"] == ["fc1", "fc2"]
    np.testing.assert_allclose(d["flops_pct"], [8.0, 4.0])
    assert d["total_weights_pct"] == 8.1


def test_sensitivity_at_zero_percent_is_the_unpruned_accuracy():
    (x, y), (xt, yt) = load_mnist()
    x, y, xt, yt = x[:1000].reshape(-1, 784), y[:1000], xt[:500].reshape(-1, 784), yt[:500]
    model = lenet_300_100(seed=0)
    fit(model, make_optimizer(0.05, "constant", 0.9, "l2", 5e-4), x, y, epochs=1, progress=False)
    unpruned = evaluate(model, xt, yt)["accuracy"]
    assert unpruned > 0.5                               # trained: the curves have room to fall
    curves = figdata.sensitivity_curves(sensitivity_analysis(model, xt, yt, sparsities=[0, 50, 95]))
    assert list(curves) == ["fc1", "fc2", "fc3"]
    for name, (pct, acc) in curves.items():
        assert pct.tolist() == [0, 50, 95]
        assert acc[0] == unpruned, name
    assert min(acc[-1] for _, acc in curves.values()) < unpruned

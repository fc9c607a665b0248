"""Stats on hand-built models whose numbers can be worked out on paper (expected values in comments)."""

import numpy as np
import pytest

from minnet.layers import Dense, Flatten
from minnet.layers.conv import Conv2D
from minnet.model import Sequential
from minnet.stats import format_table, layer_stats, model_totals


def hand_model():
    m = Sequential([Flatten(name="flat"),
                    Dense(4, 3, activation="relu", rng=0, name="fc1"),
                    Dense(3, 2, rng=1, name="fc2")])
    fc1, fc2 = m.layer("fc1"), m.layer("fc2")
    fc1.params["W"][...] = [[1, 1, 0, 0], [-1, -1, 0, 0], [0, 0, 1, -1]]
    fc1.set_mask("W", fc1.params["W"] != 0)          # 6 of 12 kept
    fc2.set_mask("W", np.array([[1, 0, 1], [0, 1, 0]], dtype=bool))   # 3 of 6 kept
    return m


def test_dense_stats_by_hand():
    m = hand_model()
    # x = ones: fc1 outputs relu([2, -2, 0]) = [2, 0, 0] -> 1/3 nonzero
    rows = layer_stats(m, np.ones((2, 4), dtype=np.float32))
    fc1, fc2 = rows
    assert (fc1["weights"], fc1["remaining"], fc1["remaining_pct"]) == (12, 6, 50.0)
    # fc1: 2 * 12 = 24 FLOPs; the image input counts dense: 24 * 0.5 * 1 = 12
    assert (fc1["flops"], fc1["remaining_flops"]) == (24, 12)
    assert fc1["act_pct"] == pytest.approx(100 / 3)
    # fc2: 2 * 6 = 12 FLOPs; kept 50%, input activations 1/3 nonzero: 12 * 0.5 / 3 = 2
    assert (fc2["flops"], fc2["remaining_flops"], fc2["input_act_pct"]) == (12, 2, pytest.approx(100 / 3))
    totals = model_totals(m, rows)
    # params 12 + 3 + 6 + 2 = 23; 9 weights pruned -> 14 remain; compression 23 / 14
    assert (totals["params"], totals["remaining_params"]) == (23, 14)
    assert totals["compression"] == pytest.approx(23 / 14)
    assert (totals["flops"], totals["remaining_flops"]) == (36, 14)
    dense_only = layer_stats(m, np.ones((2, 4), dtype=np.float32), activation_sparsity=False)
    assert dense_only[1]["remaining_flops"] == 6          # 12 * 0.5, activations counted dense
    assert "fc1" in format_table(rows, totals) and "Weights%" in format_table(rows, totals)


def test_conv_flops_use_the_output_size():
    conv = Conv2D(1, 2, 3, activation="relu", rng=0, name="conv1")
    m = Sequential([conv, Flatten(name="flat"), Dense(18, 2, rng=1, name="fc1")])
    rows = layer_stats(m, np.ones((1, 1, 5, 5), dtype=np.float32))
    # conv1: W (2, 1, 3, 3) = 18 weights, output 3x3: 2 * 18 * 9 = 324 FLOPs
    assert (rows[0]["weights"], rows[0]["flops"]) == (18, 324)
    # fc1: (2, 18): 2 * 36 = 72 FLOPs
    assert rows[1]["flops"] == 72

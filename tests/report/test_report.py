"""``python -m minnet report RUN_DIR`` (minnet.report_html) on a real, tiny prune run folder."""

import base64
import json
import re

import pytest

from minnet.cli import main
from minnet.cli.report import write_report
from minnet.errors import RunFolderError
from minnet.plotting import PNG_MAGIC
from minnet.run_folder import check_run_folder


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A quick LeNet-300-100 prune run on an MNIST slice (the real pipeline, ~2 s)."""
    out = tmp_path_factory.mktemp("run") / "quick"
    code = main(["prune", "--model", "lenet300", "--quick", "--train-limit", "1000",
                 "--test-limit", "500", "--val-size", "300", "--no-progress", "--out", str(out)])
    assert code == 0
    return out


def test_report_writes_figures_and_a_self_contained_page(run_dir, capsys):
    rows = [{"layer": n, "sparsity": p, "accuracy": 0.9 - p / 200} for n in ("fc1", "fc2", "fc3")
            for p in (0, 50, 90)]
    (run_dir / "sensitivity.json").write_text(json.dumps(rows))
    assert main(["report", str(run_dir)]) == 0
    assert "report.html" in capsys.readouterr().out
    figures = sorted(p.stem for p in (run_dir / "figures").glob("*.png"))
    assert figures == sorted(["weight_histograms", "fig4_mask", "neuron_masks", "training_curves",
                              "layer_kept", "sensitivity"])
    for stem in figures:
        data = (run_dir / "figures" / f"{stem}.png").read_bytes()
        assert data[:8] == PNG_MAGIC and len(data) > 2000, stem
    page = (run_dir / "report.html").read_text()
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(images) == len(figures)
    assert all(base64.b64decode(img)[:8] == PNG_MAGIC for img in images)
    # Self-contained: no external resource is referenced (no http, no file path, no <link>).
    assert "http" not in page and "<link" not in page and "<script" not in page
    report = json.loads((run_dir / "report.json").read_text())
    assert f"{report['params_after']:,}" in page                 # Table 1 numbers
    assert f"{report['compression']:.1f}x" in page
    for row in report["layers"]:                                  # Table 2 numbers
        assert f"<td>{row['name']}</td>" in page and f"{row['remaining_pct']:.1f}%" in page


def test_page_reads_plainly_beside_the_paper_and_flags_a_quick_run(run_dir):
    # run_dir is a --quick run: the page says so before any number.
    from minnet.report_html import render_html
    report = json.loads((run_dir / "report.json").read_text())
    page = render_html(report, {})
    assert "(--quick run)" in page and page.index("A --quick run") < page.index("Table 1")
    assert page.count("<h2>Table 2") == 1 and "<pre>" not in page        # Table 2 shown once
    assert "lenet300 dense (before pruning)" in page and " ref<" not in page
    for paper_value in ("1.64%", "1.59%", "267K", "22K (12x)", "38%", "65%", "26%", "17%"):
        assert f"<td>{paper_value}</td>" in page, paper_value             # paper Tables 1 and 2
    assert "Act% is the fraction of a layer's outputs that are nonzero" in page
    assert "FLOP% is the fraction" in page
    full = dict(report, command="python -m minnet prune --model lenet300",
                config=dict(report["config"], train_limit=None, epochs=20))
    page = render_html(full, {})
    assert "--quick" not in page.split("<p>Command")[0] and "A --quick run" not in page
    mlp = dict(full, model="mlp")
    assert "The paper gives no table for this network" in render_html(mlp, {})


def test_tradeoff_json_in_the_folder_adds_fig5(run_dir):
    rows = [{"regularization": "l2", "mode": m, "pruned": p, "accuracy": 0.9, "accuracy_loss": p / 1000}
            for m in ("none", "retrain") for p in (0, 50)]
    (run_dir / "tradeoff.json").write_text(json.dumps({"rows": rows}))
    try:
        out = write_report(run_dir)
        assert "tradeoff" in out["figures"]
        assert out["figures"]["tradeoff"].read_bytes()[:8] == PNG_MAGIC
    finally:
        (run_dir / "tradeoff.json").unlink()


def test_missing_pieces_are_named(tmp_path, run_dir, capsys):
    partial = tmp_path / "partial"
    partial.mkdir()
    (partial / "dense.npz").write_bytes((run_dir / "dense.npz").read_bytes())
    with pytest.raises(RunFolderError, match="missing report.json, pruned.npz"):
        check_run_folder(partial)
    assert main(["report", str(partial)]) == 2
    assert "missing report.json, pruned.npz" in capsys.readouterr().err
    with pytest.raises(RunFolderError, match="no such run folder"):
        check_run_folder(tmp_path / "nowhere")
    (tmp_path / "a_file").write_text("not a run")
    with pytest.raises(RunFolderError, match="a_file: is a file, not a run folder"):
        check_run_folder(tmp_path / "a_file")
    assert not (partial / "report.html").exists()


def test_figures_of_a_conv_net_skip_the_lenet300_only_ones():
    # LeNet-5's first layer is a conv (mask (20, 1, 5, 5)): no Fig. 4, but histograms of all 4 layers.
    from minnet.models import lenet5
    from minnet.pruning import prune_model
    from minnet.report_html import build_figures
    dense = lenet5(seed=0)
    pruned = dense.copy()
    prune_model(pruned, "sparsity", 0.5)
    report = {"layers": [{"name": l.name, "remaining_pct": 50.0, "remaining_flops_pct": 50.0}
                         for l in pruned.prunable_layers()],
              "totals": {"remaining_pct": 50.0, "remaining_flops_pct": 50.0},
              "rounds": [{"error_after_prune": 0.1}], "error_before": 0.01,
              "history": [{"step": "train", "phase": None, "round": None, "epoch": [1],
                           "loss": [0.3], "val_acc": [0.99]}]}
    figures = build_figures(report, dense, pruned)
    assert list(figures) == ["weight_histograms", "training_curves", "layer_kept"]
    assert len(figures["weight_histograms"].axes) == 4 * 3          # 4 layers x 3 stages

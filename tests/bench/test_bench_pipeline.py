"""``python -m minnet.bench pipeline``: the whole --quick prune run on real MNIST, timed and split."""

import json

from minnet.bench import pipeline


def test_quick_pipeline_bench_splits_the_wall_time_and_reports_the_numbers(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert pipeline.main(["--quick", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "load average before" in printed and "retraining epochs" in printed
    got = json.loads(out.read_text())
    split = got["split"]
    # every step of the run took time, and the parts add up to the wall time
    for label in ("dense epochs", "sensitivity scan", "retraining epochs", "evaluation"):
        assert split[label] > 0, label
    assert abs(sum(split.values()) - got["wall_seconds"]) < 1e-6
    assert got["numbers"]["params_after"] < 266_610 and got["numbers"]["compression"] > 1

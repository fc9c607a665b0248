"""--seeds: one run folder per seed through joblib, and a summary that does not depend on --n-jobs."""

import json
from pathlib import Path

import pytest

from minnet.cli import main
from minnet.cli.sweep import parse_seeds, seed_argv
from minnet.errors import ConfigError


def test_parse_seeds_and_the_per_seed_command_line():
    assert parse_seeds("0,1,2") == [0, 1, 2] and parse_seeds("0-3") == [0, 1, 2, 3]
    for bad in ("", "a", "1,1", "-1"):
        with pytest.raises(ConfigError, match="--seeds"):
            parse_seeds(bad)
    assert seed_argv(["--model", "mlp", "--seeds", "0,1", "--n-jobs=2", "--out", "R"], 1, "/R/seed1") \
        == ["--model", "mlp", "--seed", "1", "--out", "/R/seed1"]
    # a worker may start elsewhere: every path becomes absolute
    here = Path.cwd()
    assert seed_argv(["--data", "d", "--config=c.toml", "--dask-scheduler", "tcp://h:1"], 0, "R/s0") \
        == ["--data", str(here / "d"), f"--config={here / 'c.toml'}", "--seed", "0",
            "--out", str(here / "R/s0")]


def test_sweep_summary_is_the_same_with_one_or_two_jobs(tiny_idx, tmp_path, capsys):
    common = ["prune", "--data", str(tiny_idx), "--epochs", "1", "--retrain-epochs", "1",
              "--rounds", "1", "--val-size", "60", "--no-progress", "--seeds", "0,1"]
    assert main([*common, "--out", str(tmp_path / "a")]) == 0
    assert main([*common, "--out", str(tmp_path / "b"), "--n-jobs", "2"]) == 0
    a = json.loads((tmp_path / "a" / "summary.json").read_text())
    b = json.loads((tmp_path / "b" / "summary.json").read_text())
    assert a == b and [r["seed"] for r in a["seeds"]] == [0, 1]
    assert a["median"]["error_after"] == pytest.approx(
        sum(r["error_after"] for r in a["seeds"]) / 2)
    assert (tmp_path / "a" / "seed1" / "report.json").exists()
    assert "median" in capsys.readouterr().out
    # resuming the sweep: every seed is finished, and the summary comes back the same
    assert main([*common, "--out", str(tmp_path / "a"), "--resume"]) == 0
    assert json.loads((tmp_path / "a" / "summary.json").read_text()) == a


def test_report_on_a_sweep_folder_draws_the_per_seed_spread(tmp_path, capsys):
    from minnet.plotting import PNG_MAGIC
    from minnet.seed_spread import spread_columns
    rows = [{"seed": s, "error_before": 0.018 + s / 1000, "error_after": 0.015 + s / 1000,
             "val_error_before": 0.02, "val_error_after": 0.017, "compression": 12.0}
            for s in (0, 1, 2)]
    (tmp_path / "summary.json").write_text(json.dumps({"seeds": rows}))
    assert main(["report", str(tmp_path)]) == 0
    assert (tmp_path / "figures" / "seed_spread.png").read_bytes().startswith(PNG_MAGIC)
    assert "per-seed spread" in capsys.readouterr().out
    columns = dict((label, (values, median)) for label, values, median in
                   spread_columns({"seeds": rows}))
    assert columns["pruned\ntest"][1] == pytest.approx(1.6)        # median of 1.5, 1.6, 1.7 %
    assert [seed for seed, _ in columns["dense\ntest"][0]] == [0, 1, 2]
    # a row without its fields is one clear line naming what is missing
    (tmp_path / "summary.json").write_text(json.dumps({"seeds": [{"seed": 0}]}))
    assert main(["report", str(tmp_path)]) == 2
    assert "lacks" in capsys.readouterr().err

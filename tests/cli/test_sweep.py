"""--seeds: one run folder per seed through joblib, and a summary that does not depend on --n-jobs."""

import json

import pytest

from minnet.cli import main
from minnet.cli.sweep import parse_seeds, seed_argv
from minnet.errors import ConfigError


def test_parse_seeds_and_the_per_seed_command_line():
    assert parse_seeds("0,1,2") == [0, 1, 2] and parse_seeds("0-3") == [0, 1, 2, 3]
    for bad in ("", "a", "1,1", "-1"):
        with pytest.raises(ConfigError, match="--seeds"):
            parse_seeds(bad)
    assert seed_argv(["--model", "mlp", "--seeds", "0,1", "--n-jobs=2", "--out", "R"], 1, "R/seed1") \
        == ["--model", "mlp", "--seed", "1", "--out", "R/seed1"]


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

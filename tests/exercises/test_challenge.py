"""The class challenge is graded from a real run folder: numbers from report.json, rules from
config.json, epochs from the history, and one clear error for a missing or damaged file.

The run is a real `python -m minnet prune --quick` on a tiny IDX dataset (made once per module);
the rules that such a run cannot meet (MNIST as shipped, 5,000 validation images, 1.70%) are
module constants, loosened with monkeypatch where a test needs a passing run.
"""

import json
import re
import shutil

import pytest

from minnet.cli import main
from minnet.errors import MinnetError, RunFolderError
from minnet.exercises import challenge
from minnet.exercises.challenge import grade_challenge

LINE = re.compile(r"^(\S+) +(\d+\.\d)x  (\d+\.\d\d)% val +(\d+) epochs  (PASS|FAIL \(\d rules?\))$")


@pytest.fixture(scope="module")
def finished_run(tiny_idx, tmp_path_factory):
    """A finished quick run at --compression 15: 2 dense epochs + 2 rounds x 1 retraining epoch."""
    out = tmp_path_factory.mktemp("runs") / "alice"
    code = main(["prune", "--model", "lenet300", "--quick", "--data", str(tiny_idx),
                 "--val-size", "60", "--compression", "15", "--lr", "0.05", "--seed", "1",
                 "--out", str(out), "--no-progress"])
    assert code == 0
    return out


@pytest.fixture
def run(finished_run, tmp_path):
    """A private copy of the finished run, free to damage."""
    return shutil.copytree(finished_run, tmp_path / "alice")


@pytest.fixture
def loose_rules(monkeypatch, tiny_idx):
    """The challenge's rules, but for the tiny dataset: its folder, its 60 validation images, any
    error. Compression (15x) and the epoch budget (100) stay as they are."""
    monkeypatch.setattr(challenge, "DATA", str(tiny_idx))
    monkeypatch.setattr(challenge, "VAL_SIZE", 60)
    monkeypatch.setattr(challenge, "MAX_VAL_ERROR", 1.0)


def _edit(path, fn):
    data = json.loads(path.read_text())
    fn(data)
    path.write_text(json.dumps(data))


def test_a_real_quick_run_is_graded_from_its_files(finished_run):
    report = json.loads((finished_run / "report.json").read_text())
    result = grade_challenge(finished_run)
    assert result.compression == report["compression"] >= 15
    assert result.val_error == report["val_error_after"]
    assert result.epochs == 2 + 2 * 1                       # --quick: 2 dense, 2 rounds x 1
    assert not result.passed                                # a tiny dataset, 60 validation images
    assert any("MNIST" in r for r in result.reasons)
    assert any("validated on 60 images" in r for r in result.reasons)
    m = LINE.match(result.scoreboard_line)
    assert m, result.scoreboard_line
    assert m.group(1) == "alice" and float(m.group(2)) >= 15.0 and m.group(4) == "4"
    assert m.group(3) == f"{100 * report['val_error_after']:.2f}"
    assert m.group(5).startswith("FAIL")


def test_the_same_run_passes_when_it_meets_every_rule(finished_run, loose_rules):
    result = grade_challenge(finished_run, name="bob")
    assert result.passed and result.reasons == ()
    assert result.scoreboard_line.startswith("bob ") and result.scoreboard_line.endswith("PASS")


def test_each_rule_is_a_reason(run, loose_rules, monkeypatch):
    monkeypatch.setattr(challenge, "MIN_COMPRESSION", 1000.0)
    monkeypatch.setattr(challenge, "MAX_VAL_ERROR", -1.0)
    monkeypatch.setattr(challenge, "MAX_EPOCHS", 3)
    reasons = grade_challenge(run).reasons
    assert any("below 1000x" in r for r in reasons)
    assert any("validation error" in r and "is above" in r for r in reasons)
    assert any("4 epochs in total, the budget is 3" in r for r in reasons)
    for name in ("config.json", "report.json"):               # both files say the same
        def other(d):
            cfg = d["config"]
            cfg["model"], cfg["dense_model"] = "lenet5", "runs/x/dense.npz"
        _edit(run / name, other)
    monkeypatch.setattr(challenge, "MIN_COMPRESSION", 15.0)
    result = grade_challenge(run)
    assert not result.passed and result.scoreboard_line.endswith("FAIL (4 rules)")
    assert any("LeNet-300-100" in r for r in result.reasons)
    assert any("--dense-model" in r for r in result.reasons)


def test_compression_just_short_is_not_shown_as_the_target(run, loose_rules):
    _edit(run / "report.json", lambda d: d.update(compression=14.97))
    result = grade_challenge(run)
    assert not result.passed and " 14.9x " in result.scoreboard_line


def _one_line_error(run_dir, *words):
    with pytest.raises(RunFolderError) as info:
        grade_challenge(run_dir)
    message = str(info.value)
    assert isinstance(info.value, MinnetError) and "\n" not in message
    for w in words:
        assert w in message, message
    return message


def test_missing_files_are_one_clear_line(run, tmp_path):
    _one_line_error(tmp_path / "nowhere", "no such run folder")
    (tmp_path / "a_file").write_text("not a run")
    _one_line_error(tmp_path / "a_file", "is a file, not a run folder", "--out DIR")
    (run / "report.json").unlink()
    _one_line_error(run, "report.json is missing", "--resume")
    (run / "config.json").unlink()
    _one_line_error(run, "config.json is missing")
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "summary.json").write_text("{}")
    _one_line_error(seeds, "several seeds", "seed0")


@pytest.mark.parametrize("damage, words", [
    (lambda p: p.write_text('{"compression": 15.2, '), ("report.json is damaged", "not valid JSON")),
    (lambda p: p.write_text("[1, 2]"), ("report.json is damaged", "list")),
    (lambda p: _edit(p, lambda d: d.update(compression="15x")), ("'compression'", "not a number")),
    (lambda p: _edit(p, lambda d: d.update(val_error_after=float("nan"))), ("'val_error_after'",)),
    (lambda p: _edit(p, lambda d: d.pop("config")), ("no 'config' object",)),
    (lambda p: _edit(p, lambda d: d["config"].update(seed=7)), ("describe different runs",)),
    (lambda p: _edit(p, lambda d: d["history"][1]["epoch"].pop()), ("ran 0 epochs", "plans 1")),
    (lambda p: _edit(p, lambda d: d.update(history={"epoch": []})), ("'history' is not a list",)),
])
def test_damaged_report_is_one_clear_line(run, damage, words):
    damage(run / "report.json")
    _one_line_error(run, *words)


def test_a_teachers_bar_moves_the_pass_line_and_is_shown_on_it(run, loose_rules, capsys):
    """grade_challenge(max_val_error=...) and the CLI's --max-val-error PERCENT: a run just above
    the bar fails, just below passes, the scoreboard line names a non-default bar, and a bar that
    is not a percentage is one line with exit status 2."""
    from minnet.exercises.cli import main as exercises_main
    val = grade_challenge(run).val_error
    low, high = max(val - 0.005, 0.001), min(val + 0.005, 0.999)
    failed = grade_challenge(run, max_val_error=low)
    assert not failed.passed
    assert any(f"is above {100 * low:.2f}%" in r for r in failed.reasons), failed.reasons
    passed = grade_challenge(run, max_val_error=high)
    assert passed.passed and passed.scoreboard_line.endswith(f"PASS  (bar {100 * high:.2f}% val)")
    assert exercises_main(["challenge", str(run), "--max-val-error", f"{100 * high}"]) == 0
    assert f"(bar {100 * high:.2f}% val)" in capsys.readouterr().out
    for wrong in ("150", "0", "nan"):
        assert exercises_main(["challenge", str(run), "--max-val-error", wrong]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: --max-val-error") and err.count("\n") == 1, err
    with pytest.raises(MinnetError):
        grade_challenge(run, max_val_error=1.7)               # a percentage where a fraction goes

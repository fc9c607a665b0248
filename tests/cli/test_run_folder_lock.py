"""A run folder has one owner: a second run on the same --out is refused; --overwrite starts clean."""

import json
import subprocess
import sys
import time

from minnet.cli import main
from minnet.run_lock import RunLock


def test_a_second_run_on_the_same_folder_is_refused_while_the_first_runs(tmp_path):
    out = tmp_path / "R"
    first = subprocess.Popen([sys.executable, "-m", "minnet", "prune", "--model", "lenet300",
                              "--quick", "--no-progress", "--epochs", "4", "--out", str(out)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 60
        while not (out / "config.json").exists() and time.time() < deadline:
            time.sleep(0.05)
        second = subprocess.run([sys.executable, "-m", "minnet", "prune", "--model", "lenet300",
                                 "--quick", "--no-progress", "--seed", "4", "--out", str(out)],
                                capture_output=True, text=True)
        assert second.returncode == 2, second.stderr
        assert "is in use by another run" in second.stderr and "Traceback" not in second.stderr
    finally:
        first.wait(timeout=300)
    assert first.returncode == 0, first.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["seed"] == 0 and report["config"]["epochs"] == 4      # only the first run wrote


def test_lock_is_released_and_overwrite_clears_the_old_run(tmp_path):
    out = tmp_path / "R"
    with RunLock(out):
        pass
    with RunLock(out):            # released: a resume after the run ended (or was killed) can lock it
        pass
    for name in ("report.json", "checkpoint.npz", "sensitivity.json", "old.tmp"):
        (out / name).write_text("old")
    (out / "figures").mkdir()
    (out / "figures" / "x.png").write_text("old")
    assert main(["prune", "--model", "lenet300", "--quick", "--no-progress", "--overwrite",
                 "--epochs", "1", "--rounds", "1", "--out", str(out)]) == 0
    assert not (out / "sensitivity.json").exists() and not (out / "old.tmp").exists()
    assert not (out / "figures").exists()
    assert json.loads((out / "report.json").read_text())["config"]["rounds"] == 1


def test_out_naming_a_file_is_one_clear_line(tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text("keep me")
    assert main(["prune", "--quick", "--no-progress", "--out", str(afile)]) == 2
    err = capsys.readouterr().err
    assert "is a file, not a folder" in err and err.count("\n") == 1
    assert afile.read_text() == "keep me"

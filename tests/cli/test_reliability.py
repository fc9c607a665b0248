"""Reliability end to end: a pruning run killed with SIGKILL at a random moment and resumed with
--resume ends with bit-identical weights, masks and report; same seed -> bit-identical reports."""

import json
import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

QUICK = ["-m", "minnet", "prune", "--model", "lenet300", "--quick", "--no-progress", "--seed", "3"]


def run_cli(out, *extra):
    proc = subprocess.run([sys.executable, *QUICK, "--out", str(out), *extra], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc


def comparable_report(run_dir):
    """report.json without the wall times (which never repeat) and the command (it names --out)."""
    report = json.loads((run_dir / "report.json").read_text())
    report.pop("timing", None)
    report["command"] = report["command"].split(" --out ")[0]
    return report


def assert_same_arrays(a_path, b_path):
    with np.load(a_path) as a, np.load(b_path) as b:
        assert sorted(a.files) == sorted(b.files)
        for k in a.files:
            np.testing.assert_array_equal(a[k], b[k], err_msg=k)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "full"
    run_cli(out)
    return out


def test_sigkill_at_a_random_point_then_resume_is_bit_identical(uninterrupted, tmp_path):
    out = tmp_path / "cut"
    proc = subprocess.Popen([sys.executable, *QUICK, "--out", str(out)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    # Wait until the first checkpoint exists, then kill at a random moment within the next seconds.
    deadline = time.time() + 120
    while not (out / "checkpoint.npz").exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    delay = random.uniform(0.0, 2.5)
    print(f"killing after {delay:.2f} s")            # shown on failure, to reproduce
    time.sleep(delay)
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    run_cli(out, "--resume")
    assert_same_arrays(uninterrupted / "pruned.npz", out / "pruned.npz")
    assert_same_arrays(uninterrupted / "dense.npz", out / "dense.npz")
    assert comparable_report(out) == comparable_report(uninterrupted)


def test_same_seed_gives_bit_identical_reports(uninterrupted, tmp_path):
    run_cli(tmp_path / "again")
    assert comparable_report(tmp_path / "again") == comparable_report(uninterrupted)
    assert_same_arrays(uninterrupted / "pruned.npz", tmp_path / "again" / "pruned.npz")

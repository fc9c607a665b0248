"""--dask-scheduler: the sweeps run on a real two-process Dask cluster and return the serial result.

The cluster is a ``dask.distributed.LocalCluster`` with two worker processes, so every job is
pickled, shipped to another interpreter and run there, as on a real cluster.
"""

import json

import numpy as np
import pytest
from dask.distributed import LocalCluster

from minnet.cli import main
from minnet.errors import ConfigError
from minnet.parallel import run_jobs, sweep_backend
from minnet.pruning import sensitivity_analysis
from minnet.tradeoff import tradeoff_sweep


@pytest.fixture(scope="module")
def scheduler():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:
        yield cluster.scheduler_address


def _pid_job(i):
    import os
    return i, os.getpid()


def test_jobs_really_run_in_the_cluster_workers(scheduler):
    import os
    with sweep_backend(scheduler):
        results = run_jobs(_pid_job, [(i,) for i in range(6)], n_jobs=-1)
    assert [i for i, _ in results] == list(range(6))          # in order
    assert os.getpid() not in {pid for _, pid in results}     # not in this process


def test_sensitivity_scan_on_the_cluster_is_the_serial_scan(scheduler, tiny_mlp):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 20)).astype(np.float32)
    y = rng.integers(0, 3, size=200)
    model = tiny_mlp()
    serial = sensitivity_analysis(model, x, y, sparsities=[0, 50, 90])
    with sweep_backend(scheduler):
        remote = sensitivity_analysis(model, x, y, sparsities=[0, 50, 90], n_jobs=-1)
    assert remote == serial and len(serial) == 3 * 2


def test_tradeoff_sweep_on_the_cluster_is_the_serial_sweep(scheduler, tiny_mlp):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(120, 20)).astype(np.float32)
    y = rng.integers(0, 3, size=120)
    models = {"l2": tiny_mlp(seed=2)}
    kwargs = dict(percents=[30, 60], retrain_epochs=1, seed=0)
    serial = tradeoff_sweep(models, (x, y), (x, y), **kwargs)
    with sweep_backend(scheduler):
        remote = tradeoff_sweep(models, (x, y), (x, y), n_jobs=-1, **kwargs)
    assert remote == serial and len(serial["rows"]) == 2 * 2 + 2


def test_seed_sweep_and_prune_scan_from_the_command_line(scheduler, tiny_idx, tmp_path):
    common = ["prune", "--data", str(tiny_idx), "--epochs", "1", "--retrain-epochs", "1",
              "--rounds", "1", "--val-size", "60", "--no-progress", "--seeds", "0,1"]
    assert main([*common, "--out", str(tmp_path / "serial")]) == 0
    assert main([*common, "--out", str(tmp_path / "dask"), "--dask-scheduler", scheduler]) == 0
    serial = json.loads((tmp_path / "serial" / "summary.json").read_text())
    remote = json.loads((tmp_path / "dask" / "summary.json").read_text())
    assert remote == serial
    # one run (no --seeds) whose sensitivity scan goes to the cluster: the same report
    single = ["prune", "--data", str(tiny_idx), "--epochs", "1", "--retrain-epochs", "1",
              "--rounds", "1", "--val-size", "60", "--no-progress", "--seed", "0"]
    assert main([*single, "--out", str(tmp_path / "one"), "--dask-scheduler", scheduler]) == 0
    one = json.loads((tmp_path / "one" / "report.json").read_text())
    seed0 = json.loads((tmp_path / "serial" / "seed0" / "report.json").read_text())
    assert one["sensitivity"] == seed0["sensitivity"] and one["error_after"] == seed0["error_after"]


def test_an_unreachable_scheduler_is_one_clear_error(capsys):
    with pytest.raises(ConfigError, match="no scheduler answered"):
        with sweep_backend("tcp://127.0.0.1:9", timeout=1):
            pass

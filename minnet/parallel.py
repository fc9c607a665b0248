"""Where sweeps run: in this process, in local worker processes, or on a Dask cluster.

minnet's sweeps (a seed sweep, the sensitivity scan, the Fig. 5 trade-off sweep) are lists of
independent jobs whose randomness comes only from their own seeds, so their results do not depend
on where or in which order the jobs run. They all go through joblib's ``Parallel``; choosing
joblib's back-end is the only thing that changes between a laptop and a cluster::

    with sweep_backend("tcp://10.0.0.5:8786"):      # an existing dask.distributed scheduler
        rows = sensitivity_analysis(model, x, y, n_jobs=-1)

Dask is an optional extra (``pip install -e ".[cluster]"``); nothing imports it unless a
scheduler address is given. Each worker needs minnet installed and the data at the same path
(or ``MINNET_DATA``); a seed sweep also writes its run folders from the workers, so ``--out`` must
be on a file system the workers share.
"""

import contextlib

from joblib import Parallel, delayed
from tqdm.auto import tqdm

from minnet.errors import ConfigError

INSTALL_HINT = 'pip install -e ".[cluster]"'


def jobs_for(n_jobs, scheduler):
    """The ``n_jobs`` to give joblib: -1 (every worker of the cluster) when a scheduler is given."""
    return -1 if scheduler else n_jobs


@contextlib.contextmanager
def sweep_backend(scheduler=None, timeout=10):
    """Send every joblib ``Parallel`` inside the block to the Dask scheduler at ``scheduler``.

    scheduler: None (joblib's default back-end: local processes) or an address such as
    ``tcp://127.0.0.1:8786``. Raises ConfigError in one line if dask is not installed or the
    scheduler does not answer within ``timeout`` seconds.
    """
    if not scheduler:
        yield None
        return
    try:
        from dask.distributed import Client
    except ImportError:
        raise ConfigError(f"--dask-scheduler needs dask.distributed; install it with: "
                          f"{INSTALL_HINT}") from None
    try:
        client = Client(scheduler, timeout=f"{timeout}s")
    except (OSError, TimeoutError, ValueError) as e:
        raise ConfigError(f"--dask-scheduler {scheduler}: no scheduler answered within {timeout} s "
                          f"({type(e).__name__}); start one with `dask scheduler`") from None
    try:
        import joblib
        with joblib.parallel_backend("dask"):
            yield client
    finally:
        client.close()


def run_jobs(function, arguments, *, n_jobs=1, progress=False, description="jobs"):
    """[function(*args) for args in arguments], through joblib, in order.

    n_jobs: 1 runs serially in this process (no pickling, easiest to debug); otherwise joblib's
    current back-end runs them (see :func:`sweep_backend`). progress: a tqdm bar over finished jobs.
    The results are the same list whatever n_jobs and back-end, because each job is a pure function
    of its arguments.
    """
    arguments = list(arguments)
    bar = tqdm(total=len(arguments), desc=description, unit="job", disable=not progress)
    try:
        if n_jobs == 1:
            results = []
            for args in arguments:
                results.append(function(*args))
                bar.update()
            return results
        results = []
        for result in Parallel(n_jobs=n_jobs, return_as="generator")(
                delayed(function)(*args) for args in arguments):
            results.append(result)
            bar.update()
        return results
    finally:
        bar.close()

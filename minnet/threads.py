"""How many threads BLAS may use while minnet trains: chosen by the size of the matrix products.

Why this exists: OpenBLAS threads spin while they wait for work, and a product split over threads
waits for the slowest one. With the small matrix products of the paper's MNIST networks at batch 64
(64 x 784 x 300 is ~0.3 ms of work) a second thread gains little on an idle 2-core machine and
loses badly when anything else runs: a LeNet-300-100 epoch took 1.9 s with one BLAS thread and
3.2-6.7 s with two while two other trainings used the cores. At batch 256 each product is 4x
larger and a second thread pays: 0.50 s vs 0.83 s an epoch on the idle machine (but 2.3-2.5 s vs
1.3-1.4 s on the loaded one). So the default is one thread for batches below ``LARGE_BATCH`` and
up to ``MAX_AUTO_THREADS`` (never more than the cores this process may use) from there on.

``MINNET_BLAS_THREADS=N`` (or ``fit(..., threads=N)``) overrides the choice, e.g. ``1`` on a shared
machine. Splitting a product differently can change its last bits of rounding, so the thread count
is part of what makes two runs bit-identical: it depends only on the batch size and the machine.
"""

import os
from contextlib import contextmanager

import numba
from threadpoolctl import threadpool_limits

from minnet.errors import ConfigError

LARGE_BATCH = 128        # from this batch size on, BLAS gets more than one thread by default
MAX_AUTO_THREADS = 4     # the MNIST networks' products are too small to split further


def available_cores() -> int:
    """The number of CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:           # not on Linux
        return os.cpu_count() or 1


def default_blas_threads(batch_size=None) -> int:
    """``MINNET_BLAS_THREADS`` if set (an integer >= 1); else 1 for batches below ``LARGE_BATCH``
    (or an unknown batch size), and min(available cores, ``MAX_AUTO_THREADS``) from there on."""
    value = os.environ.get("MINNET_BLAS_THREADS")
    if value is None:
        if batch_size is None or batch_size < LARGE_BATCH:
            return 1
        return max(1, min(available_cores(), MAX_AUTO_THREADS))
    try:
        n = int(value)
    except ValueError:
        raise ConfigError(f"MINNET_BLAS_THREADS must be an integer >= 1, got {value!r}") from None
    if n < 1:
        raise ConfigError(f"MINNET_BLAS_THREADS must be an integer >= 1, got {n}")
    return n


def blas_threads(n=None):
    """Context manager limiting BLAS (OpenBLAS/MKL) to ``n`` threads (default: ``default_blas_threads()``)."""
    return threadpool_limits(limits=n or default_blas_threads(), user_api="blas")


@contextmanager
def same_threads(n):
    """Limit BLAS and Numba to ``n`` threads each inside the ``with`` block (restored after).

    For timing dense (BLAS) against CSR (Numba) fairly: each back-end gets the same number of
    threads, and with n = 1 no idle pool spins on the cores the other one needs.
    """
    before = numba.get_num_threads()
    numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    try:
        with blas_threads(n):
            yield
    finally:
        numba.set_num_threads(before)

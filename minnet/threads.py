"""How many threads BLAS may use while minnet trains.

Why this exists: OpenBLAS threads spin while they wait for work. With the small matrix products of
the paper's MNIST networks (64 x 784 x 300 is ~0.3 ms of work), two BLAS threads on a 2-core laptop
gain little when the machine is idle and lose 10-20x when anything else runs (measured on the
2-core CI machine: a LeNet-300-100 epoch took 1.7-3.1 s with one BLAS thread and 14-39 s with two
while another process used the cores). So training defaults to one BLAS thread; set
``MINNET_BLAS_THREADS`` (or pass ``blas_threads=`` to ``fit``) to use more on a quiet machine.
"""

import os

from threadpoolctl import threadpool_limits


def default_blas_threads() -> int:
    """``MINNET_BLAS_THREADS`` if set (an integer >= 1), else 1."""
    value = os.environ.get("MINNET_BLAS_THREADS", "1")
    try:
        n = int(value)
    except ValueError:
        raise ValueError(f"MINNET_BLAS_THREADS must be an integer >= 1, got {value!r}") from None
    if n < 1:
        raise ValueError(f"MINNET_BLAS_THREADS must be an integer >= 1, got {n}")
    return n


def blas_threads(n=None):
    """Context manager limiting BLAS (OpenBLAS/MKL) to ``n`` threads (default: ``default_blas_threads()``)."""
    return threadpool_limits(limits=n or default_blas_threads(), user_api="blas")

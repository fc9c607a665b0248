"""Benchmarks: ``python -m minnet.bench <name>`` (train, sparse, conv). Not tests: they time.

The timing helpers they share live in :mod:`minnet.timing`; they are re-exported here.
"""

from minnet.timing import (
                           calls_per_sample,
                           format_table,
                           interleaved_times,
                           machine_info,
                           median,
                           time_per_call,
)

__all__ = ["calls_per_sample", "format_table", "interleaved_times", "machine_info", "median",
           "positive_int", "print_blas_hint", "time_per_call"]


def print_blas_hint():
    """Print :func:`minnet.blas_info.openblas_kernel_hint`'s line, if it has one: a benchmark's
    BLAS numbers mean little when OpenBLAS runs kernels below what the CPU can run."""
    from minnet.blas_info import openblas_kernel_hint
    hint = openblas_kernel_hint()
    if hint:
        print(hint, flush=True)


def positive_int(text):
    """argparse type for counts such as --repeats: an integer >= 1 (0 samples have no median)."""
    import argparse
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {value}")
    return value

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
           "positive_int", "time_per_call"]


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

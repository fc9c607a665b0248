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
           "time_per_call"]

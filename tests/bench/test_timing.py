"""minnet.timing: how many calls make a benchmark sample, and how long it lasts (no speed is tested
here)."""

import time

from minnet.timing import burst_time_per_call, calls_per_sample


def test_a_single_slow_call_does_not_shrink_the_sample():
    """The first timed call is 20 ms (a thread pool starting, say), the others ~0.1 ms: a 50 ms
    sample must still be hundreds of calls, not the 2 that the slow call alone would give."""
    count = [0]

    def fn():
        count[0] += 1
        time.sleep(0.02 if count[0] == 2 else 0.0001)

    assert calls_per_sample(fn, target_s=0.05) >= 50


def test_a_call_longer_than_the_target_is_one_sample_and_timed_once():
    calls = []
    fn = lambda: (calls.append(1), time.sleep(0.01))      # noqa: E731
    assert calls_per_sample(fn, target_s=0.005) == 1
    assert len(calls) == 2                                # the untimed warm-up and one timed call


def test_a_burst_lasts_its_target_even_when_its_first_calls_are_slow():
    """Three slow calls (10 ms, a thread pool waking) size the sample at a handful of calls; the
    burst must still run for the whole target and average over all its calls."""
    count = [0]

    def fn():
        count[0] += 1
        time.sleep(0.01 if count[0] <= 4 else 0.0002)

    calls = calls_per_sample(fn, target_s=0.05)           # the warm-up and 3 slow timed calls
    assert calls <= 5
    start = time.perf_counter()
    per_call = burst_time_per_call(fn, calls, target_s=0.05)
    elapsed = time.perf_counter() - start
    assert elapsed >= 0.05
    assert per_call < 0.002                               # the mean of many ~0.2 ms calls
    assert count[0] - 4 >= 50


def test_a_burst_of_slow_calls_is_one_chunk():
    calls = []
    fn = lambda: (calls.append(1), time.sleep(0.01))      # noqa: E731
    assert burst_time_per_call(fn, 1, target_s=0.005) >= 0.01
    assert len(calls) == 1

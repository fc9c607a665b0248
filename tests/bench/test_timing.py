"""minnet.timing: how many calls make a benchmark sample (no speed is tested here)."""

import time

from minnet.timing import calls_per_sample


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

"""minnet.thread_choice: the per-call choice between the serial and the parallel CSR kernel.

The rule is tested with made-up timings (``record``), so the tests do not depend on how busy the
machine is; one test runs real kernels through ``run`` and checks the result is the same.
"""

import numba
import numpy as np
import pytest

from minnet.errors import ConfigError
from minnet.kernels import csr
from minnet.thread_choice import (MAX_INTERVAL, MIN_INTERVAL, PARALLEL_MIN_WORK, TRIAL_CALLS, WINDOW,
                                  ThreadChoice, csr_threads_mode)

SERIAL, PARALLEL = 0, 1


def simulate(choice, calls, seconds):
    """Run ``calls`` picks; ``seconds[v]`` is what variant v takes. Returns the picks."""
    picks = []
    for _ in range(calls):
        used = choice.pick("k")
        choice.record("k", used, seconds[used])
        picks.append(used)
    return picks


def trial_starts(picks, variant):
    """Indices where a run of ``variant`` picks begins (each trial is TRIAL_CALLS in a row)."""
    return [i for i, p in enumerate(picks) if p == variant and (i == 0 or picks[i - 1] != variant)]


def test_idle_machine_settles_on_parallel_and_tries_serial_ever_more_rarely():
    choice = ThreadChoice()
    picks = simulate(choice, 5000, {SERIAL: 2.0, PARALLEL: 1.0})
    n = TRIAL_CALLS
    assert picks[:2 * n] == [PARALLEL] * n + [SERIAL] * n   # each variant is timed first
    starts = trial_starts(picks, SERIAL)[1:]
    assert all(picks[i:i + n] == [SERIAL] * n for i in starts)
    gaps = np.diff(starts) - n                          # parallel calls between two trials
    assert gaps[0] == 2 * MIN_INTERVAL                  # each lost trial doubles the interval ...
    assert np.all(gaps[1:] >= gaps[:-1]) and gaps[-1] == MAX_INTERVAL      # ... up to its cap
    assert picks.count(SERIAL) < 0.01 * len(picks)


def test_a_trial_is_judged_by_its_median_not_by_its_first_call():
    """The first parallel call after serial ones wakes the thread pool (slow); the rest are fast."""
    choice = ThreadChoice()
    simulate(choice, 200, {SERIAL: 2.0, PARALLEL: 3.0})          # parallel loses at first
    picks, previous = [], SERIAL
    for _ in range(500):
        used = choice.pick("k")
        woken = used == PARALLEL and previous == SERIAL
        choice.record("k", used, {SERIAL: 2.0, PARALLEL: 10.0 if woken else 1.0}[used])
        picks.append(used)
        previous = used
    assert picks[-50:] == [PARALLEL] * 50


def test_a_lone_slow_call_after_each_pause_does_not_switch_to_serial():
    """Bursts of calls with pauses between them (a stream of requests, a benchmark): the first
    parallel call of each burst wakes the sleeping thread pool (10x slower here), the rest are fast.
    A moving average switched to one thread on that call and kept it for up to MAX_INTERVAL calls."""
    choice = ThreadChoice()
    picks = []
    for burst in range(40):
        for call in range(60):
            used = choice.pick("k")
            woken = used == PARALLEL and call == 0
            choice.record("k", used, {SERIAL: 2.0, PARALLEL: 10.0 if woken else 1.0}[used])
            picks.append(used)
    assert picks[-1200:].count(PARALLEL) >= 0.97 * 1200


def test_busy_core_switches_to_serial_and_back_when_the_core_is_free_again():
    choice = ThreadChoice()
    simulate(choice, 200, {SERIAL: 2.0, PARALLEL: 1.0})
    # another program takes a core: the parallel kernel stalls (10x slower than one thread)
    busy = simulate(choice, 3000, {SERIAL: 2.0, PARALLEL: 20.0})
    # a core that stays busy moves the median of the last WINDOW calls within WINDOW // 2 + 1 calls
    assert busy.index(SERIAL) <= WINDOW // 2 + 1 and busy[:WINDOW + 3].count(SERIAL) >= 5
    assert busy.count(PARALLEL) < 0.01 * len(busy)
    # the core is free again: a trial finds it within MAX_INTERVAL calls and switches back
    idle = simulate(choice, MAX_INTERVAL + 300, {SERIAL: 2.0, PARALLEL: 1.0})
    assert idle[-200:].count(PARALLEL) >= 180         # back to parallel, short serial trials only


def test_each_key_has_its_own_state():
    choice = ThreadChoice()
    for _ in range(50):
        for key, fast in (("small", SERIAL), ("large", PARALLEL)):
            used = choice.pick(key)
            choice.record(key, used, 1.0 if used == fast else 3.0)
    assert choice.state["small"]["typical"][0] < choice.state["small"]["typical"][1]
    assert choice.state["large"]["typical"][1] < choice.state["large"]["typical"][0]


def test_environment_variable_forces_a_variant(monkeypatch):
    calls = []
    serial = lambda: calls.append("serial")            # noqa: E731
    parallel = lambda: calls.append("parallel")        # noqa: E731
    monkeypatch.setenv("MINNET_CSR_THREADS", "1")
    ThreadChoice().run("k", PARALLEL_MIN_WORK, serial, parallel)
    monkeypatch.setenv("MINNET_CSR_THREADS", "all")
    ThreadChoice().run("k", PARALLEL_MIN_WORK, serial, parallel)
    ThreadChoice().run("k", PARALLEL_MIN_WORK - 1, serial, parallel)   # too small to wake threads
    if numba.get_num_threads() > 1:
        assert calls == ["serial", "parallel", "serial"]
    monkeypatch.setenv("MINNET_CSR_THREADS", "two")
    with pytest.raises(ConfigError, match="MINNET_CSR_THREADS"):
        csr_threads_mode()
    with pytest.raises(ConfigError, match="MINNET_CSR_THREADS"):
        ThreadChoice().run("k", 1, serial, parallel)    # below the minimum too: a typo is never ignored


def test_run_returns_the_kernels_result_whichever_it_picks():
    rng = np.random.default_rng(0)
    mask = rng.random((300, 500)) < 0.1
    indptr = np.concatenate([[0], np.cumsum(mask.sum(1))]).astype(np.int32)[None, :]
    indices = np.nonzero(mask)[1].astype(np.uint16)
    data = rng.standard_normal(indices.shape[0]).astype(np.float32)
    bias, x = np.zeros(300, np.float32), rng.standard_normal(500).astype(np.float32)
    want = csr.csr_matvec_serial(indptr, indices, data, bias, True, x, np.empty(300, np.float32))
    choice = ThreadChoice()
    for _ in range(20):
        got = choice.run("k", PARALLEL_MIN_WORK, csr.csr_matvec_serial, csr.csr_matvec_parallel,
                         indptr, indices, data, bias, True, x, np.empty(300, np.float32))
        assert np.array_equal(got, want)
    assert None not in choice.state["k"]["typical"]        # both variants were timed


def test_slow_calls_at_the_start_of_a_burst_switch_to_serial_only_briefly():
    """After a pause the first few parallel calls can all be slow (threads wake, another pool
    still spins), so the median switches to one thread. The serial trials the parallel kernel
    won before had stretched the interval to MAX_INTERVAL; that must not keep it on one thread."""
    choice = ThreadChoice()
    simulate(choice, 30 * MAX_INTERVAL, {SERIAL: 2.0, PARALLEL: 1.0})   # interval at its cap
    assert choice.state["k"]["interval"] == MAX_INTERVAL
    picks = []
    for burst in range(20):
        for call in range(130):
            used = choice.pick("k")
            slow = used == PARALLEL and call < WINDOW // 2 + 1
            choice.record("k", used, {SERIAL: 2.0, PARALLEL: 3.0 if slow else 1.0}[used])
            picks.append(used)
    assert picks.count(PARALLEL) >= 0.85 * len(picks)


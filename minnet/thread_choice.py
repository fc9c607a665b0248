"""One thread or all of them: chosen per call from how long each has recently taken.

Why: a parallel kernel splits its rows over Numba's threads and returns when the *slowest* thread
is done. When another program keeps a core busy (any student's laptop: a browser, an IDE, a
second training run), the thread that shares that core gets a time slice now and then, and the
call waits for it: on the 2-core test machine AlexNet's fc7 at batch 1 took 0.2 ms on two idle
cores and several ms with one core busy, slower than one thread alone (0.4 ms) and than scipy.
Static or dynamic splitting cannot avoid the wait, since every split ends by joining all threads
(measured: a work-stealing split was no better). So each call of a large product picks the
one-thread or the parallel kernel, whichever has been faster per unit of work lately.

The rule (per layer shape, in :class:`ThreadChoice`):
  * each call is timed, and the running variant's seconds per multiply-add are summarised by the
    median of its last ``WINDOW`` calls. A median, not a moving average: after any pause (a gap
    between requests, a benchmark switching back-ends) the first parallel call pays ~1-2 ms to
    wake Numba's sleeping threads, 2-4x the whole product on AlexNet's fc6. A moving average
    (weight 1/4 for the newest call) jumped past the serial kernel's time on that one call and
    switched to one thread, then kept it for up to ``MAX_INTERVAL`` calls: fc6 ran at 1.09 ms per
    call instead of 0.53 ms on an idle machine. One slow call in ``WINDOW`` moves no median; a
    core that stays busy does, within ``WINDOW // 2 + 1`` calls;
  * the variant with the lower median runs; the other is tried after ``interval`` calls to see
    whether the machine has changed. A trial is ``TRIAL_CALLS`` calls in a row and its median
    replaces that variant's window: the first parallel call after a spell of serial ones pays
    ~1 ms to wake Numba's sleeping threads (measured on AlexNet fc6, against 0.55 ms for the
    whole product), which says nothing about the calls that follow it (for the same reason the
    first call after returning from a trial is not counted). A trial that loses
    doubles the interval (from ``MIN_INTERVAL`` up to ``MAX_INTERVAL``), so on a steady machine
    the losing variant runs in under 0.3% of the calls; one that wins switches over and resets it;
  * re-check: when the parallel kernel has run for at least ``MIN_INTERVAL`` calls and its own
    median then switches to the serial one, the parallel kernel gets one trial ``MIN_INTERVAL``
    calls later instead of after the rest of the interval. Why: the first calls of a burst that
    follows a pause can all be slow (measured on AlexNet fc6 in ``bench sparse``: the first three
    after the dense burst), which moves the median; the interval, stretched to ``MAX_INTERVAL``
    by the serial kernel's lost trials, then kept fc6 on one thread for whole bursts (927 us a
    call instead of ~500 us). Only this direction, and only once: a full reset of the interval
    on every switch re-tried a stalling parallel kernel so often under ``--busy`` that CSR
    retraining slowed from 0.77 to ~1.0 s an epoch.
Both variants run the same row loop, so the numbers are bit-identical whichever runs: the choice
changes speed, never results.

``MINNET_CSR_THREADS``: ``auto`` (default, the rule above), ``1`` (always one thread, e.g. on a
machine shared by many jobs) or ``all`` (always Numba's full thread pool). Whatever it says,
products below ``PARALLEL_MIN_WORK`` multiply-adds run on one thread.
"""

import os
import time

import numba

from minnet.errors import ConfigError

WINDOW = 5
TRIAL_CALLS = 3
MIN_INTERVAL = 8

# Below this many multiply-adds (nnz * batch) a call runs on one thread, untimed: waking Numba's
# thread pool costs ~10-80 us on a busy 2-core machine, more than such a product takes (measured
# with `python -m minnet.bench sparse`; LeNet's layers at batch 1 are 0.3k-19k multiply-adds).
PARALLEL_MIN_WORK = 200_000
MAX_INTERVAL = 1024
_MODES = ("auto", "1", "all")


def csr_threads_mode() -> str:
    """``MINNET_CSR_THREADS`` (auto, 1 or all; default auto); ConfigError for anything else."""
    mode = os.environ.get("MINNET_CSR_THREADS", "auto").strip().lower() or "auto"
    if mode not in _MODES:
        raise ConfigError(f"environment variable MINNET_CSR_THREADS={mode!r}: use one of "
                          f"{', '.join(_MODES)} (auto: chosen per call, see minnet/thread_choice.py)")
    return mode


class ThreadChoice:
    """Runs each call with the serial or the parallel kernel, whichever is faster lately.

    State is kept per ``key`` (e.g. a layer's shape and batch size): different layers split
    differently well. ``run(key, work, serial, parallel, *args)`` calls one of the two kernels
    with ``args`` and returns its result; ``work`` is the call's multiply-adds (the unit of the
    medians).
    """

    def __init__(self):
        self.state = {}

    def _state(self, key):
        st = self.state.get(key)
        if st is None:
            if len(self.state) > 4096:                 # many shapes seen (a sweep): start over
                self.state.clear()
            st = self.state[key] = {"typical": [None, None], "recent": [[], []], "count": 0,
                                    "interval": MIN_INTERVAL, "trial": None, "samples": [],
                                    "last": None, "best": None, "run": 0}
        return st

    def pick(self, key):
        """0 (serial) or 1 (parallel) for the next call with this key (see the module docstring)."""
        st = self._state(key)
        if st["trial"] is None:
            typical = st["typical"]
            if typical[1] is None or typical[0] is None:
                st["trial"] = 1 if typical[1] is None else 0   # time each variant first
            else:
                best = 1 if typical[1] <= typical[0] else 0
                if best != st["best"]:
                    if best == 0 and st["run"] >= MIN_INTERVAL:   # see "re-check" above
                        st["count"] = max(st["count"], st["interval"] - MIN_INTERVAL)
                    st["best"], st["run"] = best, 0
                if st["count"] < st["interval"]:           # ``interval`` calls, then a trial
                    st["count"] += 1
                    st["run"] += 1
                    return best
                st["trial"] = 1 - best
        return st["trial"]

    def record(self, key, used, seconds_per_work):
        """Fold one timed call of variant ``used`` into its median; adjust the trial interval."""
        st = self._state(key)
        typical, recent = st["typical"], st["recent"][used]
        switched, st["last"] = st["last"] != used, used
        if st["trial"] != used:                        # the running variant: its last WINDOW calls
            if switched and typical[used] is not None:
                return               # its first call after the other variant is a warm-up
            recent.append(seconds_per_work)
            del recent[:-WINDOW]
            typical[used] = sorted(recent)[len(recent) // 2]
            return
        st["samples"].append(seconds_per_work)
        if len(st["samples"]) < TRIAL_CALLS:
            return
        explored = None not in typical                 # both known before: a real trial
        recent[:] = st["samples"]                      # the trial's calls start the new window
        typical[used] = sorted(recent)[TRIAL_CALLS // 2]
        st["trial"], st["samples"], st["count"] = None, [], 0
        if explored:
            won = (1 if typical[1] <= typical[0] else 0) == used
            st["interval"] = MIN_INTERVAL if won else min(2 * st["interval"], MAX_INTERVAL)

    def run(self, key, work, serial, parallel, *args):
        """Call ``serial(*args)`` or ``parallel(*args)`` (chosen by :meth:`pick`, or fixed by
        ``MINNET_CSR_THREADS``; always serial below PARALLEL_MIN_WORK multiply-adds); returns what
        the kernel returns."""
        mode = csr_threads_mode()                      # checked first: a typo is never ignored
        if work < PARALLEL_MIN_WORK:
            return serial(*args)
        if mode != "auto" or numba.get_num_threads() == 1:
            return (serial if mode == "1" or numba.get_num_threads() == 1 else parallel)(*args)
        used = self.pick(key)
        start = time.perf_counter()
        result = (parallel if used else serial)(*args)
        self.record(key, used, (time.perf_counter() - start) / max(work, 1))
        return result


CSR_FORWARD = ThreadChoice()      # shared by minnet.kernels.csr's forward products

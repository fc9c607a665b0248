"""Timing helpers: interleaved medians, plain-text tables, the machine's description.

Used by the benchmarks (``python -m minnet.bench <name>``) and by :mod:`minnet.sparse.report`,
which is why they live in the core and not in ``minnet.bench``.

Rules these helpers encode (the machines are shared, 2-core and noisy):
* compare things *in the same run*, interleaved round-robin, so a slow minute hurts all of them;
* pause briefly between timed calls: OpenBLAS and Numba's thread pools spin-wait after a call, and
  a 2-thread kernel started while the other pool still spins can run 2-5x slower;
* report medians over repeats (robust to the odd descheduled run), and ratios of medians.
"""

import os
import platform
import statistics
import time

from minnet.blas_info import blas_kernels


def calls_per_sample(fn, target_s=0.002, max_calls=10_000):
    """How many back-to-back calls of ``fn`` make one sample of about ``target_s`` seconds
    (a single 5-microsecond call is below the timer's noise; a 30 ms call needs no batching).

    The time of one call is the median of up to three timed calls after an untimed one. Why: a
    single timed call can be 10-20x slow (measured: 7.9 ms for a 0.5 ms CSR product whose thread
    pool was still starting), and a "50 ms" burst sized from it was 6 calls long, its mean
    dominated by the wake-up of its first call.
    """
    fn()
    once = []
    for _ in range(3):
        once.append(time_per_call(fn))
        if once[-1] >= target_s:          # one call fills a sample: no need to time more
            break
    per_call = max(statistics.median(once), 1e-7)
    return int(min(max_calls, max(1, target_s // per_call)))


def time_per_call(fn, calls=1):
    """Seconds per call of ``fn``, averaged over ``calls`` back-to-back calls."""
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls


def burst_time_per_call(fn, calls, target_s):
    """Seconds per call of ``fn`` over one burst of back-to-back calls lasting >= ``target_s``.

    The burst runs chunks of about ``calls / 4`` calls (at least 1) until ``target_s`` has passed,
    so it ends within ~1.25 x ``target_s`` when ``calls`` (from :func:`calls_per_sample`) is right,
    and still lasts ``target_s`` when it is too small. Why: the first calls of a CSR product can be
    10-20x slow (waking Numba's threads while OpenBLAS's still spin, the thread choice's trials);
    measured in ``bench sparse`` on AlexNet's fc6 after LeNet's cases, three such calls (8-12 ms)
    sized a "50 ms" sample at 6 calls, and its mean doubled (0.72-0.86 ms instead of 0.48 ms).
    The clock is read once per chunk, not per call: a read costs ~0.05 us, a tenth of the
    smallest product timed (LeNet-300-100's fc3 at batch 1).
    """
    chunk = max(1, calls // 4)
    done = 0
    start = time.perf_counter()
    while True:
        for _ in range(chunk):
            fn()
        done += chunk
        elapsed = time.perf_counter() - start
        if elapsed >= target_s:
            return elapsed / done


def interleaved_times(cases, repeats=15, pause_s=0.02, target_s=0.002):
    """Time several functions round-robin: {name: [seconds per call, one per repeat]}.

    cases: dict name -> zero-argument callable. Each repeat times every case once (the mean of a
    burst of >= ``target_s`` seconds, :func:`burst_time_per_call`), in an order rotated by one
    each repeat, sleeping ``pause_s`` before each sample. Every case is called once untimed first
    (compilation, caches).
    """
    names = list(cases)
    calls = {name: calls_per_sample(cases[name], target_s) for name in names}
    times = {name: [] for name in names}
    for r in range(repeats):
        for name in names[r % len(names):] + names[:r % len(names)]:
            time.sleep(pause_s)
            times[name].append(burst_time_per_call(cases[name], calls[name], target_s))
    return times


def median(values):
    """The median of a list of numbers."""
    return statistics.median(values)


def format_table(rows, columns):
    """A plain-text table. rows: list of dicts; columns: list of (key, header, format spec or
    callable value -> str). Missing values print as "-"."""
    def cell(row, key, fmt):
        value = row.get(key)
        if value is None:
            return "-"
        return fmt(value) if callable(fmt) else format(value, fmt)
    body = [[cell(r, k, f) for k, _, f in columns] for r in rows]
    headers = [h for _, h, _ in columns]
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h)
              for i, h in enumerate(headers)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(headers, widths)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.rjust(w) for c, w in zip(b, widths)) for b in body]
    return "\n".join(lines)


def machine_info():
    """The machine and library versions, as plain data for a benchmark's JSON output."""
    import numba
    import numpy
    import scipy
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), cpu)
    except OSError:
        pass
    blas = ""
    try:
        config = numpy.show_config(mode="dicts")
        info = config.get("Build Dependencies", {}).get("blas", {})
        blas = f"{info.get('name', '')} {info.get('version', '')}".strip()
    except (TypeError, AttributeError):
        pass
    _, kernels = blas_kernels()
    if kernels:                                  # e.g. "Haswell": the kernel family OpenBLAS chose
        blas = f"{blas}, {kernels} kernels"
    return {"cpu": cpu, "cores": os.cpu_count(), "platform": platform.platform(),
            "python": platform.python_version(), "numpy": numpy.__version__,
            "scipy": scipy.__version__, "numba": numba.__version__, "blas": blas,
            "numba_threads": numba.get_num_threads(),
            "numba_threading_layer": _numba_threading_layer()}


def _numba_threading_layer():
    import numba
    try:
        return numba.threading_layer()
    except ValueError:          # no parallel kernel has run yet
        return None

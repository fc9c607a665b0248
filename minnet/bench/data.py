"""``python -m minnet.bench data``: seconds for ``load_mnist()`` in a fresh process, cached or not.

Each sample starts a new Python process (as a second run of a script would) and times only the
``load_mnist()`` call inside it, with the verified cache (:mod:`minnet.data_cache`, built first if
missing) and without it (``cache=False``: decompress and hash the four .gz files). The two kinds
alternate; the table gives medians, wall and CPU seconds (CPU time shows what the load costs when
other processes share the cores). The load average is printed before and after.
"""

import json
import os
import subprocess
import sys

from minnet.bench import format_table, machine_info, median, positive_int
from minnet.cli_parser import ArgumentParser

_CHILD = """
import json, time
from minnet.data import load_mnist
t, c = time.perf_counter(), time.process_time()
load_mnist(cache={cache})
print(json.dumps([time.perf_counter() - t, time.process_time() - c]))
"""


def time_load(cache: bool):
    """(wall s, CPU s) of one ``load_mnist(cache=cache)`` in a new Python process."""
    out = subprocess.run([sys.executable, "-c", _CHILD.format(cache=cache)], check=True,
                         capture_output=True, text=True, env=os.environ.copy())
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    """``python -m minnet.bench data [--repeats R]``."""
    p = ArgumentParser(prog="python -m minnet.bench data", description=__doc__.split("\n")[0])
    p.add_argument("--repeats", type=positive_int, default=5, help="processes per case (default 5)")
    args = p.parse_args(argv)
    load_before = os.getloadavg()
    time_load(True)                                   # builds the cache if it is not there yet
    samples = {"cached": [], "no cache": []}
    for _ in range(args.repeats):
        for name, cache in (("cached", True), ("no cache", False)):
            samples[name].append(time_load(cache))
    rows = [{"case": name, "wall": median([s[0] for s in got]), "cpu": median([s[1] for s in got])}
            for name, got in samples.items()]
    info = machine_info()
    print(f"minnet.bench data: load_mnist() in a fresh process, medians of {args.repeats} "
          f"({info['cpu']}, {info['cores']} cores, numpy {info['numpy']}); load average "
          f"{load_before[0]:.2f} before, {os.getloadavg()[0]:.2f} after")
    print(format_table(rows, [("case", "case", ""), ("wall", "wall s", ".3f"), ("cpu", "CPU s", ".3f")]))
    ok = rows[0]["wall"] <= 0.3
    print(f"\ntarget: a second load_mnist() <= 0.3 s: "
          f"[{'met' if ok else 'MISSED'}] {rows[0]['wall']:.3f} s")
    return 0

"""``python -m minnet.bench pipeline``: the wall time of a whole default prune run, split by step.

It runs exactly what a student runs, ``python -m minnet prune --model MODEL --no-progress`` (with
``--quick`` for the smoke-test slice), in a fresh process and a temporary run folder, and prints:
  * the wall time of the whole command (Python start-up, data loading, JIT cache loads included);
  * where it went, from the run's report.json ("timing" -> "seconds", written by the pipeline):
    dense epochs, sensitivity scan, prune steps, retraining epochs (fine-tuning included; for
    LeNet-5's FC phase also the frozen conv layers' features, computed once: see
    :class:`minnet.train.PrefixCache`), evaluation (every validation and test pass),
    checkpoint writes, and the rest (start-up, data, report);
  * the load average before and after (the machine is often shared: a load above the number of
    cores means other processes took part of the time, so compare runs at similar loads);
  * the numbers the run got (test and validation error before/after, parameters, compression),
    to check that a faster pipeline did not change them.
Targets: lenet300 <= 120 s, lenet5 <= 600 s on 2 idle cores.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from minnet.bench import machine_info, print_blas_hint
from minnet.cli_parser import ArgumentParser

# The order and labels of the split; "seconds" keys the pipeline writes (minnet.pruning.steps).
SPLIT = [("dense_epochs", "dense epochs"), ("scan", "sensitivity scan"), ("prune", "prune steps"),
         ("retrain_epochs", "retraining epochs"), ("evaluation", "evaluation"),
         ("checkpoints", "checkpoint writes")]


def run_once(model, quick, seed, out):
    """Run the prune command into ``out``; returns (wall seconds, load before, load after, report)."""
    cmd = [sys.executable, "-m", "minnet", "prune", "--model", model, "--seed", str(seed),
           "--no-progress", "--out", str(out)] + (["--quick"] if quick else [])
    before = os.getloadavg()
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = os.getloadavg()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    report = json.loads((Path(out) / "report.json").read_text())
    return wall, before, after, report


def split_rows(wall, report):
    """[(label, seconds, share of wall)] from the report's timing, plus "start-up, data, report"."""
    seconds = report.get("timing", {}).get("seconds", {})
    rows = [(label, seconds.get(key, 0.0)) for key, label in SPLIT]
    rows.append(("start-up, data, report", wall - sum(s for _, s in rows)))
    return [(label, s, s / wall) for label, s in rows]


def numbers(report):
    """The results to compare between runs: errors (percent), parameters, compression."""
    pct = lambda v: None if v is None else round(100 * v, 2)    # noqa: E731
    return {"test_error_before": pct(report["error_before"]),
            "test_error_after": pct(report["error_after"]),
            "val_error_before": pct(report["val_error_before"]),
            "val_error_after": pct(report["val_error_after"]),
            "params_after": report["params_after"], "compression": round(report["compression"], 2)}


def main(argv=None):
    """Entry point: ``python -m minnet.bench pipeline [--model M] [--quick] [--seed S] [--json P]``."""
    parser = ArgumentParser(prog="python -m minnet.bench pipeline", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="lenet300", help="lenet300 (default) or lenet5")
    parser.add_argument("--quick", action="store_true", help="the --quick slice (a smoke test)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="also write the timings, loads and numbers to this file")
    args = parser.parse_args(argv)
    info = machine_info()
    print(f"{info['cpu']}, {info['cores']} cores; numpy {info['numpy']} ({info['blas']}), "
          f"numba {info['numba']}", flush=True)
    print_blas_hint()
    with tempfile.TemporaryDirectory(prefix="minnet-bench-pipeline-") as tmp:
        wall, before, after, report = run_once(args.model, args.quick, args.seed, Path(tmp) / "run")
    print(f"python -m minnet prune --model {args.model}{' --quick' if args.quick else ''} "
          f"--seed {args.seed}: {wall:.1f} s wall")
    print(f"load average before {before[0]:.2f} {before[1]:.2f} {before[2]:.2f}, "
          f"after {after[0]:.2f} {after[1]:.2f} {after[2]:.2f} (1, 5, 15 min)")
    rows = split_rows(wall, report)
    for label, s, share in rows:
        print(f"  {label:<24} {s:8.1f} s  {100 * share:5.1f}%")
    got = numbers(report)
    f = {k: "-" if v is None else f"{v:.2f}" for k, v in got.items()}
    print(f"numbers: test error {f['test_error_before']}% -> {f['test_error_after']}%, validation "
          f"{f['val_error_before']}% -> {f['val_error_after']}%, {got['params_after']:,} "
          f"parameters, {f['compression']}x")
    if args.json:
        from minnet.atomic import atomic_write_json
        atomic_write_json(args.json, {"machine": info, "model": args.model, "quick": args.quick,
                                      "seed": args.seed, "wall_seconds": wall,
                                      "load_before": before, "load_after": after,
                                      "split": {label: s for label, s, _ in rows},
                                      "numbers": got})
    return 0


if __name__ == "__main__":
    main()

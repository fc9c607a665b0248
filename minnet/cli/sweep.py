"""``--seeds 0,1,2``: the same command once per seed, one run folder each, and a summary.

A 0.05-point difference means nothing until you have seen how much one seed moves a result. Each
seed runs as its own ``python -m minnet train|prune --seed S --out OUT/seedS`` (through joblib,
``--n-jobs`` at a time); the summary (OUT/summary.json and a printed table) gives every seed's
dense and final errors and compression, with median, min and max. The runs are independent and
seeded, so the summary does not depend on the number of jobs, nor on ``--dask-scheduler ADDRESS``
sending them to a Dask cluster (:mod:`minnet.parallel`). ``--resume`` resumes every
unfinished seed (a finished one says so and is left alone).
"""

import json
import statistics
from pathlib import Path

from minnet.atomic import atomic_write_json
from minnet.errors import ConfigError
from minnet.parallel import jobs_for, run_jobs, sweep_backend

# Paths are made absolute: a worker (a joblib process, or a Dask worker started elsewhere) need not
# share our working directory.
PATH_FLAGS = {"--data", "--config", "--dense-model", "--use-exercises"}
FIELDS = ("error_before", "error_after", "val_error_before", "val_error_after", "compression")


def parse_seeds(text):
    """'0,1,2' or '0-4' -> [0, 1, 2] / [0, 1, 2, 3, 4]; distinct integers >= 0."""
    seeds = []
    try:
        for part in text.split(","):
            lo, dash, hi = part.strip().partition("-")
            seeds += list(range(int(lo), int(hi) + 1)) if dash else [int(lo)]
    except ValueError:
        raise ConfigError(f"--seeds expects integers like 0,1,2 or 0-4, got {text!r}") from None
    if not seeds or len(set(seeds)) != len(seeds) or min(seeds) < 0:
        raise ConfigError(f"--seeds needs distinct integers >= 0, got {text!r}")
    return seeds


def seed_argv(argv, seed, out):
    """The single-run command line of one seed: argv without --seeds/--n-jobs/--seed/--out and
    --dask-scheduler (the seed's run is already on a worker: it scans serially there), with
    --seed S and --out OUT/seedS added and every path made absolute."""
    drop_with_value = {"--seeds", "--n-jobs", "--seed", "--out", "--dask-scheduler"}
    kept, skip, absolute_next = [], False, False
    for a in argv:
        if skip:
            skip = False
            continue
        if absolute_next:
            kept.append(str(Path(a).absolute()))
            absolute_next = False
            continue
        name, eq, value = a.partition("=")
        if name in drop_with_value:
            skip = not eq
            continue
        if name in PATH_FLAGS:
            if eq:
                a = f"{name}={Path(value).absolute()}"
            else:
                absolute_next = True
        kept.append(a)
    return kept + ["--seed", str(seed), "--out", str(Path(out).absolute())]


def _run_one(argv):
    from minnet.cli import main  # at call time: the worker process imports it afresh
    return main(argv)


def summarize(out, seeds):
    """{"seeds": [{seed, error_before, ...}], "median"/"min"/"max": {field: value}} from each
    seed's report.json; fields a run did not measure (e.g. --no-test) are left out of the stats."""
    rows = []
    for s in seeds:
        path = Path(out) / f"seed{s}" / "report.json"
        try:
            report = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise ConfigError(f"{path}: seed {s} has no readable report ({e}); resume the sweep "
                              "with --resume") from None
        rows.append({"seed": s, **{f: report.get(f) for f in FIELDS}})
    return with_stats(rows)


def with_stats(rows):
    """{"seeds": rows, "median"/"min"/"max": {field: value}}; a field some seed lacks is left out."""
    stats = {}
    for name, fn in (("median", statistics.median), ("min", min), ("max", max)):
        stats[name] = {f: fn(r[f] for r in rows) for f in FIELDS if all(r[f] is not None for r in rows)}
    return {"seeds": rows, **stats}


def format_summary(summary):
    """The summary as a small text table (errors in percent)."""
    pct = lambda v: "-" if v is None else f"{100 * v:.2f}%"
    lines = [f"{'seed':>6} {'dense test':>10} {'test':>8} {'dense val':>10} {'val':>8} {'compr.':>7}"]
    for r in summary["seeds"] + [{"seed": k, **summary[k]} for k in ("median", "min", "max")]:
        comp = r.get("compression")
        lines.append(f"{r['seed']!s:>6} {pct(r.get('error_before')):>10} {pct(r.get('error_after')):>8} "
                     f"{pct(r.get('val_error_before')):>10} {pct(r.get('val_error_after')):>8} "
                     f"{'-' if comp is None else f'{comp:.1f}x':>7}")
    return "\n".join(lines)


def sweep_command(args, argv):
    """Run every seed of ``--seeds`` (``--n-jobs`` at a time), then write and print the summary.
    Returns 0 if every seed's run succeeded, else the first failing exit status."""
    seeds = parse_seeds(args.seeds)
    out = Path(args.out or f"runs/{args.command}-{args.model or 'lenet300'}-seeds")
    commands = [[args.command, *seed_argv(argv[1:], s, out / f"seed{s}")] for s in seeds]
    n_jobs = jobs_for(args.n_jobs, args.dask_scheduler)
    # One bar over the seeds; serial runs keep their own epoch bars under it, parallel ones would
    # interleave theirs, so they run quietly.
    seed_bar = not args.no_progress
    if n_jobs != 1:
        commands = [c + ["--no-progress"] for c in commands]
    with sweep_backend(args.dask_scheduler):
        codes = run_jobs(_run_one, [(c,) for c in commands], n_jobs=n_jobs, progress=seed_bar,
                         description="seeds")
    failed = [(s, c) for s, c in zip(seeds, codes) if c != 0]
    if failed:
        print(f"error: seeds {[s for s, _ in failed]} failed; see their run folders under {out}")
        return failed[0][1]
    summary = summarize(out, seeds)
    atomic_write_json(out / "summary.json", summary)
    print(format_summary(summary))
    print(f"summary: {out / 'summary.json'}")
    return 0

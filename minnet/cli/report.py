"""``python -m minnet report RUN_DIR``: a prune run folder -> RUN_DIR/figures/*.png and report.html.

On the folder of a seed sweep (``--seeds``, with OUT/summary.json) it draws the per-seed spread,
OUT/figures/seed_spread.png (:mod:`minnet.seed_spread`), and prints the summary table.

Loading and sweeps come from :mod:`minnet.run_folder`, drawing from :mod:`minnet.report_html`;
this module writes the files (atomically).
"""

from pathlib import Path

from minnet import figdata, plotting
from minnet.atomic import atomic_write_bytes, atomic_write_text
from minnet.errors import ConfigError, RunFolderError
from minnet.report_html import build_figures, render_html
from minnet.run_folder import compute_sensitivity, load_run, optional_json


def write_report(run_dir, *, sensitivity=False, n_jobs=1, log_histograms=False, dpi=plotting.DPI):
    """Draw every figure of ``run_dir`` into RUN_DIR/figures/ and write RUN_DIR/report.html.

    sensitivity: compute (and save) sensitivity.json when the folder has none. Returns
    {"html": path, "figures": {stem: path}}. Raises RunFolderError if a required file is missing.
    """
    report, dense, pruned = load_run(run_dir)
    run_dir = Path(run_dir)
    sens = optional_json(run_dir / "sensitivity.json")
    if sens is None and (report.get("sensitivity") or {}).get("scan"):
        sens = report["sensitivity"]["scan"]              # a run of the default method: its own scan
    if sens is None and sensitivity:
        sens = compute_sensitivity(run_dir, report, dense, n_jobs=n_jobs)
    trade = optional_json(run_dir / "tradeoff.json")
    for name, rows, curves in (("sensitivity.json", sens, figdata.sensitivity_curves),
                               ("tradeoff.json", trade, figdata.tradeoff_curves)):
        try:            # the figures read these rows; a foreign or damaged file is named here
            curves(rows) if rows else None
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise RunFolderError(f"{run_dir / name} does not hold minnet's {name[:-5]} rows "
                                 f"({type(e).__name__}: {e}); delete or re-create it") from None
    figures = build_figures(report, dense, pruned, sens, trade, log_histograms=log_histograms)
    pngs, paths = {}, {}
    for stem, fig in figures.items():
        pngs[stem] = plotting.figure_to_png(fig, dpi=dpi)
        paths[stem] = atomic_write_bytes(run_dir / "figures" / f"{stem}.png", pngs[stem])
    page = atomic_write_text(run_dir / "report.html", render_html(report, pngs))
    return {"html": page, "figures": paths}


def write_sweep_report(sweep_dir, dpi=plotting.DPI):
    """The per-seed spread of a ``--seeds`` folder: SWEEP_DIR/figures/seed_spread.png.

    Returns (path, summary). Raises RunFolderError if summary.json is unreadable or has no seeds.
    """
    from minnet.cli.sweep import FIELDS, with_stats
    from minnet.seed_spread import plot_seed_spread

    sweep_dir = Path(sweep_dir)
    summary = optional_json(sweep_dir / "summary.json")
    rows = summary.get("seeds") if isinstance(summary, dict) else None
    if not isinstance(rows, list) or not rows:
        raise RunFolderError(f"{sweep_dir / 'summary.json'}: no 'seeds' list; re-run the sweep "
                             "with --resume to rewrite it")
    for r in rows:
        missing = [f for f in ("seed", *FIELDS) if not isinstance(r, dict) or f not in r]
        if missing:
            raise RunFolderError(f"{sweep_dir / 'summary.json'}: a seed row lacks {missing}; "
                                 "re-run the sweep with --resume to rewrite it")
    summary = with_stats(rows)       # recomputed: the figure shows what the rows say
    fig = plot_seed_spread(summary, title=f"{sweep_dir.name}: {len(rows)} seeds")
    path = atomic_write_bytes(sweep_dir / "figures" / "seed_spread.png",
                              plotting.figure_to_png(fig, dpi=dpi))
    return path, summary


def add_parser(subparsers):
    """Register ``report RUN_DIR`` on the CLI's subparsers; the handler is ``args.handler``."""
    p = subparsers.add_parser("report", help="figures + one HTML page from a prune run folder, "
                              "or the per-seed spread of a --seeds folder")
    p.add_argument("run_dir", help="folder written by `python -m minnet prune --out DIR` "
                   "(or by `prune --seeds ... --out DIR`)")
    p.add_argument("--sensitivity", action="store_true",
                   help="compute sensitivity.json (Fig. 6) on the run's validation split if absent")
    p.add_argument("--n-jobs", dest="n_jobs", type=int, default=1, help="joblib workers for sweeps")
    p.add_argument("--log-histograms", action="store_true", help="log-scale weight histograms")
    return p


def run(args):
    """Run ``report`` from parsed arguments; print where the page went. Returns 0."""
    if args.n_jobs == 0 or args.n_jobs < -1:
        raise ConfigError(f"--n-jobs must be >= 1 (or -1 for every core), got {args.n_jobs}")
    if (Path(args.run_dir) / "summary.json").exists():
        from minnet.cli.sweep import format_summary
        path, summary = write_sweep_report(args.run_dir)
        print(format_summary(summary))
        print(f"per-seed spread: {path}")
        return 0
    out = write_report(args.run_dir, sensitivity=args.sensitivity, n_jobs=args.n_jobs,
                       log_histograms=args.log_histograms)
    for path in out["figures"].values():
        print(path)
    print(f"report: {out['html']}")
    return 0

"""``python -m minnet report RUN_DIR``: a prune run folder -> RUN_DIR/figures/*.png and report.html.

Loading and sweeps come from :mod:`minnet.run_folder`, drawing from :mod:`minnet.report_html`;
this module writes the files (atomically).
"""

from pathlib import Path

from minnet import plotting
from minnet.atomic import atomic_write_bytes, atomic_write_text
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
    figures = build_figures(report, dense, pruned, sens, trade, log_histograms=log_histograms)
    pngs, paths = {}, {}
    for stem, fig in figures.items():
        pngs[stem] = plotting.figure_to_png(fig, dpi=dpi)
        paths[stem] = atomic_write_bytes(run_dir / "figures" / f"{stem}.png", pngs[stem])
    page = atomic_write_text(run_dir / "report.html", render_html(report, pngs))
    return {"html": page, "figures": paths}


def add_parser(subparsers):
    """Register ``report RUN_DIR`` on the CLI's subparsers; the handler is ``args.handler``."""
    p = subparsers.add_parser("report", help="figures + one HTML page from a prune run folder")
    p.add_argument("run_dir", help="folder written by `python -m minnet prune --out DIR`")
    p.add_argument("--sensitivity", action="store_true",
                   help="compute sensitivity.json (Fig. 6) on the run's validation split if absent")
    p.add_argument("--n-jobs", dest="n_jobs", type=int, default=1, help="joblib workers for sweeps")
    p.add_argument("--log-histograms", action="store_true", help="log-scale weight histograms")
    return p


def run(args):
    """Run ``report`` from parsed arguments; print where the page went. Returns 0."""
    out = write_report(args.run_dir, sensitivity=args.sensitivity, n_jobs=args.n_jobs,
                       log_histograms=args.log_histograms)
    for path in out["figures"].values():
        print(path)
    print(f"report: {out['html']}")
    return 0

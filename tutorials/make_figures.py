"""Regenerate the README's figures (tutorials/figures/*.png) from a LeNet-300-100 prune run folder.

    python -m minnet prune --model lenet300 --seed 0 --out runs/l300-s0           # ~3-5 min, 2 cores
    python -m minnet.tradeoff --out runs/tradeoff-lenet300.json --epochs 5      # optional, Fig. 5
    python tutorials/make_figures.py runs/l300-s0 --tradeoff runs/tradeoff-lenet300.json

    python tutorials/make_figures.py --quick        # a look at every figure in ~15 s, no README change

The figures are drawn by the same code as ``python -m minnet report`` (minnet.report_html), at a
lower resolution so each PNG stays small. Sensitivity (Fig. 6) is the run's own scan on its
validation split (report.json), for runs of the default method. A figure whose data is not given
(Fig. 5 without --tradeoff) is left as it is. Nothing but the --out folder is written, except with
--quick: then a quick prune run and a quick trade-off sweep go to runs/make-figures-quick/ and the
figures to tutorials/output/figures/ (git-ignored), never to the README's folder.
"""

import json
from pathlib import Path

from minnet import plotting
from minnet.cli_parser import ArgumentParser
from minnet.report_html import build_figures
from minnet.run_folder import compute_sensitivity, load_run

HERE = Path(__file__).resolve().parent
FIGURES_DIR = HERE / "figures"
QUICK_FIGURES_DIR = HERE / "output" / "figures"
QUICK_RUN_DIR = HERE.parent / "runs" / "make-figures-quick"
# The figures the README shows, and the resolution that keeps each under ~150 KB.
README_FIGURES = ("weight_histograms", "fig4_mask", "neuron_masks", "sensitivity", "tradeoff",
                  "training_curves", "layer_kept")
DPI = 72


def quick_inputs():
    """Run the quick prune pipeline and the quick Fig. 5 sweep; return (run folder, tradeoff JSON)."""
    from minnet.cli import main as cli_main
    from minnet.tradeoff import main as tradeoff_main
    QUICK_RUN_DIR.parent.mkdir(parents=True, exist_ok=True)
    code = cli_main(["prune", "--model", "lenet300", "--quick", "--no-progress", "--overwrite",
                     "--out", str(QUICK_RUN_DIR)])
    if code != 0:
        raise SystemExit(f"make_figures --quick: the quick prune run failed (exit code {code})")
    tradeoff = QUICK_RUN_DIR / "tradeoff.json"
    if tradeoff_main(["--quick", "--out", str(tradeoff)]) not in (0, None):
        raise SystemExit("make_figures --quick: the quick trade-off sweep failed")
    return QUICK_RUN_DIR, tradeoff


def main(argv=None):
    """Draw README_FIGURES of RUN_DIR into tutorials/figures/ (or --out); print each path."""
    p = ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("run_dir", nargs="?", help="a LeNet-300-100 prune run folder (not with --quick)")
    p.add_argument("--tradeoff", help="JSON written by python -m minnet.tradeoff (Fig. 5)")
    p.add_argument("--quick", action="store_true",
                   help="make a quick run and sweep first; figures go to tutorials/output/figures")
    p.add_argument("--out", default=None,
                   help="folder for the PNGs (default: tutorials/figures, or with --quick "
                        "tutorials/output/figures)")
    a = p.parse_args(argv)
    if a.quick == bool(a.run_dir):
        p.error("give a RUN_DIR, or --quick (which makes its own run)")
    run_dir, tradeoff_path = quick_inputs() if a.quick else (a.run_dir, a.tradeoff)
    out = Path(a.out or (QUICK_FIGURES_DIR if a.quick else FIGURES_DIR))
    report, dense, pruned = load_run(run_dir)
    sensitivity = compute_sensitivity(run_dir, report, dense, save=False)
    tradeoff = json.loads(Path(tradeoff_path).read_text()) if tradeoff_path else None
    figures = build_figures(report, dense, pruned, sensitivity, tradeoff)
    for stem in README_FIGURES:
        if stem in figures:
            print(plotting.save_png(figures[stem], out / f"{stem}.png", dpi=DPI))


if __name__ == "__main__":
    main()

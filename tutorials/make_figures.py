"""Regenerate the README's figures (tutorials/figures/*.png) from a LeNet-300-100 prune run folder.

    python -m minnet prune --model lenet300 --seed 0 --out runs/l300-s0           # ~3-5 min, 2 cores
    python -m minnet.tradeoff --out runs/tradeoff-lenet300.json --epochs 5      # optional, Fig. 5
    python tutorials/make_figures.py runs/l300-s0 --tradeoff runs/tradeoff-lenet300.json

The figures are drawn by the same code as ``python -m minnet report`` (minnet.report_html), at a
lower resolution so each PNG stays small. Sensitivity (Fig. 6) is the run's own scan on its
validation split (report.json), for runs of the default method. Nothing but tutorials/figures/
is written.
"""

import argparse
import json
from pathlib import Path

from minnet import plotting
from minnet.report_html import build_figures
from minnet.run_folder import compute_sensitivity, load_run

FIGURES_DIR = Path(__file__).resolve().parent / "figures"
# The figures the README shows, and the resolution that keeps each under ~150 KB.
README_FIGURES = ("weight_histograms", "fig4_mask", "neuron_masks", "sensitivity", "tradeoff",
                  "training_curves", "layer_kept")
DPI = 72


def main(argv=None):
    """Draw README_FIGURES of RUN_DIR into tutorials/figures/ (or --out); print each path."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("run_dir")
    p.add_argument("--tradeoff", help="JSON written by python -m minnet.tradeoff (Fig. 5)")
    p.add_argument("--out", default=str(FIGURES_DIR))
    a = p.parse_args(argv)
    report, dense, pruned = load_run(a.run_dir)
    sensitivity = compute_sensitivity(a.run_dir, report, dense, save=False)
    tradeoff = json.loads(Path(a.tradeoff).read_text()) if a.tradeoff else None
    figures = build_figures(report, dense, pruned, sensitivity, tradeoff)
    for stem in README_FIGURES:
        if stem in figures:
            print(plotting.save_png(figures[stem], Path(a.out) / f"{stem}.png", dpi=DPI))


if __name__ == "__main__":
    main()

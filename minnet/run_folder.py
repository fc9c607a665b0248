"""A prune run's folder: check it, load what the report needs, compute its sweeps.

A run folder is what ``python -m minnet prune --out RUN_DIR`` writes; the report needs three files:
    report.json   the numbers of Tables 1-2, the prune rounds and the training history
    dense.npz     the model before pruning          pruned.npz   the model after retraining
and uses, if present (or asked for), two sweeps:
    sensitivity.json   rows of minnet.pruning.sensitivity.sensitivity_analysis (Fig. 6), on the
                       run's validation split (a run of method "sensitivity" holds its own scan)
    tradeoff.json      what ``python -m minnet.tradeoff --out RUN_DIR/tradeoff.json`` writes (Fig. 5)
"""

import json
from pathlib import Path

from minnet.atomic import atomic_write_json
from minnet.errors import RunFolderError
from minnet.model import Sequential

REQUIRED_FILES = ("report.json", "dense.npz", "pruned.npz")


def not_a_folder_reason(run_dir) -> str:
    """Why ``run_dir``, which is not a folder, cannot be read as a run: it is a file, or absent."""
    return "is a file, not a run folder" if Path(run_dir).exists() else "no such run folder"


def check_run_folder(run_dir):
    """Raise RunFolderError naming every missing required file; return the folder as a Path."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunFolderError(f"{run_dir}: {not_a_folder_reason(run_dir)}; make one with "
                             "`python -m minnet prune --model lenet300 --out DIR`")
    missing = [name for name in REQUIRED_FILES if not (run_dir / name).is_file()]
    if missing:
        hint = (" (a `train` run has model.npz, not dense.npz/pruned.npz: the report is for prune "
                "runs)" if (run_dir / "model.npz").exists() else
                " (an unfinished run? finish it with `python -m minnet prune --out DIR --resume`)")
        raise RunFolderError(f"{run_dir} is missing {', '.join(missing)}{hint}")
    return run_dir


def load_run(run_dir):
    """(report dict, dense Sequential, pruned Sequential) of a checked run folder."""
    run_dir = check_run_folder(run_dir)
    try:
        report = json.loads((run_dir / "report.json").read_text())
    except json.JSONDecodeError as e:
        raise RunFolderError(f"{run_dir / 'report.json'} is not valid JSON ({e})") from e
    for key in ("layers", "totals", "rounds", "history"):
        if key not in report:
            raise RunFolderError(f"{run_dir / 'report.json'} lacks the {key!r} field")
    return report, Sequential.load(run_dir / "dense.npz"), Sequential.load(run_dir / "pruned.npz")


def compute_sensitivity(run_dir, report, dense, sparsities=tuple(range(0, 100, 10)), n_jobs=1,
                        save=True):
    """Sensitivity rows (Fig. 6) of the dense model on the run's own validation split.

    A run of method "sensitivity" already holds its scan in report.json: those rows are used as
    they are. Otherwise the data comes from the run's config (same slice and split as the run);
    with ``save`` the rows are also written to RUN_DIR/sensitivity.json, so the next report
    reuses them.
    """
    if (report.get("sensitivity") or {}).get("scan"):
        rows = report["sensitivity"]["scan"]
    else:
        from minnet.config import config_from_dict
        from minnet.pruning.sensitivity import sensitivity_analysis
        from minnet.run_inputs import load_data
        (_, (xv, yv), _), _ = load_data(config_from_dict(report["config"]))
        if not len(xv):
            raise RunFolderError("this run held out no validation images (val_size 0): its "
                                 "sensitivity cannot be measured without touching the test set")
        rows = sensitivity_analysis(dense, xv, yv, sparsities=list(sparsities), n_jobs=n_jobs)
    if save:
        atomic_write_json(Path(run_dir) / "sensitivity.json", rows)
    return rows


def optional_json(path):
    """The JSON in ``path``, or None if there is no such file; bad JSON raises RunFolderError."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise RunFolderError(f"{path} is not valid JSON ({e})") from e

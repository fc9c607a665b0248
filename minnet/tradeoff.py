"""The accuracy / compression trade-off sweep of Han et al. 2015, Figure 5 (sec. 3.1), on LeNet-300-100.

For every fraction pruned (integer percentages) and for a model trained with L1 and one trained
with L2 regularisation, measure the accuracy loss
    "none"       prune once by magnitude, no retraining,
    "retrain"    prune once, then retrain the survivors a few epochs (same regularisation),
    "iterative"  (L2 by default) walk up the list of percentages: prune to the next level, retrain,
                 measure, and carry the model on to the next level (the paper's iterative pruning).
Every layer loses the same fraction of its weights ("sparsity" method), so the x axis is exact.
Pruning and retraining go through :mod:`minnet.pruning`'s public functions.

Parallel and distributed runs. Each point is an independent job whose randomness comes only from
(seed, regularisation, percentage), and every job runs with one BLAS thread, so
``tradeoff_sweep(..., n_jobs=2)`` returns exactly the rows of ``n_jobs=1``. The jobs go through
joblib, so the same call runs on a cluster by choosing joblib's back-end
(:func:`minnet.parallel.sweep_backend`)::

    with sweep_backend("tcp://scheduler-address:8786"):     # pip install -e ".[cluster]"
        result = tradeoff_sweep(models, train, test, percents, n_jobs=-1)

    # Ray: pip install ray; from ray.util.joblib import register_ray; register_ray()
    with joblib.parallel_backend("ray"):
        result = tradeoff_sweep(models, train, test, percents, n_jobs=-1)

Neither Dask nor Ray is needed otherwise. Command line (writes a JSON file ``report`` can draw)::

    python -m minnet.tradeoff --out runs/tradeoff.json --quick --n-jobs 2
    python -m minnet.tradeoff --out runs/tradeoff.json --dask-scheduler tcp://host:8786
"""

import os
import sys

import numpy as np

from minnet.atomic import atomic_write_json
from minnet.cli_parser import ArgumentParser
from minnet.errors import ConfigError, MinnetError
from minnet.models import lenet_300_100
from minnet.optim import caffe_lenet_sgd
from minnet.parallel import jobs_for, run_jobs, sweep_backend
from minnet.pruning import prune_model, retrain
from minnet.threads import blas_threads
from minnet.train import evaluate, fit

MODES = ("none", "retrain", "iterative")
DEFAULT_PERCENTS = (0, 20, 40, 50, 60, 70, 80, 85, 90, 93, 95, 97)
# L2 as Caffe's LeNet solver (weight decay 5e-4); L1 at a strength that trains as well on MNIST.
# The paper's comparison is closer to L1 at L2's strength (what switching Caffe's regularization_type
# gives): `--l1-strength 5e-4`; tutorial 05 measures both (at 5e-4 L1 costs ~2 points dense).
DEFAULT_STRENGTHS = {"l1": 1e-4, "l2": 5e-4}


def _check_percents(percents):
    levels = sorted(set(percents))
    for p in levels:
        if isinstance(p, bool) or not isinstance(p, (int, np.integer)) or not 0 <= p < 100:
            raise ConfigError(f"percentages pruned are integers in [0, 100), got {p!r} "
                             "(integers keep result keys exact, unlike np.arange floats)")
    if not levels:
        raise ConfigError("give at least one percentage to prune")
    return [int(p) for p in levels]


def _seed(seed, regularization, pct):
    """The retraining seed of one point: depends on (seed, regularisation, percentage) only."""
    return int(np.random.SeedSequence([int(seed), ("l1", "l2").index(regularization), pct])
               .generate_state(1)[0])


def train_dense(regularization, x, y, *, epochs, strength=None, lr=0.01, seed=0, batch_size=64):
    """A LeNet-300-100 trained with ``regularization`` ("l1" or "l2") for ``epochs`` epochs.

    Caffe's LeNet solver (:func:`minnet.optim.caffe_lenet_sgd`) with that regularisation; strength defaults to DEFAULT_STRENGTHS[regularization].
    x: (N, 784) float32, y: (N,) int. Returns the trained Sequential.
    """
    strength = DEFAULT_STRENGTHS[regularization] if strength is None else strength
    model = lenet_300_100(seed=seed)
    fit(model, caffe_lenet_sgd(lr, regularization=regularization, strength=strength), x, y,
        epochs=epochs,
        batch_size=batch_size, seed=seed, progress=False)
    return model


def _retrain(model, regularization, settings, x, y, seed):
    opt = caffe_lenet_sgd(settings["retrain_lr"], regularization=regularization,
                          strength=settings["strengths"][regularization])
    retrain(model, opt, x, y, epochs=settings["retrain_epochs"], batch_size=settings["batch_size"],
            seed=seed, progress=False)


def _one_shot_point(model, regularization, pct, retrain_too, train, test, settings):
    """One point of the "none" / "retrain" curves; ``model`` is copied, never changed."""
    with blas_threads(1):        # one thread in every worker: same floating-point sums as serial
        pruned = model.copy()
        prune_model(pruned, "sparsity", pct / 100)
        if retrain_too:
            _retrain(pruned, regularization, settings, *train, _seed(settings["seed"], regularization, pct))
        acc = evaluate(pruned, *test)["accuracy"]
    return [{"regularization": regularization, "mode": "retrain" if retrain_too else "none",
             "pruned": pct, "accuracy": acc}]


def _iterative_curve(model, regularization, percents, train, test, settings):
    """The "iterative" curve: prune to each level in turn, retrain, measure, carry on."""
    rows = []
    with blas_threads(1):
        current = model.copy()
        for pct in percents:
            prune_model(current, "sparsity", pct / 100)     # AND-ed with the previous mask
            _retrain(current, regularization, settings, *train, _seed(settings["seed"], regularization, pct))
            rows.append({"regularization": regularization, "mode": "iterative", "pruned": pct,
                         "accuracy": evaluate(current, *test)["accuracy"]})
    return rows


def _call(function, args):
    return function(*args)


def tradeoff_sweep(models, train, test, percents=DEFAULT_PERCENTS, *, retrain_epochs=1,
                   retrain_lr=0.001, strengths=None, iterative=("l2",), seed=0, batch_size=64,
                   n_jobs=1, progress=False):
    """Accuracy loss vs fraction of parameters pruned, L1 and L2, with/without retraining (Fig. 5).

    models: {"l1": trained Sequential, "l2": trained Sequential} (either may be left out);
    train, test: (x, y) pairs (retraining data, evaluation data); percents: integer percentages of
    every layer's weights removed; retrain_epochs / retrain_lr: per point (lr / 10 of training, as
    the paper retrains LeNet); iterative: the regularisations that also get an iterative curve;
    n_jobs: joblib workers (1 = serial; the rows are identical either way); progress: a bar over jobs.
    Returns {"percents", "dense_accuracy": {reg: acc}, "settings": {...}, "rows": [{"regularization",
    "mode" ("none"|"retrain"|"iterative"), "pruned" (int %), "accuracy", "accuracy_loss"}]} with
    accuracy_loss = dense accuracy - accuracy (a fraction; negative = pruning helped).
    """
    levels = _check_percents(percents)
    unknown = set(models) - {"l1", "l2"}
    if unknown or not models:
        raise ConfigError(f"models maps 'l1'/'l2' to trained models, got keys {sorted(models)}")
    settings = {"retrain_epochs": int(retrain_epochs), "retrain_lr": float(retrain_lr),
                "strengths": {**DEFAULT_STRENGTHS, **(strengths or {})}, "seed": int(seed),
                "batch_size": int(batch_size), "iterative": [r for r in iterative if r in models]}
    # One job list, so the long iterative curves run alongside the one-shot points.
    jobs = [(_one_shot_point, (models[reg], reg, pct, again, train, test, settings))
            for reg in sorted(models) for again in (False, True) for pct in levels]
    jobs += [(_iterative_curve, (models[reg], reg, levels, train, test, settings))
             for reg in settings["iterative"]]
    parts = run_jobs(_call, jobs, n_jobs=n_jobs, progress=progress, description="trade-off points")
    with blas_threads(1):
        dense = {reg: evaluate(m, *test)["accuracy"] for reg, m in sorted(models.items())}
    rows = [dict(r, accuracy_loss=dense[r["regularization"]] - r["accuracy"]) for p in parts for r in p]
    return {"percents": levels, "dense_accuracy": dense, "settings": settings, "rows": rows}


def run_tradeoff(*, epochs=3, retrain_epochs=1, percents=DEFAULT_PERCENTS, train_limit=None,
                 test_limit=None, seed=0, n_jobs=1, data=None, strengths=None, progress=False):
    """Train L1 and L2 LeNet-300-100 models on MNIST and sweep them: the whole of Fig. 5.

    data: ((x, y), (x_test, y_test)) or None for MNIST; *_limit: use the first N examples;
    strengths: {"l1": lambda_1, "l2": lambda_2} overriding DEFAULT_STRENGTHS, for training and
    retraining.
    Returns what :func:`tradeoff_sweep` returns, plus "train_epochs".
    """
    if data is None:
        from minnet.data import load_mnist
        data = load_mnist()
    (x, y), (xt, yt) = data
    x, y = x[:train_limit].reshape(-1, 784), y[:train_limit]
    xt, yt = xt[:test_limit].reshape(-1, 784), yt[:test_limit]
    strengths = {**DEFAULT_STRENGTHS, **(strengths or {})}
    for reg, value in strengths.items():
        if not (isinstance(value, (int, float)) and np.isfinite(value) and value >= 0):
            raise ConfigError(f"{reg} strength must be a finite number >= 0, got {value!r}")
    models = {reg: train_dense(reg, x, y, epochs=epochs, seed=seed, strength=strengths[reg])
              for reg in ("l1", "l2")}
    result = tradeoff_sweep(models, (x, y), (xt, yt), percents, retrain_epochs=retrain_epochs,
                            seed=seed, n_jobs=n_jobs, strengths=strengths, progress=progress)
    result["train_epochs"] = epochs
    return result


def main(argv=None):
    """``python -m minnet.tradeoff --out FILE.json [--quick] [--n-jobs N]``; returns the exit code."""
    p = ArgumentParser(prog="python -m minnet.tradeoff", description=__doc__.split("\n")[0])
    p.add_argument("--out", required=True, help="JSON file to write (e.g. RUN_DIR/tradeoff.json)")
    p.add_argument("--epochs", type=int, help="dense training epochs per model (default 10; "
                   "--quick: 2)")
    p.add_argument("--retrain-epochs", type=int, help="per point (default 2; --quick: 1)")
    p.add_argument("--percents", default=",".join(map(str, DEFAULT_PERCENTS)))
    p.add_argument("--train-limit", type=int)
    p.add_argument("--test-limit", type=int)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n-jobs", type=int, default=1)
    p.add_argument("--dask-scheduler", help="address of a running Dask scheduler: the points run "
                   "on its workers (pip install -e \".[cluster]\")")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--quick", action="store_true", help="6000/2000 examples, 2 + 1 epochs")
    p.add_argument("--l1-strength", type=float, default=DEFAULT_STRENGTHS["l1"],
                   help=f"L1 strength (default {DEFAULT_STRENGTHS['l1']:g}; 5e-4 = L2's, "
                        "the paper's comparison)")
    p.add_argument("--l2-strength", type=float, default=DEFAULT_STRENGTHS["l2"],
                   help=f"L2 weight decay (default {DEFAULT_STRENGTHS['l2']:g}, Caffe's LeNet)")
    a = p.parse_args(argv)
    # --quick fills in only what was not given: an explicit flag always wins, and is checked.
    quick = {"epochs": 2, "retrain_epochs": 1, "train_limit": 6000, "test_limit": 2000}
    full = {"epochs": 10, "retrain_epochs": 2, "train_limit": None, "test_limit": None}
    for key, value in (quick if a.quick else full).items():
        if getattr(a, key) is None:
            setattr(a, key, value)
    for flag, value, low in (("--epochs", a.epochs, 1), ("--retrain-epochs", a.retrain_epochs, 0),
                             ("--train-limit", a.train_limit, 1), ("--test-limit", a.test_limit, 1)):
        if value is not None and value < low:
            p.error(f"{flag} must be >= {low}, got {value}")
    if a.n_jobs == 0:
        p.error("--n-jobs must be >= 1 (or -1 for every core), got 0")
    try:
        percents = [int(v) for v in a.percents.split(",")]
    except ValueError:
        p.error(f"--percents: expected comma-separated integers, got {a.percents!r}")
    try:
        with sweep_backend(a.dask_scheduler):
            result = run_tradeoff(epochs=a.epochs, retrain_epochs=a.retrain_epochs,
                                  percents=percents, train_limit=a.train_limit,
                                  test_limit=a.test_limit, seed=a.seed,
                                  n_jobs=jobs_for(a.n_jobs, a.dask_scheduler),
                                  strengths={"l1": a.l1_strength, "l2": a.l2_strength},
                                  progress=not a.no_progress)
        atomic_write_json(a.out, result)
    except (MinnetError, OSError, ValueError) as e:
        if os.environ.get("MINNET_DEBUG"):
            raise
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {a.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

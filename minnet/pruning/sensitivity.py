"""Per-layer sensitivity analysis (Han et al. 2015, Figure 6).

Prune one layer alone at increasing sparsities, without retraining, and measure accuracy. Layers
whose accuracy collapses early (the paper: conv layers, the first one most) are "sensitive" and get
the smaller thresholds. Every level starts again from a snapshot of the trained weights: reusing one
pruned copy across levels would measure cumulative damage instead.
"""

import numpy as np

from minnet.parallel import run_jobs
from minnet.pruning.criteria import prune_by_sparsity
from minnet.pruning.prune import select_layers
from minnet.threads import blas_threads
from minnet.train import LayersAbove, evaluate
from minnet.errors import ConfigError


def _check_percentages(sparsities):
    levels = list(sparsities)
    for s in levels:
        if isinstance(s, bool) or not isinstance(s, int) or not 0 <= s < 100:
            raise ConfigError(f"sparsities are integer percentages in [0, 100), got {s!r} "
                             "(integers so that table keys are exact, unlike np.arange floats)")
    if not levels:
        raise ConfigError("give at least one sparsity level")
    return levels


def _layer_curve(snapshot, layer_name, levels, x, y, batch_size):
    """Rows of one layer; each level prunes a fresh copy of ``snapshot``.

    A level's quality parameter is q = t / std, with t the largest |w| pruned at that level and std
    the layer's std before its first prune: pruning with the paper's rule |w| <= q x std removes
    exactly these weights (barring ties).
    """
    original = snapshot.layer(layer_name)
    w0 = original.weight
    record = original.pruning_record
    std = record.std_before if record else float(np.std(w0.astype(np.float64)))
    # One BLAS thread in every job: a product split over more threads rounds differently, and the
    # rows must be the same bits in this process, in a joblib worker and on a Dask worker.
    with blas_threads(1):
        # The layers below the scanned one are the same at every level: run them once. Chunk by
        # chunk as evaluate() would, so every level sees the very arrays it computed before.
        start = snapshot.layers.index(original)
        feats = x
        if start > 0:
            feats = np.concatenate([snapshot.forward(x[i:i + batch_size], stop=start)
                                    for i in range(0, len(x), batch_size)])
        return [_level_row(snapshot, layer_name, pct, w0, std, feats, y, batch_size, start)
                for pct in levels]


def _level_row(snapshot, layer_name, pct, w0, std, x, y, batch_size, start=0):
    """One row: a fresh copy of ``snapshot`` with ``pct`` percent of one layer pruned, evaluated
    (from layer ``start`` on, x being the output of the layers below it)."""
    model = snapshot.copy()                      # restore the trained weights for every level
    layer = model.layer(layer_name)
    keep = prune_by_sparsity(layer.weight, pct / 100)
    layer.prune(keep)
    pruned = np.abs(w0[~keep])
    quality = float(pruned.max()) / std if pruned.size and std > 0 else 0.0
    ev = evaluate(LayersAbove(model, start) if start else model, x, y, batch_size=batch_size)
    return {"layer": layer_name, "sparsity": pct, "quality": quality,
            "accuracy": ev["accuracy"], "loss": ev["loss"]}


def sensitivity_analysis(model, x, y, sparsities=tuple(range(0, 100, 10)), kinds=("fc", "conv"),
                         n_jobs=1, batch_size=1000):
    """For every prunable layer alone and every sparsity (percent), the accuracy without retraining.

    model: a trained Sequential (left unchanged); x (N, ...), y (N,): evaluation data;
    sparsities: integer percentages in [0, 100) of the layer's weights removed (by magnitude);
    n_jobs: joblib workers, one job per layer (1 = serial; the rows are identical either way,
    because each level is a deterministic function of the snapshot; -1 inside
    :func:`minnet.parallel.sweep_backend` uses a Dask cluster). Returns a list of
    {"layer": name, "sparsity": int percent, "accuracy": float}, layers in model order.
    """
    levels = _check_percentages(sparsities)
    snapshot = model.copy()
    names = [l.name for l in select_layers(snapshot, kinds)]
    curves = run_jobs(_layer_curve, [(snapshot, n, levels, x, y, batch_size) for n in names],
                      n_jobs=n_jobs)
    return [row for curve in curves for row in curve]

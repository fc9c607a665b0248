"""The scan and prune steps of the pipeline (:mod:`minnet.pruning.pipeline`), and what they share.

scan   method "sensitivity": every pruned layer alone on the validation split (Fig. 6) -> its q
prune  one round: this round's thresholds (from the scan's q, or the recipe's targets), then the
       dropout adjustment of sec. 3.2 and the validation error before retraining
"""

import math
import time

import numpy as np

from minnet.pruning.allocate import (SCAN_LEVELS, allocate, curves_from_rows, quality_for_sparsity,
                                     round_factor)
from minnet.pruning.dropout import adjust_dropout
from minnet.pruning.prune import (prune_model, record_original_state, reinitialize_survivors,
                                  select_layers)
from minnet.pruning.sensitivity import sensitivity_analysis
from minnet.train import evaluate
from minnet.errors import ConfigError

PHASE_KINDS = {"fc": ("fc",), "conv": ("conv",), "all": ("fc", "conv")}


def step_seed(seed, step_index):
    """The ``fit`` seed of one step, derived from (run seed, step index) only."""
    return int(np.random.SeedSequence([int(seed), int(step_index)]).generate_state(1)[0])


def add_seconds(state, what, seconds):
    """Add ``seconds`` to ``state.timing["seconds"][what]`` (wall time by kind of work, for
    ``python -m minnet.bench pipeline``: dense_epochs, scan, retrain_epochs, evaluation, ...)."""
    by_kind = state.timing.setdefault("seconds", {})
    by_kind[what] = round(by_kind.get(what, 0.0) + seconds, 3)


def val_error(model, x_val, y_val, state=None, evaluate_fn=evaluate):
    """Validation error, or None when no validation split was held out (timed into ``state``).
    ``evaluate_fn``: :func:`minnet.train.evaluate` or a stand-in with its signature."""
    if not len(x_val):
        return None
    start = time.perf_counter()
    error = evaluate_fn(model, x_val, y_val)["error"]
    if state is not None:
        add_seconds(state, "evaluation", time.perf_counter() - start)
    return error


def scan_step(cfg, model, state, i, n_steps, x_val, y_val, log, n_jobs=1):
    """Method "sensitivity", steps 1-3 of :mod:`minnet.pruning.allocate`: scan every layer the run
    prunes, alone, on the validation split (Fig. 6), and give each its quality parameter q."""
    kinds = tuple(sorted({k for phase in cfg.phases for k in PHASE_KINDS[phase]}))
    record_original_state(model)          # std before the first prune: the unit of q
    layers = select_layers(model, kinds)
    log(f"[{i + 1}/{n_steps}] sensitivity scan on {len(x_val)} validation images: "
        f"{len(layers)} layers x {len(SCAN_LEVELS)} sparsities, no retraining")
    rows = sensitivity_analysis(model, x_val, y_val, sparsities=SCAN_LEVELS, kinds=kinds,
                                n_jobs=n_jobs)
    sizes = {l.name: int(l.weight.size) for l in layers}
    alloc = allocate(curves_from_rows(rows), sizes, model.count_params(), cfg.compression)
    per_layer = {}
    for layer in layers:
        s = alloc["sparsity"][layer.name]
        q = quality_for_sparsity(layer.weight, layer.pruning_record.std_before, s)
        per_layer[layer.name] = {"quality": q, "sparsity": s, "weights": sizes[layer.name]}
    state.sensitivity = {"levels": list(SCAN_LEVELS), "scan": rows,
                           "tolerance": alloc["tolerance"], "compression": cfg.compression,
                           "predicted_compression": alloc["predicted_compression"],
                           "layers": per_layer}
    for line in format_scan(state.sensitivity):
        log("    " + line)


def format_scan(sens):
    """The scan as text: one row per layer (validation loss increase at each level), then each
    layer's chosen sparsity and q, most sensitive (smallest q) first."""
    levels = sens["levels"]
    rows = {}
    for r in sens["scan"]:
        rows.setdefault(r["layer"], {})[r["sparsity"]] = r["loss"]
    shown = [lv for lv in levels if lv in (0, 50, 70, 80, 90, 95, 97, 99)]
    lines = ["validation loss increase when pruned alone to " + ", ".join(f"{lv}%" for lv in shown)]
    for name, by_level in rows.items():
        lines.append(f"{name:>8}: " + " ".join(f"{by_level[lv] - by_level[0]:+7.3f}" for lv in shown))
    lines.append(f"equal tolerated increase {sens['tolerance']:.4f} -> predicted "
                 f"{sens['predicted_compression']:.1f}x (target {sens['compression']:g}x):")
    for name, d in sorted(sens["layers"].items(), key=lambda kv: kv[1]["quality"]):
        lines.append(f"{name:>8}: q = {d['quality']:.3f}, prune {100 * d['sparsity']:.1f}% "
                     f"(keep {100 * (1 - d['sparsity']):.1f}%)")
    return lines


def _sensitivity_targets(cfg, model, step, state):
    """Method "sensitivity", step 4: this round's {layer: q} = c_r x q_l, c_r solved so that the
    phase keeps sum_l n_l keep_l^(r/R) weights (see :func:`minnet.pruning.allocate.round_factor`)."""
    layers = [l for l in select_layers(model, PHASE_KINDS[step["phase"]])
              if l.name in state.sensitivity["layers"]]
    chosen = state.sensitivity["layers"]
    frac = step["targets"]["round"] / step["targets"]["of"]
    planned = sum(chosen[l.name]["weights"] * (1.0 - chosen[l.name]["sparsity"]) ** frac
                  for l in layers)
    # The nearest whole count, except in the last round, which rounds down: the final model must
    # not keep one weight more than --compression allows.
    last = step["targets"]["round"] == step["targets"]["of"]
    planned = int(math.floor(planned) if last else round(planned))
    floor = state.factors.get(step["phase"], 0.0)
    c = round_factor([l.weight for l in layers], [l.mask for l in layers],
                     [chosen[l.name]["quality"] for l in layers],
                     [l.pruning_record.std_before for l in layers], planned, floor)
    if not np.isfinite(c):
        raise ConfigError("the sensitivity scan left too few prunable weights for the target "
                         "compression; lower --compression")
    state.factors[step["phase"]] = c
    # A layer with q = 0 is not pruned at all (its scan tolerated nothing).
    return {l.name: c * chosen[l.name]["quality"] for l in layers if chosen[l.name]["quality"] > 0}


def prune_step(cfg, model, step, state, i, x_val, y_val, log, val_error_fn=val_error):
    """Prune one round: apply the targets, adjust dropout (sec. 3.2), optionally re-initialise."""
    kinds = PHASE_KINDS[step["phase"]]
    if cfg.method == "sensitivity":
        method, targets = "std", _sensitivity_targets(cfg, model, step, state)
    else:
        method, targets = cfg.method, step["targets"]
    target = targets["all"] if method == "global" else targets
    kept = prune_model(model, method, target, kinds=kinds, seed=step_seed(cfg.seed, i)) \
        if targets else {}
    rates = adjust_dropout(model, enabled=cfg.adjust_dropout)
    if cfg.reinit:
        reinitialize_survivors(model, step_seed(cfg.seed, i), kinds=kinds)
    error = val_error_fn(model, x_val, y_val, state)
    state.rounds.append({"phase": step["phase"], "round": step["round"], "method": method,
                           "targets": targets, "kept": kept, "dropout": rates,
                           "val_error_after_prune": error, "val_error_after_retrain": None})
    what = "q" if method == "std" else "target"
    log(f"[{i + 1}] prune {step['phase']} round {step['round']}: "
        + ", ".join((f"{n} {what} {targets[n]:.3f} " if n in targets else f"{n} ")
                    + f"kept {100 * k:.1f}%" for n, k in kept.items())
        + ("" if error is None else f"; validation error before retraining {100 * error:.2f}%"))

"""The three-step pipeline of Han et al. 2015 (sec. 2): train dense -> prune -> retrain, iterated.

A run is a flat list of *steps*, planned up front from the config:

    train                                   dense training
    prune  (phase p, round r)               apply round r's targets to phase p's layer kinds
    retrain(phase p, round r)               retrain the survivors, other kinds frozen (sec. 3.3)

After every epoch and every prune the whole run state (model with masks, optimiser state, step and
epoch counters, history so far) is written atomically to ``run_dir/checkpoint.npz``. A resumed run
loads it and continues: every epoch's randomness depends only on (seed, step, epoch) (see
``minnet.train.fit``), so a run killed at any moment and resumed ends with bit-identical weights,
masks and report. Wall times are kept apart, under "timing", because they can never be identical.

Training knows nothing about pruning: the pipeline hooks in through a ``fit`` callback and through
the layers' masks.
"""

import json
import sys
import time
from pathlib import Path

import numpy as np

from minnet.atomic import atomic_savez, atomic_write_json
from minnet.errors import CheckpointError
from minnet.optim import SGD, ConstantLR, CosineLR, InvLR
from minnet.pruning.dropout import adjust_dropout
from minnet.pruning.prune import (prune_model, reinitialize_survivors, restore_trainable,
                                  select_layers, set_trainable_kinds)
from minnet.pruning.schedule import (check_schedule, geometric_sparsity_schedule,
                                     linear_quality_schedule)
from minnet.train import Callback, evaluate, fit

CHECKPOINT = "checkpoint.npz"
PHASE_KINDS = {"fc": ("fc",), "conv": ("conv",), "all": ("fc", "conv")}


def make_optimizer(lr, policy, momentum, regularization, strength, total_iterations=None):
    """SGD with momentum and either L2 (weight_decay = strength) or L1 (l1 = strength) (sec. 3.1).

    policy "inv" is Caffe's LeNet schedule lr * (1 + 1e-4 t)^-0.75; "constant" keeps lr;
    "cosine" anneals lr to 0 over ``total_iterations`` (:class:`minnet.optim.CosineLR`).
    """
    if policy == "inv":
        schedule = InvLR(lr)
    elif policy == "constant":
        schedule = ConstantLR(lr)
    elif policy == "cosine":
        if total_iterations is None:
            raise ValueError("make_optimizer: policy 'cosine' needs total_iterations")
        schedule = CosineLR(lr, total_iterations)
    else:
        raise ValueError(f"lr policy must be 'inv', 'constant' or 'cosine', got {policy!r}")
    if regularization not in ("l1", "l2"):
        raise ValueError(f"regularization must be 'l1' or 'l2', got {regularization!r}")
    return SGD(schedule, momentum=momentum,
               weight_decay=strength if regularization == "l2" else 0.0,
               l1=strength if regularization == "l1" else 0.0)


def retrain(model, optimizer, x, y, *, epochs, kinds=("fc", "conv"), **fit_kwargs):
    """Retrain the surviving connections of the layers of the given ``kinds``; freeze the rest.

    Starts from the current (surviving) weights: nothing is re-initialised (paper sec. 3.3). Pruned
    weights stay exactly 0.0 because backward zeroes their gradients and the optimiser pins them and
    their momentum at zero. Other arguments go to :func:`minnet.train.fit`; returns its history.
    """
    before = set_trainable_kinds(model, kinds)
    try:
        return fit(model, optimizer, x, y, epochs=epochs, **fit_kwargs)
    finally:
        restore_trainable(model, before)


def round_targets(cfg, model, phase):
    """The per-round targets for one phase: a list (one entry per round) of {layer: target}.

    From ``cfg.schedule``: an explicit list (numbers apply to every layer of the phase; tables name
    layers), "geometric" (sparsity: equal factors on the kept fraction) or "linear" (quality). The
    phase's layers are those of its kinds named in ``cfg.targets`` (all of them for "global").
    """
    kinds = PHASE_KINDS[phase]
    names = [l.name for l in select_layers(model, kinds)]
    if cfg.method == "global":
        final = cfg.targets.get("all")
        if final is None and isinstance(cfg.schedule, str):
            raise ValueError("global pruning needs targets = {all = <sparsity>} or an explicit schedule")
    else:
        final = {n: cfg.targets[n] for n in names if n in cfg.targets}
    if isinstance(cfg.schedule, list):
        rounds = check_schedule(cfg.schedule, cfg.method)
        if cfg.method == "global":
            return [{"all": float(r)} for r in rounds]
        return [{n: float(r[n]) for n in names if n in r} if isinstance(r, dict)
                else {n: float(r) for n in names} for r in rounds]
    if cfg.method == "global":
        return [{"all": s} for s in geometric_sparsity_schedule(float(final), cfg.rounds)]
    if not final:
        return []
    if cfg.schedule == "linear" or cfg.method == "std":
        if cfg.method != "std":
            raise ValueError("the 'linear' schedule is for quality parameters (method 'std')")
        return linear_quality_schedule(final, cfg.rounds)
    return geometric_sparsity_schedule(final, cfg.rounds)


def plan_steps(cfg, model):
    """The run as a list of steps: {"step": "train"} then, per phase and round, prune and retrain,
    then (if ``cfg.finetune_epochs``) one {"step": "finetune", "phase": "all"}.

    Why a fine-tuning step: with the paper's phases (FC retrained with conv frozen, then conv with
    FC frozen) the FC layers never see the final conv layers, and each round's retraining is short.
    A last retraining of all surviving weights together, at the final sparsity, lets them co-adapt.
    """
    steps = [{"step": "train"}]
    for phase in cfg.phases:
        for r, targets in enumerate(round_targets(cfg, model, phase), start=1):
            steps.append({"step": "prune", "phase": phase, "round": r, "targets": targets})
            steps.append({"step": "retrain", "phase": phase, "round": r})
    if cfg.finetune_epochs and len(steps) > 1:
        steps.append({"step": "finetune", "phase": "all"})
    return steps


def step_seed(seed, step_index):
    """The ``fit`` seed of one step, derived from (run seed, step index) only."""
    return int(np.random.SeedSequence([int(seed), int(step_index)]).generate_state(1)[0])


# -- checkpoints ----------------------------------------------------------------------------------
def save_checkpoint(run_dir, model, optimizer, meta):
    """Write model (weights, masks, layer state), optimiser state and ``meta`` to one .npz atomically.

    One file, not three: a kill between writes could otherwise pair a new model with an old counter.
    """
    arrays = {f"model/{k}": v for k, v in model.to_arrays().items()}
    if optimizer is not None:
        arrays.update({f"optim/{k}": v for k, v in optimizer.state_dict().items()})
    arrays["meta"] = np.array(json.dumps(meta))
    atomic_savez(Path(run_dir) / CHECKPOINT, arrays)


def load_checkpoint(run_dir):
    """Read what ``save_checkpoint`` wrote: (model arrays, optimiser state or None, meta dict)."""
    path = Path(run_dir) / CHECKPOINT
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        meta = json.loads(str(arrays.pop("meta")))
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no checkpoint to resume from") from None
    except (ValueError, OSError, KeyError, EOFError) as e:
        raise CheckpointError(f"{path}: damaged checkpoint ({e})") from e
    model_arrays = {k[len("model/"):]: v for k, v in arrays.items() if k.startswith("model/")}
    optim = {k[len("optim/"):]: v for k, v in arrays.items() if k.startswith("optim/")}
    return model_arrays, (optim or None), meta


class _EpochCheckpoint(Callback):
    """Checkpoint the run at the end of every epoch and record the epoch's wall time apart."""

    def __init__(self, run_dir, meta, step_index, log=None):
        self.run_dir, self.meta, self.step_index, self.log = run_dir, meta, step_index, log

    def on_epoch_end(self, epoch, logs):
        if self.log is not None:     # fit prints its own line when its progress bar is on
            test = "" if logs["test_acc"] is None else f", test error {100 * (1 - logs['test_acc']):.2f}%"
            self.log(f"    epoch {epoch + 1}: loss {logs['loss']:.4f}{test} ({logs['seconds']:.1f} s)")
        self.meta["epoch"] = epoch + 1
        self.meta["timing"]["epoch_seconds"].append(round(logs["seconds"], 3))
        save_checkpoint(self.run_dir, self.model, self.optimizer, self.meta)


_HISTORY_KEYS = ("epoch", "loss", "train_acc", "test_loss", "test_acc", "lr")


def run_pipeline(cfg, model_builder, data, run_dir, *, resume=False, progress=None, log=None):
    """Run (or resume) train -> [prune -> retrain] x rounds x phases; return the final state dict.

    cfg: a :class:`minnet.config.RunConfig`; model_builder: seed -> fresh Sequential;
    data: ((x_train, y_train), (x_test, y_test)); run_dir: where checkpoint.npz, dense.npz and
    pruned.npz go. Returns meta: {"error_before", "error_after", "rounds": [per-round records],
    "history": [per-step fit histories], "timing": {...}} (and the model as meta["model"]).
    """
    log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    (x, y), (x_test, y_test) = data
    model = model_builder(cfg.seed)
    steps = plan_steps(cfg, model)
    optimizer_state = None
    if resume and (run_dir / CHECKPOINT).exists():
        model_arrays, optimizer_state, meta = load_checkpoint(run_dir)
        model.load_arrays(model_arrays, source=str(run_dir / CHECKPOINT))
        log(f"resuming at step {meta['step'] + 1}/{len(steps)}, epoch {meta['epoch']}")
    else:
        meta = {"step": 0, "epoch": 0, "history": [], "rounds": [], "error_before": None,
                "timing": {"epoch_seconds": [], "started": time.time()}}
    wall_start = time.perf_counter()

    while meta["step"] < len(steps):
        i, step = meta["step"], steps[meta["step"]]
        if step["step"] == "prune":
            _prune_step(cfg, model, step, meta, i, x_test, y_test, log)
            meta["step"], meta["epoch"] = i + 1, 0
            save_checkpoint(run_dir, model, None, meta)
            continue
        training = step["step"] == "train"
        if training and cfg.dense_model:
            # Start from a model trained earlier (e.g. by `python -m minnet train`): same weights,
            # so several pruning recipes can share one dense training.
            model.load_weights(cfg.dense_model)
            log(f"[{i + 1}/{len(steps)}] dense model loaded from {cfg.dense_model}")
            meta["error_before"] = evaluate(model, x_test, y_test)["error"]
            model.save(run_dir / "dense.npz")
            meta["step"], meta["epoch"] = i + 1, 0
            save_checkpoint(run_dir, model, None, meta)
            continue
        finetune = step["step"] == "finetune"
        epochs = cfg.epochs if training else cfg.finetune_epochs if finetune else cfg.retrain_epochs
        iterations = epochs * ((len(x) + cfg.batch_size - 1) // cfg.batch_size)   # for "cosine"
        optimizer = (make_optimizer(cfg.lr, cfg.lr_policy, cfg.momentum, cfg.regularization,
                                    cfg.reg_strength, iterations) if training else
                     make_optimizer(cfg.effective_retrain_lr(), cfg.retrain_lr_policy, cfg.momentum,
                                    cfg.retrain_regularization, cfg.retrain_reg_strength, iterations))
        if optimizer_state is not None and meta["epoch"] > 0:
            optimizer.load_state_dict(optimizer_state)
        optimizer_state = None
        entry = next((h for h in meta["history"] if h["index"] == i), None)
        if entry is None:
            entry = {"index": i, "step": step["step"], "phase": step.get("phase"),
                     "round": step.get("round"), **{k: [] for k in _HISTORY_KEYS}}
            meta["history"].append(entry)
        # The same lists: fit appends to them, so the checkpointed meta always holds the history.
        history = {k: entry[k] for k in _HISTORY_KEYS}
        label = ("dense training" if training else "fine-tune all layers" if finetune else
                 f"retrain {step['phase']} round {step['round']}")
        log(f"[{i + 1}/{len(steps)}] {label}: {epochs} epochs")
        bar = sys.stderr.isatty() if progress is None else progress
        callback = _EpochCheckpoint(run_dir, meta, i, log=None if bar else log)
        fit_kwargs = dict(epochs=epochs, batch_size=cfg.batch_size, seed=step_seed(cfg.seed, i),
                          x_test=x_test, y_test=y_test, callbacks=[callback], progress=progress,
                          history=history, start_epoch=meta["epoch"])
        if training:
            fit(model, optimizer, x, y, **fit_kwargs)
        else:
            retrain(model, optimizer, x, y, kinds=PHASE_KINDS[step["phase"]], **fit_kwargs)
        if history["test_acc"]:
            log(f"    test error {100 * (1 - history['test_acc'][-1]):.2f}%")
        if training:
            meta["error_before"] = evaluate(model, x_test, y_test)["error"]
            model.save(run_dir / "dense.npz")
        elif finetune:
            meta["error_after_finetune"] = evaluate(model, x_test, y_test)["error"]
        elif meta["rounds"]:
            meta["rounds"][-1]["error_after_retrain"] = evaluate(model, x_test, y_test)["error"]
        meta["step"], meta["epoch"] = i + 1, 0
        save_checkpoint(run_dir, model, None, meta)

    meta["error_after"] = evaluate(model, x_test, y_test)["error"]
    meta["timing"]["this_session_seconds"] = round(time.perf_counter() - wall_start, 3)
    model.save(run_dir / "pruned.npz")
    meta["model"] = model
    return meta


def _prune_step(cfg, model, step, meta, i, x_test, y_test, log):
    """Prune one round: apply the targets, adjust dropout (sec. 3.2), optionally re-initialise."""
    kinds = PHASE_KINDS[step["phase"]]
    targets = step["targets"]
    target = targets["all"] if cfg.method == "global" else targets
    kept = prune_model(model, cfg.method, target, kinds=kinds)
    rates = adjust_dropout(model, enabled=cfg.adjust_dropout)
    if cfg.reinit:
        reinitialize_survivors(model, step_seed(cfg.seed, i), kinds=kinds)
    error = evaluate(model, x_test, y_test)["error"]
    meta["rounds"].append({"phase": step["phase"], "round": step["round"], "targets": targets,
                           "kept": kept, "dropout": rates, "error_after_prune": error,
                           "error_after_retrain": None})
    log(f"[{i + 1}] prune {step['phase']} round {step['round']}: kept "
        + ", ".join(f"{n} {100 * k:.1f}%" for n, k in kept.items())
        + f"; error before retraining {100 * error:.2f}%")


def save_run_json(path, obj):
    """Write a JSON file atomically (report.json, config.json, history.json)."""
    atomic_write_json(path, obj)

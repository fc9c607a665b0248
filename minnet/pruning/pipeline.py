"""The three-step pipeline of Han et al. 2015 (sec. 2): train dense -> prune -> retrain, iterated.

A run is a flat list of *steps*, planned up front from the config:

    train                                   dense training
    scan                                    (method "sensitivity") each layer alone on the
                                            validation split -> its quality parameter (Fig. 6)
    prune  (phase p, round r)               apply round r's targets to phase p's layer kinds
    retrain(phase p, round r)               retrain the survivors, other kinds frozen (sec. 3.3)

After every epoch and every prune the whole run state (model with masks, optimiser state, step and
epoch counters, history so far) is written atomically to ``run_dir/checkpoint.npz``. A resumed run
loads it and continues: every epoch's randomness depends only on (seed, step, epoch) (see
``minnet.train.fit``), so a run killed at any moment and resumed ends with bit-identical weights,
masks and report. Wall times are kept apart, under "timing", because they can never be identical.

Validation decides, test reports: the per-epoch line, the scan and every round's error use the
validation split (held-out training images); the test set is read twice, for the dense and the
final error that report.json publishes.

Training knows nothing about pruning: the pipeline hooks in through a ``fit`` callback and through
the layers' masks.
"""

import sys
import time
from dataclasses import dataclass, field, fields
from pathlib import Path

from minnet.atomic import atomic_write_json
from minnet.errors import CheckpointError, ConfigError
from minnet.io import CHECKPOINT, load_checkpoint, save_checkpoint
from minnet.optim import make_optimizer  # noqa: F401  (re-exported: minnet.pruning.make_optimizer)
from minnet.pruning.prune import restore_trainable, select_layers, set_trainable_kinds
from minnet.pruning.schedule import (check_schedule, geometric_sparsity_schedule,
                                     linear_quality_schedule)
# format_scan and step_seed are re-exported: they lived here before steps.py took them.
from minnet.pruning.steps import (PHASE_KINDS, add_seconds, format_scan, prune_step,  # noqa: F401
                                  scan_step, step_seed)
from minnet.pruning.steps import val_error as _timed_val_error
from minnet.torch_names import load_weights_file
from minnet.train import Callback, PrefixCache, Resume, evaluate, fit


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
    if cfg.method == "sensitivity":    # the thresholds come from the scan, at prune time
        return [{"round": r, "of": cfg.rounds} for r in range(1, cfg.rounds + 1)]
    if cfg.method == "global":
        final = cfg.targets.get("all")
        if final is None and isinstance(cfg.schedule, str):
            raise ConfigError("global pruning needs targets = {all = <sparsity>} or an explicit schedule")
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
            raise ConfigError("the 'linear' schedule is for quality parameters (method 'std')")
        return linear_quality_schedule(final, cfg.rounds)
    return geometric_sparsity_schedule(final, cfg.rounds)


def check_targets(cfg, model):
    """Refuse, before any training, targets that name no prunable layer of the model."""
    names = [l.name for l in model.prunable_layers()]
    tables = [e for e in cfg.schedule if isinstance(e, dict)] if isinstance(cfg.schedule, list) else []
    unknown = sorted((set(cfg.targets) | {n for t in tables for n in t}) - set(names) - {"all"})
    if unknown:
        raise ConfigError(f"targets or schedule tables name layers this {cfg.model} model lacks: "
                          f"{unknown}; its prunable layers are {names}")


def describe_targets(cfg, model):
    """One line saying which layers the run prunes to which target, and which it leaves alone."""
    if cfg.method == "sensitivity" or not cfg.phases:
        return None
    kinds = {k for phase in cfg.phases for k in PHASE_KINDS[phase]}
    names = [l.name for l in select_layers(model, tuple(sorted(kinds)))]
    if "all" in cfg.targets:
        return f"targets ({cfg.method}): all {cfg.targets['all']:g} across {', '.join(names)}"
    given = [f"{n} {cfg.targets[n]:g}" for n in names if n in cfg.targets]
    left = [n for n in names if n not in cfg.targets]
    line = f"targets ({cfg.method}): " + ", ".join(given)
    if left:
        line += (f"; not pruned: {', '.join(left)} (no target given; add --target LAYER=VALUE "
                 "to prune them too)")
    return line


def plan_steps(cfg, model):
    """The run as a list of steps: {"step": "train"} then, per phase and round, prune and retrain,
    then (if ``cfg.finetune_epochs``) one {"step": "finetune", "phase": "all"}.

    Why a fine-tuning step: with the paper's phases (FC retrained with conv frozen, then conv with
    FC frozen) the FC layers never see the final conv layers, and each round's retraining is short.
    A last retraining of all surviving weights together, at the final sparsity, lets them co-adapt.
    """
    _check_phases_fit(cfg, model)
    steps = [{"step": "train"}]
    if cfg.method == "sensitivity" and cfg.phases:
        steps.append({"step": "scan"})
    for phase in cfg.phases:
        for r, targets in enumerate(round_targets(cfg, model, phase), start=1):
            steps.append({"step": "prune", "phase": phase, "round": r, "targets": targets})
            steps.append({"step": "retrain", "phase": phase, "round": r})
    if cfg.finetune_epochs and any(st["step"] == "prune" for st in steps):
        steps.append({"step": "finetune", "phase": "all"})
    return steps


def _check_phases_fit(cfg, model):
    """ConfigError, before any training, for a phase that would find no layer to prune (e.g.
    LeNet-5's recipe, whose phases prune conv layers, run on LeNet-300-100)."""
    prunable = [layer for layer in model.prunable_layers() if layer.prunable]
    kinds = {layer.kind for layer in prunable}
    for phase in cfg.phases:
        if not kinds & set(PHASE_KINDS[phase]):
            raise ConfigError(
                f"the run's phases {cfg.phases} include {phase!r}, but model {cfg.model} has no "
                f"prunable {phase} layer (its prunable layers: {[l.name for l in prunable]}); "
                f"give --phases {','.join(sorted(kinds)) or 'fc'}, or the recipe written for this "
                f"model")


class _EpochCheckpoint(Callback):
    """Checkpoint the run at the end of every epoch and record the epoch's wall time apart (under
    ``kind``, e.g. "dense_epochs", its validation under "evaluation", the checkpoint's write under
    "checkpoints")."""

    def __init__(self, run_dir, state, step_index, log=None, kind="epochs"):
        self.run_dir, self.state, self.step_index, self.log = run_dir, state, step_index, log
        self.kind = kind

    def on_epoch_end(self, epoch, logs):
        if self.log is not None:     # fit prints its own line when its progress bar is on
            val = "" if logs["val_acc"] is None else f", validation error {100 * (1 - logs['val_acc']):.2f}%"
            self.log(f"    epoch {epoch + 1}: loss {logs['loss']:.4f}{val} ({logs['seconds']:.1f} s)")
        self.state.epoch = epoch + 1
        self.state.timing["epoch_seconds"].append(round(logs["seconds"], 3))
        val_seconds = logs.get("val_seconds", 0.0)
        add_seconds(self.state, self.kind, logs["seconds"] - val_seconds)
        add_seconds(self.state, "evaluation", val_seconds)
        start = time.perf_counter()
        save_checkpoint(self.run_dir, self.model, self.optimizer, self.state.to_json())
        add_seconds(self.state, "checkpoints", time.perf_counter() - start)


_HISTORY_KEYS = ("epoch", "loss", "train_acc", "val_loss", "val_acc", "lr")


@dataclass
class RunState:
    """Where a run is and what it has measured: all of it goes into checkpoint.npz (as JSON), so a
    resumed run continues exactly; the report is built from it.

    step, epoch:      the next step of ``plan_steps`` to run, and the epoch inside it
    history:          one fit history per training step (with its step index, kind, phase, round)
    rounds:           one record per prune round: targets, kept fractions, dropout rates, errors
    sensitivity:      method "sensitivity": the scan, the tolerance, each layer's q and sparsity
    factors:          method "sensitivity": the last shared factor c_r of each phase
    error_before/after, val_error_before/after(_finetune): test (reported) and validation errors
    timing:           wall times, kept apart because they are never identical between runs
    """

    step: int = 0
    epoch: int = 0
    history: list = field(default_factory=list)
    rounds: list = field(default_factory=list)
    sensitivity: dict | None = None
    factors: dict = field(default_factory=dict)
    error_before: float | None = None
    error_after: float | None = None
    val_error_before: float | None = None
    val_error_after: float | None = None
    val_error_after_finetune: float | None = None
    timing: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        """Plain data for the checkpoint (the same lists, not copies)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_json(cls, data, source="checkpoint"):
        """The state a checkpoint holds; unknown or missing keys mean another minnet wrote it."""
        known = {f.name for f in fields(cls)}
        if not isinstance(data, dict) or set(data) - known:
            raise CheckpointError(f"{source}: its run state has keys this minnet does not know "
                                  f"({sorted(set(data) - known) if isinstance(data, dict) else data!r})")
        return cls(**data)


def _test_error(cfg, model, x_test, y_test, state):
    """Test error for the report, or None when the run must not read the test set."""
    if not cfg.read_test:
        return None
    start = time.perf_counter()
    error = evaluate(model, x_test, y_test)["error"]
    add_seconds(state, "evaluation", time.perf_counter() - start)
    return error


def val_error(model, x_val, y_val, state):
    """Validation error (None without a validation split), through this module's ``evaluate``,
    so that every pass the pipeline itself makes over data goes through one name."""
    return _timed_val_error(model, x_val, y_val, state, evaluate_fn=evaluate)


def _last_val_error(entry, model, x_val, y_val, state):
    """The validation error after a training step: its last epoch measured it already (the same
    model, data and :func:`evaluate`, so the same number); evaluated only if it did not."""
    if entry["val_acc"] and entry["val_acc"][-1] is not None:
        return 1.0 - entry["val_acc"][-1]
    return val_error(model, x_val, y_val, state)


def run_pipeline(cfg, model_builder, data, run_dir, *, resume=False, progress=None, log=None,
                 scan_jobs=1):
    """Run (or resume) train -> [scan] -> [prune -> retrain] x rounds x phases.

    cfg: a :class:`minnet.config.RunConfig`; model_builder: seed -> fresh Sequential;
    data: ((x_train, y_train), (x_val, y_val), (x_test, y_test)), the validation split possibly
    empty; run_dir: where checkpoint.npz, dense.npz and pruned.npz go.
    Returns (model, state): the pruned model and the :class:`RunState` (errors, scan, rounds,
    histories, timing) that report.json is built from. scan_jobs: joblib jobs for the sensitivity
    scan (one per layer; -1 inside :func:`minnet.parallel.sweep_backend` uses a Dask cluster);
    the scan's rows, and so the run, are the same whatever its value.
    """
    log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    (x, y), (x_val, y_val), (x_test, y_test) = data
    has_val = len(x_val) > 0
    model = model_builder(cfg.seed)
    check_targets(cfg, model)
    if not resume and describe_targets(cfg, model):
        log(describe_targets(cfg, model))
    steps = plan_steps(cfg, model)
    optimizer_state = None
    if resume and (run_dir / CHECKPOINT).exists():
        model_arrays, optimizer_state, saved = load_checkpoint(run_dir)
        state = RunState.from_json(saved, source=str(run_dir / CHECKPOINT))
        model.load_arrays(model_arrays, source=str(run_dir / CHECKPOINT))
        log(f"resuming at step {state.step + 1}/{len(steps)}, epoch {state.epoch}")
    else:
        state = RunState(timing={"epoch_seconds": [], "started": time.time()})
    wall_start = time.perf_counter()
    # The frozen conv layers' output, computed once per FC phase (paper sec. 3.3; see PrefixCache).
    prefix_cache = PrefixCache()
    last_val = None            # the validation error of the model as it is now, if known

    while state.step < len(steps):
        i, step = state.step, steps[state.step]
        if step["step"] in ("prune", "scan"):
            start, evaluating = time.perf_counter(), state.timing.get("seconds", {}).get("evaluation", 0)
            if step["step"] == "scan":
                scan_step(cfg, model, state, i, len(steps), x_val, y_val, log, scan_jobs)
            else:
                prune_step(cfg, model, step, state, i, x_val, y_val, log, val_error)
            evaluating = state.timing["seconds"].get("evaluation", 0) - evaluating \
                if "seconds" in state.timing else 0
            add_seconds(state, step["step"], time.perf_counter() - start - evaluating)
            last_val = None
            state.step, state.epoch = i + 1, 0
            save_checkpoint(run_dir, model, None, state.to_json())
            continue
        training = step["step"] == "train"
        if training and cfg.dense_model:
            # Start from a model trained earlier (e.g. by `python -m minnet train`): same weights,
            # so several pruning recipes can share one dense training (or a PyTorch .safetensors).
            load_weights_file(model, cfg.dense_model)
            log(f"[{i + 1}/{len(steps)}] dense model loaded from {cfg.dense_model}")
            state.error_before = _test_error(cfg, model, x_test, y_test, state)
            state.val_error_before = last_val = val_error(model, x_val, y_val, state)
            model.save(run_dir / "dense.npz")
            state.step, state.epoch = i + 1, 0
            save_checkpoint(run_dir, model, None, state.to_json())
            continue
        finetune = step["step"] == "finetune"
        epochs = cfg.epochs if training else cfg.finetune_epochs if finetune else cfg.retrain_epochs
        iterations = epochs * ((len(x) + cfg.batch_size - 1) // cfg.batch_size)   # for "cosine"
        optimizer = (make_optimizer(cfg.lr, cfg.lr_policy, cfg.momentum, cfg.regularization,
                                    cfg.reg_strength, iterations) if training else
                     make_optimizer(cfg.effective_retrain_lr(), cfg.retrain_lr_policy, cfg.momentum,
                                    cfg.retrain_regularization, cfg.retrain_reg_strength, iterations))
        if optimizer_state is not None and state.epoch > 0:
            optimizer.load_state_dict(optimizer_state, model, source=str(run_dir / CHECKPOINT))
        optimizer_state = None
        entry = next((h for h in state.history if h["index"] == i), None)
        if entry is None:
            entry = {"index": i, "step": step["step"], "phase": step.get("phase"),
                     "round": step.get("round"), **{k: [] for k in _HISTORY_KEYS}}
            state.history.append(entry)
        # The same lists: fit appends to them, so the checkpointed state always holds the history.
        history = {k: entry[k] for k in _HISTORY_KEYS}
        label = ("dense training" if training else "fine-tune all layers" if finetune else
                 f"retrain {step['phase']} round {step['round']}")
        log(f"[{i + 1}/{len(steps)}] {label}: {epochs} epochs")
        bar = sys.stderr.isatty() if progress is None else progress
        kind = "dense_epochs" if training else "retrain_epochs"
        callback = _EpochCheckpoint(run_dir, state, i, log=None if bar else log, kind=kind)
        fit_kwargs = dict(epochs=epochs, batch_size=cfg.batch_size, seed=step_seed(cfg.seed, i),
                          validation=(x_val, y_val) if has_val else None, progress=progress,
                          callbacks=[Resume(history, state.epoch), callback])
        start, before = time.perf_counter(), dict(state.timing.get("seconds", {}))
        if training:
            fit(model, optimizer, x, y, **fit_kwargs)
        else:
            retrain(model, optimizer, x, y, kinds=PHASE_KINDS[step["phase"]],
                    prefix_cache=None if finetune else prefix_cache, **fit_kwargs)
        # What fit spent outside its epochs (e.g. computing a PrefixCache) counts as training.
        after = state.timing.get("seconds", {})
        inside = sum(after.get(k, 0) - before.get(k, 0) for k in (kind, "evaluation", "checkpoints"))
        add_seconds(state, kind, time.perf_counter() - start - inside)
        last_val = _last_val_error(entry, model, x_val, y_val, state) if has_val else None
        if training:
            state.error_before = _test_error(cfg, model, x_test, y_test, state)   # reported, not used
            state.val_error_before = last_val
            model.save(run_dir / "dense.npz")
        elif finetune:
            state.val_error_after_finetune = last_val
        elif state.rounds:
            state.rounds[-1]["val_error_after_retrain"] = last_val
        state.step, state.epoch = i + 1, 0
        save_checkpoint(run_dir, model, None, state.to_json())

    prefix_cache.clear()
    state.error_after = _test_error(cfg, model, x_test, y_test, state)
    state.val_error_after = last_val if last_val is not None else val_error(model, x_val, y_val, state)
    state.timing["this_session_seconds"] = round(time.perf_counter() - wall_start, 3)
    model.save(run_dir / "pruned.npz")
    return model, state


def save_run_json(path, obj):
    """Write a JSON file atomically (report.json, config.json, history.json)."""
    atomic_write_json(path, obj)

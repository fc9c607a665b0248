"""``python -m minnet train|prune``: resolve the settings, run the pipeline, write the run folder.

Settings are layered: the recipe (minnet.recipes: --recipe, else the model's own) < --config TOML <
--quick < flags. A run folder gets config.json (the settings and the command, written at the start),
checkpoint.npz (after every epoch and prune round), dense.npz, pruned.npz (prune) or model.npz
(train), history.json (and the same as history.csv, for pandas or a spreadsheet) and report.json.
"""

import csv
import io
import json
import shlex
import sys
from pathlib import Path

import numpy as np

from minnet.atomic import atomic_write_text
from minnet.config import (
    config_from_dict,
    load_config_file,
)
from minnet.errors import ConfigError, DivergenceError
from minnet.model import Sequential
from minnet.parallel import jobs_for, sweep_backend
from minnet.pruning.pipeline import CHECKPOINT, run_pipeline, save_run_json
from minnet.recipes import default_recipe_name, quick_overrides, recipe_changes
from minnet.report import build_report, format_report
from minnet.run_inputs import build_model, load_data
from minnet.run_lock import RunLock, clear_run_outputs
from minnet.threads import default_blas_threads

_SPLIT_KEYS = ("seed", "val_size", "train_limit", "data")


def check_dense_model_split(cfg):
    """Refuse --dense-model from a run whose training set overlaps this run's validation split.

    The split is a function of (data, train_limit, val_size, seed). If the dense model's folder
    holds a minnet config.json, those four must match: otherwise the model was trained on images
    this run would then use to choose thresholds, and validation would flatter it. A model from
    elsewhere (no config.json) is taken as it is, with a warning.
    """
    if not cfg.dense_model:
        return
    saved = Path(cfg.dense_model).parent / "config.json"
    if not saved.is_file():
        print(f"warning: {cfg.dense_model} has no config.json beside it, so minnet cannot check "
              "that it never trained on this run's validation split", file=sys.stderr)
        return
    try:
        other = json.loads(saved.read_text())["config"]
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise ConfigError(f"{saved}: not a minnet run config ({e})") from None
    for key in _SPLIT_KEYS:
        if other.get(key) != getattr(cfg, key):
            raise ConfigError(f"--dense-model {cfg.dense_model} was trained with {key} = "
                              f"{other.get(key)!r}, this run has {getattr(cfg, key)!r}: its training "
                              f"images would overlap this run's validation split; pass --{key.replace('_', '-')} "
                              f"{other.get(key)} (the split depends on seed, val_size, train_limit, data)")


_NOT_CONFIG = ("command", "config", "out", "resume", "overwrite", "quick", "no_progress", "seeds",
               "n_jobs", "dask_scheduler", "use_exercises")


def resolve_config(args):
    """Layer the settings: recipe < --config < --quick < flags; validated.

    The recipe is --recipe, else the config file's "recipe", else the one named after the model.
    """
    file_values = load_config_file(args.config) if args.config else {}
    model = args.model or file_values.get("model")
    name = args.recipe or file_values.get("recipe") or default_recipe_name(model or "lenet300")
    if not isinstance(name, str):
        raise ConfigError(f"config key 'recipe': expected a recipe name, got {name!r}")
    values = recipe_changes(name)
    if model is not None:
        values["model"] = model
    values.update(file_values)
    if args.quick:
        values.update(quick_overrides(values.get("model", "lenet300")))
    for key, value in vars(args).items():
        if key in _NOT_CONFIG or value is None:
            continue
        if key == "targets":
            value = dict(value)
        elif key == "hidden":
            try:
                value = [int(v) for v in value.split(",") if v.strip()]
            except ValueError:
                raise ConfigError(f"--hidden: expected comma-separated integers, got {value!r}") from None
        elif key == "phases":
            value = [v.strip() for v in value.split(",") if v.strip()]
        elif key == "schedule" and value not in ("geometric", "linear"):
            try:
                value = [float(v) for v in value.split(",")]
            except ValueError:
                raise ConfigError(f"--schedule: expected geometric, linear or numbers, got {value!r}")
        values[key] = value
    if args.command == "train":
        values["phases"] = []
    elif isinstance(values.get("schedule"), list):
        # An explicit schedule says how many rounds there are; a --rounds that disagrees is refused.
        if getattr(args, "rounds", None) is None and "rounds" not in file_values:
            values["rounds"] = len(values["schedule"])
    model = values.get("model", "lenet300")
    for flag, given, only in (("--hidden", args.hidden, "mlp"), ("--conv-relu", args.conv_relu, "lenet5")):
        if given is not None and model != only:     # it would be ignored: the model has no such part
            raise ConfigError(f"{flag} is for --model {only}; model {model} ignores it (drop {flag})")
    if file_values:
        # The file must be valid as written, even where --quick or a flag overrides one of its values.
        config_from_dict({**values, **file_values})
    return config_from_dict(values)


HISTORY_COLUMNS = ("step_index", "step", "phase", "round", "epoch", "loss", "train_acc", "val_loss",
                   "val_acc", "lr")


def history_csv(history):
    """The run's per-epoch history as CSV text: one row per epoch of every training step."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HISTORY_COLUMNS)
    for entry in history:
        for i in range(len(entry["epoch"])):
            writer.writerow([entry["index"], entry["step"], entry["phase"], entry["round"]]
                            + [entry[k][i] for k in HISTORY_COLUMNS[4:]])
    return buffer.getvalue()


def run_command(args, argv):
    """Run ``train`` or ``prune`` from parsed arguments; print the report. Returns 0.

    The run folder is locked for the run's lifetime (:class:`minnet.run_lock.RunLock`), so a second
    run on the same --out is refused instead of mixing its files with the first one's.
    """
    if args.resume:
        return resume_command(args)
    cfg = resolve_config(args)
    command = "python -m minnet " + " ".join(shlex.quote(a) for a in argv)
    out = Path(args.out or f"runs/{args.command}-{cfg.model}-seed{cfg.seed}")
    with RunLock(out):
        if (out / CHECKPOINT).exists() and not (args.resume or args.overwrite):
            raise ConfigError(f"{out} already holds a run; pass --resume to continue it, "
                              "--overwrite to start afresh, or another --out")
        if args.overwrite:
            clear_run_outputs(out)        # nothing of the old run survives beside the new one
        save_run_json(out / "config.json", {"command": command, "config": cfg.to_dict(),
                                            **_exercise_record(args),
                                            "blas_threads": default_blas_threads(cfg.batch_size)})
        return _run_locked(args, cfg, command, out)


# Settings that may change when a run resumes: the learning rates (the advice after a divergence).
RESUME_CHANGEABLE = ("lr", "retrain_lr")


def resume_command(args):
    """``--resume``: continue the run in --out with the settings its config.json holds.

    A flag that disagrees with the saved settings is refused, naming it, except the learning rates
    (RESUME_CHANGEABLE), which are applied and recorded in config.json under "resume_changes". A
    folder without a checkpoint, or a finished run, is said so.
    """
    if not args.out:
        raise ConfigError("--resume needs --out, the folder of the run to continue")
    for flag, given in (("--overwrite", args.overwrite), ("--config", args.config)):
        if given:      # a resumed run keeps the settings and files it has: these would be ignored
            raise ConfigError(f"{flag} cannot be combined with --resume: a resumed run keeps its "
                              f"own settings and files; drop {flag}, or start a new run without --resume")
    out = Path(args.out)
    if not (out / "config.json").is_file():
        raise ConfigError(f"{out} holds no run (no config.json); start one without --resume")
    with RunLock(out):
        try:
            saved = json.loads((out / "config.json").read_text())
            cfg, command = config_from_dict(saved["config"]), saved["command"]
        except (json.JSONDecodeError, KeyError, TypeError, ConfigError) as e:
            raise ConfigError(f"{out / 'config.json'}: not a minnet run config ({e})") from None
        was = shlex.split(command)[3:4]          # "python -m minnet prune ...": the subcommand
        if was and was[0] in ("train", "prune") and was[0] != args.command:
            # `train --resume` would rename a prune run's dense.npz and delete its pruned.npz
            raise ConfigError(f"the run in {out} is a `{was[0]}` run; resume it with "
                              f"python -m minnet {was[0]} --out {out} --resume")
        check_same_exercises(saved, args, out)
        changes = {}
        for key, value in vars(args).items():
            if key in _NOT_CONFIG or value is None or key == "command":
                continue
            flag = "--" + key.replace("_", "-")
            if key in RESUME_CHANGEABLE:
                changes[key] = value
            elif key in ("targets", "hidden", "phases", "schedule") or value != getattr(cfg, key):
                raise ConfigError(f"{flag} {value} conflicts with the run in {out} "
                                  f"({key} = {getattr(cfg, key)!r}); a resumed run keeps its settings: "
                                  f"drop the flag, or start a new run with another --out")
        if (out / "report.json").is_file():
            if changes:
                raise ConfigError(f"{out}: this run has finished, so {changes} would change no "
                                  "epoch; start a new run (another --out) to train with it")
            print(f"{out}: this run has finished; nothing to resume (its report is report.json)")
            return 0
        if not (out / CHECKPOINT).is_file():
            raise ConfigError(f"{out} has no checkpoint to resume from; start the run again without "
                              "--resume (add --overwrite to clear the folder)")
        for stale in out.glob("*.tmp"):     # half-written files of the killed run: never read
            stale.unlink()
        warn_if_threads_differ(saved, cfg, out)
        if changes:
            cfg = config_from_dict(changes, base=cfg)
            saved.setdefault("resume_changes", []).append(changes)
            saved["config"] = cfg.to_dict()
            save_run_json(out / "config.json", saved)
            print(f"resuming with {changes} (recorded in config.json)", file=sys.stderr)
        return _run_locked(args, cfg, command, out)


def warn_if_threads_differ(saved, cfg, out):
    """Warn when the BLAS thread count that training uses differs from the one the run started
    with (MINNET_BLAS_THREADS or the number of cores changed): a product split over another number
    of threads rounds differently, so the resumed run is no longer bit-identical to an
    uninterrupted one (it is still a correct run)."""
    was, now = saved.get("blas_threads"), default_blas_threads(cfg.batch_size)
    if was is not None and was != now:
        print(f"warning: the run in {out} trained with {was} BLAS thread(s), this resume uses {now} "
              f"(MINNET_BLAS_THREADS or the cores differ); its results will not be bit-identical to "
              f"an uninterrupted run. Set MINNET_BLAS_THREADS={was} to match.", file=sys.stderr)


def _exercise_record(args):
    """{"use_exercises": absolute folder} for config.json when the run uses a student's code."""
    folder = getattr(args, "use_exercises", None)
    return {"use_exercises": str(Path(folder).resolve())} if folder else {}


def check_same_exercises(saved, args, out):
    """Refuse to resume a run with other code than it started with: its masks and weights so far
    came from the student's functions in config.json's "use_exercises" (or from the engine's)."""
    was, now = saved.get("use_exercises"), _exercise_record(args).get("use_exercises")
    if was == now:
        return
    if was is None:
        raise ConfigError(f"the run in {out} used minnet's own functions; resume it without "
                          "--use-exercises, or start a new run with another --out")
    raise ConfigError(f"the run in {out} was made with --use-exercises {was}; resume it with "
                      f"that same --use-exercises {was}" + (f" (not {now})" if now else ""))


def _run_locked(args, cfg, command, out):
    """The run itself, inside the folder's lock; with --use-exercises, inside the student's
    functions (:func:`minnet.exercises.use.use_exercises`: checked first, then swapped in)."""
    if not getattr(args, "use_exercises", None):
        return _run(args, cfg, command, out, None)
    from minnet.exercises.use import use_exercises        # the classroom switch, only when asked
    with use_exercises(args.use_exercises) as session:
        return _run(args, cfg, command, out, session)


def _after_divergence(command, cfg, out):
    """What to do after a divergence: resume from the checkpoint if there is one, else start again."""
    lower = f"--lr {cfg.lr / 10:g}" + (f" or --retrain-lr {cfg.retrain_lr / 10:g}"
                                       if command == "prune" else "")
    if (out / CHECKPOINT).exists():
        return (f"The last checkpoint, {out / CHECKPOINT}, is intact (saved before the bad epoch): "
                f"python -m minnet {command} --out {out} --resume {lower}")
    return (f"Nothing was checkpointed yet (the first epoch diverged): start again with "
            f"--overwrite and a lower learning rate ({lower})")


def _run(args, cfg, command, out, session):
    """Data, pipeline, report; ``session`` (or None) adds the student's CSR check to the report."""
    check_dense_model_split(cfg)
    data, split = load_data(cfg)
    progress = False if args.no_progress else None
    # The scan's rows do not depend on where they run, so --dask-scheduler is not part of the config.
    try:
        # A diverging run is caught and named below; numpy's overflow warnings on the way are noise.
        with sweep_backend(args.dask_scheduler), np.errstate(over="ignore", invalid="ignore"):
            model, state = run_pipeline(cfg, build_model(cfg, data), data, out, resume=args.resume,
                                        progress=progress, scan_jobs=jobs_for(1, args.dask_scheduler))
    except DivergenceError as e:
        raise DivergenceError(f"{e}. {_after_divergence(args.command, cfg, out)}") from None
    except ConfigError as e:
        if not (out / "dense.npz").exists():
            raise
        # A target that only fails once the model is trained: keep the training, say how to reuse it.
        raise ConfigError(f"{e}. The trained dense model is kept: prune it again with "
                          f"--dense-model {out / 'dense.npz'} --out ANOTHER_FOLDER") from None
    save_run_json(out / "history.json", state.history)
    atomic_write_text(out / "history.csv", history_csv(state.history))
    # Activations (Act%) are measured on held-out training images: the test set only gives errors.
    sample = (data[1][0] if len(data[1][0]) else data[0][0])[:1000]
    if args.command == "train":
        if (out / "dense.npz").exists():     # else a killed run already renamed it
            (out / "dense.npz").replace(out / "model.npz")
        (out / "pruned.npz").unlink(missing_ok=True)
        dense = model
    else:
        dense = Sequential.load(out / "dense.npz")
    report = build_report(command=command, cfg=cfg, dense_model=dense, model=model, state=state,
                          split=split, sample=sample)
    if session is not None:
        if len(data[1][0]):
            session.evaluate_sparse(model, *data[1])
        report["use_exercises"] = session.summary()
    save_run_json(out / "report.json", report)
    print(format_report(report))
    for line in session.format_summary() if session is not None else ():
        print(line)
    print(f"run folder: {out}")
    return 0

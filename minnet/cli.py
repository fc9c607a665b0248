"""Command line: ``python -m minnet train|prune --model lenet300|lenet5 [options]``.

    python -m minnet prune --model lenet300               # the paper's method: thresholds from
                                                          # sensitivity on a validation split
    python -m minnet prune --model lenet5 --quick         # same pipeline, data slice, < 1 minute
    python -m minnet prune --model mlp --hidden 500,150   # a network nobody tuned a recipe for
    python -m minnet prune --recipe lenet300-paper-ratios # the paper's per-layer ratios instead
    python -m minnet prune --model lenet300 --config run.toml --seed 3 --out runs/x
    python -m minnet prune --out runs/x --resume          # continue a killed run, bit-identically
    python -m minnet train --model lenet300               # dense training only

Settings are layered: the recipe (minnet.recipes: --recipe, else the model's own) < --config TOML <
--quick < flags. A run folder gets config.json (the settings and the command, written at the start),
checkpoint.npz (after every epoch and prune round), dense.npz, pruned.npz (prune) or model.npz
(train), history.json and report.json.
"""

import argparse
import json
import shlex
import sys
from pathlib import Path

from minnet.config import LR_POLICIES, METHODS, MODELS, REGULARIZATIONS, config_from_dict, load_config_file
from minnet.errors import CheckpointError, ConfigError, DataError
from minnet.model import Sequential
from minnet.recipes import RECIPES, default_recipe_name, quick_overrides, recipe_changes
from minnet.run_inputs import build_model, load_data
from minnet.pruning.pipeline import CHECKPOINT, run_pipeline, save_run_json
from minnet.report import build_report, format_report
from minnet.report_html import add_report_parser


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


def _parse_target(text):
    name, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"--target expects LAYER=VALUE, got {text!r}")
    try:
        return name.strip(), float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--target {text!r}: {value!r} is not a number") from None


def make_parser():
    """The argparse parser of ``python -m minnet``."""
    parser = argparse.ArgumentParser(prog="python -m minnet", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (("train", "train a dense model"), ("prune", "train, then prune + retrain")):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--model", choices=MODELS)
        p.add_argument("--recipe", choices=RECIPES,
                       help="start from this named recipe (minnet/recipes.py); default: the model's")
        p.add_argument("--config", help="TOML file with RunConfig keys")
        p.add_argument("--seed", type=int)
        p.add_argument("--data", help="folder with an IDX dataset (MNIST's file names)")
        p.add_argument("--val-size", dest="val_size", type=int,
                       help="training images held out for every decision (default 5000)")
        p.add_argument("--no-test", dest="read_test", action="store_false", default=None,
                       help="never evaluate on the test set: for runs that compare recipes, "
                       "which must be decided on validation error")
        p.add_argument("--hidden", help="model mlp: hidden layer sizes, e.g. 500,150")
        p.add_argument("--conv-relu", dest="conv_relu", action=argparse.BooleanOptionalAction,
                       help="model lenet5: ReLU after conv1 and conv2")
        if name == "prune":
            p.add_argument("--dense-model", dest="dense_model",
                           help="prune this trained model (.npz, e.g. from `train`) instead of training")
        p.add_argument("--out", help="run folder (default runs/<command>-<model>-seed<seed>)")
        p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.npz")
        p.add_argument("--overwrite", action="store_true", help="start afresh in an existing run folder")
        p.add_argument("--quick", action="store_true", help="data slice and few epochs (smoke test)")
        p.add_argument("--no-progress", action="store_true", help="no progress bars")
        p.add_argument("--epochs", type=int)
        p.add_argument("--batch-size", dest="batch_size", type=int)
        p.add_argument("--lr", type=float)
        p.add_argument("--lr-policy", dest="lr_policy", choices=LR_POLICIES)
        p.add_argument("--momentum", type=float)
        p.add_argument("--regularization", choices=REGULARIZATIONS)
        p.add_argument("--reg-strength", dest="reg_strength", type=float)
        p.add_argument("--dropout", type=float)
        p.add_argument("--train-limit", dest="train_limit", type=int)
        p.add_argument("--test-limit", dest="test_limit", type=int)
        if name == "prune":
            p.add_argument("--method", choices=METHODS,
                           help="sensitivity (default: each layer's threshold from its own scan on "
                           "the validation split), or explicit --target values for std, sparsity, "
                           "global, probabilistic")
            p.add_argument("--compression", type=float,
                           help="method sensitivity: target compression of the whole model "
                           "(default 12)")
            p.add_argument("--target", dest="targets", action="append", type=_parse_target,
                           metavar="LAYER=VALUE", help="final sparsity (or quality) of a layer; "
                           "repeat per layer; 'all=VALUE' for --method global")
            p.add_argument("--rounds", type=int)
            p.add_argument("--schedule", help="geometric, linear, or comma-separated per-round targets")
            p.add_argument("--phases", help="comma-separated: fc, conv, all (e.g. fc,conv)")
            p.add_argument("--retrain-epochs", dest="retrain_epochs", type=int)
            p.add_argument("--retrain-lr", dest="retrain_lr", type=float)
            p.add_argument("--retrain-lr-policy", dest="retrain_lr_policy",
                           choices=LR_POLICIES)
            p.add_argument("--retrain-regularization", dest="retrain_regularization",
                           choices=REGULARIZATIONS)
            p.add_argument("--retrain-reg-strength", dest="retrain_reg_strength", type=float)
            p.add_argument("--finetune-epochs", dest="finetune_epochs", type=int,
                           help="after the last round, retrain all layers together this many epochs")
            p.add_argument("--no-adjust-dropout", dest="adjust_dropout", action="store_false",
                           default=None)
            p.add_argument("--reinit", action="store_true", default=None,
                           help="re-initialise the survivors after pruning (sec. 3.3 ablation)")
    add_report_parser(sub)            # `report RUN_DIR`: figures + HTML page (minnet.report_html)
    return parser


_NOT_CONFIG = ("command", "config", "out", "resume", "overwrite", "quick", "no_progress")


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
    return config_from_dict(values)


def main(argv=None):
    """Entry point; returns the process exit code (0 success, 2 bad input)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = make_parser().parse_args(argv)
    try:
        return args.handler(args) if args.command == "report" else _run(args, argv)
    except (ConfigError, DataError, CheckpointError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


def _run(args, argv):
    if args.resume and args.out and (Path(args.out) / "config.json").exists():
        saved = json.loads((Path(args.out) / "config.json").read_text())
        cfg, command = config_from_dict(saved["config"]), saved["command"]
        out = Path(args.out)
    else:
        cfg = resolve_config(args)
        command = "python -m minnet " + " ".join(shlex.quote(a) for a in argv)
        out = Path(args.out or f"runs/{args.command}-{cfg.model}-seed{cfg.seed}")
        if (out / CHECKPOINT).exists() and not (args.resume or args.overwrite):
            raise ConfigError(f"{out} already holds a run; pass --resume to continue it, "
                              "--overwrite to start afresh, or another --out")
        if args.overwrite and (out / CHECKPOINT).exists():
            (out / CHECKPOINT).unlink()
        save_run_json(out / "config.json", {"command": command, "config": cfg.to_dict()})
    check_dense_model_split(cfg)
    data, split = load_data(cfg)
    progress = False if args.no_progress else None
    model, state = run_pipeline(cfg, build_model(cfg, data), data, out, resume=args.resume,
                                progress=progress)
    save_run_json(out / "history.json", state.history)
    # Activations (Act%) are measured on held-out training images: the test set only gives errors.
    sample = (data[1][0] if len(data[1][0]) else data[0][0])[:1000]
    if args.command == "train":
        (out / "dense.npz").replace(out / "model.npz")
        (out / "pruned.npz").unlink(missing_ok=True)
        dense = model
    else:
        dense = Sequential.load(out / "dense.npz")
    report = build_report(command=command, cfg=cfg, dense_model=dense, model=model, state=state,
                          split=split, sample=sample)
    save_run_json(out / "report.json", report)
    print(format_report(report))
    print(f"run folder: {out}")
    return 0

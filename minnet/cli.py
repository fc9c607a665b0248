"""Command line: ``python -m minnet train|prune --model lenet300|lenet5 [options]``.

    python -m minnet prune --model lenet300               # the paper's pipeline, paper defaults
    python -m minnet prune --model lenet5 --quick         # same pipeline, data slice, < 1 minute
    python -m minnet prune --model lenet300 --config run.toml --seed 3 --out runs/x
    python -m minnet prune --out runs/x --resume          # continue a killed run, bit-identically
    python -m minnet train --model lenet300               # dense training only

Settings are layered: RunConfig defaults < the model's paper defaults < --config TOML < --quick <
flags. A run folder gets config.json (the settings and the command, written at the start),
checkpoint.npz (after every epoch and prune round), dense.npz, pruned.npz (prune) or model.npz
(train), history.json and report.json.
"""

import argparse
import json
import shlex
import sys
from pathlib import Path

from minnet.config import config_from_dict, load_config_file
from minnet.errors import CheckpointError, ConfigError, DataError
from minnet.model import Sequential
from minnet.pruning.paper import QUICK_OVERRIDES, paper_defaults
from minnet.pruning.pipeline import CHECKPOINT, run_pipeline, save_run_json
from minnet.report import build_report, format_report
from minnet.report_html import add_report_parser


def build_model(cfg):
    """The network named by cfg.model, initialised from ``seed`` (a function seed -> Sequential)."""
    from minnet import models  # at call time: lenet5 lives in models.py next to lenet_300_100
    if cfg.model == "lenet300":
        return lambda seed: models.lenet_300_100(seed=seed, dropout=cfg.dropout)
    if not hasattr(models, "lenet5"):
        raise ConfigError("model 'lenet5' is not available in minnet.models yet")
    return lambda seed: models.lenet5(seed=seed, dropout=cfg.dropout)


def load_data(cfg):
    """MNIST (or the IDX dataset in cfg.data), cut to cfg.train_limit / cfg.test_limit examples."""
    from minnet.data import load_idx_dataset, load_mnist
    (x, y), (xt, yt) = load_mnist() if cfg.data is None else load_idx_dataset(cfg.data)
    if cfg.train_limit:
        x, y = x[:cfg.train_limit], y[:cfg.train_limit]
    if cfg.test_limit:
        xt, yt = xt[:cfg.test_limit], yt[:cfg.test_limit]
    if cfg.model == "lenet300":
        x, xt = x.reshape(len(x), -1), xt.reshape(len(xt), -1)
    return (x, y), (xt, yt)


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
        p.add_argument("--model", choices=("lenet300", "lenet5"))
        p.add_argument("--config", help="TOML file with RunConfig keys")
        p.add_argument("--seed", type=int)
        p.add_argument("--data", help="folder with an IDX dataset (MNIST's file names)")
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
        p.add_argument("--lr-policy", dest="lr_policy", choices=("inv", "constant", "cosine"))
        p.add_argument("--momentum", type=float)
        p.add_argument("--regularization", choices=("l1", "l2"))
        p.add_argument("--reg-strength", dest="reg_strength", type=float)
        p.add_argument("--dropout", type=float)
        p.add_argument("--train-limit", dest="train_limit", type=int)
        p.add_argument("--test-limit", dest="test_limit", type=int)
        if name == "prune":
            p.add_argument("--method", choices=("std", "sparsity", "global"))
            p.add_argument("--target", dest="targets", action="append", type=_parse_target,
                           metavar="LAYER=VALUE", help="final sparsity (or quality) of a layer; "
                           "repeat per layer; 'all=VALUE' for --method global")
            p.add_argument("--rounds", type=int)
            p.add_argument("--schedule", help="geometric, linear, or comma-separated per-round targets")
            p.add_argument("--phases", help="comma-separated: fc, conv, all (e.g. fc,conv)")
            p.add_argument("--retrain-epochs", dest="retrain_epochs", type=int)
            p.add_argument("--retrain-lr", dest="retrain_lr", type=float)
            p.add_argument("--retrain-lr-policy", dest="retrain_lr_policy",
                           choices=("inv", "constant", "cosine"))
            p.add_argument("--retrain-regularization", dest="retrain_regularization",
                           choices=("l1", "l2"))
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
    """Layer the settings: defaults < paper defaults < --config < --quick < flags; validated."""
    file_values = load_config_file(args.config) if args.config else {}
    model = args.model or file_values.get("model") or "lenet300"
    values = {"model": model, **paper_defaults(model)} if isinstance(model, str) and \
        model in ("lenet300", "lenet5") else {"model": model}
    values.update(file_values)
    if args.quick:
        values.update(QUICK_OVERRIDES.get(model, QUICK_OVERRIDES["lenet300"]))
    for key, value in vars(args).items():
        if key in _NOT_CONFIG or value is None:
            continue
        if key == "targets":
            value = dict(value)
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
    data = load_data(cfg)
    progress = False if args.no_progress else None
    meta = run_pipeline(cfg, build_model(cfg), data, out, resume=args.resume, progress=progress)
    model = meta.pop("model")
    save_run_json(out / "history.json", meta["history"])
    sample = data[1][0][:1000]
    if args.command == "train":
        (out / "dense.npz").replace(out / "model.npz")
        (out / "pruned.npz").unlink(missing_ok=True)
        dense = model
    else:
        dense = Sequential.load(out / "dense.npz")
    report = build_report(command=command, cfg=cfg, dense_model=dense, model=model, meta=meta,
                          sample=sample)
    save_run_json(out / "report.json", report)
    print(format_report(report))
    print(f"run folder: {out}")
    return 0

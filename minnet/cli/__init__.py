"""Command line: ``python -m minnet train|prune --model lenet300|lenet5 [options]``.

    python -m minnet prune --model lenet300               # the paper's method: thresholds from
                                                          # sensitivity on a validation split
    python -m minnet prune --model lenet5 --quick         # same pipeline, data slice, < 1 minute
    python -m minnet prune --model mlp --hidden 500,150   # a network nobody tuned a recipe for
    python -m minnet prune --recipe lenet300-paper-ratios # the paper's per-layer ratios instead
    python -m minnet prune --model lenet300 --config run.toml --seed 3 --out runs/x
    python -m minnet prune --out runs/x --resume          # continue a killed run, bit-identically
    python -m minnet train --model lenet300               # dense training only

One module per subcommand: :mod:`minnet.cli.run` (train, prune), :mod:`minnet.cli.sweep` (the same
with --seeds) and :mod:`minnet.cli.report`.
"""

import argparse
import os
import sys

from minnet.cli import export, report, sweep
from minnet.cli.run import resolve_config, run_command
from minnet.config import LR_POLICIES, METHODS, MODELS, REGULARIZATIONS
from minnet.errors import ConfigError, MinnetError
from minnet.recipes import RECIPES

__all__ = ["main", "make_parser", "resolve_config"]


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
    parser = argparse.ArgumentParser(
        prog="python -m minnet",
        description="Train a network, prune it the way Han et al. (2015) did, and report the result. "
                    "Example: python -m minnet prune --model lenet300")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (("train", "train a dense model"), ("prune", "train, then prune + retrain")):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--model", choices=MODELS)
        p.add_argument("--recipe", choices=RECIPES,
                       help="start from this named recipe (minnet/recipes.py); default: the model's")
        p.add_argument("--config", help="TOML file with RunConfig keys")
        p.add_argument("--seed", type=int)
        p.add_argument("--seeds", help="run once per seed, e.g. 0,1,2 or 0-4: one folder OUT/seedS "
                       "each and OUT/summary.json (median, min, max)")
        p.add_argument("--n-jobs", dest="n_jobs", type=int, default=1,
                       help="with --seeds: runs at a time (joblib; default 1)")
        p.add_argument("--dask-scheduler", dest="dask_scheduler", metavar="ADDRESS",
                       help="run the seeds of --seeds and the sensitivity scan on this Dask "
                       "scheduler's workers, e.g. tcp://host:8786 (pip install -e \".[cluster]\")")
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
                           help="prune this trained model (.npz, e.g. from `train`, or a PyTorch "
                           "state_dict as .safetensors: docs/pytorch.md) instead of training")
        p.add_argument("--out", help="run folder (default runs/<command>-<model>-seed<seed>)")
        p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.npz")
        p.add_argument("--overwrite", action="store_true", help="start afresh in an existing run folder")
        p.add_argument("--quick", action="store_true", help="data slice and few epochs (smoke test)")
        p.add_argument("--no-progress", action="store_true", help="no progress bars")
        p.add_argument("--use-exercises", dest="use_exercises", metavar="FOLDER",
                       help="run with your own prune_mask, masked_sgd_step and csr_matvec from "
                       "FOLDER (ex03, ex04, ex07), checked first; e.g. tutorials/exercises")
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
    report.add_parser(sub)            # `report RUN_DIR`: figures + HTML page
    export.add_parser(sub)            # `export RUN_DIR`: PyTorch-named .safetensors
    return parser


def main(argv=None):
    """Entry point; returns the process exit code: 0 success, 2 a mistake or a failed file
    operation (one line on stderr, no traceback), 130 interrupted (Ctrl-C).

    MINNET_DEBUG=1 in the environment shows the full traceback instead, for developers.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    args = make_parser().parse_args(argv)
    try:
        if args.command == "report":
            return report.run(args)
        if args.command == "export":
            return export.run(args)
        if args.seeds is not None:
            if args.seed is not None:
                raise ConfigError("give --seed or --seeds, not both")
            return sweep.sweep_command(args, argv)
        return run_command(args, argv)
    except KeyboardInterrupt:
        if args.command in ("report", "export"):
            print("interrupted", file=sys.stderr)
        else:
            out = args.out or f"runs/{args.command}-<model>-seed<seed>"
            print(f"interrupted; resume with: python -m minnet {args.command} --out {out} --resume",
                  file=sys.stderr)
        return 130
    except (MinnetError, OSError, ValueError) as e:
        if os.environ.get("MINNET_DEBUG"):
            raise
        print(f"error: {e}", file=sys.stderr)
        return 2



"""The options of ``train`` and ``prune``, in groups, each with plain help and its default.

Defaults are not argparse defaults: an option left out takes its value from the recipe (the
model's own, or ``--recipe``), then ``--config``. So each help line says what the recipes give,
read from :mod:`minnet.recipes` itself, which keeps the help true when a recipe changes.
"""

import argparse

from minnet.config import LR_POLICIES, METHODS, MODELS, REGULARIZATIONS
from minnet.recipes import RECIPES, recipe

RECIPE_MODELS = ("lenet300", "lenet5", "mlp")


def _show(value):
    if isinstance(value, list):
        return ",".join(str(v) for v in value) if value else "none"
    if isinstance(value, float):
        return f"{value:g}"
    return "none" if value is None else str(value)


def recipe_default(key):
    """'default 64' when every model's recipe agrees, else 'default: lenet300 30, lenet5 20, ...'."""
    values = {name: _show(getattr(recipe(name), key)) for name in RECIPE_MODELS}
    if len(set(values.values())) == 1:
        return f"default {next(iter(values.values()))}"
    return "default: " + ", ".join(f"{name} {value}" for name, value in values.items())


def _help(text, key):
    return f"{text} ({recipe_default(key)})" if text else recipe_default(key)


def parse_target(text):
    """'fc1=0.9' -> ("fc1", 0.9), for ``--target``; a malformed value is argparse's one-line error."""
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"--target expects LAYER=VALUE, got {text!r}")
    try:
        return name.strip(), float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--target {text!r}: {value!r} is not a number") from None


def add_run_options(p, command):
    """Add the options of ``train`` (command "train") or ``prune`` to the subparser ``p``."""
    run = p.add_argument_group("what to run")
    run.add_argument("--model", choices=MODELS, help="the network (default lenet300)")
    run.add_argument("--recipe", choices=RECIPES,
                     help="start from this named recipe in minnet/recipes.py (default: the model's "
                     "own recipe)")
    run.add_argument("--config", metavar="FILE.toml",
                     help="TOML file of settings (the option names with _ for -); options given "
                     "here override it (default: none)")
    run.add_argument("--seed", type=int, help="fixes every random choice (default 0)")
    run.add_argument("--quick", action="store_true",
                     help="a slice of the data and few epochs: a smoke test in under a minute, "
                     "whose numbers are not the paper's (default: the full run)")
    run.add_argument("--hidden", help="model mlp: hidden layer sizes (default 500,150)")
    run.add_argument("--conv-relu", dest="conv_relu", action=argparse.BooleanOptionalAction,
                     help=_help("model lenet5: ReLU after conv1 and conv2", "conv_relu"))
    if command == "prune":
        run.add_argument("--dense-model", dest="dense_model", metavar="FILE",
                         help="prune this trained model instead of training one: an .npz from "
                         "`train`, or a PyTorch state_dict as .safetensors (docs/pytorch.md; default: train "
                         "one)")
    run.add_argument("--use-exercises", dest="use_exercises", metavar="FOLDER",
                     help="run with your own prune_mask, masked_sgd_step and csr_matvec from "
                     "FOLDER (ex03, ex04, ex07), graded first; e.g. tutorials/exercises (default: minnet's "
                     "own)")

    folder = p.add_argument_group("run folder")
    folder.add_argument("--out", metavar="FOLDER",
                        help="where the run writes (default runs/<command>-<model>-seed<seed>)")
    folder.add_argument("--resume", action="store_true",
                        help="continue the run in --out from its last checkpoint (default: start a new run)")
    folder.add_argument("--overwrite", action="store_true",
                        help="delete the run in --out and start afresh (default: refuse to touch it)")
    folder.add_argument("--no-progress", action="store_true",
                        help="no progress bars (default: bars when the output is a terminal)")

    sweep = p.add_argument_group("several seeds, or a cluster")
    sweep.add_argument("--seeds", help="run once per seed, e.g. 0,1,2 or 0-4: one folder "
                       "OUT/seedS each, and OUT/summary.json with median, min and max (default: one run)")
    sweep.add_argument("--n-jobs", dest="n_jobs", type=int,
                       help="with --seeds: how many runs at a time (default 1)")
    sweep.add_argument("--dask-scheduler", dest="dask_scheduler", metavar="ADDRESS",
                       help="send the seeds of --seeds and the sensitivity scan to this Dask "
                       "scheduler, e.g. tcp://host:8786 (needs pip install -e \".[cluster]\"; "
                       "see docs/reliability.md; default: this machine)")

    data = p.add_argument_group("data")
    data.add_argument("--data", metavar="FOLDER",
                      help="an IDX dataset with MNIST's file names (default: MNIST in data/mnist)")
    data.add_argument("--val-size", dest="val_size", type=int,
                      help=_help("training images held out for every decision", "val_size"))
    data.add_argument("--no-test", dest="read_test", action="store_false", default=None,
                      help="never evaluate on the test set: for runs that compare recipes, which "
                      "must be decided on validation error (default: the test set is read twice, "
                      "for the reported dense and final errors)")
    data.add_argument("--train-limit", dest="train_limit", type=int,
                      help="use only the first N training images (default: all)")
    data.add_argument("--test-limit", dest="test_limit", type=int,
                      help="use only the first N test images (default: all)")

    train = p.add_argument_group("dense training")
    train.add_argument("--epochs", type=int, help=_help("", "epochs"))
    train.add_argument("--batch-size", dest="batch_size", type=int, help=_help("", "batch_size"))
    train.add_argument("--lr", type=float, help=_help("learning rate", "lr"))
    train.add_argument("--lr-policy", dest="lr_policy", choices=LR_POLICIES,
                       help=_help("inv is Caffe's LeNet schedule", "lr_policy"))
    train.add_argument("--momentum", type=float, help=_help("", "momentum"))
    train.add_argument("--regularization", choices=REGULARIZATIONS,
                       help=_help("paper sec. 3.1", "regularization"))
    train.add_argument("--reg-strength", dest="reg_strength", type=float,
                       help=_help("weight decay (l2) or l1 strength", "reg_strength"))
    train.add_argument("--dropout", type=float,
                       help=_help("dropout rate of the hidden fc layers", "dropout"))
    if command == "prune":
        _add_prune_options(p)


def _add_prune_options(p):
    prune = p.add_argument_group("pruning")
    prune.add_argument("--method", choices=METHODS,
                       help="sensitivity: each layer's threshold from its own scan on the "
                       "validation split, to reach --compression (the paper's method). The others "
                       "take --target values: std (quality q), sparsity, global, probabilistic "
                       "(default sensitivity)")
    prune.add_argument("--compression", type=float,
                       help=_help("method sensitivity: how many times smaller the whole model "
                                  "gets, biases counted", "compression"))
    prune.add_argument("--target", dest="targets", action="append", type=parse_target,
                       metavar="LAYER=VALUE",
                       help="final sparsity (or quality q for method std) of one layer; repeat per "
                       "layer; all=VALUE for method global (default: none)")
    prune.add_argument("--rounds", type=int, help=_help("prune -> retrain rounds per phase", "rounds"))
    prune.add_argument("--schedule",
                       help="geometric, linear, or comma-separated per-round targets (default "
                       "geometric)")
    prune.add_argument("--phases", help=_help("comma-separated layer kinds pruned in turn: fc, "
                                              "conv, all", "phases"))
    prune.add_argument("--no-adjust-dropout", dest="adjust_dropout", action="store_false",
                       default=None, help="keep the dropout rate after pruning (default: adjust "
                       "it, paper sec. 3.2)")
    prune.add_argument("--reinit", action="store_true", default=None,
                       help="re-initialise the survivors after pruning, the sec. 3.3 ablation "
                       "(default: keep them)")

    retrain = p.add_argument_group("retraining")
    retrain.add_argument("--retrain-epochs", dest="retrain_epochs", type=int,
                         help=_help("per round", "retrain_epochs"))
    retrain.add_argument("--retrain-lr", dest="retrain_lr", type=float,
                         help=_help("none means lr / 10, the paper's rule", "retrain_lr"))
    retrain.add_argument("--retrain-lr-policy", dest="retrain_lr_policy", choices=LR_POLICIES,
                         help=_help("", "retrain_lr_policy"))
    retrain.add_argument("--retrain-regularization", dest="retrain_regularization",
                         choices=REGULARIZATIONS, help=_help("", "retrain_regularization"))
    retrain.add_argument("--retrain-reg-strength", dest="retrain_reg_strength", type=float,
                         help=_help("", "retrain_reg_strength"))
    retrain.add_argument("--finetune-epochs", dest="finetune_epochs", type=int,
                         help=_help("after the last round, retrain all layers together",
                                    "finetune_epochs"))

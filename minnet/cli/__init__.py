"""Command line: ``python -m minnet train|prune --model lenet300|lenet5 [options]``.

    python -m minnet prune --model lenet300               # the paper's method: thresholds from
                                                          # sensitivity on a validation split
    python -m minnet prune --model lenet5 --quick         # same pipeline, data slice, < 1 minute
    python -m minnet prune --model mlp --hidden 500,150   # a network nobody tuned a recipe for
    python -m minnet prune --recipe lenet300-paper-ratios # the paper's per-layer ratios instead
    python -m minnet prune --model lenet300 --config run.toml --seed 3 --out runs/x
    python -m minnet prune --out runs/x --resume          # continue a killed run, bit-identically
    python -m minnet train --model lenet300               # dense training only

One module per subcommand: :mod:`minnet.cli.run` (train, prune; their options in
:mod:`minnet.cli.options`), :mod:`minnet.cli.sweep` (the same
with --seeds) and :mod:`minnet.cli.report`.
"""

import os
import sys

from minnet.cli import export, report, sweep
from minnet.cli.options import add_run_options
from minnet.cli.run import resolve_config, run_command
from minnet.cli_parser import ArgumentParser
from minnet.errors import ConfigError, MinnetError, WriteError

__all__ = ["main", "make_parser", "resolve_config"]


def make_parser():
    """The argparse parser of ``python -m minnet``."""
    parser = ArgumentParser(
        prog="python -m minnet",
        description="Train a network, prune it the way Han et al. (2015) did, and report the result. "
                    "Example: python -m minnet prune --model lenet300")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (("train", "train a dense model"),
                            ("prune", "train, then prune + retrain (the paper's method)")):
        add_run_options(sub.add_parser(name, help=help_text, description=help_text), name)
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
        if args.seeds is None and args.n_jobs is not None:
            raise ConfigError("--n-jobs runs several seeds at a time: it needs --seeds (e.g. "
                              "--seeds 0,1,2 --n-jobs 2)")
        if args.seeds is not None:
            if args.n_jobs == 0:
                raise ConfigError("--n-jobs must be >= 1 (or -1 for every core), got 0")
            args.n_jobs = 1 if args.n_jobs is None else args.n_jobs
            if args.seed is not None:
                raise ConfigError("give --seed or --seeds, not both")
            return sweep.sweep_command(args, argv)
        return run_command(args, argv)
    except KeyboardInterrupt:
        return _interrupted(args)
    except SystemError as e:
        # Ctrl-C landing inside a Numba kernel surfaces as a SystemError around the interrupt.
        if not isinstance(e.__cause__ or e.__context__, KeyboardInterrupt) or os.environ.get("MINNET_DEBUG"):
            raise
        return _interrupted(args)
    except (MinnetError, OSError, ValueError) as e:
        if os.environ.get("MINNET_DEBUG"):
            raise
        after = _after_failed_write(args, e.filename) if isinstance(e, WriteError) else ""
        print(f"error: {e}{after}", file=sys.stderr)
        return 2


def _after_failed_write(args, filename):
    """What to do once the disk has room again: resume the run whose file could not be written,
    if its folder holds a checkpoint (every checkpoint write is atomic, so the last one is whole)."""
    folder = os.path.dirname(filename or "")
    if args.command not in ("train", "prune") or not folder:
        return ""
    if os.path.exists(os.path.join(folder, "checkpoint.npz")):
        return (f"; once there is room, continue with: python -m minnet {args.command} --out "
                f"{folder} --resume")
    if os.path.exists(os.path.join(folder, "config.json")):
        return f"; once there is room, start again with --out {folder} --overwrite"
    return ""


def _interrupted(args):
    """Ctrl-C: say how to continue (resume only when a checkpoint exists) and return 130."""
    if args.command in ("report", "export"):
        print("interrupted", file=sys.stderr)
    elif args.out and args.seeds is None and not os.path.exists(os.path.join(args.out, "checkpoint.npz")):
        print(f"interrupted before the first checkpoint, so there is nothing to resume; start again "
              f"with: python -m minnet {args.command} ... --out {args.out} --overwrite", file=sys.stderr)
    else:
        out = args.out or f"runs/{args.command}-<model>-seed<seed>"
        print(f"interrupted; resume with: python -m minnet {args.command} --out {out} --resume",
              file=sys.stderr)
    return 130

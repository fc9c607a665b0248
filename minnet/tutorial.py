"""What every script in ``tutorials/`` shares: options, an MNIST slice, honest quick-mode notes.

Kept here, not copied into ten scripts, so each tutorial's lines are about its subject:

    tutorial_args      --quick / --out / --seed, also inside Jupyter or VS Code (no command line)
    mnist_slice        the first n training and test images
    BatchTimer         seconds per epoch without the JIT compilation of the first batches
    quick_caveat       a marked note when a --quick result contradicts the paper or the full mode
    verdict, noise_points   "A is better" only when the gap exceeds the test-set sampling noise
    print_questions    the "Questions for you" section of a tutorial's docstring, printed at the end

The tutorials are plain scripts with ``# %%`` cell markers, so they also open as notebooks
(VS Code, or Jupyter with jupytext). In a notebook there is no command line: tutorial_args then
reads the options from the environment variable MINNET_TUTORIAL_ARGS (default "--quick").
"""

import math
import os
import re
import shlex
import sys
import textwrap
import time
from pathlib import Path

import numpy as np

from minnet.cli_parser import ArgumentParser
from minnet.data import load_mnist
from minnet.train import Callback
from minnet.errors import ConfigError

NOTEBOOK_ARGS_ENV = "MINNET_TUTORIAL_ARGS"
_TUTORIALS_DIR = Path(__file__).resolve().parent.parent / "tutorials"


def _in_notebook():
    """True inside a Jupyter/IPython kernel (VS Code's interactive window included): sys.argv is
    then the kernel's own command line, which argparse must not read."""
    return "ipykernel" in sys.modules or Path(sys.argv[0] if sys.argv else "").name == "ipykernel_launcher.py"


def tutorial_args(doc, quick_help, out_help="figures", seed=True, extra=(), script_file=None):
    """Parse a tutorial's options and create its output folder.

    Options: ``--quick`` (a data slice and few epochs, for CI: < 60 s), ``--out`` (default
    ``tutorials/output/NN``, NN = the tutorial's number; git-ignored) and, when ``seed`` is True,
    ``--seed`` (default 0); ``extra``: more options as (names, kwargs) pairs for ``add_argument``.
    ``doc``'s first line is the description; it names the tutorial ("Tutorial 03: ..."), which is
    how NN is found when there is no script file (a notebook). script_file: default the calling
    script's ``__file__``. Run as a script, options come from the command line; in a notebook from
    $MINNET_TUTORIAL_ARGS (default "--quick").
    Returns the argparse namespace, with ``out`` a Path that exists.
    """
    if script_file is None:
        script_file = sys._getframe(1).f_globals.get("__file__")   # the tutorial that called us
    title = (doc or "").split("\n")[0]
    if script_file is not None and re.match(r"\d\d_", Path(script_file).name):
        script = Path(script_file).resolve()
        number, folder = script.name[:2], script.parent
    else:
        found = re.search(r"Tutorial (\d\d)", title)
        number, folder = (found.group(1) if found else "00"), _TUTORIALS_DIR
    parser = ArgumentParser(description=title)
    parser.add_argument("--quick", action="store_true", help=quick_help)
    parser.add_argument("--out", type=Path, default=folder / "output" / number,
                        help=f"folder for the {out_help} (default: tutorials/output/{number}, git-ignored)")
    if seed:
        parser.add_argument("--seed", type=int, default=0)
    for names, kwargs in extra:
        parser.add_argument(*names, **kwargs)
    if _in_notebook():
        argv = shlex.split(os.environ.get(NOTEBOOK_ARGS_ENV, "--quick"))
        print(f"(notebook: options {argv}; set {NOTEBOOK_ARGS_ENV} before starting the kernel to change)")
        args = parser.parse_args(argv)
    else:
        args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    return args


def mnist_slice(n_train, n_test, flatten=False):
    """The first ``n_train`` training and ``n_test`` test images of MNIST (checksums verified).

    Returns (x, y), (x_test, y_test): images (n, 1, 28, 28) float32, or (n, 784) with
    ``flatten=True`` (LeNet-300-100 reads an image as one vector); labels (n,) int64.
    """
    (x, y), (x_test, y_test) = load_mnist()
    x, x_test = x[:n_train], x_test[:n_test]
    if flatten:
        x, x_test = x.reshape(len(x), -1), x_test.reshape(len(x_test), -1)
    return (x, y[:n_train]), (x_test, y_test[:n_test])


class BatchTimer(Callback):
    """A :func:`minnet.fit` callback timing every mini-batch, for estimates that leave out JIT.

    The first batches of a fresh process compile Numba kernels and wake the BLAS threads: with a
    cold cache batch 0 alone can take seconds, so "the first epoch x 60" over-estimates a long
    run many times (tutorial 07 once printed 3.4 h for a 17-minute run). The median batch time is
    the steady-state cost; ``epoch_seconds(n)`` scales it to an epoch of n images.
    """

    def __init__(self):
        self.seconds = []
        self._last = None

    def on_epoch_begin(self, epoch, logs):
        """Start the clock (the shuffling before batch 0 is counted in batch 0, as in fit)."""
        self._last = time.perf_counter()

    def on_batch_end(self, epoch, batch, logs):
        """Record this batch's seconds: forward, backward and the optimiser step."""
        now = time.perf_counter()
        self.seconds.append(now - self._last)
        self._last = now

    def batch_seconds(self):
        """Median seconds per batch, leaving out the first 3 (compilation, thread start-up)."""
        steady = self.seconds[3:] or self.seconds
        if not steady:
            raise ConfigError("BatchTimer: no batch was timed (pass it to fit(callbacks=[...]))")
        return float(np.median(steady))

    def epoch_seconds(self, n_images, batch_size=64):
        """Estimated seconds of one training epoch on ``n_images`` (no evaluation included)."""
        return self.batch_seconds() * math.ceil(n_images / batch_size)


def quick_caveat(quick, contradicts, message, full_mode):
    """Print a marked note when a ``--quick`` result contradicts the paper or the full mode.

    quick: the tutorial's ``args.quick``; contradicts: True when this run's result goes against
    what the paper and the full mode show; message: what this run showed, one sentence;
    full_mode: the full mode's measured result, a phrase with its numbers (each tutorial keeps
    them in a FULL_MODE constant, copied from its docstring and README's table of tutorials).
    Nothing is printed in the full mode (its numbers are the reference) or when they agree.
    Returns True when the note was printed.
    """
    if not (quick and contradicts):
        return False
    text = (f"QUICK MODE -- do not conclude from this: {message} A --quick run trains on a data "
            f"slice for a few epochs, so small or undertrained effects can come out reversed. "
            f"The full mode (seed 0) measured: {full_mode}.")
    lines = textwrap.wrap(text, 96, break_on_hyphens=False)
    print("\n".join("  !! " + line for line in lines))
    return True


def noise_points(error_a, error_b, n):
    """Two standard errors, in points, of the difference of two error rates measured on n images.

    sd(e_a - e_b) ~ sqrt(e_a (1 - e_a) / n + e_b (1 - e_b) / n) (binomial sampling, each
    image counted once). This is the test-set part of the noise only: another seed moves a result
    further, so a gap below it cannot be called a win.
    """
    var = error_a * (1 - error_a) / n + error_b * (1 - error_b) / n
    return 200.0 * math.sqrt(max(var, 0.0))


def verdict(name_a, error_a, name_b, error_b, n):
    """Which of two error rates measured on the same n images is better, if either.

    Returns (winner, text): winner is ``name_a``, ``name_b`` or None when the gap is within
    :func:`noise_points` (then text says "within noise" and gives the noise); text e.g.
    "iterative is better by 4.60 points (noise +-2.58)".
    """
    gap, noise = 100.0 * (error_b - error_a), noise_points(error_a, error_b, n)
    if abs(gap) <= noise:
        return None, f"within noise ({gap:+.2f} points; the noise on {n:,} images is +-{noise:.2f})"
    winner = name_a if gap > 0 else name_b
    return winner, f"{winner} is better by {abs(gap):.2f} points (noise +-{noise:.2f})"


def print_questions(doc):
    """Print the "Questions for you" section of a tutorial's docstring (its last section).

    The answers are not in the repository's students' copy: teachers/tutorial_answers.md.
    Returns the questions as a list of strings, one per numbered question.
    """
    _, _, section = (doc or "").partition("Questions for you")
    body = textwrap.dedent(section.split("\n", 1)[1] if "\n" in section else "").strip()
    questions = [q.strip() for q in re.split(r"\n(?=\d+\. )", body) if q.strip()]
    print("\n== Questions for you ==")
    for q in questions:
        print(textwrap.fill(" ".join(q.split()), 100, subsequent_indent="   "))
    return questions

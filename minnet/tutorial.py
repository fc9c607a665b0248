"""What every script in ``tutorials/`` starts with: its command-line options and an MNIST slice.

Kept here, not copied into nine scripts, so each tutorial's first lines are about its subject.
"""

import argparse
from pathlib import Path

from minnet.data import load_mnist


def tutorial_args(script_file, doc, quick_help, out_help="figures", seed=True, extra=()):
    """Parse a tutorial's options and create its output folder.

    Options: ``--quick`` (a data slice and few epochs, for CI: < 60 s), ``--out`` (default
    ``tutorials/output/NN`` next to the script, NN = the script's number; git-ignored) and, when
    ``seed`` is True, ``--seed`` (default 0); ``extra``: more options as (names, kwargs) pairs for
    ``add_argument``. ``doc``'s first line is the description.
    Returns the argparse namespace, with ``out`` a Path that exists.
    """
    script = Path(script_file).resolve()
    number = script.name[:2]
    parser = argparse.ArgumentParser(description=(doc or "").split("\n")[0])
    parser.add_argument("--quick", action="store_true", help=quick_help)
    parser.add_argument("--out", type=Path, default=script.parent / "output" / number,
                        help=f"folder for the {out_help} (default: tutorials/output/{number}, git-ignored)")
    if seed:
        parser.add_argument("--seed", type=int, default=0)
    for names, kwargs in extra:
        parser.add_argument(*names, **kwargs)
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

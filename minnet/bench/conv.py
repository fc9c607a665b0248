"""LeNet-5 speed, minnet vs PyTorch in the same run: training epoch at batch 64, inference at 1000.

``python -m minnet.bench.conv [--repeats R] [--n-train N]`` prints a table; ``bench_lenet5()``
returns the rows (``python -m minnet.bench train`` adds them to its own table).

What is timed (both frameworks get the same synthetic MNIST-shaped data; pixel values do not change
the work done, so no data files are needed):
  * training: ``minnet.train.fit`` for one pass over ``n_train`` images in shuffled batches of 64
    (forward, softmax cross-entropy, backward, SGD with momentum 0.9 and weight decay 5e-4), and the
    same loop in PyTorch (``torch.optim.SGD``, ``CrossEntropyLoss``). Seconds per epoch are
    extrapolated linearly from ``n_train`` images to MNIST's 60,000.
  * inference: forward passes over a batch of 1000 images (no gradients), as images per second;
    each repeat takes the median of ``infer_calls`` back-to-back passes.
PyTorch runs only when ``import torch`` works (it is never a dependency), on 2 threads
(``torch.set_num_threads(2)``); minnet's BLAS gets 2 threads too (``--threads``; ``fit`` alone uses
1, see :mod:`minnet.threads`), and minnet's Numba kernels run on one thread. Repeats interleave minnet and PyTorch with pauses in between: the
machines are shared and noisy, and OpenBLAS's and OpenMP's thread pools spin for a while after a
call, which would slow whatever runs next. The table reports medians and ratios of medians.
"""

import argparse
import gc
import os
import statistics
import time

import numpy as np

from minnet.bench import positive_int, print_blas_hint
from minnet.cli_parser import ArgumentParser
from minnet.models import lenet5
from minnet.optim import caffe_lenet_sgd
from minnet.threads import blas_threads
from minnet.train import fit

MNIST_TRAIN_SIZE = 60_000
BATCH_TRAIN = 64
BATCH_INFER = 1000


def synthetic_mnist(n, seed=0):
    """n MNIST-shaped images (n, 1, 28, 28) float32 in [0, 1) and labels (n,) in 0..9."""
    rng = np.random.default_rng(seed)
    return rng.random((n, 1, 28, 28), dtype=np.float32), rng.integers(0, 10, n)


class MinnetLeNet5:
    """minnet's LeNet-5 with Caffe's solver settings; one ``train_pass`` = fit() for one epoch.

    ``threads``: BLAS threads for training and inference (fit's own default is 1, the safe choice
    on a busy machine; the comparison with PyTorch on 2 threads uses 2).
    """

    def __init__(self, x, y, seed=0, threads=2):
        self.x, self.y, self.threads = x, y, threads
        self.model = lenet5(seed=seed)
        self.opt = caffe_lenet_sgd(policy="constant")   # a constant lr, as the PyTorch side uses
        fit(self.model, self.opt, x[:4 * BATCH_TRAIN], y[:4 * BATCH_TRAIN], epochs=1,
            batch_size=BATCH_TRAIN, progress=False, threads=threads)   # compile / load the kernels

    def train_pass(self):
        """One epoch of SGD over the benchmark's training slice (batch BATCH_TRAIN)."""
        fit(self.model, self.opt, self.x, self.y, epochs=1, batch_size=BATCH_TRAIN, progress=False,
            threads=self.threads)

    def infer(self, xb, calls=1):
        """Seconds for each of ``calls`` forward passes over xb."""
        with blas_threads(self.threads):
            return [_seconds(lambda: self.model.forward(xb, training=False)) for _ in range(calls)]


class TorchLeNet5:
    """The same network, loss and optimiser in PyTorch (2 threads)."""

    def __init__(self, torch, x, y, seed=0):
        self.torch = torch
        torch.set_num_threads(2)
        torch.manual_seed(seed)
        nn = torch.nn
        self.net = nn.Sequential(nn.Conv2d(1, 20, 5), nn.MaxPool2d(2, 2), nn.Conv2d(20, 50, 5),
                                 nn.MaxPool2d(2, 2), nn.Flatten(), nn.Linear(800, 500), nn.ReLU(),
                                 nn.Linear(500, 10))
        self.opt = torch.optim.SGD(self.net.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
        self.loss = nn.CrossEntropyLoss()
        self.x, self.y = torch.from_numpy(x), torch.from_numpy(y)
        self._train(self.x[:4 * BATCH_TRAIN], self.y[:4 * BATCH_TRAIN])   # warm-up

    def _train(self, x, y):
        perm = self.torch.randperm(len(x))
        for i in range(0, len(x), BATCH_TRAIN):
            idx = perm[i:i + BATCH_TRAIN]
            self.opt.zero_grad()
            self.loss(self.net(x[idx]), y[idx]).backward()
            self.opt.step()

    def train_pass(self):
        """One epoch of SGD over the benchmark's training slice (batch BATCH_TRAIN)."""
        self._train(self.x, self.y)

    def infer(self, xb, calls=1):
        """Seconds for each of ``calls`` forward passes over xb."""
        with self.torch.inference_mode():
            return [_seconds(lambda: self.net(self.torch.from_numpy(xb))) for _ in range(calls)]


def _seconds(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _timed(fn, pause):
    gc.collect()
    time.sleep(pause)                  # let other thread pools stop spinning
    return _seconds(fn)


def bench_lenet5(repeats=3, n_train=6400, infer_calls=5, pause=0.5, quiet=False, seed=0,
                 with_torch=True, threads=2):
    """Time LeNet-5 training and inference, minnet and (if installed) PyTorch, interleaved.

    n_train: images per timed training pass (a multiple of 64 keeps every batch full); the epoch
    time is that pass's time x 60,000 / n_train. infer_calls: forward passes of batch 1000 per
    inference sample, which is their median. with_torch=False skips PyTorch even when it is installed. threads: minnet's
    BLAS threads (2, like PyTorch's; ``fit`` alone defaults to 1). Returns two dicts:
        {"case": "lenet5_train_epoch_b64", "minnet_s", "torch_s", "ratio", ...}   seconds per epoch
        {"case": "lenet5_infer_b1000", "minnet_s", "torch_s", "ratio",
         "minnet_img_s", "torch_img_s", ...}                                     seconds per batch
    with medians over ``repeats``, ratio = minnet_s / torch_s (< 1: minnet is faster) and the
    machine's 1-minute load average at the end; torch fields are None without PyTorch.
    """
    x, y = synthetic_mnist(max(n_train, BATCH_INFER), seed)
    xb = x[:BATCH_INFER]
    contenders = {"minnet": MinnetLeNet5(x[:n_train], y[:n_train], seed, threads)}
    try:
        import torch
    except ImportError:                 # PyTorch is optional: its columns stay empty
        torch = None
    torch = torch if with_torch else None
    if torch is not None:
        contenders["torch"] = TorchLeNet5(torch, x[:n_train], y[:n_train], seed)
    train = {name: [] for name in contenders}
    infer = {name: [] for name in contenders}
    for r in range(repeats):
        order = list(contenders) if r % 2 == 0 else list(contenders)[::-1]   # alternate who goes first
        for name in order:
            c = contenders[name]
            epoch_s = _timed(c.train_pass, pause) * MNIST_TRAIN_SIZE / n_train
            gc.collect()
            time.sleep(pause)
            # the median of a few back-to-back calls: the first call after training is often slow
            # (thread pools waking up, fresh memory), for both frameworks
            batch_s = statistics.median(c.infer(xb, infer_calls))
            train[name].append(epoch_s)
            infer[name].append(batch_s)
            if not quiet:
                print(f"  repeat {r + 1}/{repeats} {name:>6}: epoch {epoch_s:7.2f} s, "
                      f"inference {BATCH_INFER / batch_s:8.0f} img/s", flush=True)
    # Other jobs on the machine change everything (a 2-thread run on a busy 2-core machine waits
    # for time slices at every thread hand-off), so the rows record how busy it was.
    load_avg = round(os.getloadavg()[0], 2)
    med = lambda d, k: statistics.median(d[k]) if k in d else None
    rows = []
    for case, samples in (("lenet5_train_epoch_b64", train), ("lenet5_infer_b1000", infer)):
        m, t = med(samples, "minnet"), med(samples, "torch")
        row = {"case": case, "minnet_s": m, "torch_s": t, "ratio": m / t if t else None,
               "repeats": repeats, "minnet_blas_threads": threads, "load_avg_1min": load_avg}
        if case.startswith("lenet5_train"):
            row["n_train_timed"] = n_train
        else:
            row["minnet_img_s"] = BATCH_INFER / m
            row["torch_img_s"] = BATCH_INFER / t if t else None
        rows.append(row)
    if not quiet:
        print(format_rows(rows))
    return rows


def format_rows(rows):
    """The rows as an aligned table; ratio = minnet / torch time (below 1: minnet is faster)."""
    fmt = lambda v: "-" if v is None else (f"{v:,.3f}" if isinstance(v, float) else str(v))
    cols = ["case", "minnet_s", "torch_s", "ratio", "minnet_img_s", "torch_img_s", "load_avg_1min"]
    cells = [[fmt(r.get(c)) for c in cols] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    line = lambda items: "  ".join(s.rjust(w) for s, w in zip(items, widths))
    return "\n".join([line(cols)] + [line(row) for row in cells])


def main(argv=None):
    """``python -m minnet.bench.conv [--repeats R] [--n-train N] [--json PATH]``."""
    parser = ArgumentParser(prog="python -m minnet.bench.conv", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=positive_int, default=3)
    parser.add_argument("--n-train", type=int, default=6400,
                        help="images per timed training pass (extrapolated to 60,000)")
    parser.add_argument("--threads", type=int, default=2, help="minnet's BLAS threads (default 2)")
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args(argv)
    print_blas_hint()
    rows = bench_lenet5(repeats=args.repeats, n_train=args.n_train, threads=args.threads)
    if args.json:
        from minnet.atomic import atomic_write_json
        atomic_write_json(args.json, {"rows": rows})
    return rows


if __name__ == "__main__":
    main()

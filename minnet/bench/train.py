"""``python -m minnet.bench train``: seconds per training epoch, minnet vs its baselines.

For LeNet-300-100 at batch 64 and 256 it times, interleaved in the same run:
  * minnet: one full epoch of ``minnet.train.fit`` (60,000 MNIST images, no evaluation), with the
    BLAS threads fit chooses for that batch size (:mod:`minnet.threads`: 1 at 64, 2 at 256 here);
  * the BLAS floor: the same matrix products alone (forward x W^T; backward dz^T x and dz W),
    i.e. what any NumPy implementation must at least spend, on the same BLAS threads;
  * PyTorch (only when ``import torch`` works; never a dependency): the same model, loss and SGD
    with momentum and weight decay, on 2 threads.
It prints medians over ``--repeats`` and the ratios minnet / PyTorch and minnet / BLAS floor.
LeNet-5 rows come from :mod:`minnet.bench.conv` when that module is present.
"""

import argparse
import gc
import statistics
import time

import numpy as np

from minnet.bench import format_table, machine_info, positive_int, print_blas_hint
from minnet.cli_parser import ArgumentParser
from minnet.data import load_mnist
from minnet.models import lenet_300_100
from minnet.optim import caffe_lenet_sgd
from minnet.threads import blas_threads, default_blas_threads
from minnet.train import fit

LAYER_SIZES = [(784, 300), (300, 100), (100, 10)]


def time_minnet_epoch(x, y, batch_size, seed=0, threads=None):
    """Seconds of one epoch of fit() on LeNet-300-100, as fit measures it (the epoch loop: shuffle,
    batches, forward, backward, SGD; not fit's one-off set-up). A warm-up slice compiles kernels."""
    model = lenet_300_100(seed=seed)
    opt = caffe_lenet_sgd(policy="constant")     # a constant lr, as the PyTorch side uses
    fit(model, opt, x[:1024], y[:1024], epochs=1, batch_size=batch_size, progress=False,
        threads=threads)
    history = fit(model, opt, x, y, epochs=1, batch_size=batch_size, progress=False, seed=seed,
                  threads=threads)
    return history["seconds"][0]


def time_blas_floor(n, batch_size, seed=0, threads=None):
    """Seconds for the epoch's matrix products alone: per batch 3 forward, 3 dW and 2 dx GEMMs."""
    rng = np.random.default_rng(seed)
    weights = [rng.standard_normal((o, i), dtype=np.float32) for i, o in LAYER_SIZES]
    full = [rng.standard_normal((batch_size, i), dtype=np.float32) for i, _ in LAYER_SIZES]
    douts = [rng.standard_normal((batch_size, o), dtype=np.float32) for _, o in LAYER_SIZES]
    with blas_threads(threads or default_blas_threads(batch_size)):   # as fit() trains
        start = time.perf_counter()
        for b0 in range(0, n, batch_size):
            m = min(batch_size, n - b0)
            for W, xb in zip(weights, full):
                xb[:m] @ W.T
            for k, (W, xb, d) in enumerate(zip(weights, full, douts)):
                d[:m].T @ xb[:m]
                if k > 0:
                    d[:m] @ W
        return time.perf_counter() - start


def time_torch_epoch(x, y, batch_size, seed=0):
    """Seconds for one PyTorch epoch of the same model and optimiser, or None without PyTorch."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(2)
    torch.manual_seed(seed)
    X = torch.from_numpy(x.reshape(len(x), -1))
    Y = torch.from_numpy(y)
    net = torch.nn.Sequential(torch.nn.Linear(784, 300), torch.nn.ReLU(), torch.nn.Linear(300, 100),
                              torch.nn.ReLU(), torch.nn.Linear(100, 10))
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    loss_fn = torch.nn.CrossEntropyLoss()
    start = time.perf_counter()
    perm = torch.randperm(len(X))
    for i in range(0, len(X), batch_size):
        idx = perm[i:i + batch_size]
        opt.zero_grad()
        loss_fn(net(X[idx]), Y[idx]).backward()
        opt.step()
    return time.perf_counter() - start


def bench_lenet300(repeats=3, pause=0.5):
    """Interleaved medians for LeNet-300-100 epochs; returns one dict per batch size."""
    (x, y), _ = load_mnist()
    rows = []
    for batch_size in (64, 256):
        samples = {"minnet": [], "blas_floor": [], "torch": []}
        for _ in range(repeats):
            # Interleave, and pause between, so a noisy neighbour hurts every contender alike.
            for name, fn in (("minnet", lambda: time_minnet_epoch(x, y, batch_size)),
                             ("blas_floor", lambda: time_blas_floor(len(x), batch_size)),
                             ("torch", lambda: time_torch_epoch(x, y, batch_size))):
                gc.collect()
                time.sleep(pause)
                t = fn()
                if t is not None:
                    samples[name].append(t)
        med = {k: statistics.median(v) if v else None for k, v in samples.items()}
        rows.append({"case": f"lenet300_train_epoch_b{batch_size}", "batch": batch_size,
                     "repeats": repeats, "blas_threads": default_blas_threads(batch_size),
                     "minnet_s": med["minnet"], "blas_floor_s": med["blas_floor"], "torch_s": med["torch"],
                     "minnet_over_torch": med["minnet"] / med["torch"] if med["torch"] else None,
                     "minnet_over_floor": med["minnet"] / med["blas_floor"]})
    return rows


TABLE_COLUMNS = [("case", "case", str), ("blas_threads", "threads", "d"),
                 ("minnet_s", "minnet s", ".3f"), ("torch_s", "PyTorch s", ".3f"),
                 ("blas_floor_s", "BLAS floor s", ".3f"), ("minnet_over_torch", "minnet/PyTorch", ".2f"),
                 ("minnet_over_floor", "minnet/floor", ".2f")]


def main(argv=None):
    """Entry point: ``python -m minnet.bench train [--repeats R] [--json PATH] [--no-conv]``."""
    parser = ArgumentParser(prog="python -m minnet.bench train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=positive_int, default=3)
    parser.add_argument("--json", help="also write the rows and machine info to this file")
    parser.add_argument("--no-conv", action="store_true", help="skip the LeNet-5 rows")
    args = parser.parse_args(argv)
    info = machine_info()
    print(f"{info['cpu']}, {info['cores']} cores; numpy {info['numpy']} ({info['blas']}), "
          f"numba {info['numba']}", flush=True)
    print_blas_hint()
    rows = bench_lenet300(args.repeats)
    print(format_table(rows, TABLE_COLUMNS), flush=True)
    if not args.no_conv:
        from minnet.bench.conv import bench_lenet5
        print("\nLeNet-5 (minnet.bench.conv):", flush=True)
        rows += bench_lenet5(repeats=args.repeats)           # prints its own table
    if args.json:
        from minnet.atomic import atomic_write_json
        atomic_write_json(args.json, {"machine": info, "rows": rows})
    return 0


if __name__ == "__main__":
    main()

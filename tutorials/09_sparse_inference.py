"""Tutorial 09: sparse (CSR) inference and storage -- how much faster and smaller is a pruned net?

A pruned layer stored as a dense matrix full of zeros is no smaller and no faster: the matrix
product still multiplies every zero. To cash in, store only the kept connections. Compressed sparse
row (CSR) keeps, per layer, the kept weights (data), their column (indices) and where each row
starts (indptr); y = W x then costs nnz multiply-adds instead of rows x cols (paper sec. 4).

1. Convert a pruned LeNet-300-100 with minnet.sparse.to_sparse; check it computes the same thing.
2. Time dense vs CSR per layer and for the whole network, at batch 1 (one image at a time, the
   latency case the paper's sec. 4 discusses) and at batch 64.
3. Time one big layer the size of AlexNet's fc6 (4096 x 9216 at 9%), where sparsity pays most.
4. Store the model: dense .npz, CSR with narrow indices, and the paper's relative indices (5 bits
   for FC layers), and compare file sizes.

Timing is noisy on a shared machine: each number is the median of interleaved samples (dense, CSR,
CSR, dense, ...), so a burst of load hits both alike; each sample times a burst of back-to-back
calls, so a thread pool waking up is not counted against one call.

Run:  python tutorials/09_sparse_inference.py [--quick] [--out DIR]
--quick: a briefly trained model (6,000 images, 2 epochs, no retraining: speed and size do not
depend on accuracy) and a 2048 x 4608 big layer. Full: 20 epochs on 60,000 images + 10 retraining
epochs and the real 4096 x 9216 layer (68 s measured on a 2-core machine).
Exercise: ex07_csr.py (CSR from a dense matrix, and y = W x).

Questions for you (answers for teachers: teachers/tutorial_answers.md):
1. CSR at batch 1 is faster on fc1 but about even on fc3 (10 x 100). What fixed cost per call
   does CSR pay that a small dense product hides?
2. At batch 64 dense BLAS reuses each weight 64 times. Why does CSR still win on fc1 (3.8x on a
   quiet machine) but not on fc3?
3. The paper stores relative indices in 5 bits for FC layers. What happens when two kept
   connections in a row are more than 31 columns apart, and what does it cost?
"""

import os
import time
from pathlib import Path

import numpy as np

import minnet
from minnet.data import load_mnist
from minnet.pruning import (
    keep_ratios_to_sparsities,
    paper_keep_ratios,
    prune_model,
    retrain,
)
from minnet.sparse import (
    format_layer_report,
    layer_report,
    load_sparse,
    save_sparse,
    to_sparse,
)
from minnet.threads import same_threads
from minnet.timing import interleaved_times, median
from minnet.tutorial import print_questions, tutorial_args


def median_times(fns, repeats):
    """Median seconds per call of each function, both back-ends on one thread: ``repeats``
    interleaved samples (dense, CSR, CSR, dense, ...), each a burst of back-to-back calls lasting
    ~5 ms after 0.25 s of quiet. Why bursts:
    a lone call also times waking the thread pools (BLAS's or Numba's), which can cost more than a
    small product itself. Why the quiet: OpenBLAS's threads spin for ~0.1-0.2 s after a call and
    would share the cores with the CSR kernel's threads (measured: 20x slower at batch 64)."""
    with same_threads(1):       # both on one thread: see minnet.sparse.report.layer_report
        times = interleaved_times(fns, repeats=repeats, pause_s=0.25, target_s=0.005)
    return {name: median(v) for name, v in times.items()}


def faster(speedup):
    """'1.8x faster', '0.7x (slower)' or 'about the same' for a dense/CSR time ratio."""
    if speedup > 1.1:
        return f"{speedup:.1f}x faster"
    if speedup < 0.9:
        return f"{speedup:.2f}x (slower)"
    return f"{speedup:.2f}x (about the same)"


# %% Options: --quick (a data slice, few epochs) or the full mode; --out, --seed
args = tutorial_args(__doc__, quick_help="brief training, smaller big layer (CI, < 60 s)", out_help="saved models")
start = time.perf_counter()
n_train, epochs, retrain_epochs = (6000, 2, 0) if args.quick else (60000, 20, 10)
big = (2048, 4608) if args.quick else (4096, 9216)
repeats = 5 if args.quick else 9              # samples; each a burst of calls after a pause
(x, y), (x_test, y_test) = load_mnist()
x, y = x[:n_train].reshape(n_train, -1), y[:n_train]
x_test = x_test.reshape(len(x_test), -1)

# %% 0. A pruned LeNet-300-100
model = minnet.lenet_300_100(seed=args.seed)
minnet.fit(model, minnet.caffe_lenet_sgd(), x, y, epochs=epochs,
           seed=args.seed, progress=False)
prune_model(model, "sparsity", keep_ratios_to_sparsities(paper_keep_ratios("lenet300")))
if retrain_epochs:
    retrain(model, minnet.caffe_lenet_sgd(0.001), x, y, epochs=retrain_epochs,
            seed=args.seed + 1, progress=False)

# %% 1. Convert to CSR and check
sparse = to_sparse(model)                     # Dense layers -> SparseDense (CSR), others copied
print("== 1. The pruned model in CSR ==")
for layer in sparse.layers:
    if hasattr(layer, "nnz"):
        print(f"{layer.name}: {layer.out_features} x {layer.in_features}, {layer.nnz:,} stored "
              f"connections ({layer.density:.1%}), indices {layer.indices.dtype}")
dense_logits, sparse_logits = model.predict(x_test), sparse.predict(x_test)
diff = float(np.max(np.abs(dense_logits - sparse_logits)))
same = float(np.mean(dense_logits.argmax(1) == sparse_logits.argmax(1)))
print(f"max |logit difference| dense vs CSR {diff:.1e}; same prediction for {same:.2%} of 10,000 images")

# %% 2. Per layer and whole network: dense vs CSR
print(f"\n== 2. Time per forward pass (median of {repeats} interleaved samples) ==")
rows1 = layer_report(model, batch_size=1, repeats=repeats)
print("batch 1:\n" + format_layer_report(rows1))
rows64 = layer_report(model, batch_size=64, repeats=repeats)
print("batch 64:\n" + format_layer_report(rows64))
whole = {}
for batch in (1, 64):
    xb = x_test[:batch]
    t = median_times({"dense": lambda: model.forward(xb), "csr": lambda: sparse.forward(xb)},
                     repeats)
    whole[batch] = t
    print(f"whole network, batch {batch:2d}: dense {1e6 * t['dense']:8.1f} us, CSR "
          f"{1e6 * t['csr']:8.1f} us -> {t['dense'] / t['csr']:.2f}x")

# %% 3. One big layer: AlexNet's fc6 size at 9%
rows, cols = big
rng = np.random.default_rng(args.seed)
fc = minnet.Dense(cols, rows, rng=rng, name="big")
fc.set_mask("W", rng.random((rows, cols), dtype=np.float32) < 0.09)   # random 9%: speed only
big_model = minnet.Sequential([fc])
big_rows = layer_report(big_model, batch_size=1, repeats=repeats)
print(f"\n== 3. A {rows} x {cols} layer at 9% (AlexNet fc6 is 4096 x 9216), batch 1 ==")
print(format_layer_report(big_rows))

# %% 4. Storage
paths = {"dense .npz (weights + masks)": model.save(args.out / "dense.npz"),
         "CSR, narrow indices": save_sparse(model, args.out / "csr.npz"),
         "relative 5-bit indices (paper sec. 4)": save_sparse(model, args.out / "rel5.npz",
                                                              index_bits="paper")}
sizes = {k: Path(p).stat().st_size for k, p in paths.items()}
reloaded = load_sparse(args.out / "rel5.npz")
same_weights = all(np.array_equal(a.params["W"], b.params["W"]) and
                   np.array_equal(a.masks["W"], b.masks["W"])
                   for a, b in zip(model.prunable_layers(), reloaded.prunable_layers()))
print("\n== 4. Storage ==")
for k, n in sizes.items():
    print(f"{k:<40} {n:>10,} bytes  ({sizes['dense .npz (weights + masks)'] / n:5.1f}x smaller)")
print(f"reloading the 5-bit file gives back the same weights and masks: {same_weights}")
assert same_weights

dense_bytes = 4 * model.count_params()
load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
cores = os.cpu_count() or 1

# %% What to notice
print("\n== What to notice ==")
print(f"* The CSR model computes the same logits (to {diff:.0e}): only the storage changed.")
r1 = {r["layer"]: r["dense_s"] / r["sparse_s"] for r in rows1}
print("* Batch 1, CSR vs dense per layer: " + ", ".join(f"{k} {faster(v)}" for k, v in r1.items())
      + f"; whole network {faster(whole[1]['dense'] / whole[1]['csr'])}; at batch 64 "
      f"{faster(whole[64]['dense'] / whole[64]['csr'])}.")
print("  Both run on one thread here. Measured on a quiet 2-core machine: fc1 1.4x faster at "
      "batch 1, the tiny fc3 about even (a call's fixed cost is as long as its product); at "
      "batch 64 dense BLAS reuses every weight 64 times, yet CSR's ~12x fewer multiply-adds "
      "still win on fc1 (3.8x) and fc2 (2.2x), not on fc3.")
b = big_rows[0]
print(f"* The {rows} x {cols} layer at batch 1: CSR {faster(b['dense_s'] / b['sparse_s'])} "
      f"({1e3 * b['dense_s']:.2f} ms dense, {1e3 * b['sparse_s']:.2f} ms CSR). A big layer at batch 1 "
      "is bound by reading its weights from memory, and CSR reads ~9% of them plus their "
      "indices: on one thread minnet measured 3.9x for a 4096 x 9216 layer at 9% (2.7x before it stored wide layers in column blocks), "
      "4.3-5.6x with both cores (`python -m minnet.bench sparse`).")
print(f"* Load average while this ran: {load:.1f} on {cores} cores"
      + (" -- other programs competed for the CPU, so treat these timings as rough; rerun on a "
         "quiet machine." if load > 0.8 * cores else "."))
print(f"* Files: {sizes['dense .npz (weights + masks)']:,} bytes dense (float32 params alone are "
      f"{dense_bytes:,}) -> {sizes['relative 5-bit indices (paper sec. 4)']:,} with 5-bit relative "
      f"indices, {sizes['dense .npz (weights + masks)'] / sizes['relative 5-bit indices (paper sec. 4)']:.1f}x "
      "smaller. Sizes do not depend on the machine's load: this number is solid.")
print(f"models in {args.out}; took {time.perf_counter() - start:.1f} s")

# %% Questions for you (the answers are for teachers: teachers/tutorial_answers.md)
print_questions(__doc__)

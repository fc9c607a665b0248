"""A per-layer table of what sparsity buys: density, bytes and time, dense vs CSR (paper sec. 4).

    >>> rows = print_layer_report(pruned_model, batch_size=1)
    layer  shape      density  dense bytes  CSR bytes  bytes ratio  dense time  CSR time  speed-up
    fc1    300x784       8.0%      940,800     113,...

``layer_report`` returns the numbers (list of dicts) and prints nothing; ``print_layer_report``
prints them as a table. Times are medians of interleaved repeats on random inputs of the layer's
input shape (the speed of a CSR product does not depend on the input values).
"""

import numpy as np

from minnet.timing import format_table, interleaved_times, median
from minnet.sparse.layers import SparseDense
from minnet.sparse.model import to_sparse
from minnet.threads import same_threads


def layer_report(model, batch_size=1, repeats=20, backend="minnet", seed=0, pause_s=0.25, threads=1):
    """For each prunable layer of a masked dense ``model``: one dict with
    layer, shape (out x in), density (kept fraction), dense_bytes (the float weight matrix),
    sparse_bytes (CSR: data + column indices + row pointers), dense_s and sparse_s (median seconds
    of the layer's forward on a (batch_size, in) input, dense vs CSR ``backend``).

    Each of the ``repeats`` samples is a burst of calls after ``pause_s`` of quiet: OpenBLAS's
    threads spin for ~0.1-0.2 s after a call, and a multi-threaded CSR kernel started meanwhile
    shares the cores with them (measured: 20x slower at batch 64). Both back-ends run on
    ``threads`` threads (BLAS's and Numba's pools limited alike; 1 by default: a per-core
    comparison, and a tutorial's table then does not depend on how two pools share the cores).
    """
    sparse_model = to_sparse(model, backend=backend)
    rng = np.random.default_rng(seed)
    rows = []
    for dense in model.prunable_layers():
        sparse = sparse_model.layer(dense.name)
        if not isinstance(sparse, SparseDense):
            continue
        W = dense.weight
        x = rng.random((batch_size, dense.in_features), dtype=np.float32).astype(W.dtype)
        with same_threads(threads):
            times = interleaved_times({"dense": lambda: dense.forward(x),
                                       "sparse": lambda: sparse.forward(x)},
                                      repeats=repeats, pause_s=pause_s)
        rows.append({
            "layer": dense.name, "shape": f"{W.shape[0]}x{W.shape[1]}", "density": sparse.density,
            "dense_bytes": W.nbytes,
            "sparse_bytes": (sparse.params["data"].nbytes + sparse.indices.nbytes
                             + sparse.block_ptr.nbytes),
            "dense_s": median(times["dense"]), "sparse_s": median(times["sparse"])})
    return rows


def format_layer_report(rows):
    """The rows of :func:`layer_report` as a text table with the ratios."""
    table = [dict(r, bytes_ratio=r["dense_bytes"] / r["sparse_bytes"],
                  speedup=r["dense_s"] / r["sparse_s"]) for r in rows]
    us = lambda s: f"{s * 1e6:,.1f} us"
    return format_table(table, [
        ("layer", "layer", ""), ("shape", "shape", ""), ("density", "density", ".1%"),
        ("dense_bytes", "dense bytes", ",d"), ("sparse_bytes", "CSR bytes", ",d"),
        ("bytes_ratio", "bytes ratio", ".1f"), ("dense_s", "dense time", us),
        ("sparse_s", "CSR time", us), ("speedup", "speed-up", ".2f")])


def print_layer_report(model, batch_size=1, repeats=9, backend="minnet"):
    """Print the per-layer table for ``model`` (see :func:`layer_report`) and return its rows."""
    rows = layer_report(model, batch_size, repeats, backend)
    print(f"per-layer dense vs CSR ({backend}), batch {batch_size}, medians of {repeats} repeats")
    print(format_layer_report(rows))
    return rows

"""The exercises and their test cases; every expected answer comes from minnet's own implementation.

An :class:`Exercise` is one student file (``ex01_dense.py`` ...) holding one or more functions to
write; a :class:`Task` is one of those functions with its :class:`Case` list. A case is a set of
arguments, a short description a student can act on ("one row fully pruned"), and the expected
result, computed here by calling the code minnet itself runs (``Dense.backward``,
``softmax_cross_entropy``, ``prune_by_std``, the masked SGD kernel, ``adjusted_dropout_rate``,
``find_dead_neurons``, ``dense_to_csr`` and the CSR kernel). So the grade means "you computed what the
engine computes", and a change in the engine shows up here too. The decision exercises ex08-ex10
(several right answers, checked by rules) are in :mod:`minnet.exercises.cases_decisions`; the
dataclasses in :mod:`minnet.exercises.spec`.

Cases are small and hand-checkable first (the expected values are in the description where they fit
on a line), then random, then the edge cases that catch classic bugs: fully pruned rows, unsorted
CSR indices, huge logits, a weight exactly at the threshold.
"""

import numpy as np

from minnet.exercises.cases_decisions import DECISION_EXERCISES
from minnet.exercises.spec import Case, Exercise, Task
from minnet.kernels.csr import csr_matvec_serial
from minnet.kernels.dense import masked_sgd_update
from minnet.layers import Dense
from minnet.losses import softmax_cross_entropy
from minnet.model import Sequential
from minnet.pruning import adjusted_dropout_rate, prune_by_std
from minnet.pruning.neurons import find_dead_neurons
from minnet.sparse import dense_to_csr

__all__ = ["EXERCISES", "Case", "Exercise", "Task"]   # the dataclasses live in .spec; re-exported


def _rng(seed):
    return np.random.default_rng(seed)


# -- 1. Dense forward and backward --------------------------------------------------------------------

def _dense_reference(x, W, b, dout, mask):
    """(y, dx, dW, db) from minnet's Dense layer in float64 (the fused ReLU off)."""
    layer = Dense(W.shape[1], W.shape[0], dtype=np.float64, name="fc")
    layer.weight[...] = W
    layer.params["b"][...] = b
    if mask is not None:
        layer.prune(mask)
    y = layer.forward(x.copy(), training=True).copy()
    dx = layer.backward(dout.copy())
    return y, dx, layer.grads["W"].copy(), layer.grads["b"].copy()


def _dense_inputs():
    """(description, x, W, b, dout, mask) tuples shared by the forward and backward cases."""
    r = _rng(1)
    out = [("hand-checkable: x = [[1, 2]], W = [[1, 0], [0, 1], [1, 1]], b = [0, 0, 1]; "
            "forward -> y = [[1, 2, 4]]; backward with dout = [[1, -1, 2]] -> dx = [[3, 1]], "
            "dW = [[1, 2], [-1, -2], [2, 4]], db = [1, -1, 2]",
            np.array([[1.0, 2.0]]), np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]),
            np.array([0.0, 0.0, 1.0]), np.array([[1.0, -1.0, 2.0]]), None)]
    out.append(("random batch of 5, 4 inputs -> 3 outputs", r.standard_normal((5, 4)),
                r.standard_normal((3, 4)), r.standard_normal(3), r.standard_normal((5, 3)), None))
    out.append(("batch of 1 (N = 1: keep the batch axis)", r.standard_normal((1, 6)),
                r.standard_normal((2, 6)), r.standard_normal(2), r.standard_normal((1, 2)), None))
    W = r.standard_normal((4, 5))
    mask = r.random((4, 5)) > 0.5
    mask[2] = False                                   # neuron 2 lost every input connection
    out.append(("pruned: half the connections masked, row 2 fully pruned (dW must be 0 there)",
                r.standard_normal((7, 5)), W * mask, r.standard_normal(4),
                r.standard_normal((7, 4)), mask))
    return out


def dense_forward_cases():
    """Cases for dense_forward(x, W, b) -> y (N, out); expected from minnet.layers.Dense.forward."""
    cases = []
    for desc, x, W, b, dout, mask in _dense_inputs():
        y, *_ = _dense_reference(x, W, b, dout, mask)
        cases.append(Case(desc, (x, W, b), y))
    return cases


def dense_backward_cases():
    """Cases for dense_backward(dout, x, W, mask) -> (dx, dW, db); expected from Dense.backward."""
    cases = []
    for desc, x, W, b, dout, mask in _dense_inputs():
        _, dx, dW, db = _dense_reference(x, W, b, dout, mask)
        cases.append(Case(desc, (dout, x, W, mask), (dx, dW, db)))
    return cases


# -- 2. Softmax cross-entropy ----------------------------------------------------------------------

def softmax_ce_cases():
    """Cases for softmax_cross_entropy(logits (N, C), y (N,)) -> (loss, dlogits (N, C))."""
    r = _rng(2)
    inputs = [
        ("hand-checkable: logits [[0, 0]], label 0 -> loss log 2 = 0.6931, dlogits [[-0.5, 0.5]]",
         np.array([[0.0, 0.0]]), np.array([0])),
        ("random: 6 examples, 4 classes", r.standard_normal((6, 4)), r.integers(0, 4, 6)),
        ("a confident, correct prediction (loss near 0)", np.array([[10.0, -10.0, 0.0]]),
         np.array([0])),
        ("huge logits (1000): exp overflows unless you subtract the row max first",
         np.array([[1000.0, 0.0, -1000.0], [0.0, 1000.0, 999.0]]), np.array([1, 2])),
        ("10 classes, batch 32 (the loss is a mean over the batch)",
         3 * r.standard_normal((32, 10)), r.integers(0, 10, 32)),
    ]
    cases = []
    for desc, logits, y in inputs:
        loss, dlogits = softmax_cross_entropy(logits.copy(), y)
        cases.append(Case(desc, (logits, y), (loss, dlogits)))
    return cases


# -- 3. The std-based pruning mask -----------------------------------------------------------------

def prune_mask_cases():
    """Cases for prune_mask(w, quality, std) -> bool mask; expected from pruning.prune_by_std (sec. 2)."""
    r = _rng(3)
    inputs = [
        ("hand-checkable (the docstring's example): w = [-0.3, 0.05, 0.2, -0.01], std = 0.1, "
         "q = 1.5 -> threshold 0.15 -> [True, False, True, False]",
         np.array([-0.3, 0.05, 0.2, -0.01]), 1.5, 0.1),
        ("a weight exactly at the threshold is pruned (keep |w| > q * std, strictly): "
         "w = [1.0, -1.0, 1.5, 0.5], std = 0.5, q = 2 -> [False, False, True, False]",
         np.array([1.0, -1.0, 1.5, 0.5]), 2.0, 0.5),
        ("std not given: use the std of w itself (np.std)", r.standard_normal((30, 20)), 1.0, None),
        ("a 4-D conv weight (20, 1, 5, 5): the mask has the weight's shape",
         0.1 * r.standard_normal((20, 1, 5, 5)), 0.7, None),
        ("the original std given (iterative pruning: the threshold keeps its scale)",
         r.standard_normal((8, 8)) * (r.random((8, 8)) > 0.3), 1.2, 1.0),
    ]
    cases = []
    for desc, w, q, std in inputs:
        cases.append(Case(desc, (w, q, std), prune_by_std(w, q, std)))
    return cases


# -- 4. Masked SGD with momentum ---------------------------------------------------------------------

def _sgd_reference(w, v, g, mask, lr, momentum, weight_decay):
    w2, v2 = w.copy().reshape(-1), v.copy().reshape(-1)
    masked_sgd_update(w2, v2, g.reshape(-1).copy(), mask.reshape(-1).copy(), lr, momentum,
                      weight_decay, 0.0)
    return w2.reshape(w.shape), v2.reshape(v.shape)


def masked_sgd_cases():
    """Cases for masked_sgd_step(w, v, g, mask, lr, momentum, wd) -> (w, v); expected from the
    masked_sgd_update kernel the optimiser runs (Caffe's momentum update, pruned entries pinned at 0)."""
    r = _rng(4)
    inputs = [
        ("hand-checkable: w = [1, 2], v = [0, 0], g = [1, 1], all kept, lr 0.1, momentum 0.9, "
         "no decay -> v = [0.1, 0.1], w = [0.9, 1.9]",
         np.array([1.0, 2.0]), np.zeros(2), np.ones(2), np.array([True, True]), 0.1, 0.9, 0.0),
        ("one pruned weight: w = [1, 0], v = [0.5, 0.5], g = [1, 1], mask [True, False], "
         "lr 0.1, momentum 0.9 -> w = [0.45, 0], v = [0.55, 0] (the pruned velocity is zeroed too)",
         np.array([1.0, 0.0]), np.array([0.5, 0.5]), np.ones(2), np.array([True, False]),
         0.1, 0.9, 0.0),
    ]
    W = r.standard_normal((6, 5))
    mask = r.random((6, 5)) > 0.6
    inputs.append(("random (6, 5) layer, 60% pruned, with weight decay 5e-4: the pruned weights "
                   "must stay exactly 0 even though their gradient and old velocity are not 0",
                   W * mask, r.standard_normal((6, 5)) * 0.1, r.standard_normal((6, 5)), mask,
                   0.01, 0.9, 5e-4))
    inputs.append(("all connections kept, momentum 0 (plain SGD with weight decay)",
                   r.standard_normal(7), np.zeros(7), r.standard_normal(7), np.ones(7, dtype=bool),
                   0.05, 0.0, 1e-3))
    cases = []
    for desc, w, v, g, mask, lr, mom, wd in inputs:
        expected = _sgd_reference(w, v, g, mask, lr, mom, wd)
        cases.append(Case(desc, (w, v, g, mask, lr, mom, wd), expected, rtol=1e-9, atol=1e-12))
    return cases


# -- 5. The dropout-ratio adjustment ---------------------------------------------------------------

def dropout_cases():
    """Cases for adjusted_dropout_rate(D_o, C_io, C_ir) = D_o sqrt(C_ir / C_io) (paper sec. 3.2)."""
    inputs = [
        ("the paper's example: 9% kept, D_o = 0.5 -> 0.5 * sqrt(0.09) = 0.15", (0.5, 10000, 900)),
        ("nothing pruned: the rate does not change", (0.5, 1000, 1000)),
        ("LeNet-300-100's fc1 at 8% (784 * 300 = 235200 -> 18816 connections)",
         (0.5, 235200, 18816)),
        ("AlexNet fc6 at 9% with D_o = 0.5", (0.5, 37748736, 3397386)),
        ("no dropout to begin with stays 0", (0.0, 500, 50)),
    ]
    return [Case(desc, args, adjusted_dropout_rate(*args), rtol=1e-12, atol=1e-15)
            for desc, args in inputs]


# -- 6. Dead neurons -------------------------------------------------------------------------------

def _dead_reference(mask_in, mask_out):
    """Run minnet's find_dead_neurons on a two-layer model carrying these masks."""
    hidden, n_in = mask_in.shape
    n_out = mask_out.shape[0]
    a = Dense(n_in, hidden, activation="relu", rng=0, dtype=np.float64, name="hidden")
    b = Dense(hidden, n_out, rng=1, dtype=np.float64, name="out")
    a.prune(mask_in)
    b.prune(mask_out)
    return find_dead_neurons(Sequential([a, b]))["hidden"]


def dead_neuron_cases():
    """Cases for dead_neurons(mask_in (H, n_in), mask_out (n_out, H)) -> bool (H,) (paper sec. 3.5);
    expected from minnet.pruning.neurons.find_dead_neurons on a two-layer model."""
    r = _rng(6)
    T, F = True, False
    inputs = [
        ("hand-checkable: 3 hidden units; unit 0 has no inputs, unit 2 no outputs "
         "-> [True, False, True]",
         np.array([[F, F], [T, F], [T, T]]), np.array([[F, T, F], [T, T, F]])),
        ("nothing pruned -> no dead units", np.ones((4, 3), bool), np.ones((2, 4), bool)),
        ("random masks at 30% density (a few units die on each side)",
         r.random((40, 20)) < 0.3, r.random((10, 40)) < 0.3),
        ("very sparse (5%): many dead units", r.random((50, 30)) < 0.05, r.random((10, 50)) < 0.05),
    ]
    return [Case(desc, (mi, mo), _dead_reference(mi, mo)) for desc, mi, mo in inputs]


# -- 7. CSR -----------------------------------------------------------------------------------------

def csr_from_dense_cases():
    """Cases for csr_from_dense(W, mask) -> (indptr, indices, data); expected from sparse.dense_to_csr."""
    r = _rng(7)
    W1 = np.array([[0.0, 2.0, 0.0], [0.0, 0.0, 0.0], [3.0, 0.0, 4.0]])
    inputs = [("hand-checkable: [[0, 2, 0], [0, 0, 0], [3, 0, 4]] -> indptr [0, 1, 1, 3], "
               "indices [1, 0, 2], data [2, 3, 4] (row 1 is empty)", W1, W1 != 0)]
    W = r.standard_normal((6, 9))
    m = r.random((6, 9)) < 0.3
    m[0] = False
    m[5] = False
    inputs.append(("random 6 x 9 at 30%, first and last rows fully pruned", W * m, m))
    W = r.standard_normal((3, 4))
    m = np.array([[True, False, True, False], [False, True, False, False], [True] * 4])
    W[0, 2] = 0.0
    inputs.append(("a kept weight that is exactly 0.0 is still stored: the mask decides, not W != 0",
                   W * m, m))
    cases = []
    for desc, W, mask in inputs:
        indptr, indices, data = dense_to_csr(W, mask)
        cases.append(Case(desc, (W, mask), (indptr, indices, data)))
    return cases


def _csr_matvec_reference(indptr, indices, data, x):
    out = np.empty(len(indptr) - 1, dtype=np.float64)
    csr_matvec_serial(np.asarray(indptr, np.int32)[None, :], np.asarray(indices, np.int32),
                      np.asarray(data, np.float64), np.zeros(len(out)), False,
                      np.asarray(x, np.float64), out)
    return out


def csr_matvec_cases():
    """Cases for csr_matvec(indptr, indices, data, x) -> y = W x (paper sec. 4); expected from the
    csr_matvec_serial kernel; includes empty rows and unsorted column indices."""
    r = _rng(8)
    inputs = [("hand-checkable: W = [[0, 2, 0], [0, 0, 0], [3, 0, 4]], x = [1, 2, 3] -> "
               "y = [4, 0, 15] (an empty row gives 0)",
               np.array([0, 1, 1, 3]), np.array([1, 0, 2]), np.array([2.0, 3.0, 4.0]),
               np.array([1.0, 2.0, 3.0]))]
    W = r.standard_normal((8, 12))
    m = r.random((8, 12)) < 0.25
    m[3] = False
    indptr, indices, data = dense_to_csr(W, m, np.int32)
    inputs.append(("random 8 x 12 at 25%, row 3 fully pruned", indptr, indices, data,
                   r.standard_normal(12)))
    # Unsorted columns inside each row: a CSR matrix does not promise sorted indices.
    perm_indices, perm_data = indices.copy(), data.copy()
    for i in range(len(indptr) - 1):
        s = slice(indptr[i], indptr[i + 1])
        order = r.permutation(indptr[i + 1] - indptr[i])
        perm_indices[s], perm_data[s] = indices[s][order], data[s][order]
    inputs.append(("the same matrix with the columns of every row shuffled (CSR does not promise "
                   "sorted indices)", indptr, perm_indices, perm_data, r.standard_normal(12)))
    W = r.standard_normal((300, 784))
    m = r.random((300, 784)) < 0.08
    indptr, indices, data = dense_to_csr(W, m, np.int32)
    inputs.append(("LeNet-300-100's fc1 shape (300 x 784) at 8% density", indptr, indices, data,
                   r.random(784)))
    return [Case(desc, (ip, ix, d, x), _csr_matvec_reference(ip, ix, d, x))
            for desc, ip, ix, d, x in inputs]


EXERCISES = [
    Exercise("ex01_dense.py", "Dense layer: forward and backward", [
        Task("dense_forward", ("y",), dense_forward_cases,
             "each output is the weighted sum of the inputs plus its bias: y = x W^T + b",
             "W is (out, in), so one output neuron's weights are a row of W; a batch x is (N, in) "
             "and y must be (N, out): one matrix product with W transposed, and b added to every row"),
        Task("dense_backward", ("dx", "dW", "db"), dense_backward_cases,
             "dx = dout W,  dW = dout^T x (0 where the mask is False),  db = dout summed over the batch",
             "check the shapes: each gradient has the shape of what it is the gradient of "
             "(dx (N, in), dW (out, in), db (out,)); dW and db add up the contributions of all N "
             "examples; a pruned connection (mask False) must get a gradient of exactly 0"),
    ], minutes=30, objective=(
        "derive and code the gradients of a fully connected layer, and see why a pruned "
        "connection's gradient must be exactly 0.")),
    Exercise("ex02_softmax_cross_entropy.py", "Softmax cross-entropy and its gradient", [
        Task("softmax_cross_entropy", ("loss", "dlogits"), softmax_ce_cases,
             "loss = mean over the batch of -log p(true class); dlogits = (p - onehot(y)) / N",
             "shift each row by its maximum first (softmax does not change, exp cannot overflow); "
             "take log p as the shifted score minus the log of the row's sum of exps, never the log "
             "of a probability that may have rounded to 0; the gradient is divided by N because the "
             "loss is a mean"),
    ], minutes=25, objective=(
        "compute the loss every network in the paper minimises, and its gradient, without "
        "overflow or log(0) on extreme logits.")),
    Exercise("ex03_pruning_mask.py", "The paper's pruning rule: |w| > quality x std", [
        Task("prune_mask", ("mask",), prune_mask_cases,
             "keep a weight when its magnitude is strictly above quality x std",
             "the std is the one given, or that of the whole array w when none is given; compare "
             "magnitudes (both signs); a weight exactly at the threshold is pruned; the result is a "
             "bool array of w's shape"),
    ], minutes=15, objective=(
        "apply the paper's pruning rule (a threshold in units of the layer's std) and explain why "
        "iterative pruning keeps the std measured before the first prune.")),
    Exercise("ex04_masked_sgd.py", "SGD with momentum that keeps pruned weights at zero", [
        Task("masked_sgd_step", ("w", "v"), masked_sgd_cases,
             "kept entries: v = momentum v + lr (g + weight_decay w), then w = w - v; pruned entries: "
             "w and v both 0",
             "compute the update for every entry as if nothing were pruned, then set both the "
             "weight and the velocity to 0 where the mask is False: an old velocity or the weight "
             "decay term would otherwise bring a pruned weight back"),
    ], minutes=20, objective=(
        "write the retraining update so pruned weights stay exactly 0, and name the two ways "
        "(momentum, weight decay) a naive update brings them back.")),
    Exercise("ex05_dropout_adjustment.py", "Dropout-ratio adjustment after pruning (sec. 3.2)", [
        Task("adjusted_dropout_rate", ("rate",), dropout_cases,
             "D_r = D_o * sqrt(C_ir / C_io): the rate scales with the square root of the fraction "
             "of connections kept",
             "C_io is the count before pruning and C_ir after; the ratio is at most 1, so the rate "
             "can only fall; a rate of 0 stays 0"),
    ], minutes=10, objective=(
        "compute the paper's dropout ratio for retraining and explain why a pruned network needs "
        "less dropout.")),
    Exercise("ex06_dead_neurons.py", "Dead neurons (sec. 3.5)", [
        Task("dead_neurons", ("dead",), dead_neuron_cases,
             "a hidden unit is dead when it has no kept incoming connection OR no kept outgoing one",
             "unit j's incoming connections are row j of mask_in, its outgoing ones column j of "
             "mask_out; ask of each whether it holds at least one True, one answer per unit (H,)"),
    ], minutes=15, objective=(
        "find the neurons heavy pruning has cut off, from the masks on both sides of a layer.")),
    Exercise("ex07_csr.py", "Compressed sparse row (CSR): storage and y = W x", [
        Task("csr_from_dense", ("indptr", "indices", "data"), csr_from_dense_cases,
             "the kept entries row by row, columns increasing; indptr[i + 1] - indptr[i] is the "
             "number kept in row i",
             "the mask decides what is stored, not W != 0; indptr has rows + 1 entries, starts at 0 "
             "and ends at nnz (a running total of the per-row counts); an empty row repeats the "
             "previous indptr value"),
        Task("csr_matvec", ("y",), csr_matvec_cases,
             "y[i] is the sum, over row i's stored entries, of the value times x at that entry's "
             "column",
             "row i's entries are the half-open range indptr[i] up to but not including "
             "indptr[i + 1]; an empty row gives 0; look each column up in indices rather than "
             "assuming the columns are sorted"),
    ], minutes=35, objective=(
        "store a pruned matrix in CSR form and multiply with it, touching only the kept entries, "
        "so that pruning saves memory and time.")),
    *DECISION_EXERCISES,
]
"""Every exercise, in the order of the tutorials, then the decision exercises (ex08-ex10)."""

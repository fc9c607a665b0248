"""The training loop: mini-batch SGD with seeded shuffling, evaluation, callbacks and a history.

Training knows nothing about pruning; pruning plugs in through callbacks (``on_batch_end``,
``on_epoch_end``) and through the layers' masks, which forward, backward and the optimiser honour.

Reproducibility: epoch e shuffles with ``default_rng([seed, e])`` and reseeds dropout layers from
``SeedSequence([seed, e, layer_index])``, so an epoch's randomness depends only on (seed, epoch),
not on what ran before. That is what lets a resumed run match an uninterrupted one bit for bit.
"""

import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from tqdm.auto import tqdm

from minnet.atomic import atomic_write_json
from minnet.errors import ConfigError, DivergenceError, ShapeError
from minnet.layers.base import spare_core
from minnet.losses import softmax_cross_entropy
from minnet.threads import available_cores, blas_threads, default_blas_threads


class Callback:
    """Hooks called by :func:`fit`. Subclass and override what you need.

    ``fit`` sets ``self.model`` and ``self.optimizer`` before training starts.
    """

    model = None
    optimizer = None

    def on_train_begin(self, logs):
        """Called once before the first epoch."""

    def on_epoch_begin(self, epoch, logs):
        """Called at the start of every epoch (0-based)."""

    def on_batch_end(self, epoch, batch, logs):
        """Called after every optimiser step; logs has "loss" and "lr"."""

    def on_epoch_end(self, epoch, logs):
        """Called after every epoch; logs has loss, train_acc, val_loss, val_acc, seconds."""


EVAL_BATCH = 1000     # evaluate's batch size (a PrefixCache computes validation features in it)


def evaluate(model, x, y, batch_size=EVAL_BATCH):
    """Mean loss and accuracy of ``model`` on (x, y) in inference mode.

    x: (N, ...) float, y: (N,) int. Returns {"loss": float, "accuracy": float, "error": float}.
    """
    if len(x) != len(y):
        raise ShapeError(f"evaluate: {len(x)} inputs but {len(y)} labels")
    if len(x) == 0:
        raise ShapeError("evaluate: no examples to evaluate (x is empty); check the data slice")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError(f"evaluate: batch_size must be an integer >= 1, got {batch_size!r}")
    total_loss, correct = 0.0, 0
    for i in range(0, len(x), batch_size):
        logits = model.forward(x[i:i + batch_size], training=False)
        loss, _ = softmax_cross_entropy(logits, y[i:i + batch_size])
        total_loss += loss * len(logits)
        correct += int((logits.argmax(axis=1) == y[i:i + batch_size]).sum())
    acc = correct / len(x)
    return {"loss": total_loss / len(x), "accuracy": acc, "error": 1.0 - acc}


def check_finite(optimizer, loss, epoch, batch):
    """Raise DivergenceError if the loss or a parameter the last step updated is NaN/inf.

    The optimiser's update kernel counts non-finite weights as it writes them (``optimizer.nonfinite``
    names the first such parameter), so this check costs nothing per batch. An optimiser without that
    attribute is checked on the loss only.
    """
    if not np.isfinite(loss):
        raise DivergenceError(f"loss became {loss} at epoch {epoch + 1}, batch {batch + 1}; "
                              "lower the learning rate")
    bad = getattr(optimizer, "nonfinite", None)
    if bad is not None:
        raise DivergenceError(
            f"layer {bad[0]}: parameter {bad[1]} became NaN/inf at epoch {epoch + 1}, "
            f"batch {batch + 1}; lower the learning rate")


# -- callbacks that come with minnet ----------------------------------------------------------------
class StopOnDivergence(Callback):
    """Stop training with DivergenceError in the batch where the loss or a weight turns NaN/inf
    (:func:`check_finite`). ``fit`` always runs it first."""

    def on_batch_end(self, epoch, batch, logs):
        """Check the step that just ran."""
        check_finite(self.optimizer, logs["loss"], epoch, batch)


class Resume(Callback):
    """Continue an interrupted run: start at ``start_epoch`` and append to ``history`` (the dict a
    previous ``fit`` returned, or a checkpoint's copy of it)."""

    def __init__(self, history, start_epoch):
        self.history, self.start_epoch = history, int(start_epoch)

    def on_train_begin(self, logs):
        """Hand fit the history to continue and the epoch to start at."""
        logs["history"], logs["start_epoch"] = self.history, self.start_epoch


class HistoryFile(Callback):
    """Write the history to ``path`` as JSON (atomically) after every epoch."""

    def __init__(self, path):
        self.path = path

    def on_train_begin(self, logs):
        """Remember the history fit fills (after any Resume before this callback)."""
        self.history = logs["history"]

    def on_epoch_end(self, epoch, logs):
        """Write the history so far."""
        atomic_write_json(self.path, self.history)


class PrefixCache:
    """The output of a model's frozen first layers on a data set, computed once, reused by ``fit``.

    Paper sec. 3.3: retraining the FC layers with the conv layers frozen "requires less computation
    because we don't have to back propagate through the entire network". Nor forward: the frozen
    prefix (:meth:`minnet.model.Sequential.frozen_prefix`; for LeNet-5 conv1 -> pool1 -> conv2 ->
    pool2 -> flatten) maps each image to the same features (N, 800) in every epoch, so ``fit`` runs
    it once over the data and then trains only the layers above. Pass one cache to several ``fit``
    calls (the pipeline's rounds of one phase) and it is reused while the prefix's weights, masks,
    the data (the same array object, not changed in place), the batch size and dtype stay the same;
    otherwise recomputed.

    Results are bit-identical to the uncached path: the training features are computed in batches
    of the training batch size with ``training=True``, the validation features in
    :func:`evaluate`'s batches with ``training=False``, through the same layers; a matrix product's
    entry does not depend on which other images share its batch. tests/train/test_prefix_cache.py
    checks losses and weights after an epoch of LeNet-5 on real MNIST.
    ``max_bytes``: larger feature sets are not cached (fit then runs every layer as usual).
    """

    def __init__(self, max_bytes=2 << 30):
        self.max_bytes = int(max_bytes)
        self.computed = 0            # how many times features were (re)computed, for tests/benchmarks
        self._entries = {}

    def clear(self):
        """Forget every cached feature set (frees its memory)."""
        self._entries.clear()

    def features(self, model, stop, x, batch_size, training):
        """``model.layers[:stop]`` applied to x (N, ...) in batches of ``batch_size``, as an
        (N, ...) array; None when it would exceed ``max_bytes``. Cached under (training, x)."""
        key = (bool(training), id(x))
        fingerprint = (stop, int(batch_size), model.dtype, len(x),
                       [(id(l), {k: p.copy() for k, p in l.params.items()},
                         {k: m.copy() for k, m in l.masks.items()}) for l in model.layers[:stop]])
        entry = self._entries.get(key)
        if entry is not None and entry[0] is x and _same(entry[1], fingerprint):
            return entry[2]
        self._entries.pop(key, None)
        out = None
        for i in range(0, len(x), batch_size):
            h = model.forward(x[i:i + batch_size], training=training, check_finite=False, stop=stop)
            if out is None:
                if len(x) * h[0].nbytes > self.max_bytes:
                    return None
                out = np.empty((len(x),) + h.shape[1:], dtype=h.dtype)
            out[i:i + len(h)] = h
        self.computed += 1
        self._entries[key] = (x, fingerprint, out)
        return out


def _same(a, b):
    """Equality of two PrefixCache fingerprints (nested tuples, lists, dicts of arrays)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape
                and a.dtype == b.dtype and np.array_equal(a, b))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return (type(a) is type(b) and len(a) == len(b)
                and all(_same(u, v) for u, v in zip(a, b)))
    return a == b


class LayersAbove:
    """The layers of ``model`` from ``start`` on, seen as a model (forward only), for a training
    loop or :func:`evaluate` fed with the output of the layers below (``model.forward(x,
    stop=start)``, e.g. a :class:`PrefixCache`'s features, or the sensitivity scan's)."""

    def __init__(self, model, start):
        self.model, self.start = model, start

    def forward(self, x, training=False, check_finite=True):
        """Run layers[start:] on features x."""
        return self.model.forward_layers(x, self.start, None, training=training)


HISTORY_KEYS = ("epoch", "loss", "train_acc", "val_loss", "val_acc", "lr", "seconds")


def fit(model, optimizer, x, y, *, epochs, batch_size=64, seed=0, validation=None, callbacks=(),
        progress=None, threads=None, prefix_cache=None):
    """Train ``model`` with ``optimizer`` on (x, y) for ``epochs`` epochs.

    x: (N, ...) float32, y: (N,) int labels. Each epoch visits a fresh permutation of the N examples
    in mini-batches of ``batch_size`` (the last one may be smaller), doing
        logits = model.forward(xb, training=True); loss, dlogits = softmax_cross_entropy(logits, yb)
        model.backward(dlogits); optimizer.step(model)
    and then evaluates on ``validation`` = (x_val, y_val) if given. Everything else plugs in as
    :class:`Callback` objects: :class:`StopOnDivergence` (always on: NaN/inf stops training with
    DivergenceError naming epoch, batch and layer), :class:`Resume` (continue at an epoch, appending
    to a history), :class:`HistoryFile` (write the history after every epoch), or your own.

    progress: True/False, or None for "only when stderr is a terminal" (a tqdm bar with loss/acc).
    threads: BLAS threads while training (default: 1 below batch 128, else up to 4; see
    :mod:`minnet.threads`).
    prefix_cache: a :class:`PrefixCache` (or None): when the model's first layers are frozen and
    deterministic (:meth:`minnet.model.Sequential.frozen_prefix`), compute their output once and
    train only the layers above it; the same numbers, bit for bit. The epoch's callbacks see
    ``logs["val_seconds"]``, the seconds its validation took.
    Returns the history: {"epoch", "loss", "train_acc", "val_loss", "val_acc", "lr", "seconds"}
    lists, one entry per epoch.
    """
    if len(x) != len(y):
        raise ShapeError(f"fit: {len(x)} inputs but {len(y)} labels")
    if len(x) == 0:
        raise ShapeError("fit: the training set is empty")
    if batch_size < 1 or epochs < 0:
        raise ConfigError(f"fit: batch_size must be >= 1 and epochs >= 0, got {batch_size}, {epochs}")
    if not callable(getattr(optimizer, "step", None)):
        raise ConfigError(f"fit: the optimizer must be an object with step(model), e.g. "
                          f"minnet.SGD(lr=0.01), got {type(optimizer).__name__} {optimizer!r:.40}")
    x_val, y_val = validation if validation is not None else (None, None)
    _check_finite_inputs(x)                 # once here, so no batch needs to scan again
    if progress is None:
        progress = sys.stderr.isatty()
    callbacks = [StopOnDivergence(), *callbacks]
    logs = {"epochs": epochs, "start_epoch": 0, "history": {k: [] for k in HISTORY_KEYS}}
    for cb in callbacks:
        cb.model, cb.optimizer = model, optimizer
        cb.on_train_begin(logs)
    n_threads = threads or default_blas_threads(batch_size)
    # Gather the next batch on a spare core, if BLAS leaves one (see _prefetched_batches).
    prefetch = n_threads < available_cores()
    with blas_threads(n_threads), spare_core(prefetch):
        runner = model
        if prefix_cache is not None and logs["start_epoch"] < epochs:
            x, x_val, runner = _use_prefix_cache(prefix_cache, model, x, x_val, batch_size)
        _run_epochs(model, optimizer, x, y, epochs, batch_size, seed, x_val, y_val, callbacks,
                    progress, logs["history"], logs["start_epoch"], prefetch, runner)
    return logs["history"]


def _use_prefix_cache(cache, model, x, x_val, batch_size):
    """(x, x_val, runner) for the epoch loop: the frozen prefix's features and the layers above
    it when the model has such a prefix and the features fit the cache; else the inputs as given
    and the whole model (and the cache is cleared: it holds nothing this training can use)."""
    stop = model.frozen_prefix()
    if not any(layer.params for layer in model.layers[:stop]):
        stop = 0                      # e.g. only a Flatten: nothing worth computing once
    feats = cache.features(model, stop, x, batch_size, training=True) if stop else None
    val_feats = None
    if feats is not None and x_val is not None:
        val_feats = cache.features(model, stop, x_val, EVAL_BATCH, training=False)
    if feats is None or (x_val is not None and val_feats is None):
        cache.clear()
        return x, x_val, model
    return feats, val_feats, LayersAbove(model, stop)


def _check_finite_inputs(x, chunk=8192):
    """Raise ValueError naming the first NaN/inf in x (scanned in chunks: no x-sized temporary)."""
    for start in range(0, len(x), chunk):
        bad = ~np.isfinite(x[start:start + chunk])
        if bad.any():
            first = np.argwhere(bad)[0]
            first[0] += start
            raise ConfigError(f"fit: the training inputs contain NaN or inf (first at index "
                             f"{tuple(int(i) for i in first)}); clean the data before training")


def _batch(x, y, order, b, batch_size):
    """Mini-batch b of the epoch: (idx, x[idx], y[idx]) with idx = order[b*B : (b+1)*B]."""
    idx = order[b * batch_size:(b + 1) * batch_size]
    return idx, x[idx], y[idx]


def _batches(x, y, order, batch_size, n_batches):
    """Yield the epoch's mini-batches in order."""
    for b in range(n_batches):
        yield _batch(x, y, order, b, batch_size)


def _prefetched_batches(x, y, order, batch_size, n_batches):
    """Yield (idx, x[idx], y[idx]) for the epoch's mini-batches, gathering batch b+1 in a helper
    thread while the caller trains on batch b (used when BLAS leaves a core idle).

    Why: copying 256 random rows of MNIST out of 188 MB misses the caches (~0.13 ms a batch, 6% of
    a LeNet-300-100 epoch); NumPy releases the GIL while it copies, so the other core can do it.
    The batches are the same arrays as without the thread, so results do not change.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(_batch, x, y, order, 0, batch_size)
        for b in range(n_batches):
            batch = pending.result()
            if b + 1 < n_batches:
                pending = pool.submit(_batch, x, y, order, b + 1, batch_size)
            yield batch


def _run_epochs(model, optimizer, x, y, epochs, batch_size, seed, x_val, y_val, callbacks,
                progress, history, start_epoch, prefetch, runner=None):
    """The epoch loop of :func:`fit` (split out so the BLAS thread limit wraps all of it).

    ``runner`` runs the forward pass: the model, or (with a prefix cache) the layers above the
    frozen prefix, x and x_val then being that prefix's features. Backward and the optimiser
    always see the whole model (backward stops at the lowest trained layer anyway)."""
    runner = model if runner is None else runner
    n = len(x)
    n_batches = (n + batch_size - 1) // batch_size
    for epoch in range(start_epoch, epochs):
        start = time.perf_counter()
        order = np.random.default_rng([seed, epoch]).permutation(n)
        for i, layer in enumerate(model.layers):
            layer.reseed(np.random.SeedSequence([seed, epoch, i]))
        for cb in callbacks:
            cb.on_epoch_begin(epoch, {})
        total_loss, correct = 0.0, 0
        bar = tqdm(total=n_batches, desc=f"epoch {epoch + 1}/{epochs}", disable=not progress,
                   leave=False, file=sys.stderr)
        batches = (_prefetched_batches if prefetch else _batches)(x, y, order, batch_size, n_batches)
        for b, (idx, xb, yb) in enumerate(batches):
            logits = runner.forward(xb, training=True, check_finite=False)
            loss, dlogits = softmax_cross_entropy(logits, yb)
            model.backward(dlogits)
            lr = optimizer.lr
            optimizer.step(model)
            total_loss += loss * len(idx)
            correct += int((logits.argmax(axis=1) == yb).sum())
            for cb in callbacks:
                cb.on_batch_end(epoch, b, {"loss": loss, "lr": lr})
            if progress and (b % 20 == 0 or b == n_batches - 1):
                bar.set_postfix(loss=f"{loss:.4f}", acc=f"{correct / min(n, (b + 1) * batch_size):.4f}",
                                refresh=False)
                bar.update(b + 1 - bar.n)
        bar.close()
        logs = {"epoch": epoch + 1, "loss": total_loss / n, "train_acc": correct / n,
                "val_loss": None, "val_acc": None, "lr": optimizer.lr}
        val_start = time.perf_counter()
        if x_val is not None:
            ev = evaluate(runner, x_val, y_val)
            logs["val_loss"], logs["val_acc"] = ev["loss"], ev["accuracy"]
        logs["seconds"] = time.perf_counter() - start
        logs["val_seconds"] = time.perf_counter() - val_start
        for k in history:
            history[k].append(logs[k])
        if progress:
            test = f", val acc {logs['val_acc']:.4f}" if logs["val_acc"] is not None else ""
            tqdm.write(f"epoch {epoch + 1}/{epochs}: loss {logs['loss']:.4f}, "
                       f"train acc {logs['train_acc']:.4f}{test} ({logs['seconds']:.1f} s)",
                       file=sys.stderr)
        for cb in callbacks:
            cb.on_epoch_end(epoch, logs)

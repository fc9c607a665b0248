"""The Layer base class: what every layer owns (parameters, gradients, masks) and how masks work.

A layer is a small object with
    params: dict name -> array        (e.g. "W", "b")
    grads:  dict name -> array        (same names and shapes, filled by backward)
    masks:  dict name -> bool array   (one per prunable weight; True = connection kept)
and two methods, ``forward(x, training=False) -> y`` and ``backward(dout) -> dx``.

Masks are the slot pruning builds on (paper sec. 2, step 2). ``set_mask`` zeroes the pruned weights;
``backward`` zeroes their gradients; the optimiser pins them (and their momentum) at zero. Because the
weights themselves are exactly 0.0 where the mask is False, forward needs no extra multiply.

Pruning talks to a layer through a small API, so no other module needs to know the names of its
arrays: ``weight`` and ``mask`` (the prunable weight W and its keep-mask), ``prune(keep)`` (AND a new
mask into the old one), ``n_kept``, and ``pruning_record`` (what pruning remembers from before the
first prune, a :class:`PruningRecord`).
"""

import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from minnet.errors import ConfigError, DTypeError, LayerKindError, LayerNameError, ShapeError
from minnet.kernels.dense import zero_pruned

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


# The most weights one layer may have: 2^30 (4 GiB in float32), ten times VGG-16's fc6. Checked
# before allocating, so a typo (or a crafted file's architecture) cannot ask for petabytes.
MAX_WEIGHTS = 1 << 30


def check_weight_count(layer, count):
    """Raise ValueError naming ``layer`` (its describe()) if ``count`` weights exceed MAX_WEIGHTS."""
    if count > MAX_WEIGHTS:
        raise ConfigError(f"{layer.describe()}: {count:,} weights is more than the {MAX_WEIGHTS:,} "
                         "one layer may have; check the layer sizes")


def check_float_array(x, where: str, dtype=None):
    """Raise a clear error unless ``x`` is a non-empty float32/float64 ndarray (of ``dtype`` if given).

    ``where`` names the caller (e.g. "Dense 'fc1'") so the message says which layer complained.
    Checking NaN/inf is the model's job (once, on its input), not every layer's.
    """
    if not isinstance(x, np.ndarray):
        raise DTypeError(f"{where}: expected a numpy array, got {type(x).__name__}; "
                         "convert with np.asarray(x, dtype=np.float32)")
    if x.dtype not in FLOAT_DTYPES:
        raise DTypeError(f"{where}: expected float32 or float64 input, got dtype {x.dtype}; "
                         "convert with x.astype(np.float32)")
    if dtype is not None and x.dtype != dtype:
        raise DTypeError(f"{where}: input is {x.dtype} but the layer's parameters are {dtype}; "
                         f"convert one of them (x.astype(np.{dtype}) or layer.astype(...))")
    if x.ndim == 0:
        raise ShapeError(f"{where}: got a scalar; expected a batch of shape (N, ...)")
    if x.shape[0] == 0:
        raise ShapeError(f"{where}: got an empty batch (shape {x.shape}); pass at least one example")


# A layer's backward has two independent GEMMs: the weight gradient (dW = dz^T x for Dense,
# dz col^T for Conv2D) and the input gradient (dz W, W^T dz). While BLAS runs on one thread and a
# core is free (fit says so through spare_core), Dense and Conv2D run the dW product on a helper
# thread alongside the other. Each is still one single-threaded BLAS call, so the numbers are
# bit-identical; LeNet-5's conv2 spends ~1.9 ms and fc1 ~0.8 ms of a 64-image step's ~14 ms there.
_spare = threading.local()
_helper = None


@contextmanager
def spare_core(free=True):
    """Inside the block, backward (in this thread) may run weight-gradient products on a helper
    thread: BLAS is limited to one thread and another core is idle (``fit`` decides)."""
    before = getattr(_spare, "free", False)
    _spare.free = bool(free)
    try:
        yield
    finally:
        _spare.free = before


def spare_core_free() -> bool:
    """True inside ``spare_core(True)`` in this thread."""
    return getattr(_spare, "free", False)


def helper_thread() -> ThreadPoolExecutor:
    """The one helper thread backward hands its weight-gradient products to (created on first use)."""
    global _helper
    if _helper is None:
        _helper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="minnet-dW")
    return _helper


@dataclass(frozen=True)
class PruningRecord:
    """What pruning remembers of a layer from before its first prune (saved with the model).

    std_before:         std of W then; the unit of the paper's threshold q x std (sec. 2)
    connections_before: W.size then; C_io of the dropout adjustment (sec. 3.2)
    """

    std_before: float
    connections_before: int


# The layer's ``state`` keys that hold the record (plain numbers, so they save with the model).
_RECORD_KEYS = {"std_before": "std_before_pruning", "connections_before": "connections_before_pruning"}


class Layer:
    """Base class. Subclasses set ``params`` and, for prunable weights, ``masks``.

    Attributes
    ----------
    name : str or None
        Unique within a model (the paper's layer names: fc1, conv1, ...).
    kind : str
        "fc", "conv" or "other"; pruning freezes and prunes layers by kind (paper sec. 3.3).
    trainable : bool
        False freezes the layer: the optimiser skips its parameters.
    """

    kind = "other"
    # True if the layer's output for one example is bit for bit the same whatever other examples
    # share its batch (elementwise layers, pooling, Conv2D's per-image GEMMs; not Dense, whose
    # BLAS product rounds a row differently at different places in the batch). fit's PrefixCache
    # only caches frozen layers that are, so cached training matches uncached training exactly.
    batch_invariant = False

    def __init__(self, name=None):
        self.name = name
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.masks: dict[str, np.ndarray] = {}
        self.trainable = True
        # Plain numbers that belong to the layer beyond its arrays and are saved with the model,
        # e.g. pruning's "std of W before the first prune" (paper sec. 2: threshold = q * std).
        self.state: dict[str, float] = {}

    # -- the two methods every layer implements -------------------------------------------------
    def forward(self, x, training=False):
        """Compute the layer's output for a batch x (N, ...); ``training`` enables dropout."""
        raise NotImplementedError

    def backward(self, dout, need_dx=True):
        """Given dout = dL/d(output), fill ``grads`` with dL/d(params) and return dL/dx.

        need_dx=False: nothing below needs dL/dx (Sequential passes it to the lowest layer it
        trains), so a layer may skip computing it and return None; for fc1 of LeNet-300-100 that
        is a third of its backward GEMMs."""
        raise NotImplementedError

    # -- masks -----------------------------------------------------------------------------------
    def set_mask(self, name: str, mask) -> None:
        """Keep the connections where ``mask`` is True and set the others to exactly 0.0.

        ``mask`` must be a bool array with the shape of ``params[name]``. Only weights that carry a
        mask (``name in self.masks``) can be pruned; biases cannot (the paper prunes connections).
        """
        if name not in self.masks:
            raise LayerNameError(f"{self.describe()}: parameter {name!r} has no mask; "
                           f"prunable parameters: {sorted(self.masks)}")
        mask = np.asarray(mask)
        if mask.dtype != np.bool_:
            raise DTypeError(f"{self.describe()}: mask for {name!r} must be bool, got {mask.dtype}; "
                             "use e.g. np.abs(W) > threshold")
        if mask.shape != self.params[name].shape:
            raise ShapeError(f"{self.describe()}: mask for {name!r} has shape {mask.shape}, "
                             f"the weight has shape {self.params[name].shape}")
        self.masks[name] = mask.copy()
        self.params[name][~mask] = 0.0
        if name in self.grads:
            self.grads[name][~mask] = 0.0

    def mask_grads(self) -> None:
        """Zero the gradients of pruned connections (called at the end of ``backward``).

        One Numba pass per mask (:func:`minnet.kernels.dense.zero_pruned`): the same zeros as
        ``grads[name][~mask] = 0.0``, at a fraction of its cost on a retrained layer.
        """
        for name, mask in self.masks.items():
            if mask.all():                   # an unpruned layer: nothing to zero (~3 us for fc1)
                continue
            g = self.grads[name]
            if g.flags.c_contiguous and mask.flags.c_contiguous and mask.shape == g.shape:
                zero_pruned(g.reshape(-1), mask.reshape(-1))
            else:
                g[~mask] = 0.0

    # -- the pruning API ---------------------------------------------------------------------------
    # Layers with a prunable weight keep it under params["W"] and its mask under masks["W"]; these
    # accessors are the only places outside a layer's own code that know that.
    @property
    def prunable(self) -> bool:
        """True if the layer has a prunable weight (a mask on W)."""
        return "W" in self.masks

    def _require_prunable(self):
        if not self.prunable:
            raise LayerKindError(f"{self.describe()} has no prunable weight")

    @property
    def weight(self) -> np.ndarray:
        """The prunable weight W (the array itself, not a copy)."""
        self._require_prunable()
        return self.params["W"]

    @property
    def mask(self) -> np.ndarray:
        """W's keep-mask: bool, shaped like W, True = connection kept."""
        self._require_prunable()
        return self.masks["W"]

    @property
    def n_kept(self) -> int:
        """Number of connections still kept (True entries of the mask)."""
        return int(self.mask.sum())

    def prune(self, keep) -> int:
        """Remove the connections where ``keep`` is False: mask = old mask AND keep, the removed
        weights set to exactly 0. A pruned connection never comes back. Returns ``n_kept``."""
        self.set_mask("W", np.asarray(keep) & self.mask)
        return self.n_kept

    @property
    def pruning_record(self) -> PruningRecord | None:
        """The :class:`PruningRecord` written by the first prune, or None before it."""
        if _RECORD_KEYS["std_before"] not in self.state:
            return None
        return PruningRecord(float(self.state[_RECORD_KEYS["std_before"]]),
                             int(self.state.get(_RECORD_KEYS["connections_before"], self.mask.size)))

    def remember_before_pruning(self) -> PruningRecord:
        """Record std(W) (in float64) and W.size once, before the first prune; later calls keep
        the first record. Returns it."""
        if self.pruning_record is None:
            w = self.weight
            self.state[_RECORD_KEYS["std_before"]] = float(np.std(w.astype(np.float64)))
            self.state[_RECORD_KEYS["connections_before"]] = int(w.size)
        return self.pruning_record

    # -- bookkeeping -----------------------------------------------------------------------------
    def reseed(self, seed_sequence) -> None:
        """Give the layer's random-number generator a new seed (only Dropout has one)."""

    def config(self) -> dict:
        """Constructor arguments that rebuild this layer (saved with the model's architecture)."""
        return {"name": self.name}

    def state_dict(self) -> dict:
        """What belongs to the layer beyond its params and masks (saved with the model): plain
        numbers, or arrays that are not trained (a CSR layer's index structure)."""
        return dict(self.state)

    def load_state(self, state: dict) -> None:
        """Take back what ``state_dict`` returned (a layer with more state overrides both).
        Loading calls it after the params and masks are in place."""
        self.state = dict(state)

    def astype(self, dtype) -> "Layer":
        """Convert parameters (and gradients) to ``dtype`` in place, e.g. float64 for gradient checks."""
        for k in self.params:
            self.params[k] = self.params[k].astype(dtype)
            self.grads[k] = np.zeros_like(self.params[k])
        return self

    @property
    def dtype(self):
        """The dtype of the parameters (float32 unless converted with ``astype``)."""
        for p in self.params.values():
            return p.dtype
        return None

    def describe(self) -> str:
        """A short label for messages, e.g. "Dense 'fc1'"."""
        return f"{type(self).__name__} {self.name!r}" if self.name else type(self).__name__

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({args})"

"""The Layer base class: what every layer owns (parameters, gradients, masks) and how masks work.

A layer is a small object with
    params: dict name -> array        (e.g. "W", "b")
    grads:  dict name -> array        (same names and shapes, filled by backward)
    masks:  dict name -> bool array   (one per prunable weight; True = connection kept)
and two methods, ``forward(x, training=False) -> y`` and ``backward(dout) -> dx``.

Masks are the slot pruning builds on (paper sec. 2, step 2). ``set_mask`` zeroes the pruned weights;
``backward`` zeroes their gradients; the optimiser pins them (and their momentum) at zero. Because the
weights themselves are exactly 0.0 where the mask is False, forward needs no extra multiply.
"""

import numpy as np

from minnet.errors import DTypeError, ShapeError

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


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

    def __init__(self, name=None):
        self.name = name
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.masks: dict[str, np.ndarray] = {}
        self.trainable = True
        # Set by Sequential.backward: False when nothing below this layer needs dL/dx, so a layer
        # may skip computing it (for fc1 of LeNet-300-100 that is a third of its backward GEMMs).
        self.input_grad = True
        # Plain numbers that belong to the layer beyond its arrays and are saved with the model,
        # e.g. pruning's "std of W before the first prune" (paper sec. 2: threshold = q * std).
        self.state: dict[str, float] = {}

    # -- the two methods every layer implements -------------------------------------------------
    def forward(self, x, training=False):
        """Compute the layer's output for a batch x (N, ...); ``training`` enables dropout."""
        raise NotImplementedError

    def backward(self, dout):
        """Given dout = dL/d(output), fill ``grads`` with dL/d(params) and return dL/dx."""
        raise NotImplementedError

    # -- masks -----------------------------------------------------------------------------------
    def set_mask(self, name: str, mask) -> None:
        """Keep the connections where ``mask`` is True and set the others to exactly 0.0.

        ``mask`` must be a bool array with the shape of ``params[name]``. Only weights that carry a
        mask (``name in self.masks``) can be pruned; biases cannot (the paper prunes connections).
        """
        if name not in self.masks:
            raise KeyError(f"{self.describe()}: parameter {name!r} has no mask; "
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
        """Zero the gradients of pruned connections (called at the end of ``backward``)."""
        for name, mask in self.masks.items():
            if not mask.all():
                self.grads[name][~mask] = 0.0

    # -- bookkeeping -----------------------------------------------------------------------------
    def reseed(self, seed_sequence) -> None:
        """Give the layer's random-number generator a new seed (only Dropout has one)."""

    def config(self) -> dict:
        """Constructor arguments that rebuild this layer (saved with the model's architecture)."""
        return {"name": self.name}

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

"""Sequential: a stack of layers that runs forward and backward (saving is :mod:`minnet.io`'s job).

One batch flows   x -> layer_1.forward -> ... -> layer_L.forward -> logits
and its gradient flows back   dlogits -> layer_L.backward -> ... -> layer_1.backward.
"""

import copy

import numpy as np

from minnet import io
from minnet.errors import ConfigError, DTypeError, LayerNameError, ShapeError
from minnet.io import FORMAT_VERSION, open_npz  # noqa: F401  (re-exported; their home is minnet.io)
from minnet.layers.base import FLOAT_DTYPES, Layer


class Sequential:
    """Layers applied in order. ``layers[i].name`` is unique (names default to the class + index).

    forward(x (N, ...), training) -> output;  backward(dout) -> dx of the first layer that needs it.
    """

    def __init__(self, layers):
        self.layers = list(layers)
        seen = set()
        for i, layer in enumerate(self.layers):
            if not isinstance(layer, Layer):
                raise ConfigError(f"Sequential: entry {i} is {layer!r}, not a layer; give layers "
                                  "such as Dense(784, 300) or ReLU()")
            if layer.name is None:
                layer.name = f"{type(layer).__name__.lower()}{i}"
            if layer.name in seen:
                raise ConfigError(f"Sequential: two layers are named {layer.name!r}; names must be unique")
            seen.add(layer.name)

    # -- running ---------------------------------------------------------------------------------
    def forward(self, x, training=False, check_finite=True, stop=None):
        """Run every layer (or only ``layers[:stop]``). x: float array (N, ...); cast to the model's
        dtype if it is float64/32.

        Raises DTypeError for non-float input and ValueError for NaN/inf in the input.
        ``check_finite=False`` skips the NaN/inf scan (``fit`` scans its data once, not every batch).
        ``stop``: the output of the first ``stop`` layers (a frozen prefix's features, see
        :meth:`frozen_prefix`); :meth:`forward_layers` then runs the rest.
        """
        if not isinstance(x, np.ndarray) or x.dtype not in FLOAT_DTYPES:
            got = x.dtype if isinstance(x, np.ndarray) else type(x).__name__
            raise DTypeError(f"model input must be a float32 or float64 array, got {got}; "
                             "convert with np.asarray(x, dtype=np.float32)")
        if x.ndim == 0 or x.shape[0] == 0:
            raise ShapeError(f"model input must be a non-empty batch (N, ...), got shape {x.shape}")
        if check_finite and not np.isfinite(x).all():
            bad = np.argwhere(~np.isfinite(x))[0]
            raise ConfigError(f"model input contains NaN or inf (first at index {tuple(bad)}); "
                             "clean the data before training or inference")
        dtype = self.dtype
        if dtype is not None and x.dtype != dtype:
            x = x.astype(dtype)
        for layer in self.layers[:stop]:
            x = layer.forward(x, training=training)
        return x

    def backward(self, dout, input_grad=False):
        """Back-propagate ``dout`` (d loss / d output) through the layers; fill every layer's grads.

        Layers below the lowest trainable layer with parameters are skipped, since nothing there needs
        a gradient (this is what makes retraining FC layers with frozen conv layers cheap); the
        return value is then the gradient at that layer's input. With ``input_grad=True`` every
        layer runs and the return value is d loss / d x for the model's input. Without it, the lowest
        layer is called with ``need_dx=False`` (it may skip dx), and the return value is whatever it
        returns (None for Dense and Conv2D).
        """
        lowest = 0 if input_grad else self._lowest_trainable()
        for i in range(len(self.layers) - 1, lowest - 1, -1):
            layer = self.layers[i]
            dout = layer.backward(dout, need_dx=i > lowest or input_grad)
        return dout

    def _lowest_trainable(self):
        for i, layer in enumerate(self.layers):
            if layer.trainable and layer.params:
                return i
        return len(self.layers)

    def frozen_prefix(self):
        """How many of the first layers give the same output for the same input in every training
        step, bit for bit: those below the lowest trainable layer with parameters, up to the first
        random one (a layer that overrides ``reseed``, i.e. Dropout) or the first whose output for
        an example depends on the rest of its batch (``batch_invariant`` False, e.g. Dense).
        0 when the first layer is trained.

        While the conv layers of LeNet-5 are frozen (the FC phase, paper sec. 3.3), conv1 -> pool1
        -> conv2 -> pool2 -> flatten is such a prefix: ``fit`` can compute its output once
        (``fit(..., prefix_cache=...)``) and run only the layers above it every epoch.
        """
        stop = self._lowest_trainable()
        for i, layer in enumerate(self.layers[:stop]):
            if type(layer).reseed is not Layer.reseed or not layer.batch_invariant:
                return i
        return stop

    def forward_layers(self, x, start, stop, training=False):
        """Run only ``layers[start:stop]`` on x (already the model's dtype); no input checks."""
        for layer in self.layers[start:stop]:
            x = layer.forward(x, training=training)
        return x

    def predict(self, x, batch_size=1000):
        """Logits for x in batches of ``batch_size`` (inference mode: no dropout).

        x: (N, ...) with N >= 1; returns (N, classes)."""
        if len(x) == 0:
            raise ShapeError("predict: no examples (x is empty)")
        outs = [self.forward(x[i:i + batch_size]) for i in range(0, len(x), batch_size)]
        return np.concatenate(outs, axis=0)

    # -- inspection ------------------------------------------------------------------------------
    @property
    def dtype(self):
        """The parameters' dtype (float32 by default)."""
        for layer in self.layers:
            if layer.dtype is not None:
                return layer.dtype
        return None

    def prunable_layers(self):
        """Layers that carry a weight mask (Dense and Conv2D), in order."""
        return [layer for layer in self.layers if layer.masks]

    def layer(self, name):
        """The layer called ``name``."""
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise LayerNameError(f"no layer named {name!r}; layers: {[l.name for l in self.layers]}")

    def count_params(self, nonzero=False):
        """Number of parameters (weights + biases); with nonzero=True only the nonzero ones."""
        if nonzero:
            return int(sum(np.count_nonzero(p) for l in self.layers for p in l.params.values()))
        return int(sum(p.size for l in self.layers for p in l.params.values()))

    def architecture(self):
        """The layers as plain data: [{"class": "Dense", "config": {...}}, ...]."""
        return [{"class": type(l).__name__, "config": l.config()} for l in self.layers]

    def astype(self, dtype):
        """Convert every layer's parameters to ``dtype`` in place (float64 for gradient checks)."""
        for layer in self.layers:
            layer.astype(dtype)
        return self

    def copy(self):
        """An independent deep copy (parameters, masks, state)."""
        return copy.deepcopy(self)

    def summary(self):
        """A text table: layer, class, output-independent parameter shapes, parameter count."""
        lines = [f"{'layer':<10} {'type':<10} {'weights':>22} {'params':>10} {'kept':>7}"]
        for l in self.layers:
            shape = str(tuple(l.weight.shape)) if l.prunable else ""
            n = sum(p.size for p in l.params.values())
            kept = f"{100 * l.mask.mean():.1f}%" if l.prunable else ""
            lines.append(f"{l.name:<10} {type(l).__name__:<10} {shape:>22} {n:>10,} {kept:>7}")
        lines.append(f"total parameters: {self.count_params():,}")
        return "\n".join(lines)

    def __repr__(self):
        return "Sequential([\n" + "".join(f"    {l!r},\n" for l in self.layers) + "])"

    # -- saving and loading: done by minnet.io, offered here for convenience ---------------------
    def to_arrays(self) -> dict:
        """Everything needed to rebuild the model, as a flat dict of arrays (:mod:`minnet.io`)."""
        return io.model_to_arrays(self)

    def save(self, path):
        """Write weights, masks, layer state and architecture to one .npz, atomically."""
        return io.save_model(self, path)

    @classmethod
    def from_arrays(cls, arrays, source="arrays"):
        """Rebuild a model from what ``to_arrays`` returned."""
        return io.model_from_arrays(arrays, source, cls)

    def load_arrays(self, arrays, source="arrays"):
        """Copy weights, masks and layer state from ``arrays`` into this model (same architecture)."""
        return io.load_arrays(self, arrays, source)

    @classmethod
    def load(cls, path):
        """Load a model saved with ``save`` (architecture included). Damaged files raise CheckpointError."""
        return io.load_model(path, cls)

    def load_weights(self, path):
        """Load weights and masks from ``path`` into this model; another architecture raises CheckpointError."""
        return io.load_weights(self, path)

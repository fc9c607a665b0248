"""Sequential: a stack of layers, with save/load of weights, masks and architecture in one .npz.

One batch flows   x -> layer_1.forward -> ... -> layer_L.forward -> logits
and its gradient flows back   dlogits -> layer_L.backward -> ... -> layer_1.backward.
"""

import copy
import json
import zipfile

import numpy as np

from minnet.atomic import atomic_savez
from minnet.errors import CheckpointError, DTypeError, ShapeError
from minnet.layers import LAYER_CLASSES
from minnet.layers.base import FLOAT_DTYPES

FORMAT_VERSION = 1


class Sequential:
    """Layers applied in order. ``layers[i].name`` is unique (names default to the class + index).

    forward(x (N, ...), training) -> output;  backward(dout) -> dx of the first layer that needs it.
    """

    def __init__(self, layers):
        self.layers = list(layers)
        seen = set()
        for i, layer in enumerate(self.layers):
            if layer.name is None:
                layer.name = f"{type(layer).__name__.lower()}{i}"
            if layer.name in seen:
                raise ValueError(f"Sequential: two layers are named {layer.name!r}; names must be unique")
            seen.add(layer.name)

    # -- running ---------------------------------------------------------------------------------
    def forward(self, x, training=False, check_finite=True):
        """Run every layer. x: float array (N, ...); cast to the model's dtype if it is float64/32.

        Raises DTypeError for non-float input and ValueError for NaN/inf in the input.
        ``check_finite=False`` skips the NaN/inf scan (``fit`` scans its data once, not every batch).
        """
        if not isinstance(x, np.ndarray) or x.dtype not in FLOAT_DTYPES:
            got = x.dtype if isinstance(x, np.ndarray) else type(x).__name__
            raise DTypeError(f"model input must be a float32 or float64 array, got {got}; "
                             "convert with np.asarray(x, dtype=np.float32)")
        if x.ndim == 0 or x.shape[0] == 0:
            raise ShapeError(f"model input must be a non-empty batch (N, ...), got shape {x.shape}")
        if check_finite and not np.isfinite(x).all():
            bad = np.argwhere(~np.isfinite(x))[0]
            raise ValueError(f"model input contains NaN or inf (first at index {tuple(bad)}); "
                             "clean the data before training or inference")
        dtype = self.dtype
        if dtype is not None and x.dtype != dtype:
            x = x.astype(dtype)
        for layer in self.layers:
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

    def predict(self, x, batch_size=1000):
        """Logits for x in batches of ``batch_size`` (inference mode: no dropout)."""
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
        raise KeyError(f"no layer named {name!r}; layers: {[l.name for l in self.layers]}")

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

    # -- saving and loading ----------------------------------------------------------------------
    def to_arrays(self) -> dict:
        """Everything needed to rebuild the model, as a flat dict of arrays (the .npz contents)."""
        arrays = {
            "minnet_format": np.array(FORMAT_VERSION),
            "architecture": np.array(json.dumps(self.architecture())),
            "layer_state": np.array(json.dumps({l.name: l.state for l in self.layers})),
        }
        for l in self.layers:
            for k, p in l.params.items():
                arrays[f"param/{l.name}/{k}"] = p
            for k, m in l.masks.items():
                arrays[f"mask/{l.name}/{k}"] = m
        return arrays

    def save(self, path):
        """Write weights, masks, layer state and architecture to one .npz, atomically."""
        return atomic_savez(path, self.to_arrays())

    @classmethod
    def from_arrays(cls, arrays, source="arrays"):
        """Rebuild a model from what ``to_arrays`` returned."""
        try:
            version = int(arrays["minnet_format"])
            arch = json.loads(str(arrays["architecture"]))
        except (KeyError, ValueError, TypeError) as e:
            raise CheckpointError(f"{source}: not a minnet model file (no readable architecture: {e})") from e
        if version != FORMAT_VERSION:
            raise CheckpointError(f"{source}: format version {version}, this minnet reads {FORMAT_VERSION}")
        layers = []
        for spec in arch:
            if spec.get("class") not in LAYER_CLASSES:
                raise CheckpointError(f"{source}: unknown layer type {spec.get('class')!r}")
            layers.append(LAYER_CLASSES[spec["class"]](**spec["config"]))
        model = cls(layers)
        # Layers are built in float32; a model saved in float64 (e.g. for gradient checks) comes
        # back in float64: the parameters' own dtype is the record of it.
        saved_dtypes = {np.asarray(v).dtype for k, v in arrays.items() if k.startswith("param/")}
        if saved_dtypes == {np.dtype(np.float64)}:
            model.astype(np.float64)
        model.load_arrays(arrays, source)
        return model

    def load_arrays(self, arrays, source="arrays"):
        """Copy weights, masks and layer state from ``arrays`` into this model (same architecture)."""
        try:
            saved_arch = json.loads(str(arrays["architecture"]))
        except (KeyError, ValueError) as e:
            raise CheckpointError(f"{source}: not a minnet model file ({e})") from e
        mine = self.architecture()
        strip = lambda arch: [(s["class"], {k: v for k, v in s["config"].items()
                                             if k not in ("rate", "original_rate")}) for s in arch]
        if strip(saved_arch) != strip(mine):
            raise CheckpointError(
                f"{source}: saved for another architecture.\n  file:  {_arch_line(saved_arch)}\n"
                f"  model: {_arch_line(mine)}")
        try:
            state = json.loads(str(arrays["layer_state"]))
            for l, spec in zip(self.layers, saved_arch):
                for k in l.params:
                    p = np.asarray(arrays[f"param/{l.name}/{k}"])
                    if p.shape != l.params[k].shape:
                        raise CheckpointError(f"{source}: {l.name}/{k} has shape {p.shape}, "
                                              f"expected {l.params[k].shape}")
                    l.params[k] = p.astype(l.params[k].dtype)
                    l.grads[k] = np.zeros_like(l.params[k])
                for k in l.masks:
                    l.set_mask(k, np.asarray(arrays[f"mask/{l.name}/{k}"]))
                l.state = dict(state.get(l.name, {}))
                if "rate" in spec["config"]:
                    l.rate = spec["config"]["rate"]
                    l.original_rate = spec["config"].get("original_rate", l.rate)
        except KeyError as e:
            raise CheckpointError(f"{source}: missing array {e}; the file is incomplete") from e
        return self

    @classmethod
    def load(cls, path):
        """Load a model saved with ``save`` (architecture included). Damaged files raise CheckpointError."""
        with open_npz(path) as arrays:
            return cls.from_arrays(arrays, source=str(path))

    def load_weights(self, path):
        """Load weights and masks from ``path`` into this model; another architecture raises CheckpointError."""
        with open_npz(path) as arrays:
            return self.load_arrays(arrays, source=str(path))


class open_npz:
    """``with open_npz(path) as arrays:`` gives {name: array} of an .npz, read without pickles.

    Every way a damaged or missing file can fail (bad zip, truncated member, not an .npz) becomes a
    CheckpointError naming the file. Used by Sequential.load and minnet.sparse's load_sparse.
    """

    def __init__(self, path):
        self.path = path

    def __enter__(self):
        try:
            self.npz = np.load(self.path, allow_pickle=False)
            # Reading every member up front surfaces a corrupted member here, not half-way through.
            return {k: self.npz[k] for k in self.npz.files}
        except FileNotFoundError as e:
            raise CheckpointError(f"{self.path}: no such file") from e
        except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as e:
            raise CheckpointError(f"{self.path}: damaged or not an .npz file ({e})") from e

    def __exit__(self, *exc):
        if hasattr(self, "npz"):
            self.npz.close()
        return False


def _arch_line(arch):
    return " -> ".join(f"{s['class']}({', '.join(str(v) for k, v in s['config'].items() if k != 'name')})"
                       for s in arch)

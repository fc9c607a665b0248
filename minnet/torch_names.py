"""PyTorch ``state_dict`` names for minnet models, and the files that carry them (.safetensors, .npz).

minnet's layers already store their weights in PyTorch's layouts, so converting is renaming only,
never a transpose (``model.layer(name)`` is the module ``name`` of the PyTorch network):

    minnet layer L                      PyTorch state_dict          layout (same on both sides)
    Dense  L.weight                     "L.weight" (nn.Linear)      (out_features, in_features)
    Conv2D L.weight                     "L.weight" (nn.Conv2d)      (out, in / groups, kh, kw)
    Dense / Conv2D bias                 "L.bias"                    (out,)
    a pruned layer (mask not all True), torch.nn.utils.prune's form instead of "L.weight":
                                        "L.weight_orig"             W (0.0 where pruned)
                                        "L.weight_mask"             the mask as 0.0 / 1.0, W's dtype
    weight = weight_orig * weight_mask, which is what PyTorch's pruning hook computes.
Flatten, MaxPool2D, Dropout and ReLU have no tensors, in either library. minnet's Flatten is a
C-order reshape of (N, C, H, W), i.e. ``torch.flatten(x, 1)``, so LeNet-5's fc1 columns mean the
same in both. The matching nn.Module definitions are in docs/pytorch.md.

This module is plain NumPy; the ``safetensors`` package (an optional dependency) is imported only
by the functions that read or write .safetensors files.
"""

import json
from pathlib import Path

import numpy as np

from minnet.atomic import atomic_savez, atomic_write_bytes
from minnet.errors import CheckpointError, MissingDependencyError
from minnet.io import open_npz

PARAM_NAMES = {"W": "weight", "b": "bias"}      # minnet parameter key -> PyTorch attribute
INSTALL_HINT = 'pip install -e ".[safetensors]"'
_LAYOUTS = {"fc": "(out_features, in_features), as torch.nn.Linear",
            "conv": "(out_channels, in_channels / groups, kh, kw), as torch.nn.Conv2d"}


def _safetensors():
    """The ``safetensors.numpy`` module, or a one-line MissingDependencyError saying how to get it."""
    try:
        import safetensors.numpy
    except ImportError:
        raise MissingDependencyError(f"reading and writing .safetensors files needs the safetensors "
                                     f"package: {INSTALL_HINT}") from None
    return safetensors.numpy


# -- minnet -> PyTorch names ------------------------------------------------------------------------
def to_state_dict(model) -> dict:
    """{PyTorch name: C-contiguous array} of ``model``, in layer order (see the module's table).

    A layer whose mask is all True is written as plain "L.weight"; a pruned one as "L.weight_orig"
    + "L.weight_mask" (0/1 in the weight's dtype, as ``torch.nn.utils.prune`` keeps it). Arrays are
    copies in the model's dtype (float32 unless converted).
    """
    out = {}
    for layer in model.layers:
        if set(layer.params) - set(PARAM_NAMES):     # e.g. a CSR layer's params["data"]
            raise CheckpointError(f"cannot export {layer.describe()} with PyTorch names (parameters "
                                  f"{sorted(layer.params)}); a CSR model: minnet.sparse.to_dense(model) first")
        for key, value in layer.params.items():
            name = f"{layer.name}.{_torch_param(layer, key)}"
            mask = layer.masks.get(key)
            if mask is not None and not mask.all():
                out[f"{name}_orig"] = np.ascontiguousarray(value).copy()
                out[f"{name}_mask"] = mask.astype(value.dtype)
            else:
                out[name] = np.ascontiguousarray(value).copy()
    return out


def _torch_param(layer, key):
    if key not in PARAM_NAMES:
        raise CheckpointError(f"{layer.describe()}: parameter {key!r} has no PyTorch name "
                              f"(known: {sorted(PARAM_NAMES)})")
    return PARAM_NAMES[key]


def minnet_metadata(model) -> dict:
    """The safetensors header metadata minnet writes (strings only, ignored by PyTorch).

    "format": "pt" tells the Hugging Face tools these are PyTorch tensors. The architecture (layer
    classes and constructor arguments, e.g. LeNet-5's conv ReLUs, which have no tensor) and the
    layers' state let ``load_model_file`` rebuild exactly the model that was saved.
    """
    from minnet import __version__    # at call time: minnet/__init__ defines it after its imports
    return {"format": "pt", "minnet_version": __version__,
            "minnet_architecture": json.dumps(model.architecture()),
            "minnet_layer_state": json.dumps({l.name: l.state_dict() for l in model.layers})}


def save_safetensors(model, path) -> Path:
    """Write ``to_state_dict(model)`` and ``minnet_metadata(model)`` to a .safetensors file, atomically.

    ``safetensors.numpy.save`` builds the bytes in memory; minnet's atomic write (temporary file,
    then rename) puts them on disk, so an interrupted export never leaves half a file.
    """
    data = _safetensors().save(to_state_dict(model), metadata=minnet_metadata(model))
    return atomic_write_bytes(path, data)


def save_torch_npz(model, path) -> Path:
    """Write ``to_state_dict(model)`` as a plain .npz (no metadata: every member is a tensor), atomically."""
    return atomic_savez(path, to_state_dict(model))


# -- files -> tensors ---------------------------------------------------------------------------------
def read_tensors(path):
    """(tensors, metadata) of a .safetensors file, or of an .npz of PyTorch-named arrays (metadata {}).

    Damaged files and dtypes NumPy cannot hold (bfloat16) raise CheckpointError naming the file.
    """
    path = Path(path)
    if path.suffix in (".pt", ".pth", ".bin", ".ckpt"):
        raise CheckpointError(f"{path}: minnet reads .safetensors and .npz, not pickled PyTorch files; "
                              "in PyTorch: safetensors.torch.save_file(net.state_dict(), "
                              "'model.safetensors') (docs/pytorch.md)")
    if path.suffix != ".safetensors":
        with open_npz(path) as arrays:
            return arrays, {}
    _safetensors()
    from safetensors import safe_open
    if not path.is_file():
        raise CheckpointError(f"{path}: no such file")
    try:
        with safe_open(str(path), framework="np") as f:
            return {k: f.get_tensor(k) for k in f.keys()}, dict(f.metadata() or {})
    except TypeError as e:          # a dtype NumPy lacks, e.g. "data type 'bfloat16' not understood"
        raise CheckpointError(f"{path}: {e}; save float32 tensors in PyTorch "
                              "({k: v.float() for k, v in sd.items()})") from None
    except Exception as e:          # SafetensorError (a Rust exception type) and OSError
        raise CheckpointError(f"{path}: damaged or not a .safetensors file ({e})") from None


# -- tensors -> minnet ----------------------------------------------------------------------------------
def _plan(model, names):
    """{tensor name: (layer, param key or None for the mask, expected shape)} in layer order.

    A layer is read in the pruned form (weight_orig + weight_mask) if either of those two names is
    in ``names``, else in the plain form (weight)."""
    plan = {}
    for layer in model.layers:
        for key, value in layer.params.items():
            base = f"{layer.name}.{_torch_param(layer, key)}"
            if key in layer.masks and ({f"{base}_orig", f"{base}_mask"} & names):
                plan[f"{base}_orig"] = (layer, key, value.shape)
                plan[f"{base}_mask"] = (layer, None, value.shape)
            else:
                plan[base] = (layer, key, value.shape)
    return plan


def _listing(names, limit=6):
    names = list(names)
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def _check(name, array, layer, shape, is_mask, source):
    """Raise CheckpointError unless ``array`` can be ``name`` of ``layer``: shape, dtype, values."""
    array = np.asarray(array)
    if array.shape != shape:
        layout = "(out,)" if len(shape) == 1 else _LAYOUTS.get(layer.kind, "")
        raise CheckpointError(f"{source}: tensor {name} has shape {array.shape}, {layer.describe()} "
                              f"expects {shape} {layout}".rstrip())
    if is_mask:
        if array.dtype.kind not in "biuf" or not np.isin(array, (0, 1)).all():
            raise CheckpointError(f"{source}: tensor {name} must hold only 0 and 1 (a "
                                  "torch.nn.utils.prune mask), got other values")
        return
    if array.dtype.kind != "f":
        raise CheckpointError(f"{source}: tensor {name} has dtype {array.dtype}; expected float32 "
                              "(float16 and float64 are converted)")
    if not np.isfinite(array).all():
        raise CheckpointError(f"{source}: tensor {name} holds NaN or inf; the file is damaged or "
                              "was saved from a diverged run")


def load_state_dict(model, tensors, source="tensors", metadata=None):
    """Copy PyTorch-named ``tensors`` into ``model`` (same architecture) and return the model.

    Accepts, per prunable layer, "L.weight" or torch.nn.utils.prune's "L.weight_orig" +
    "L.weight_mask" (then weight = weight_orig where the mask is 1, exactly 0.0 where it is 0, and
    the mask becomes the layer's pruning mask), plus "L.bias". Float tensors of any width (float16,
    float32, float64) are converted to the model's dtype (float32 by default: float64 values are
    rounded to the nearest float32). Everything is checked before anything is copied, so a refused
    file leaves the model as it was. Raises CheckpointError (one line, naming the tensor) for a
    missing or unexpected tensor, a wrong shape, a non-float weight, NaN/inf, or a mask that is not
    0/1. ``metadata`` (what minnet wrote into a .safetensors header) restores the layers' state
    and refuses a file saved with different activations (e.g. LeNet-5 with / without conv ReLUs).
    """
    plan = _plan(model, set(tensors))
    missing = [n for n in plan if n not in tensors]
    if missing:
        raise CheckpointError(f"{source}: missing tensor(s) {_listing(missing)}; the model's layers "
                              f"with weights are {_listing(l.name for l in model.prunable_layers())} "
                              "(PyTorch module names must match: docs/pytorch.md)")
    extra = [n for n in tensors if n not in plan]
    if extra:
        raise CheckpointError(f"{source}: unexpected tensor(s) {_listing(extra)}; the model has only "
                              f"{_listing(plan)}")
    for name, (layer, key, shape) in plan.items():
        _check(name, tensors[name], layer, shape, key is None, source)
    saved_arch, saved_state = _read_metadata(metadata or {}, source)
    _check_activations(model, saved_arch, source)
    for name, (layer, key, _) in plan.items():
        if key is None:
            continue
        # a copy: the model must not share memory with the caller's arrays (set_mask writes)
        value = np.array(tensors[name], dtype=layer.params[key].dtype, order="C", copy=True)
        mask = None
        if name.endswith("_orig"):       # set_mask zeroes the pruned weights: weight_orig * mask
            mask = np.asarray(tensors[name[:-len("orig")] + "mask"]) != 0
        layer.params[key] = value
        layer.grads[key] = np.zeros_like(layer.params[key])
        if key in layer.masks:
            layer.set_mask(key, np.ones(value.shape, dtype=bool) if mask is None else mask)
    for layer in model.layers:
        if layer.name in saved_state:
            layer.load_state(saved_state[layer.name])
    return model


def _read_metadata(metadata, source):
    try:
        arch = json.loads(metadata.get("minnet_architecture", "[]"))
        state = json.loads(metadata.get("minnet_layer_state", "{}"))
    except json.JSONDecodeError as e:
        raise CheckpointError(f"{source}: damaged minnet metadata in the file header ({e})") from None
    return arch, state


def _check_activations(model, saved_arch, source):
    """Refuse a file whose saved layer configs give a layer another activation than ``model``'s."""
    mine = {l.name: l.config() for l in model.layers}
    for spec in saved_arch:
        config = spec.get("config", {}) if isinstance(spec, dict) else {}
        name = config.get("name")
        if name in mine and "activation" in config and config["activation"] != mine[name].get("activation"):
            raise CheckpointError(f"{source} was saved from a model whose {name} has activation "
                                  f"{config['activation']!r}, this model's {name} has "
                                  f"{mine[name].get('activation')!r} (LeNet-5: --conv-relu or "
                                  "--no-conv-relu)")


def infer_model(tensors, conv_relu=False, source="tensors"):
    """A fresh minnet model with the layers the PyTorch names and shapes describe.

    conv1.* present -> LeNet-5 (``conv_relu`` says whether conv1/conv2 are followed by a ReLU: a
    ReLU has no tensor, so the file cannot tell); fc1 ... fcK with sizes 784-300-100-10 ->
    LeNet-300-100; any other chain fc1 ... fcK -> mlp(hidden = the out sizes of fc1 ... fc(K-1)).
    The weights are the fresh ones; ``load_state_dict`` then copies the file's in and checks shapes.
    """
    from minnet import models
    layer_names = {n.rsplit(".", 1)[0] for n in tensors}
    if "conv1" in layer_names:
        return models.lenet5(conv_relu=conv_relu)
    shapes = []
    while f"fc{len(shapes) + 1}" in layer_names:
        base = f"fc{len(shapes) + 1}"
        w = tensors.get(f"{base}.weight", tensors.get(f"{base}.weight_orig"))
        if w is None or np.ndim(w) != 2:
            raise CheckpointError(f"{source}: {base} needs a 2-D {base}.weight (out, in) "
                                  f"or {base}.weight_orig, got {None if w is None else np.shape(w)}")
        shapes.append(np.shape(w))
    if not shapes:
        raise CheckpointError(f"{source}: no tensor named conv1.* or fc1.*, so it is not a LeNet-300-100, "
                              f"LeNet-5 or MLP state_dict (docs/pytorch.md); it holds {_listing(tensors)}")
    sizes = [int(shapes[0][1])] + [int(s[0]) for s in shapes]
    if sizes == [784, 300, 100, 10]:
        return models.lenet_300_100()
    return models.mlp(hidden=sizes[1:-1], in_features=sizes[0], classes=sizes[-1])


def _from_architecture(arch, source):
    """A Sequential built from saved layer configs (the same rebuild as minnet.io's model files)."""
    from minnet.layers import LAYER_CLASSES
    from minnet.model import Sequential
    try:
        return Sequential([LAYER_CLASSES[spec["class"]](**spec["config"]) for spec in arch])
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"{source}: cannot rebuild the model from its minnet metadata ({e!r})") from None


def load_model_file(path, model=None, conv_relu=False):
    """Load a .safetensors (or .npz) file of PyTorch-named tensors as a minnet model.

    ``model``: load into this model (same architecture). Without it the model is rebuilt from the
    minnet metadata of a file minnet wrote, else inferred from the tensor names and shapes
    (:func:`infer_model`; ``conv_relu`` for LeNet-5). Returns the model; errors as
    :func:`load_state_dict`.
    """
    tensors, metadata = read_tensors(path)
    if model is None:
        arch, _ = _read_metadata(metadata, str(path))
        model = (_from_architecture(arch, str(path)) if arch
                 else infer_model(tensors, conv_relu=conv_relu, source=str(path)))
    return load_state_dict(model, tensors, str(path), metadata)


def load_weights_file(model, path):
    """Load any model file minnet reads into ``model`` (``prune --dense-model FILE`` calls this).

    A minnet model file (an .npz with a "minnet_..." format member: a plain or a save_sparse file)
    goes through ``model.load_weights`` (minnet.io's one reader of them); a .safetensors file, or
    an .npz of PyTorch-named arrays, through :func:`load_state_dict`. Returns the model.
    """
    tensors, metadata = read_tensors(path)
    if any(k.startswith("minnet_") for k in tensors):
        return model.load_weights(path)
    return load_state_dict(model, tensors, str(path), metadata)

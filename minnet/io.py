"""Saving and loading: models, checkpoints, and the one reader of .npz files (``open_npz``).

A model file is one .npz holding
    minnet_format   the format version (2)
    architecture    JSON: [{"class": "Dense", "config": {...constructor arguments}}, ...]
    layer_state     JSON: {layer name: the plain numbers of that layer's ``state_dict()``}
    state/<layer>/<key>                          the arrays of its ``state_dict()`` (e.g. CSR indices)
    param/<layer>/<name>, mask/<layer>/<name>    the parameters and masks
Every layer rebuilds from its ``config()`` (its class found by name in
:data:`minnet.layers.registry.LAYER_CLASSES`) and takes back its own state with ``load_state``: the
model needs no special case for any layer type, dense or CSR (:mod:`minnet.sparse`). Files are
written atomically (temporary file, then rename), and read without pickles; every way a file can be
damaged becomes a CheckpointError naming it.

Version 1 files (before Dropout kept its current rate in its state) are read too, and so are the
compressed files of :func:`minnet.sparse.save_sparse`: a module with its own way of storing the
weights registers a decoder (:func:`register_decoder`) that turns its arrays into the layout above.
"""

import json
import zipfile
import zlib
from pathlib import Path

import numpy as np

from minnet.atomic import atomic_savez
from minnet.errors import CheckpointError

FORMAT_VERSION = 2
CHECKPOINT = "checkpoint.npz"

# marker array name -> function(arrays, source) -> arrays in this module's layout (see the docstring)
_DECODERS = {}


def register_decoder(marker: str, decode) -> None:
    """Let :func:`load_model` and :func:`load_weights` read files holding the array ``marker``.

    ``decode(arrays, source)`` returns the same model as plain arrays (``param/``, ``mask/``, the
    header), raising CheckpointError naming ``source`` for a damaged file. Registration, not an
    import, because the formats live in packages built on this module (minnet.sparse.storage):
    importing them here would make io and sparse import each other.
    """
    _DECODERS[marker] = decode


def _plain_arrays(arrays, source):
    for marker, decode in _DECODERS.items():
        if marker in arrays:
            return decode(arrays, source)
    return arrays


# What reading a damaged zip can raise: a flipped bit may name an unknown compression method
# (NotImplementedError), an encrypted member (RuntimeError) or break the deflate stream (zlib.error).
ZIP_DAMAGE = (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError, NotImplementedError,
              RuntimeError, zlib.error)

# The largest array a minnet file may hold: 4 GiB, ten times VGG-16's fc6 (411 MB in float32).
MAX_ARRAY_BYTES = 4 << 30


def check_npz_sizes(path, limit=MAX_ARRAY_BYTES):
    """Read only the .npy headers of an .npz and refuse, before anything is allocated, a member
    whose declared shape is negative, needs more bytes than the member holds, or more than
    ``limit``. Without this, a crafted header could make numpy allocate terabytes.
    Raises CheckpointError naming the file and member; a non-zip file is left to ``np.load``.
    """
    try:
        archive = zipfile.ZipFile(path)
    except ZIP_DAMAGE:
        return                                    # np.load reports what it is
    with archive:
        for info in archive.infolist():
            try:
                with archive.open(info) as f:
                    version = np.lib.format.read_magic(f)
                    read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                            else np.lib.format.read_array_header_2_0)
                    shape, _, dtype = read(f)
            except ZIP_DAMAGE as e:
                raise CheckpointError(f"{path}: member {info.filename} is damaged ({e})") from None
            if any(n < 0 for n in shape):
                raise CheckpointError(f"{path}: member {info.filename} declares a negative shape "
                                      f"{shape}")
            nbytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
            if nbytes > min(limit, info.file_size):
                raise CheckpointError(
                    f"{path}: member {info.filename} declares shape {shape} ({nbytes:,} bytes) but "
                    f"holds {info.file_size:,} (limit {limit:,}); the file is damaged or crafted")


class open_npz:
    """``with open_npz(path) as arrays:`` gives {name: array} of an .npz, read without pickles.

    Every way a damaged or missing file can fail (bad zip, truncated member, not an .npz) becomes a
    CheckpointError naming the file. Every reader of minnet's files goes through it.
    """

    def __init__(self, path, missing="no such file"):
        self.path, self.missing = path, missing

    def __enter__(self):
        try:
            check_npz_sizes(self.path)
            self.npz = np.load(self.path, allow_pickle=False)
            # Reading every member up front surfaces a corrupted member here, not half-way through.
            return {k: self.npz[k] for k in self.npz.files}
        except CheckpointError:
            raise
        except FileNotFoundError as e:
            raise CheckpointError(f"{self.path}: {self.missing}") from e
        except ZIP_DAMAGE as e:
            # numpy calls any file that is neither a zip nor an .npy "pickled data" and suggests
            # loading it unsafely: advice minnet must not pass on for a file it cannot vouch for.
            why = "not a zip archive of arrays" if "allow_pickle" in str(e) else str(e)
            raise CheckpointError(f"{self.path}: damaged or not an .npz file ({why})") from e

    def __exit__(self, *exc):
        if hasattr(self, "npz"):
            self.npz.close()
        return False


# -- models ---------------------------------------------------------------------------------------
def model_to_arrays(model) -> dict:
    """Everything needed to rebuild ``model``, as a flat dict of arrays (the .npz contents).

    A layer whose class is not registered (:func:`minnet.layers.register_layer`) is refused up
    front, instead of writing a file that could not be loaded back.
    """
    from minnet.layers.registry import LAYER_CLASSES
    foreign = [l.describe() for l in model.layers if LAYER_CLASSES.get(type(l).__name__) is not type(l)]
    if foreign:
        raise CheckpointError(f"cannot save {', '.join(foreign)}: its class is not registered; "
                              "decorate it with @minnet.layers.register_layer so a file can rebuild it")
    states = {l.name: l.state_dict() for l in model.layers}
    arrays = {
        "minnet_format": np.array(FORMAT_VERSION),
        "architecture": np.array(json.dumps(model.architecture())),
        # numbers go in the JSON header, arrays (a CSR layer's indices) in their own members
        "layer_state": np.array(json.dumps({name: {k: v for k, v in state.items()
                                                   if not isinstance(v, np.ndarray)}
                                            for name, state in states.items()})),
    }
    for name, state in states.items():
        for k, v in state.items():
            if isinstance(v, np.ndarray):
                arrays[f"state/{name}/{k}"] = v
    for l in model.layers:
        for k, p in l.params.items():
            arrays[f"param/{l.name}/{k}"] = p
        for k, m in l.masks.items():
            arrays[f"mask/{l.name}/{k}"] = m
    return arrays


def save_model(model, path):
    """Write weights, masks, layer state and architecture to one .npz, atomically."""
    if Path(path).is_dir():
        raise CheckpointError(f"{path} is a folder; save to a file in it, e.g. {Path(path) / 'model.npz'}")
    return atomic_savez(path, model_to_arrays(model))


def _read_header(arrays, source):
    """(architecture, layer state) of a model file, upgraded to the current format."""
    try:
        version = int(arrays["minnet_format"])
        arch = json.loads(str(arrays["architecture"]))
        state = json.loads(str(arrays["layer_state"]))
    except (KeyError, ValueError, TypeError) as e:
        raise CheckpointError(f"{source}: not a minnet model file (no readable architecture: {e})") from e
    if not (isinstance(arch, list) and all(isinstance(a, dict) for a in arch)
            and isinstance(state, dict) and all(isinstance(s, dict) for s in state.values())):
        raise CheckpointError(f"{source}: damaged model file (the architecture is not a list of "
                              "layers, or the layer state not a table per layer)")
    if version == 1:
        arch, state = _upgrade_v1(arch, state)
    elif version != FORMAT_VERSION:
        raise CheckpointError(f"{source}: format version {version}, this minnet reads 1 and {FORMAT_VERSION}")
    return arch, state


def _upgrade_v1(arch, state):
    """Version 1 saved Dropout's current rate in its config; version 2 keeps D_o in the config
    (the constructor's rate) and the current rate in the layer state."""
    arch = [dict(spec, config=dict(spec["config"])) for spec in arch]
    state = {k: dict(v) for k, v in state.items()}
    for spec in arch:
        config = spec["config"]
        if spec.get("class") == "Dropout" and "original_rate" in config:
            state.setdefault(config.get("name"), {})["rate"] = config["rate"]
            config["rate"] = config.pop("original_rate")
    return arch, state


def model_from_arrays(arrays, source, model_class):
    """Rebuild a model from what :func:`model_to_arrays` returned (architecture included).

    model_class: the model type to build from the list of layers (``Sequential``; passed in so that
    io does not import the model it saves). ``Sequential.from_arrays`` is the usual way in.
    """
    from minnet.layers.registry import LAYER_CLASSES
    arch, _ = _read_header(arrays, source)
    layers = []
    for spec in arch:
        if not isinstance(spec, dict) or spec.get("class") not in LAYER_CLASSES:
            got = spec.get("class") if isinstance(spec, dict) else spec
            raise CheckpointError(f"{source}: unknown layer type {got!r}; known: {sorted(LAYER_CLASSES)}")
        try:
            layers.append(LAYER_CLASSES[spec["class"]](**spec["config"]))
        except (TypeError, ValueError, KeyError) as e:   # unknown keys, bad sizes: a damaged file
            raise CheckpointError(f"{source}: cannot build layer {spec.get('class')} from "
                                  f"{spec.get('config')!r} ({e})") from None
    model = model_class(layers)
    # Layers are built in float32; a model saved in float64 (e.g. for gradient checks) comes
    # back in float64: the parameters' own dtype is the record of it.
    saved_dtypes = {np.asarray(v).dtype for k, v in arrays.items() if k.startswith("param/")}
    if saved_dtypes == {np.dtype(np.float64)}:
        model.astype(np.float64)
    return load_arrays(model, arrays, source)


def load_arrays(model, arrays, source="arrays"):
    """Copy weights, masks and layer state from ``arrays`` into ``model`` (same architecture)."""
    saved_arch, state = _read_header(arrays, source)
    for key, v in arrays.items():               # array state: state/<layer>/<key>
        if key.startswith("state/") and key.count("/") == 2:
            _, layer, k = key.split("/")
            state.setdefault(layer, {})[k] = np.asarray(v)
    mine = model.architecture()
    if saved_arch != mine:
        # One line: the first layer where the two differ says what to fix.
        i = next((k for k, (a, b) in enumerate(zip(saved_arch, mine)) if a != b),
                 min(len(saved_arch), len(mine)))
        raise CheckpointError(
            f"{source}: saved for another architecture: layer {i + 1} is "
            f"{_arch_line(saved_arch[i:i + 1]) or 'nothing'} in the file but "
            f"{_arch_line(mine[i:i + 1]) or 'nothing'} in this model ({len(saved_arch)} vs "
            f"{len(mine)} layers); build the model the file was saved from (e.g. the same --model)")
    try:
        for l in model.layers:
            for k in l.params:
                p = np.asarray(arrays[f"param/{l.name}/{k}"])
                if p.shape != l.params[k].shape:
                    raise CheckpointError(f"{source}: {l.name}/{k} has shape {p.shape}, "
                                          f"expected {l.params[k].shape}")
                if p.dtype.kind != "f" or not np.isfinite(p).all():
                    raise CheckpointError(f"{source}: {l.name}/{k} holds NaN, inf or non-float "
                                          "values; the file is damaged (or saved from a diverged run)")
                l.params[k] = p.astype(l.params[k].dtype)
                l.grads[k] = np.zeros_like(l.params[k])
            for k in l.masks:
                l.set_mask(k, np.asarray(arrays[f"mask/{l.name}/{k}"]))
            try:
                l.load_state(state.get(l.name, {}))
            except (ValueError, TypeError) as e:    # a layer refusing its state: a damaged file
                if isinstance(e, CheckpointError):
                    raise
                raise CheckpointError(f"{source}: {l.describe()}: bad saved state ({e})") from e
    except KeyError as e:
        raise CheckpointError(f"{source}: missing array {e}; the file is incomplete") from e
    return model


def load_model(path, model_class):
    """Load a model saved with :func:`save_model` (``Sequential.load(path)`` calls this), or any
    format with a registered decoder (``save_sparse``'s). Damaged files raise CheckpointError."""
    with open_npz(path) as arrays:
        return model_from_arrays(_plain_arrays(arrays, str(path)), str(path), model_class)


def load_weights(model, path):
    """Load weights and masks from ``path`` into ``model``; another architecture raises
    CheckpointError."""
    with open_npz(path) as arrays:
        return load_arrays(model, _plain_arrays(arrays, str(path)), source=str(path))


def _arch_line(arch):
    return " -> ".join(f"{s['class']}({', '.join(str(v) for k, v in s['config'].items() if k != 'name')})"
                       for s in arch)


# -- checkpoints of a run -------------------------------------------------------------------------
def save_checkpoint(run_dir, model, optimizer, meta):
    """Write model (weights, masks, layer state), optimiser state and ``meta`` to one .npz atomically.

    One file, not three: a kill between writes could otherwise pair a new model with an old counter.
    """
    arrays = {f"model/{k}": v for k, v in model_to_arrays(model).items()}
    if optimizer is not None:
        arrays.update({f"optim/{k}": v for k, v in optimizer.state_dict().items()})
    arrays["meta"] = np.array(json.dumps(meta))
    atomic_savez(Path(run_dir) / CHECKPOINT, arrays)


def load_checkpoint(run_dir):
    """Read what :func:`save_checkpoint` wrote: (model arrays, optimiser state or None, meta)."""
    path = Path(run_dir) / CHECKPOINT
    with open_npz(path, missing="no checkpoint to resume from") as arrays:
        pass
    try:
        meta = json.loads(str(arrays.pop("meta")))
    except (KeyError, ValueError) as e:
        raise CheckpointError(f"{path}: damaged checkpoint (no readable run state: {e})") from e
    model_arrays = {k[len("model/"):]: v for k, v in arrays.items() if k.startswith("model/")}
    optim = {k[len("optim/"):]: v for k, v in arrays.items() if k.startswith("optim/")}
    return model_arrays, (optim or None), meta

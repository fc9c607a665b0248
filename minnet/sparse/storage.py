"""Compressed storage of a pruned model: only the kept weights and where they are (paper sec. 4).

A pruned weight tensor (any shape; conv weights are flattened row-major) is saved in one of two ways:

* ``index_bits=None`` (CSR): ``indptr`` and ``indices`` in the narrowest unsigned type that fits
  (uint8/16/32), ``data`` float32.
* ``index_bits=b`` (relative indices, paper sec. 4: 5 bits for FC, 8 bits for conv): walking the
  flattened tensor, each kept weight stores the distance d >= 1 from the previous one as the b-bit
  code d - 1. When a gap is longer than 2^b, a *padding zero* is stored 2^b places on (a filler
  entry with value 0.0), as often as needed. The codes are bit-packed.
  Example, b = 2 (gaps up to 4), kept positions 1, 2, 9:
      gaps 2, 1, 7 -> 7 > 4: filler at position 6 (gap 4), then 9 (gap 3)
      codes 1, 0, 3, 2;  data w1, w2, 0.0, w9
  A kept weight that is exactly 0.0 cannot be told from a filler by its value, so the (rare) flat
  positions of such weights are saved in ``kept_zeros`` to restore the mask exactly.

Biases, other parameters and the architecture are saved as in :meth:`minnet.Sequential.save`.
Everything goes in one .npz written atomically; loading validates every array and raises
:class:`minnet.errors.CheckpointError` for a damaged, foreign or inconsistent file.
``Sequential.load`` reads these files too (this module registers its decoder with :mod:`minnet.io`).

This is the *compact* file of a pruned model (paper sec. 4's storage numbers). A CSR model from
``to_sparse`` also saves and loads as it is with ``Sequential.save`` / ``load``.
"""

import json

import numpy as np

from minnet.atomic import atomic_savez
from minnet.errors import CheckpointError, ConfigError
from minnet.io import FORMAT_VERSION, MAX_ARRAY_BYTES, open_npz, register_decoder
from minnet.model import Sequential
from minnet.sparse.csr import narrowest_unsigned_dtype

SPARSE_FORMAT_VERSION = 1
PAPER_INDEX_BITS = {"fc": 5, "conv": 8}     # paper sec. 4


# -- relative indices ----------------------------------------------------------------------------

def encode_relative(positions, bits):
    """Sorted flat positions of kept weights -> (codes uint8 (m,), slots int64 (m,)).

    ``codes`` are the b-bit gaps (d - 1) including fillers; ``slots[e]`` is the index into the
    caller's value array for entry e, or -1 for a filler (value 0.0). m >= len(positions).
    """
    positions = np.asarray(positions, dtype=np.int64)
    span = 1 << bits
    gaps = np.diff(positions, prepend=-1)            # >= 1 for distinct sorted positions
    fillers = (gaps - 1) // span                     # padding zeros needed before each entry
    count = fillers + 1
    codes = np.full(int(count.sum()), span - 1, dtype=np.uint8)
    slots = np.full(codes.shape[0], -1, dtype=np.int64)
    last = np.cumsum(count) - 1                      # where each real entry lands
    codes[last] = gaps - fillers * span - 1
    slots[last] = np.arange(positions.shape[0])
    return codes, slots


def decode_relative(codes):
    """b-bit gap codes -> flat positions of every entry (fillers included): cumsum(codes + 1) - 1."""
    return np.cumsum(codes.astype(np.int64) + 1) - 1


def pack_bits(codes, bits):
    """uint8 codes < 2^bits -> bytes holding ``bits`` bits per code (big-endian within the stream)."""
    as_bits = np.unpackbits(codes.astype(np.uint8)[:, None], axis=1)[:, 8 - bits:]
    return np.packbits(as_bits.reshape(-1))


def unpack_bits(packed, bits, count):
    """Inverse of :func:`pack_bits` for ``count`` codes."""
    flat = np.unpackbits(packed)[:count * bits].reshape(count, bits)
    return (flat.astype(np.uint8) << np.arange(bits - 1, -1, -1, dtype=np.uint8)).sum(
        axis=1, dtype=np.uint8)


# -- one weight tensor ---------------------------------------------------------------------------

def _encode_weight(W, mask, bits):
    """The arrays that store one masked weight tensor (see the module docstring)."""
    flat_w, flat_m = W.reshape(-1), mask.reshape(-1)
    out = {"shape": np.array(W.shape, dtype=np.int64)}
    if bits is None:
        W2, m2 = W.reshape(W.shape[0], -1), mask.reshape(W.shape[0], -1)
        counts = m2.sum(axis=1)
        out["indptr"] = np.concatenate([[0], np.cumsum(counts)]).astype(
            narrowest_unsigned_dtype(int(counts.sum())))
        out["indices"] = np.nonzero(m2)[1].astype(narrowest_unsigned_dtype(max(W2.shape[1] - 1, 0)))
        out["data"] = W2[m2].astype(np.float32)
    else:
        positions = np.flatnonzero(flat_m)
        codes, slots = encode_relative(positions, bits)
        values = flat_w[positions].astype(np.float32)
        data = np.zeros(codes.shape[0], dtype=np.float32)
        data[slots >= 0] = values[slots[slots >= 0]]
        out["bits"] = np.array(bits, dtype=np.uint8)
        out["count"] = np.array(codes.shape[0], dtype=np.int64)
        out["codes"] = pack_bits(codes, bits)
        out["data"] = data
        zeros = positions[values == 0]
        out["kept_zeros"] = zeros.astype(narrowest_unsigned_dtype(max(flat_w.size - 1, 0)))
    return out


def _decode_weight(get, where):
    """(W float32, mask) from the arrays of one weight; ``get(key)`` reads an array or raises KeyError."""
    try:
        shape = tuple(int(s) for s in np.asarray(get("shape")).reshape(-1))
        size = int(np.prod(shape, dtype=object))
        # The shape is read from the file: check it before allocating the dense tensor.
        if any(s < 0 for s in shape) or size * 4 > MAX_ARRAY_BYTES:
            raise ConfigError(f"shape {shape} is negative or larger than {MAX_ARRAY_BYTES:,} bytes")
        data = np.asarray(get("data"), dtype=np.float32)
        if data.ndim != 1 or not np.isfinite(data).all():
            raise ConfigError("the kept values are not a 1-D array of finite numbers")
        W, mask = np.zeros(size, dtype=np.float32), np.zeros(size, dtype=bool)
        if "bits" in where.keys:
            bits, count = int(get("bits")), int(get("count"))
            if not 1 <= bits <= 8 or count != data.shape[0] or get("codes").size * 8 < count * bits:
                raise ConfigError("bit width, entry count and code bytes disagree")
            positions = decode_relative(unpack_bits(get("codes"), bits, count))
            if count and positions[-1] >= size:
                raise ConfigError(f"an index points past the tensor's {size} entries")
            keep = data != 0
            W[positions] = data
            mask[positions[keep]] = True
            zeros = np.asarray(get("kept_zeros"), dtype=np.int64)
            if zeros.size and (zeros.max() >= size or W[zeros].any()):
                raise ConfigError("kept_zeros lists positions outside the tensor or with nonzero values")
            mask[zeros] = True
        else:
            rows = shape[0]
            cols = size // rows if rows else 0
            indptr, indices = np.asarray(get("indptr")), np.asarray(get("indices"))
            if indptr.dtype.kind not in "iu" or indices.dtype.kind not in "iu":
                raise ConfigError("indptr and indices must be integer arrays")
            indptr, indices = indptr.astype(np.int64), indices.astype(np.int64)
            if (indptr.shape != (rows + 1,) or indptr[0] != 0 or indptr[-1] != data.shape[0]
                    or np.any(np.diff(indptr) < 0) or indices.shape != data.shape
                    or (indices.size and indices.max() >= cols)):
                raise ConfigError("indptr, indices and data are inconsistent")
            flat = np.repeat(np.arange(rows, dtype=np.int64), np.diff(indptr)) * cols + indices
            W[flat] = data
            mask[flat] = True
    except (ValueError, IndexError, TypeError) as e:
        raise CheckpointError(f"{where.source}: weight {where.name}: {e}") from e
    return W.reshape(shape), mask.reshape(shape)


# -- whole model -----------------------------------------------------------------------------------

def sparse_arrays(model: Sequential, index_bits=None) -> dict:
    """The arrays :func:`save_sparse` writes: masked weights compressed, everything else as is.

    index_bits: None (CSR with narrow integer types), "paper" (5 bits FC, 8 bits conv), an int,
    or a dict {layer kind: bits}.
    """
    if index_bits == "paper":
        index_bits = PAPER_INDEX_BITS
    arrays = {"minnet_sparse_format": np.array(SPARSE_FORMAT_VERSION)}
    dense = model.to_arrays()
    for key in ("minnet_format", "architecture", "layer_state"):
        arrays[key] = dense[key]
    for layer in model.layers:
        for name, p in layer.params.items():
            if name in layer.masks:
                bits = index_bits.get(layer.kind) if isinstance(index_bits, dict) else index_bits
                if bits is not None and not 1 <= int(bits) <= 8:
                    raise ConfigError(f"index_bits must be between 1 and 8, got {bits}")
                for k, v in _encode_weight(p, layer.masks[name], bits).items():
                    arrays[f"sparse/{layer.name}/{name}/{k}"] = v
            else:
                arrays[f"param/{layer.name}/{name}"] = p
    return arrays


def save_sparse(model: Sequential, path, index_bits=None):
    """Save a pruned (masked dense) model with only its kept weights, atomically. Returns the path.

    See the module docstring for the format; ``index_bits`` as in :func:`sparse_arrays`. Sparse
    models (from :func:`minnet.sparse.to_sparse`) are converted back with ``to_dense`` first.
    """
    from minnet.sparse.model import to_dense     # here, not at the top: model.py imports layers
    return atomic_savez(path, sparse_arrays(to_dense(model), index_bits))


class _Where:
    def __init__(self, source, name, keys):
        self.source, self.name, self.keys = source, name, keys


def load_sparse(path) -> Sequential:
    """Load what :func:`save_sparse` wrote, as a masked dense Sequential (pass it to ``to_sparse``
    for CSR inference). A damaged, foreign or inconsistent file raises CheckpointError."""
    with open_npz(path) as arrays:
        return model_from_sparse_arrays(arrays, str(path))


def model_from_sparse_arrays(arrays, source="arrays") -> Sequential:
    """Rebuild the masked dense model from :func:`sparse_arrays`' output."""
    dense = dense_arrays(arrays, source)
    try:
        return Sequential.from_arrays(dense, source)
    except (TypeError, ValueError, json.JSONDecodeError) as e:   # a bad architecture entry
        if isinstance(e, CheckpointError):
            raise
        raise CheckpointError(f"{source}: cannot rebuild the model ({e})") from e


def dense_arrays(arrays, source="arrays") -> dict:
    """:func:`sparse_arrays`' output -> the arrays of the same model as ``Sequential.save`` writes
    them (weights decompressed to dense arrays and masks). CheckpointError for a damaged file."""
    try:
        version = int(arrays["minnet_sparse_format"])
    except (KeyError, ValueError, TypeError) as e:
        raise CheckpointError(f"{source}: not a minnet sparse model file (no format marker)") from e
    if version != SPARSE_FORMAT_VERSION:
        raise CheckpointError(f"{source}: sparse format version {version}, this minnet reads "
                              f"{SPARSE_FORMAT_VERSION}")
    dense = {k: v for k, v in arrays.items() if not k.startswith("sparse/")}
    weights = {}
    for key in arrays:
        if key.startswith("sparse/"):
            layer, name = key.split("/")[1:3]
            weights.setdefault((layer, name), set()).add(key.rsplit("/", 1)[1])
    for (layer, name), keys in weights.items():
        prefix = f"sparse/{layer}/{name}/"
        where = _Where(source, f"{layer}/{name}", keys)
        try:
            W, mask = _decode_weight(lambda k: arrays[prefix + k], where)
        except KeyError as e:
            raise CheckpointError(f"{source}: weight {layer}/{name} is missing array {e}") from e
        dense[f"param/{layer}/{name}"], dense[f"mask/{layer}/{name}"] = W, mask
    try:
        model_format = int(dense.get("minnet_format", -1))
    except (ValueError, TypeError):
        model_format = None
    if model_format not in (1, FORMAT_VERSION):
        raise CheckpointError(f"{source}: unsupported model format {dense.get('minnet_format')!s:.40}")
    return dense


register_decoder("minnet_sparse_format", dense_arrays)

"""A verified on-disk cache of decoded IDX files: a second ``load_mnist()`` skips the gunzip.

Why: decompressing MNIST's 11 MB of .gz files takes most of a load (~0.2-0.4 s, more on a busy
machine). The cache holds the four decoded arrays of one data folder (55 MB for MNIST, still
uint8: the float32 images are computed from them on every load, which keeps the cache 4x smaller
and the result identical to a load without it).

Cache file, one per data folder (``idx-<hash of the folder's path>.bin``):

    16 bytes   magic + version           b"MINNET-IDXCACHE1"
    32 bytes   SHA-256 of everything after these 48 bytes (header length, header, payload)
     8 bytes   header length H, little-endian
     H bytes   JSON header: the key (each source file's name, size, mtime_ns), each source file's
               SHA-256 (of its decompressed bytes, computed when the cache was built), and for
               each array its dtype, shape and offset in the payload
     the rest  the payload: the arrays' bytes, each starting on a 64-byte boundary

What "verified" means here, and why it is cheap:
  * The cache is used only when its key equals the source files' current (size, mtime_ns) and
    the SHA-256 over header and payload matches the one stored in the file. That hash is
    recomputed on every load (~25 ms for 55 MB with the SHA extensions of current x86 and ARM
    CPUs; a .gz must be decompressed before it can be hashed, which is the cost we avoid). A
    truncated, bit-flipped, half-written or foreign cache file fails this check and is rebuilt
    from the sources; it is never trusted.
  * The loader then compares the stored source digests with the expected ones (``verify=True``):
    a cache built from other files than MNIST's is not used.
  * A source file changed less than ``RACY_SECONDS`` before the cache would be written is not
    cached: file systems stamp mtimes with a coarse clock, so a second edit right after the
    first could keep size and mtime (git calls these entries "racily clean").
Writing is atomic (temporary file + rename); any OSError (read-only folder, full disk, no
permission) means no cache, never a failed load. At most ``MAX_ENTRIES`` cache files are kept.

Where: ``MINNET_DATA_CACHE`` if set (``off`` disables the cache), else the checkout's ignored
``.cache/data`` folder (found from this file, like the default data folder).
"""

import hashlib
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

MAGIC = b"MINNET-IDXCACHE1"
RACY_SECONDS = 2.0
MAX_ENTRIES = 4
_ALIGN = 64
DEFAULT_CACHE_DIR = Path(__file__).resolve().parent.parent / ".cache" / "data"


def cache_dir(cache=True):
    """The folder for cache files, or None for no cache.

    cache: True (the default folder: ``MINNET_DATA_CACHE`` if set, ``off`` meaning no cache; else
    the checkout's ``.cache/data``), False/None (no cache) or a folder path.
    """
    if cache is None or cache is False:
        return None
    if cache is not True:
        return Path(cache).expanduser()
    value = os.environ.get("MINNET_DATA_CACHE")
    if value is None or value == "":
        return DEFAULT_CACHE_DIR
    return None if value.lower() in ("off", "0", "no", "false") else Path(value).expanduser()


def cache_file(folder: Path, directory: Path) -> Path:
    """The cache file of one data folder: named by a hash of its resolved path."""
    tag = hashlib.sha256(str(Path(directory).resolve()).encode()).hexdigest()[:16]
    return Path(folder) / f"idx-{tag}.bin"


def source_key(paths):
    """{name: [file name, size, mtime_ns]} of the source files (raises OSError if one vanished)."""
    key = {}
    for name, path in sorted(paths.items()):
        st = os.stat(path)
        key[name] = [Path(path).name, st.st_size, st.st_mtime_ns]
    return key


def load(folder, directory, paths):
    """The cached arrays of ``directory`` if the cache is there, matches and is intact, else None.

    paths: {name: source file path}. Returns ({name: array (read-only)}, {name: source sha256}).
    Never raises for a bad cache: anything unexpected is a miss.
    """
    try:
        key = source_key(paths)
        blob = cache_file(folder, directory).read_bytes()
    except OSError:
        return None
    try:
        if blob[:16] != MAGIC or hashlib.sha256(memoryview(blob)[48:]).digest() != blob[16:48]:
            return None                                    # damaged or foreign: rebuild
        size = int.from_bytes(blob[48:56], "little")
        header = json.loads(blob[56:56 + size])
        if header["key"] != key:
            return None                                    # the sources changed: rebuild
        payload = memoryview(blob)[56 + size:]
        arrays = {}
        for name, (dtype, shape, offset) in header["arrays"].items():
            dtype = np.dtype(dtype)
            count = int(np.prod(shape, dtype=np.int64))
            if offset + count * dtype.itemsize > len(payload):
                return None
            arrays[name] = np.frombuffer(payload, dtype, count, offset).reshape(shape)
        if set(arrays) != set(paths) or set(header["sha256"]) != set(paths):
            return None
        return arrays, header["sha256"]
    except (ValueError, KeyError, TypeError, json.JSONDecodeError):
        return None


def store(folder, directory, paths, key, arrays, digests):
    """Write the cache of ``directory`` atomically; returns the file, or None if not written.

    key: :func:`source_key` taken *before* the sources were read; if the files changed since, or
    one was modified less than RACY_SECONDS ago, nothing is written. OSErrors are swallowed: a
    read-only or full disk means no cache, not a failed load.
    """
    try:
        if source_key(paths) != key:
            return None
        now = time.time_ns()
        if any(now - mtime < RACY_SECONDS * 1e9 for _, _, mtime in key.values()):
            return None
        layout, offset = {}, 0
        for name, array in arrays.items():
            layout[name] = [array.dtype.str, list(array.shape), offset]
            offset += -(-array.nbytes // _ALIGN) * _ALIGN
        header = json.dumps({"key": key, "sha256": digests, "arrays": layout}).encode()
        pad = 0
        # header length, header, then the arrays, each padded to the 64-byte grid of the payload
        parts = [len(header).to_bytes(8, "little"), header]
        for array in arrays.values():
            parts.append(b"\0" * pad)
            parts.append(np.ascontiguousarray(array).tobytes())
            pad = -array.nbytes % _ALIGN
        digest = hashlib.sha256()
        for part in parts:
            digest.update(part)
        return _write_atomic(cache_file(folder, directory), [MAGIC, digest.digest(), *parts])
    except OSError:
        return None


def _write_atomic(path: Path, parts):
    """Temporary file + rename (no fsync: a torn file fails the checksum and is rebuilt)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        umask = os.umask(0)                 # mkstemp makes owner-only files; use the usual mode
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, "wb") as f:
            for part in parts:
                f.write(part)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _prune(path.parent)
    return path


def _prune(folder: Path):
    """Keep the MAX_ENTRIES most recently written cache files (one per data folder ever loaded)."""
    try:
        files = sorted(folder.glob("idx-*.bin"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
        for old in files[MAX_ENTRIES:]:
            old.unlink()
    except OSError:
        pass

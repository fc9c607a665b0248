"""Atomic file writes: write to a temporary file in the same folder, then rename over the target.

``os.replace`` is atomic on POSIX and Windows when source and target are on the same file system, so a
reader sees either the old file or the new one, never half of one. If anything fails while writing
(an exception, a full disk, a kill), the temporary file is removed and the old file stays intact.
"""

import errno
import io
import json
import os
import tempfile
from pathlib import Path

import numpy as np

from minnet.errors import WriteError


def atomic_write_bytes(path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temp file in the same folder + ``os.replace``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # mkstemp creates files readable by their owner only; give the result the permissions a
        # plain open() would (0666 minus the umask), so reports can be shared as usual.
        os.fchmod(fd, 0o666 & ~_current_umask())
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        # Why BaseException: a KeyboardInterrupt mid-write must not leave a stray temp file either.
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(e, OSError) and not isinstance(e, WriteError):
            # A failed write's own message ("[Errno 28] No space left on device") names no file.
            raise _write_error(path, e) from e
        raise
    return path


# errno values that mean "no room": the fix is space (or a higher limit), not a different path
_NO_ROOM = {errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", errno.ENOSPC)}   # no EDQUOT on Windows


def _write_error(path, e: OSError) -> WriteError:
    """WriteError naming ``path`` and the cause, keeping the original errno."""
    why = e.strerror or str(e)
    if e.errno in _NO_ROOM:
        why += " (the disk is full or a file-size limit was reached)"
    err = WriteError(f"could not write {path}: {why}; its earlier version, if any, is intact")
    err.errno, err.strerror, err.filename = e.errno, e.strerror, str(path)
    return err


def _current_umask() -> int:
    mask = os.umask(0)      # the only portable way to read the umask is to set it and restore it
    os.umask(mask)
    return mask


def atomic_write_text(path, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path, obj) -> Path:
    """Write ``obj`` as indented JSON to ``path`` atomically."""
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def atomic_savez(path, arrays: dict, compressed: bool = False) -> Path:
    """Save a dict of arrays as one ``.npz`` atomically (``np.savez`` into memory, then one write)."""
    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, **arrays)
    return atomic_write_bytes(path, buf.getvalue())

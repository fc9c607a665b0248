"""Scratch memory reused from call to call: a convolution's im2col matrix and GEMM output.

Why: a forward pass of LeNet-5 at batch 1000 builds 32 MB im2col matrices and 13-27 MB GEMM
outputs, chunk after chunk, layer after layer, and drops each one right after use. Arrays this
large come straight from the operating system (glibc hands out blocks of >= 32 MB with mmap), so
every new one arrives as untouched pages: the kernel must map and zero each page on its first
write. Measured on LeNet-5 at batch 1000 with 2 threads: 70.8 ms a pass with fresh memory, 57.6 ms
with Conv2D's col and z in scratch memory (and MaxPool2D reusing its own argmax array). The
numbers are bit-identical: the same products run on the same values, only at other addresses.
A workspace keeps one block per *slot* and hands the same memory out again.

Rules, so that sharing memory never changes a result:
  * the contents are garbage: a caller must write every element before reading it;
  * a slot's array is valid until the next ``scratch`` call for that slot in the same thread, so
    a caller must not keep it or return it (Conv2D keeps its col for backward only after a
    *training* forward, and then allocates it fresh; its output y is always fresh);
  * each thread has its own slots (``threading.local``): two threads running inference on two
    models never share memory.
The block only grows (to the largest request seen), and lives until :func:`release_scratch`.
"""

import threading

import numpy as np

_local = threading.local()


def scratch(slot, shape, dtype):
    """An uninitialised C-contiguous array of ``shape`` and ``dtype`` in the memory of ``slot``.

    The same memory as the previous call with this slot in this thread whenever it is large
    enough (otherwise a larger block replaces it). See the module docstring for the rules.
    """
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    blocks = _local.__dict__.setdefault("blocks", {})
    block = blocks.get(slot)
    if block is None or block.nbytes < nbytes:
        block = blocks[slot] = np.empty(max(nbytes, 1), dtype=np.uint8)
    return block[:nbytes].view(dtype).reshape(shape)


def release_scratch():
    """Free this thread's scratch blocks (they are re-made on the next request)."""
    _local.__dict__.pop("blocks", None)

"""Write small IDX datasets for tests (the format MNIST ships in)."""

import gzip

import numpy as np


def write_idx(path, array):
    """Write a uint8 array as a gzipped IDX file (magic 0x0000 08 ndim, big-endian sizes)."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    path.write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes()))

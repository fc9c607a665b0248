"""Fixtures of the command-line tests: a tiny IDX dataset written like MNIST."""

import numpy as np
import pytest
from idx_files import write_idx


@pytest.fixture(scope="session")
def tiny_idx(tmp_path_factory):
    """A 10-class IDX dataset of 28x28 images: class c lights up row block c (easy to learn)."""
    d = tmp_path_factory.mktemp("idx")
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 300), ("t10k", 100)):
        y = np.arange(n) % 10
        x = rng.integers(0, 60, size=(n, 28, 28))
        for i, c in enumerate(y):
            x[i, 2 * c + 4:2 * c + 6, 4:24] = 250
        write_idx(d / f"{prefix}-images-idx3-ubyte.gz", x)
        write_idx(d / f"{prefix}-labels-idx1-ubyte.gz", y)
    return d

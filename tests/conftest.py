"""Fixtures shared by the whole suite: MNIST loaded once, a tiny MLP factory, and a tiny IDX dataset.

The suite mirrors the package (tests/data, tests/layers, tests/pruning, ...); helpers that tests
import by name (gradcheck, conv_cases) sit next to this file.
"""

import numpy as np
import pytest
from idx_files import write_idx

from minnet.data import load_mnist
from minnet.layers import Dense, Dropout, Flatten
from minnet.model import Sequential


@pytest.fixture(scope="session")
def mnist():
    """((x_train, y_train), (x_test, y_test)) of the real MNIST, verified, loaded once per run."""
    return load_mnist()


@pytest.fixture
def tiny_mlp():
    """A factory: tiny_mlp(sizes=(20, 16, 3), seed=0, dropout=0.0) -> a seeded Dense/ReLU MLP whose
    layers are fc1, fc2, ... (Dropout drop1, ... after the hidden ones when dropout > 0)."""
    def build(sizes=(20, 16, 3), seed=0, dropout=0.0):
        seeds = np.random.SeedSequence(seed).spawn(2 * len(sizes))
        layers = [Flatten(name="flatten")]
        for i in range(len(sizes) - 1):
            last = i == len(sizes) - 2
            layers.append(Dense(sizes[i], sizes[i + 1], activation=None if last else "relu",
                                rng=np.random.default_rng(seeds[i]), name=f"fc{i + 1}"))
            if dropout and not last:
                layers.append(Dropout(dropout, seed=seeds[len(sizes) + i], name=f"drop{i + 1}"))
        return Sequential(layers)
    return build


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

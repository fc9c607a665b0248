"""Reference solution to exercise 3 (the std-based pruning mask). See ../ex03_pruning_mask.py."""

import numpy as np


def prune_mask(w, quality, std=None):
    """keep = |w| > quality * std (std defaults to np.std(w))."""
    if std is None:
        std = np.std(w)
    return np.abs(w) > quality * std

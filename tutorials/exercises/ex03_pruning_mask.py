"""Exercise 3: the paper's pruning rule, a threshold of quality x standard deviation.

Goes with tutorial 03. Check with  python -m minnet.exercises check -k ex03_pruning_mask

Objective: apply the paper's pruning rule (a threshold in units of the layer's std) and explain
why iterative pruning keeps the std measured before the first prune.
Time: about 15 minutes.

Han et al. (2015, sec. 2) prune every connection whose weight is small in magnitude. In their Caffe
code the threshold of a layer is a *quality parameter* q times the standard deviation of that
layer's weights, so one q means "the same amount of pruning" in layers of very different scale:

    keep[i] = |w[i]| > q * std(w)            (strictly greater: a weight at the threshold goes)

On roughly Gaussian weights, q = 1 removes about 68% of them (the fraction within one standard
deviation), q = 1.75 about 92%.

When pruning iteratively, the std is the one measured *before the first prune* (pass it as ``std``).
The std of an already pruned layer is smaller (many zeros), so recomputing it would shrink the
threshold and the same q would prune less in every round.

Example: w = [-0.3, 0.05, 0.2, -0.01], std = 0.1, q = 1.5 -> threshold 0.15
         -> mask [True, False, True, False]

Use NumPy only.
"""

import numpy as np


def prune_mask(w, quality, std=None):
    """The keep-mask of the paper's rule: |w| > quality * std.

    w: weight array of any shape (a (out, in) matrix or a (out, in, kh, kw) conv kernel);
    quality: q > 0; std: the layer's std before pruning, or None to use np.std(w).
    Returns a bool array with w's shape (True = keep the connection).

    Hint: comparisons on NumPy arrays give bool arrays directly.
    """
    raise NotImplementedError("write prune_mask")

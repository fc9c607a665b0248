"""Exercise 4: one step of SGD with momentum that keeps pruned weights at exactly zero.

Goes with tutorial 03. Check with  python -m minnet.exercises check -k ex04_masked_sgd

Objective: write the retraining update so pruned weights stay exactly 0, and name the two ways
(momentum, weight decay) a naive update brings them back.
Time: about 20 minutes.

After pruning, the network is retrained (paper sec. 2, step 3) -- but only the surviving
connections may change. Zeroing the gradient of a pruned weight is not enough: momentum remembers
earlier gradients, and weight decay adds a term of its own, either of which would bring a pruned
weight back to life (a classic bug in pruning code). So the update itself honours the mask.

The update is Caffe's (the solver that trained the paper's models). For every kept entry i:

    v[i] = momentum * v[i] + lr * (g[i] + weight_decay * w[i])
    w[i] = w[i] - v[i]

and for every pruned entry (mask[i] False):

    w[i] = 0,  v[i] = 0

Shapes: w, v, g and mask all have the same shape (any shape); lr, momentum, weight_decay are floats.
weight_decay * w is the gradient of the L2 penalty (weight_decay / 2) * ||w||^2 (paper sec. 3.1).

Use NumPy only. Return new arrays (or update w and v in place and return them: both are accepted).
"""

import numpy as np


def masked_sgd_step(w, v, g, mask, lr, momentum, weight_decay):
    """One masked SGD-momentum step; returns (w_new, v_new).

    w: weights, v: velocity (momentum buffer), g: gradient dL/dw, mask: bool (True = kept);
    all the same shape. lr, momentum, weight_decay: floats.

    Hint: compute the update for every entry as if nothing were pruned, then set both the new
    weight and the new velocity to 0 wherever the mask is False.
    """
    raise NotImplementedError("write masked_sgd_step")

"""Exercise 2: softmax cross-entropy, the loss of every network in the paper, and its gradient.

Goes with tutorials 01-02. Check with  python -m minnet.exercises check -k ex02_softmax_cross_entropy

Objective: compute the loss every network in the paper minimises, and its gradient, without
overflow or log(0) on extreme logits.
Time: about 25 minutes.

The network's last layer produces logits z of shape (N, C): one score per class. Softmax turns a row
of scores into probabilities, and cross-entropy is minus the log-probability of the true class,
averaged over the batch:

    p[n, c] = exp(z[n, c]) / sum_k exp(z[n, k])                 p: (N, C), each row sums to 1
    loss    = -(1/N) sum_n log p[n, y_n]                        a Python float
    dL/dz   = (p - onehot(y)) / N                               (N, C)

The gradient is remarkably simple: the predicted probabilities minus 1 at the true class, divided by
N because the loss is a mean. (Derive it: d(-log p_y)/dz_c = p_c - [c == y].)

Numerical stability. exp(1000) overflows to inf, and inf / inf is nan. Softmax does not change when
you subtract the same number from every score of a row, so subtract the row maximum first:
    s = z - max_c z            (now every exp(s) <= 1, and the largest is exactly 1)
    log p[n, c] = s[n, c] - log sum_k exp(s[n, k])
Computing log p this way (rather than log(p)) also avoids log(0) = -inf for tiny probabilities.

Use NumPy only.
"""

import numpy as np


def softmax_cross_entropy(logits, y):
    """Mean softmax cross-entropy and its gradient with respect to the logits.

    logits: (N, C) float; y: (N,) integer labels in [0, C).
    Returns (loss, dlogits): loss a float, dlogits of shape (N, C).

    Hints: the row maximum and the row sum are one number per example, (N, 1), so that they
    broadcast against (N, C). The loss needs, for each example, the log-probability of its true
    class, taken from log p computed as above from s (not the log of the probabilities: a tiny p
    rounds to 0, and log(0) is -inf).
    """
    raise NotImplementedError("write softmax_cross_entropy")

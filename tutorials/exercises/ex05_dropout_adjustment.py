"""Exercise 5: how much dropout to use when retraining a pruned network (paper sec. 3.2).

Goes with tutorial 06. Check with  python -m minnet.exercises check -k ex05_dropout_adjustment

Objective: compute the paper's dropout ratio for retraining and explain why a pruned network
needs less dropout.
Time: about 10 minutes.

Dropout fights over-fitting by randomly silencing neurons during training. A pruned network has
already lost most of its capacity, so it needs less regularisation: keeping the original dropout
ratio while retraining would over-regularise it.

Let C_i be the number of connections of layer i: C_io in the original network and C_ir in the
retrained (pruned) one. The paper's argument: C_i grows with the product of the neuron counts on
both sides of the layer, C_i ~ N_i * N_(i-1), while dropout acts on neurons, so the dropout ratio
should scale with the square root of the connections kept:

    D_r = D_o * sqrt(C_ir / C_io)

Example: a layer keeping 9% of its connections, original dropout 0.5:
    D_r = 0.5 * sqrt(0.09) = 0.5 * 0.3 = 0.15

Use the standard library or NumPy.
"""

import math


def adjusted_dropout_rate(original_rate, connections_before, connections_after):
    """D_r = D_o * sqrt(C_ir / C_io).

    original_rate: D_o in [0, 1); connections_before: C_io > 0 (e.g. W.size);
    connections_after: C_ir, the connections kept (e.g. mask.sum()). Returns a float.
    """
    raise NotImplementedError("write adjusted_dropout_rate")

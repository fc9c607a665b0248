"""Exercise 8: choose each layer's sparsity from a sensitivity scan, to hit a compression target.

Goes with tutorials 07 (sensitivity, Fig. 6) and the README's "method" section. Check with
    python -m minnet.exercises check -k ex08_layer_sparsities

Objective: turn per-layer sensitivity curves into one sparsity per layer that makes the whole model
N times smaller at the smallest predicted loss, and say why the layers end up so different.
Time: about 40 minutes.

The decision. One sparsity for every layer is the simplest plan, and a bad one: layers differ. The
paper (Fig. 6) prunes each layer alone at increasing sparsity, without retraining, and measures the
validation loss. A layer whose curve stays flat can lose most of its weights; a layer whose curve
shoots up early (the output layer, the first conv layer) cannot. The paper then gives "the most
sensitive layer the smallest threshold" but does not say how the thresholds were picked. You decide.

What you get (the scan of LeNet-300-100 that `python -m minnet prune` prints is one of the cases):

    curves  {layer: (sparsities (K,), val_losses (K,))}   sparsities ascending from 0.0 (the
            unpruned loss) to the deepest level scanned, e.g. 0.99; the loss at each level
    sizes   {layer: (n_weights, n_biases)}                 biases are never pruned
    compression  the target, e.g. 12.0

The model's size counts every parameter, as the paper does:

    compression = sum_l (n_weights_l + n_biases_l) / sum_l (n_biases_l + n_weights_l (1 - s_l))

and a layer's *predicted* damage at sparsity s is its loss increase L_l(s) - L_l(0), read off its
curve by linear interpolation between scan points. (Each layer was scanned alone: adding up their
damages is only a prediction. Retraining later recovers most of it; the scan only ranks choices.)

Rules of the grader. Any answer passes that
  * gives every layer a sparsity between 0 and the deepest scanned level (no guessing beyond it),
  * reaches the target compression (within 0.1%),
  * and predicts a loss increase no worse than minnet's own answer (+5% + 0.002), either the sum
    over the layers or the worst single layer.
So several answers are right. minnet's rule (minnet/pruning/allocate.py) is *equal damage*: pick one
tolerated increase eps for all layers; each layer is pruned up to where its curve first exceeds eps
(that is tolerated_sparsity below); find the smallest eps whose sparsities reach the target, by
bisection (the parameters kept only fall as eps grows). A greedy answer (repeatedly take the next
step on the layer whose loss per removed weight is smallest) passes too.

Example (the first case): two layers of 1000 weights each, target 2x, so 1000 weights must go.
"robust" costs nothing up to 50% and +0.1 at 90%; "fragile" costs +0.5 at 50%. Uniform 50% / 50%
predicts +0.5. Equal damage gives robust 90% (+0.1) and fragile 10% (+0.1): 1000 kept, 2x.

Use NumPy only.
"""

import numpy as np


def tolerated_sparsity(sparsities, increases, tolerance):
    """The largest sparsity reached before the loss increase first exceeds ``tolerance``.

    sparsities: (K,) ascending from 0; increases: (K,) loss increases, increases[0] = 0;
    tolerance: a float. Linear between scan points; the deepest level if never exceeded.
    Returns a float.

    Example: s = [0, .5, .9], increases = [0, .1, .5], tolerance .3 -> 0.7

    Hint: find the first point above the tolerance; the answer lies between it and the point before.
    """
    raise NotImplementedError("write tolerated_sparsity")


def choose_sparsities(curves, sizes, compression):
    """One sparsity per layer: the model is ``compression`` x smaller at a small predicted loss.

    curves: {layer: (sparsities (K,), val_losses (K,))}; sizes: {layer: (n_weights, n_biases)};
    compression: the target (> 1). Returns {layer: sparsity} with the same keys as ``curves``.

    Hint: first compute, for a given eps, how many parameters the equal-damage sparsities keep.
    """
    raise NotImplementedError("write choose_sparsities")

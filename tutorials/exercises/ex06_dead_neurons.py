"""Exercise 6: find the dead neurons of a pruned network (paper sec. 3.5).

Goes with tutorial 08. Check with  python -m minnet.exercises check -k ex06_dead_neurons

Objective: find the neurons heavy pruning has cut off, from the masks on both sides of a layer.
Time: about 15 minutes.

Take two Dense layers in a row: layer A maps the input to H hidden units, layer B maps those H units
onward. Their masks (True = connection kept) have the shapes of their weights:

    mask_in   (H, n_in)     layer A: row j holds hidden unit j's *incoming* connections
    mask_out  (n_out, H)    layer B: column j holds hidden unit j's *outgoing* connections

After heavy pruning some hidden units are dead:
  * a unit whose incoming connections were all pruned (row j of mask_in all False) outputs a
    constant, whatever the input -- it carries no information;
  * a unit whose outgoing connections were all pruned (column j of mask_out all False) feeds
    nothing -- nobody listens.
Either way the unit, and all its remaining connections, can be removed (after folding its constant
output into the next layer's bias, which minnet.pruning.neurons does for you).

Example, H = 3:
    mask_in  = [[F, F],      mask_out = [[F, T, F],
                [T, F],                  [T, T, F]]
                [T, T]]
    unit 0: row 0 of mask_in is all False         -> dead (no inputs)
    unit 1: has inputs, column 1 has True         -> alive
    unit 2: column 2 of mask_out is all False     -> dead (no outputs)
    -> [True, False, True]

Use NumPy only.
"""

import numpy as np


def dead_neurons(mask_in, mask_out):
    """Which hidden units have no kept incoming or no kept outgoing connection.

    mask_in: bool (H, n_in), mask_out: bool (n_out, H). Returns a bool array (H,), True = dead.

    Hint: for each unit, ask whether its row of mask_in, and its column of mask_out, holds at
    least one True.
    """
    raise NotImplementedError("write dead_neurons")

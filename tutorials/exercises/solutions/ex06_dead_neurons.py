"""Reference solution to exercise 6 (dead neurons). See ../ex06_dead_neurons.py."""

import numpy as np


def dead_neurons(mask_in, mask_out):
    """True for hidden units with no kept input (row of mask_in) or no kept output (column of mask_out)."""
    no_inputs = ~mask_in.any(axis=1)       # (H,)
    no_outputs = ~mask_out.any(axis=0)     # (H,)
    return no_inputs | no_outputs

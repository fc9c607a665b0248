"""Dropout-ratio adjustment after pruning (Han et al. 2015, sec. 3.2).

Dropout fights over-fitting by randomly removing activations; pruning has already removed capacity,
so retraining needs less of it. With C_i the number of connections of layer i, o the original and r
the pruned network, and D the dropout ratio:

    D_r = D_o * sqrt(C_ir / C_io)

The square root comes from the paper's argument that C_i grows with the product of the two neuron
counts, N_i * N_(i-1), while dropout acts on neurons. Example: 9% of connections left, D_o = 0.5
-> D_r = 0.5 * 0.3 = 0.15.
"""

import math

from minnet.layers import Dropout
from minnet.errors import ConfigError


def adjusted_dropout_rate(original_rate, connections_before, connections_after):
    """D_r = D_o * sqrt(C_ir / C_io) (paper sec. 3.2). Counts are numbers of connections (weights).

    Example: adjusted_dropout_rate(0.5, 10000, 900) = 0.5 * sqrt(0.09) = 0.15
    """
    if connections_before <= 0 or not 0 <= connections_after <= connections_before:
        raise ConfigError(f"need 0 <= connections_after <= connections_before and connections_before > 0, "
                         f"got {connections_after} and {connections_before}")
    return float(original_rate) * math.sqrt(connections_after / connections_before)


def adjust_dropout(model, enabled=True):
    """Set every Dropout layer that follows a pruned layer to D_o * sqrt(C_ir / C_io); return the rates.

    "Follows" means the nearest layer with a weight mask before the Dropout in ``model.layers``;
    C_io is that layer's ``pruning_record.connections_before`` (recorded by the first prune, W.size
    if absent) and C_ir its number of surviving connections (True entries of its mask). D_o is the
    dropout layer's ``original_rate``, so calling this after every round never compounds.
    With ``enabled=False`` (the ablation) every dropout layer gets its original rate back.
    Returns {dropout layer name: new rate}.
    """
    rates = {}
    previous = None
    for layer in model.layers:
        if layer.prunable:
            previous = layer
        elif isinstance(layer, Dropout):
            if enabled and previous is not None:
                record = previous.pruning_record
                before = record.connections_before if record else previous.mask.size
                after = previous.n_kept
                layer.rate = adjusted_dropout_rate(layer.original_rate, before, after)
            else:
                layer.rate = layer.original_rate
            rates[layer.name] = layer.rate
    return rates

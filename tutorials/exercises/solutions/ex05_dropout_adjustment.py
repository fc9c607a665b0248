"""Reference solution to exercise 5 (dropout adjustment). See ../ex05_dropout_adjustment.py."""

import math


def adjusted_dropout_rate(original_rate, connections_before, connections_after):
    """D_r = D_o * sqrt(C_ir / C_io)."""
    return original_rate * math.sqrt(connections_after / connections_before)

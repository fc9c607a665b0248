"""Remove dead neurons physically (Han et al. 2015, sec. 3.5).

After pruning, a hidden unit j of a Dense layer L may have
  * no surviving outgoing connection (column j of the next layer's mask is all False): its output
    is never used, so the unit can go;
  * no surviving incoming connection (row j of L's mask is all False): its output is the constant
    c_j = act(b_j) whatever the input. Removing it would change the network unless that constant's
    contribution W_next[:, j] * c_j is first added to the next layer's bias.
Removing a unit deletes row j of L's W, b and mask and column j of the next layer's W and mask (and
the matching optimiser velocities), so the matrices really shrink: outputs are unchanged (up to float
rounding) while the model gets smaller and faster.

Only pairs of Dense layers joined by elementwise layers (ReLU, Dropout) are handled. A conv ->
flatten -> fc boundary would need channel-to-column bookkeeping; such pairs are skipped and named
in the result rather than silently mishandled.
"""

import numpy as np

from minnet.layers import Dense, Dropout, ReLU
from minnet.errors import ConfigError

_ELEMENTWISE = (ReLU, Dropout)


def dense_pairs(model):
    """Pairs (i, j) of layer indices where Dense i feeds Dense j through elementwise layers only.

    Returns (pairs, skipped): skipped lists "a -> b" for prunable neighbours that are not such a
    pair (e.g. conv -> flatten -> fc), which :func:`remove_dead_neurons` leaves alone.
    """
    pairs, skipped = [], []
    prunable = [i for i, l in enumerate(model.layers) if l.prunable]
    for a, b in zip(prunable, prunable[1:]):
        la, lb = model.layers[a], model.layers[b]
        between = model.layers[a + 1:b]
        if isinstance(la, Dense) and isinstance(lb, Dense) and all(isinstance(l, _ELEMENTWISE) for l in between):
            pairs.append((a, b))
        else:
            skipped.append(f"{la.name} -> {lb.name}")
    return pairs, skipped


def find_dead_neurons(model):
    """{layer name: bool array (out_features,)} of units with no kept incoming or no kept outgoing
    connection, for every Dense layer that feeds another Dense layer (see :func:`dense_pairs`)."""
    pairs, _ = dense_pairs(model)
    dead = {}
    for a, b in pairs:
        la, lb = model.layers[a], model.layers[b]
        no_inputs = ~la.mask.any(axis=1)                # (out_a,)  row j all pruned
        no_outputs = ~lb.mask.any(axis=0)               # (in_b,) = (out_a,)  column j all pruned
        dead[la.name] = no_inputs | no_outputs
    return dead


def _constant_outputs(model, a, b, units):
    """The outputs, as seen by layer b, of layer a's input-less ``units``: act(b_j) passed through
    the elementwise layers between a and b in inference mode. Shape (len(units),)."""
    la = model.layers[a]
    c = la.params["b"][units].reshape(1, -1).copy()
    if la.activation == "relu":
        c = np.maximum(c, 0)
    for layer in model.layers[a + 1:b]:
        c = layer.forward(c, training=False)
    return c.reshape(-1)


def remove_dead_neurons(model, optimizer=None):
    """Delete dead hidden units of Dense -> Dense pairs in place; return what was removed.

    For each removed input-less unit j of layer a, its constant output c_j is folded into the next
    layer first:  b_next += W_next[:, j] * c_j   (so the network computes the same function).
    Repeats until nothing changes (removing a unit can leave a unit below it without outputs).
    ``optimizer``: an SGD whose velocities are shrunk to match (optional).
    Returns {"removed": {layer name: number of units removed}, "skipped": ["conv2 -> fc1", ...]}.
    """
    removed = {}
    pairs, skipped = dense_pairs(model)
    while True:
        changed = False
        for a, b in pairs:
            la, lb = model.layers[a], model.layers[b]
            dead = ~la.mask.any(axis=1) | ~lb.mask.any(axis=0)
            if not dead.any():
                continue
            if dead.all():
                raise ConfigError(f"every unit of {la.name} is dead: the network's output no longer "
                                 "depends on its input; prune less")
            # 1. fold constant outputs of input-less units into the next bias (outgoing weights kept
            #    only where the mask keeps them, which is where W_next is nonzero anyway)
            no_inputs = np.flatnonzero(~la.mask.any(axis=1))
            if no_inputs.size:
                c = _constant_outputs(model, a, b, no_inputs)
                lb.params["b"] += (lb.weight[:, no_inputs] @ c).astype(lb.params["b"].dtype)
            keep = ~dead
            # 2. shrink layer a's rows and layer b's columns
            _take(la, optimizer, rows=keep)
            _take(lb, optimizer, cols=keep)
            removed[la.name] = removed.get(la.name, 0) + int(dead.sum())
            changed = True
        if not changed:
            return {"removed": removed, "skipped": skipped}


def _take(layer, optimizer, rows=None, cols=None):
    """Keep only the given output units (rows=bool) or inputs (cols=bool) of a Dense layer, through
    its own keep_units / keep_inputs, and shrink the optimiser's velocities to match."""
    if rows is not None:
        index = layer.keep_units(rows)
        cut = lambda arr, name: arr[index]                      # W's rows and b
    else:
        index = layer.keep_inputs(cols)
        cut = lambda arr, name: arr[:, index] if name == "W" else arr
    if optimizer is not None:
        for name in layer.params:
            key = (layer.name, name)
            if key in optimizer.velocity:
                optimizer.velocity[key] = np.ascontiguousarray(cut(optimizer.velocity[key], name))

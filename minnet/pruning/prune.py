"""Apply pruning criteria to a model, freeze layers by kind, re-initialise survivors.

Everything here goes through the layers' pruning API: ``weight``, ``mask``, ``prune(keep)``,
``pruning_record`` and ``trainable``. A new mask is always AND-ed with the old one, so a pruned connection stays pruned
for the rest of the run (paper sec. 2: pruning only ever removes connections).
"""

import numpy as np

from minnet import hooks
from minnet.config import PRUNE_METHODS as METHODS
from minnet.errors import ConfigError
from minnet.pruning.criteria import (check_quality, check_sparsity, prune_by_sparsity, prune_by_std,
                                     prune_global, prune_probabilistic)

PRUNABLE_KINDS = ("fc", "conv")


def select_layers(model, kinds=PRUNABLE_KINDS):
    """The model's prunable layers (those with a weight mask) whose ``kind`` is in ``kinds``.

    Raises ValueError if there are none: pruning such a model would silently do nothing.
    """
    kinds = tuple(kinds)
    unknown = set(kinds) - set(PRUNABLE_KINDS)
    if unknown:
        raise ConfigError(f"unknown layer kinds {sorted(unknown)}; choose from {PRUNABLE_KINDS}")
    layers = [l for l in model.prunable_layers() if l.kind in kinds and l.prunable]
    if not layers:
        raise ConfigError(f"the model has no prunable layers of kind {list(kinds)} "
                         f"(layers: {[l.name for l in model.layers]})")
    return layers


def record_original_state(model):
    """Store, once per prunable layer, what later rounds measure against (its ``pruning_record``).

    std_before          std of W before the first prune (paper sec. 2: the threshold
                                        is a quality parameter times this std);
    connections_before  W.size, the C_io of the dropout adjustment (sec. 3.2).
    Values already present are kept: calling this again after a prune changes nothing.
    """
    for layer in model.prunable_layers():
        layer.remember_before_pruning()


def prune_model(model, method, target, kinds=PRUNABLE_KINDS, seed=0):
    """Prune the model's weights in place; return {layer name: fraction of W kept}.

    method "std":      target is the quality parameter q (a number, or a {layer: q} dict);
                       keep |w| > q * pruning_record.std_before           (paper sec. 2)
    method "sparsity": target is the fraction removed per layer (number or {layer: s} dict),
                       counted over the whole weight tensor (pruned weights included)
    method "global":   target is one sparsity; one magnitude threshold across the selected layers
    method "probabilistic": like "sparsity", but each weight is kept at random with a probability
                       that grows with |w| (sec. 3.4's negative result); layer i of the model draws
                       from SeedSequence([seed, i]), so ``seed`` fixes the masks
    Only layers of the given ``kinds`` are touched; with a dict, only the layers it names. Biases are
    never pruned. The new mask is AND-ed with the old one.
    """
    if method not in METHODS:
        raise ConfigError(f"unknown pruning method {method!r}; choose from {METHODS}")
    layers = select_layers(model, kinds)
    record_original_state(model)
    if isinstance(target, dict):
        names = {l.name for l in layers}
        unknown = set(target) - names
        if unknown:
            raise ConfigError(f"pruning targets name layers that are not prunable {list(kinds)} layers "
                             f"of this model: {sorted(unknown)}; prunable: {sorted(names)}")
        if method == "global":
            raise ConfigError("global pruning takes one sparsity, not a per-layer dict")
        layers = [l for l in layers if l.name in target]
        targets = {l.name: target[l.name] for l in layers}
    else:
        targets = {l.name: target for l in layers}

    if method == "global":
        new_masks = prune_global([l.weight for l in layers], check_sparsity(target))
    elif method == "std":
        # The mask function is looked up at call time: --use-exercises puts a student's here.
        std_mask = hooks.implementation("std_mask", prune_by_std)
        new_masks = [std_mask(l.weight, check_quality(targets[l.name], f"quality for {l.name}"),
                              l.pruning_record.std_before) for l in layers]
    elif method == "probabilistic":
        index = {id(l): i for i, l in enumerate(model.layers)}
        new_masks = [prune_probabilistic(
            l.weight, check_sparsity(targets[l.name], f"sparsity for {l.name}"),
            np.random.default_rng(np.random.SeedSequence([int(seed), index[id(l)]])))
            for l in layers]
    else:
        new_masks = [prune_by_sparsity(l.weight, check_sparsity(targets[l.name],
                                                                     f"sparsity for {l.name}"))
                     for l in layers]
    for layer, mask in zip(layers, new_masks):
        # A layer with no connection left cuts the network in two: refuse before touching it.
        if not np.any(np.logical_and(mask, layer.mask)):
            top = float(np.abs(layer.weight).max())
            std = layer.pruning_record.std_before if layer.pruning_record else 0.0
            hint = (f"; its largest |w| is {top / std:.2f} std, so use a quality below that"
                    if method == "std" and std > 0 else "")
            raise ConfigError(f"pruning {layer.name} with target {targets.get(layer.name, target)} "
                              f"would remove every one of its connections{hint}")
    for layer, mask in zip(layers, new_masks):
        layer.prune(mask)
    return {l.name: float(l.mask.mean()) for l in layers}


def set_trainable_kinds(model, kinds):
    """Train only the layers whose kind is in ``kinds``; freeze the other layers with parameters.

    Paper sec. 3.3: after pruning the FC layers, retrain them with the conv layers frozen, and vice
    versa, which avoids the vanishing-gradient problem of retraining a deep, pruned stack at once.
    kinds: e.g. ("fc",), ("conv",) or ("fc", "conv"). Returns {layer name: trainable} as it was.
    """
    kinds = tuple(kinds)
    unknown = set(kinds) - set(PRUNABLE_KINDS)
    if unknown or not kinds:
        raise ConfigError(f"train kinds must be a non-empty subset of {PRUNABLE_KINDS}, got {list(kinds)}")
    before = {l.name: l.trainable for l in model.layers}
    for layer in model.layers:
        if layer.params:
            layer.trainable = layer.kind in kinds
    return before


def restore_trainable(model, before):
    """Undo :func:`set_trainable_kinds` with the dict it returned."""
    for layer in model.layers:
        layer.trainable = before.get(layer.name, layer.trainable)


def reinitialize_survivors(model, seed, kinds=PRUNABLE_KINDS):
    """Re-draw the surviving weights of the selected layers from scratch; keep the masks.

    This is the ablation of paper sec. 3.3 ("re-initialise and retrain" vs "keep the survivors"),
    which the paper found worse. Survivors get U(-a, a), a = sqrt(3 / fan_in) with fan_in =
    prod(W.shape[1:]) (Caffe's xavier filler, as Dense and Conv2D use), biases 0; pruned weights stay 0.
    Each layer draws from SeedSequence([seed, layer index]), so the result depends only on ``seed``.
    """
    selected = {id(l) for l in select_layers(model, kinds)}
    for i, layer in enumerate(model.layers):
        if id(layer) not in selected:
            continue
        w = layer.weight
        a = np.sqrt(3.0 / int(np.prod(w.shape[1:])))
        rng = np.random.default_rng(np.random.SeedSequence([int(seed), i]))
        w[...] = rng.uniform(-a, a, w.shape).astype(w.dtype)
        if "b" in layer.params:
            layer.params["b"][...] = 0.0
        layer.prune(layer.mask)                   # zero the pruned positions again

"""The registry of layer classes: how a saved architecture's class names become classes again.

A model file names each layer's class (``{"class": "Dense", "config": {...}}``); :mod:`minnet.io`
looks the name up here and calls ``cls(**config)``. Every layer type registers itself with
:func:`register_layer` when its module is imported: the dense layers in
:mod:`minnet.layers`, the CSR layers in :mod:`minnet.sparse.layers` and :mod:`minnet.sparse.conv`.

Why registration and not one list: the core ``layers`` package must not import ``sparse`` (sparse
builds on layers, kernels and io; a list here naming its classes would make the two import each
other). Registration keeps the arrow one way, sparse -> layers. ``import minnet`` (which any
``import minnet.<module>`` runs first) imports :mod:`minnet.sparse`, so every built-in layer is
registered before a file can be loaded. A layer class of your own: decorate it with
``@register_layer`` and make its ``config()`` round-trip (``type(l)(**l.config())``).
"""

from minnet.errors import ConfigError

LAYER_CLASSES: dict[str, type] = {}
"""Class name -> layer class, for every registered layer type (filled by :func:`register_layer`)."""


def register_layer(cls):
    """Make ``cls`` loadable from a model file under its class name; returns ``cls`` (a decorator).

    The contract a registered class keeps: ``cls(**layer.config())`` builds a layer of the same
    geometry, and ``layer.load_state(layer.state_dict())`` restores everything that is neither a
    parameter nor a mask (see :class:`minnet.layers.base.Layer`). Registering a second, different
    class under a name already taken raises ValueError (a file could not say which one it meant).
    """
    name = cls.__name__
    known = LAYER_CLASSES.get(name)
    if known is not None and known is not cls and (known.__module__, known.__qualname__) != (
            cls.__module__, cls.__qualname__):        # (the same class re-imported is fine)
        raise ConfigError(f"register_layer: the name {name!r} is already taken by "
                         f"{known.__module__}.{known.__qualname__}; rename {cls.__qualname__}")
    LAYER_CLASSES[name] = cls
    return cls

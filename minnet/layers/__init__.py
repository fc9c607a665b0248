"""Layers with hand-written forward and backward passes.

Every layer class is registered by name in ``LAYER_CLASSES`` (:mod:`minnet.layers.registry`), which
:mod:`minnet.io` uses to rebuild a saved architecture; the dense layers register here, the CSR
layers of :mod:`minnet.sparse` register themselves when that package is imported.
"""

from minnet.layers.activations import Dropout, Flatten, ReLU
from minnet.layers.base import Layer
from minnet.layers.conv import Conv2D
from minnet.layers.dense import Dense
from minnet.layers.pool import MaxPool2D
from minnet.layers.registry import LAYER_CLASSES, register_layer

__all__ = ["Layer", "Dense", "Conv2D", "MaxPool2D", "ReLU", "Dropout", "Flatten", "LAYER_CLASSES",
           "register_layer"]

for _cls in (Dense, Conv2D, MaxPool2D, ReLU, Dropout, Flatten):
    register_layer(_cls)

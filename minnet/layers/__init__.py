"""Layers with hand-written forward and backward passes.

``LAYER_CLASSES`` maps class names to classes; :mod:`minnet.model` uses it to rebuild a saved
architecture. A new layer type must be added there to be saveable.
"""

from minnet.layers.activations import Dropout, Flatten, ReLU
from minnet.layers.base import Layer
from minnet.layers.conv import Conv2D
from minnet.layers.dense import Dense
from minnet.layers.pool import MaxPool2D

__all__ = ["Layer", "Dense", "Conv2D", "MaxPool2D", "ReLU", "Dropout", "Flatten", "LAYER_CLASSES"]

LAYER_CLASSES = {cls.__name__: cls for cls in (Dense, Conv2D, MaxPool2D, ReLU, Dropout, Flatten)}

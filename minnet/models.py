"""The paper's networks with their exact shapes (Han et al. 2015, Tables 1-5).

Layer names follow the paper's tables (fc1, fc2, ... for LeNet; conv1..conv5, fc6..fc8 for AlexNet).
Every random choice (weight init, dropout masks) derives from ``seed``.
"""

import numpy as np

from minnet.layers import Dense, Dropout, Flatten
from minnet.model import Sequential


def lenet_300_100(seed=0, dropout=0.0, dtype=np.float32):
    """LeNet-300-100: 784 -> 300 -> 100 -> 10, ReLU, 266,610 parameters (paper Table 2).

    Input (N, 1, 28, 28) or (N, 784); output logits (N, 10). ``dropout`` > 0 inserts Dropout after
    fc1 and fc2 (the paper's LeNets use none; it is here for the sec. 3.2 experiments).
    """
    seeds = np.random.SeedSequence(seed).spawn(5)
    layers = [Flatten(name="flatten"),
              Dense(784, 300, activation="relu", rng=np.random.default_rng(seeds[0]), dtype=dtype,
                    name="fc1")]
    if dropout:
        layers.append(Dropout(dropout, seed=seeds[3], name="drop1"))
    layers.append(Dense(300, 100, activation="relu", rng=np.random.default_rng(seeds[1]), dtype=dtype,
                        name="fc2"))
    if dropout:
        layers.append(Dropout(dropout, seed=seeds[4], name="drop2"))
    layers.append(Dense(100, 10, rng=np.random.default_rng(seeds[2]), dtype=dtype, name="fc3"))
    return Sequential(layers)

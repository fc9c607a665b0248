"""The paper's networks with their exact shapes (Han et al. 2015, Tables 1-5).

Layer names follow the paper's tables (fc1, fc2, ... for LeNet; conv1..conv5, fc6..fc8 for AlexNet).
Every random choice (weight init, dropout masks) derives from ``seed``.
"""

import numpy as np

from minnet.layers import Conv2D, Dense, Dropout, Flatten, MaxPool2D
from minnet.model import Sequential
from minnet.errors import ConfigError


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


def lenet5(seed=0, dropout=0.0, conv_relu=False, dtype=np.float32):
    """Caffe's LeNet-5 as used in the paper (Table 3): 431,080 parameters.

    Input (N, 1, 28, 28) -> logits (N, 10):
        conv1  20@5x5      -> (N, 20, 24, 24)       520 params
        pool1  max 2x2 s2  -> (N, 20, 12, 12)
        conv2  50@5x5      -> (N, 50, 8, 8)      25,050 params
        pool2  max 2x2 s2  -> (N, 50, 4, 4)
        flatten            -> (N, 800)
        fc1    500 + ReLU                       400,500 params
        fc2    10                                 5,010 params
    As in Caffe's lenet_train_test.prototxt there is no ReLU after the convolutions, unless
    ``conv_relu=True``: then conv1 and conv2 output max(z, 0). The paper's Table 3 reports Act% of
    82% / 72% for conv1 / conv2, which only rectified outputs can have (without a ReLU almost every
    conv output is nonzero), so its LeNet-5 likely had them. Same seed, same initial weights.
    ``dropout`` > 0 inserts Dropout between fc1 and fc2 (Caffe's LeNet has none; it is here for the
    sec. 3.2 dropout adjustment, which rescales it after every prune of fc1).
    """
    seeds = np.random.SeedSequence(seed).spawn(5)
    rng = [np.random.default_rng(s) for s in seeds[:4]]
    act = "relu" if conv_relu else None   # max-pooling commutes with ReLU, so the order is free
    layers = [
        Conv2D(1, 20, 5, activation=act, rng=rng[0], dtype=dtype, name="conv1"),
        MaxPool2D(2, stride=2, name="pool1"),
        Conv2D(20, 50, 5, activation=act, rng=rng[1], dtype=dtype, name="conv2"),
        MaxPool2D(2, stride=2, name="pool2"),
        Flatten(name="flatten"),
        Dense(800, 500, activation="relu", rng=rng[2], dtype=dtype, name="fc1"),
    ]
    if dropout:
        layers.append(Dropout(dropout, seed=seeds[4], name="drop1"))
    layers.append(Dense(500, 10, rng=rng[3], dtype=dtype, name="fc2"))
    return Sequential(layers)


def mlp(hidden=(500, 150), in_features=784, classes=10, seed=0, dropout=0.0, dtype=np.float32):
    """A multilayer perceptron: in_features -> hidden[0] -> ... -> classes, ReLU between layers.

    Layers fc1, fc2, ... (the last has no activation: it outputs logits (N, classes)); input
    (N, in_features) or (N, 1, H, W) with H * W = in_features. ``dropout`` > 0 inserts Dropout after
    every hidden layer. mlp((300, 100)) has LeNet-300-100's shapes, but draws its own initial weights
    (one SeedSequence child per layer, then one per dropout layer). For networks nobody tuned a recipe
    for, e.g. ``python -m minnet prune --model mlp --hidden 500,150``.
    """
    sizes = [int(in_features), *(int(h) for h in hidden), int(classes)]
    if any(s < 1 for s in sizes) or any(not float(h).is_integer() for h in hidden):
        raise ConfigError(f"mlp: layer sizes must be positive integers, got {sizes}")
    n = len(sizes) - 1
    seeds = np.random.SeedSequence(seed).spawn(2 * n)
    layers = [Flatten(name="flatten")]
    for i in range(n):
        last = i == n - 1
        layers.append(Dense(sizes[i], sizes[i + 1], activation=None if last else "relu",
                            rng=np.random.default_rng(seeds[i]), dtype=dtype, name=f"fc{i + 1}"))
        if dropout and not last:
            layers.append(Dropout(dropout, seed=seeds[n + i], name=f"drop{i + 1}"))
    return Sequential(layers)


def alexnet(seed=0, num_classes=1000, dropout=0.5, dtype=np.float32):
    """Caffe's AlexNet (bvlc_alexnet) as pruned in the paper (Table 4), without its LRN layers.

    Input (N, 3, 227, 227) -> logits (N, num_classes). ReLU is fused into every conv and fc6/fc7;
    conv2, conv4 and conv5 have 2 groups (the original two-GPU split).
        conv1  96@11x11 s4         -> (N, 96, 55, 55)      pool1  max 3x3 s2 -> (N, 96, 27, 27)
        conv2  256@5x5 p2 g2       -> (N, 256, 27, 27)     pool2  max 3x3 s2 -> (N, 256, 13, 13)
        conv3  384@3x3 p1          -> (N, 384, 13, 13)
        conv4  384@3x3 p1 g2       -> (N, 384, 13, 13)
        conv5  256@3x3 p1 g2       -> (N, 256, 13, 13)     pool5  max 3x3 s2 -> (N, 256, 6, 6)
        fc6 4096 + dropout, fc7 4096 + dropout, fc8 num_classes
    With 1000 classes: 60,954,656 weights + 10,568 biases = 60,965,224 parameters.
    Caffe's local response normalisation (norm1, norm2, after pool1/pool2) is left out: it has no
    parameters and no weights to prune, so the counts above are the paper's; it would only change
    the activations (and a model trained without it is not Caffe's bvlc_alexnet).
    """
    seeds = np.random.SeedSequence(seed).spawn(10)
    rng = [np.random.default_rng(s) for s in seeds[:8]]
    kw = {"activation": "relu", "dtype": dtype}
    return Sequential([
        Conv2D(3, 96, 11, stride=4, rng=rng[0], name="conv1", **kw),
        MaxPool2D(3, stride=2, name="pool1"),
        Conv2D(96, 256, 5, padding=2, groups=2, rng=rng[1], name="conv2", **kw),
        MaxPool2D(3, stride=2, name="pool2"),
        Conv2D(256, 384, 3, padding=1, rng=rng[2], name="conv3", **kw),
        Conv2D(384, 384, 3, padding=1, groups=2, rng=rng[3], name="conv4", **kw),
        Conv2D(384, 256, 3, padding=1, groups=2, rng=rng[4], name="conv5", **kw),
        MaxPool2D(3, stride=2, name="pool5"),
        Flatten(name="flatten"),
        Dense(256 * 6 * 6, 4096, rng=rng[5], name="fc6", **kw),
        Dropout(dropout, seed=seeds[8], name="drop6"),
        Dense(4096, 4096, rng=rng[6], name="fc7", **kw),
        Dropout(dropout, seed=seeds[9], name="drop7"),
        Dense(4096, num_classes, rng=rng[7], dtype=dtype, name="fc8"),
    ])


def vgg16(seed=0, num_classes=1000, dropout=0.5, dtype=np.float32):
    """VGG-16 (configuration D) as pruned in the paper (Table 5): 138,357,544 parameters.

    Input (N, 3, 224, 224) -> logits (N, num_classes). Thirteen 3x3 convolutions with padding 1 and
    ReLU, in five blocks each closed by a 2x2 max pool (224 -> 112 -> 56 -> 28 -> 14 -> 7):
        conv1_1..conv1_2   64     conv2_1..conv2_2  128     conv3_1..conv3_3  256
        conv4_1..conv4_3  512     conv5_1..conv5_3  512
    then flatten (512*7*7 = 25,088), fc6 4096 + ReLU + dropout, fc7 4096 + ReLU + dropout,
    fc8 num_classes.
    """
    blocks = [(64, 2), (128, 2), (256, 3), (512, 3), (512, 3)]
    seeds = np.random.SeedSequence(seed).spawn(18)
    rng = iter(np.random.default_rng(s) for s in seeds[:16])
    layers, channels = [], 3
    for b, (width, repeat) in enumerate(blocks, start=1):
        for i in range(1, repeat + 1):
            layers.append(Conv2D(channels, width, 3, padding=1, activation="relu", rng=next(rng),
                                 dtype=dtype, name=f"conv{b}_{i}"))
            channels = width
        layers.append(MaxPool2D(2, stride=2, name=f"pool{b}"))
    layers += [
        Flatten(name="flatten"),
        Dense(512 * 7 * 7, 4096, activation="relu", rng=next(rng), dtype=dtype, name="fc6"),
        Dropout(dropout, seed=seeds[16], name="drop6"),
        Dense(4096, 4096, activation="relu", rng=next(rng), dtype=dtype, name="fc7"),
        Dropout(dropout, seed=seeds[17], name="drop7"),
        Dense(4096, num_classes, rng=next(rng), dtype=dtype, name="fc8"),
    ]
    return Sequential(layers)

"""minnet: learn neural-network pruning from scratch (Han, Pool, Tran & Dally, NIPS 2015).

A learner can follow one batch through: :mod:`minnet.data` (MNIST) -> :mod:`minnet.layers`
(forward) -> :mod:`minnet.losses` -> layers again (backward) -> :mod:`minnet.optim` (SGD that honours
pruning masks) -> :mod:`minnet.pruning` (prune, retrain, iterate).
"""

from minnet import kernels, layers, losses, model, models, optim, sparse, train
from minnet import pruning, stats
from minnet.layers import Conv2D, Dense, Dropout, Flatten, MaxPool2D, ReLU
from minnet.losses import softmax_cross_entropy
from minnet.model import Sequential
from minnet.data import load_mnist, split_validation
from minnet.models import alexnet, lenet5, lenet_300_100, mlp, vgg16
from minnet.optim import SGD, ConstantLR, CosineLR, InvLR, StepLR, caffe_lenet_sgd, make_optimizer
from minnet.recipes import recipe
from minnet.train import Callback, evaluate, fit

__version__ = "0.1.0"

__all__ = [
    "kernels", "layers", "losses", "model", "models", "optim", "sparse", "train", "pruning", "stats",
    "Dense", "Dropout", "Flatten", "ReLU", "softmax_cross_entropy", "Sequential", "lenet_300_100",
    "Conv2D", "MaxPool2D", "lenet5", "alexnet", "vgg16", "mlp", "load_mnist", "split_validation",
    "SGD", "ConstantLR", "CosineLR", "InvLR", "StepLR", "caffe_lenet_sgd", "make_optimizer",
    "recipe", "Callback", "evaluate", "fit",
]

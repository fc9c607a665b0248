"""What a run's config resolves to: its data splits (train, validation, test) and its network.

Shared by the command line (:mod:`minnet.cli`) and :mod:`minnet.run_folder`, which
rebuilds a run's validation split from its config.json; neither has to import the other.
"""

import numpy as np

from minnet.errors import ConfigError


def build_model(cfg, data=None):
    """The network named by cfg.model, initialised from ``seed`` (a function seed -> Sequential).

    For "mlp" the input and output sizes come from ``data`` (any IDX dataset): H x W inputs, one
    output per class of the training labels.
    """
    from minnet import models  # at call time: lenet5 lives in models.py next to lenet_300_100
    if cfg.model == "lenet300":
        return lambda seed: models.lenet_300_100(seed=seed, dropout=cfg.dropout)
    if cfg.model == "mlp":
        (x, y) = data[0]
        n_in, classes = int(np.prod(x.shape[1:])), int(y.max()) + 1
        return lambda seed: models.mlp(cfg.hidden, n_in, classes, seed=seed, dropout=cfg.dropout)
    return lambda seed: models.lenet5(seed=seed, dropout=cfg.dropout, conv_relu=cfg.conv_relu)


def load_data(cfg):
    """(train, validation, test) splits and the split's record for report.json.

    MNIST (or the IDX dataset in cfg.data), the training images cut to cfg.train_limit, then
    cfg.val_size of them held out (seeded by cfg.seed), the test images cut to cfg.test_limit.
    """
    from minnet.data import load_idx_dataset, load_mnist, split_validation
    from minnet.errors import DataError
    (x, y), (xt, yt) = load_mnist() if cfg.data is None else load_idx_dataset(cfg.data)
    for split_name, images in (("training", x), ("test", xt)):
        if len(images) == 0:
            raise DataError(f"{cfg.data or 'MNIST'}: the {split_name} split has no images; "
                            "check the IDX files")
    if cfg.model in ("lenet300", "lenet5") and x.shape[1:] != (1, 28, 28):
        raise ConfigError(f"model {cfg.model!r} takes 28x28 images, the data has {x.shape[2:]}; "
                          "use --model mlp for other image sizes")
    if cfg.train_limit:
        x, y = x[:cfg.train_limit], y[:cfg.train_limit]
    if cfg.test_limit:
        xt, yt = xt[:cfg.test_limit], yt[:cfg.test_limit]
    train, val, split = split_validation(x, y, cfg.val_size, cfg.seed)
    split["test_size"] = len(xt)
    return (train, val, (xt, yt)), split

"""The settings of a train/prune run, and loading them from a TOML file with validation.

:class:`RunConfig` lists every option with its type and default; the CLI's flags and a TOML file
(read with the standard library's ``tomllib``) both fill the same fields. An unknown key or a value of
the wrong type raises :class:`minnet.errors.ConfigError` naming the key, so a typo cannot silently
fall back to a default.
"""

import dataclasses
import math
import tomllib
from dataclasses import dataclass, field

from minnet.errors import ConfigError

# Every list of choices, defined once: the CLI's argparse takes its choices= from here.
MODELS = ("lenet300", "lenet5", "mlp")
LR_POLICIES = ("inv", "constant", "cosine")
REGULARIZATIONS = ("l1", "l2")
# How per-layer targets are chosen. "sensitivity" is the paper's method (sec. 2 + Fig. 6): a scan of
# each layer on the validation split sets its quality parameter; the others take explicit targets.
PRUNE_METHODS = ("std", "sparsity", "global", "probabilistic")
METHODS = ("sensitivity",) + PRUNE_METHODS
PHASES = ("fc", "conv", "all")
SCHEDULES = ("geometric", "linear")


@dataclass
class RunConfig:
    """Every setting of ``python -m minnet train|prune``; the defaults are the generic recipe.

    These defaults are what a network nobody tuned gets (``--model mlp``); the named recipes of
    :mod:`minnet.recipes` change only what was measured to matter for their network, each change
    with its validation numbers beside it.

    Phases of a run: dense training (``epochs`` at ``lr``, ``regularization``), then for every entry of
    ``phases`` (layer kinds, e.g. ["fc", "conv"] = prune and retrain FC with conv frozen, then conv
    with FC frozen; "all" = both at once) ``rounds`` rounds of prune -> retrain
    (``retrain_epochs`` at ``retrain_lr``, None meaning lr / 10 as in the paper's sec. 4.1, with ``retrain_regularization``),
    then, if ``finetune_epochs`` > 0, one retraining of all layers together at the same settings.
    ``method`` "sensitivity" (the default, the paper's method) scans every prunable layer alone on
    the validation split (``val_size`` held-out training images), gives each layer a quality
    parameter from its own curve so that the whole model reaches ``compression``, and prunes to it
    over the rounds (:mod:`minnet.pruning.allocate`). The other methods take ``targets``.
    ``targets`` maps layer names to their final sparsity (method "sparsity"), final quality
    parameter (method "std") or, under the key "all", the one global sparsity (method "global").
    ``schedule`` is "geometric" (sparsity) / "linear" (quality) or an explicit list, one entry per
    round, of numbers or {layer: target} tables.
    """

    model: str = "lenet300"
    recipe: str | None = None             # the named recipe these settings started from (a record)
    seed: int = 0
    data: str | None = None
    dense_model: str | None = None        # prune this trained model (.npz) instead of training one
    train_limit: int | None = None        # use only the first N training images (smoke tests)
    test_limit: int | None = None
    val_size: int = 5000                  # training images held out for every decision (seeded)
    read_test: bool = True                # False: never evaluate on the test set (recipe searches)
    hidden: list = field(default_factory=lambda: [500, 150])   # model "mlp": hidden layer sizes
    conv_relu: bool = False               # model "lenet5": ReLU after conv1 and conv2
    batch_size: int = 64
    epochs: int = 30
    lr: float = 0.01
    lr_policy: str = "inv"                # Caffe's LeNet solver: inv, gamma 1e-4, power 0.75
    momentum: float = 0.9
    regularization: str = "l2"            # "l2" or "l1" for dense training (paper sec. 3.1)
    reg_strength: float = 5e-4
    dropout: float = 0.3
    method: str = "sensitivity"
    compression: float = 12.0             # method "sensitivity": whole-model target, biases counted
    targets: dict = field(default_factory=dict)
    rounds: int = 6
    schedule: str | list = "geometric"
    phases: list = field(default_factory=lambda: ["fc"])
    retrain_epochs: int = 12
    retrain_lr: float | None = 0.01       # None: lr / 10, the paper's rule for LeNet (sec. 4.1)
    retrain_lr_policy: str = "cosine"     # each retraining anneals from retrain_lr to 0
    retrain_regularization: str = "l2"
    retrain_reg_strength: float = 1e-4
    finetune_epochs: int = 0              # after the last round: retrain all layers together
    adjust_dropout: bool = True
    reinit: bool = False                  # the sec. 3.3 ablation: re-initialise the survivors

    def effective_retrain_lr(self):
        """The retraining learning rate: ``retrain_lr`` or, if unset, ``lr / 10``."""
        return self.lr / 10 if self.retrain_lr is None else self.retrain_lr

    def to_dict(self):
        """Plain data (for config.json and report.json)."""
        return dataclasses.asdict(self)


# The accepted Python types of each field (int is accepted where a float is expected).
_TYPES = {
    "model": (str,), "recipe": (str, type(None)), "seed": (int,), "val_size": (int,), "read_test": (bool,),
    "hidden": (list,), "conv_relu": (bool,), "compression": (float, int), "data": (str, type(None)), "dense_model": (str, type(None)),
    "train_limit": (int, type(None)),
    "test_limit": (int, type(None)), "batch_size": (int,), "epochs": (int,), "lr": (float, int),
    "lr_policy": (str,), "momentum": (float, int), "regularization": (str,),
    "reg_strength": (float, int), "dropout": (float, int), "method": (str,), "targets": (dict,),
    "rounds": (int,), "schedule": (str, list), "phases": (list,), "retrain_epochs": (int,),
    "retrain_lr": (float, int, type(None)), "retrain_lr_policy": (str,),
    "retrain_regularization": (str,), "retrain_reg_strength": (float, int),
    "finetune_epochs": (int,), "adjust_dropout": (bool,), "reinit": (bool,),
}
_CHOICES = {"model": MODELS, "lr_policy": LR_POLICIES, "retrain_lr_policy": LR_POLICIES,
            "regularization": REGULARIZATIONS, "retrain_regularization": REGULARIZATIONS,
            "method": METHODS}
_NON_NEGATIVE = ("seed", "epochs", "retrain_epochs", "finetune_epochs", "reg_strength",
                 "retrain_reg_strength", "lr", "val_size")
_POSITIVE = ("batch_size", "rounds", "train_limit", "test_limit")


def check_config(cfg: RunConfig) -> RunConfig:
    """Validate every field's type and range; raise ConfigError naming the first bad key."""
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        allowed = _TYPES[f.name]
        # bool is a subclass of int: "epochs = true" must not pass as 1.
        if isinstance(value, bool) and bool not in allowed or not isinstance(value, allowed):
            names = " or ".join("none" if t is type(None) else t.__name__ for t in allowed)
            raise ConfigError(f"config key {f.name!r}: expected {names}, got {type(value).__name__} {value!r}")
        if f.name in _CHOICES and value not in _CHOICES[f.name]:
            raise ConfigError(f"config key {f.name!r}: {value!r} is not one of {list(_CHOICES[f.name])}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"config key {f.name!r}: {value!r} is not a finite number")
        if f.name in _NON_NEGATIVE and value < 0 or f.name in _POSITIVE and value is not None and value < 1:
            raise ConfigError(f"config key {f.name!r}: {value!r} is out of range")
    if cfg.lr <= 0 or (cfg.retrain_lr is not None and cfg.retrain_lr <= 0):
        raise ConfigError(f"config keys 'lr' and 'retrain_lr' must be > 0, got {cfg.lr!r} and "
                          f"{cfg.retrain_lr!r}")
    for name, value in cfg.targets.items():
        if not isinstance(name, str) or isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"config key 'targets.{name}': expected a number, got {value!r}")
        # Checked here, not at prune time, so the message names the layer (--target NAME=VALUE).
        if cfg.method == "std" and not (math.isfinite(value) and value > 0):
            raise ConfigError(f"config key 'targets.{name}' (--target {name}=...): the quality q of "
                              f"method 'std' must be a finite number > 0, got {value!r}")
        if cfg.method in ("sparsity", "global", "probabilistic") and not 0.0 <= value < 1.0:
            raise ConfigError(f"config key 'targets.{name}' (--target {name}=...): a sparsity (the "
                              f"fraction of weights removed) must lie in [0, 1), got {value!r}")
    for kinds in cfg.phases:
        if kinds not in PHASES:
            raise ConfigError(f"config key 'phases': entries must be one of {list(PHASES)}, got {kinds!r}")
    for size in cfg.hidden:
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ConfigError(f"config key 'hidden': layer sizes must be integers >= 1, got {size!r}")
    if not cfg.hidden:
        raise ConfigError("config key 'hidden': give at least one hidden layer size")
    if not (1.0 <= cfg.compression < 1e6) or cfg.compression != cfg.compression:
        raise ConfigError(f"config key 'compression': the target compression must be >= 1 "
                          f"(e.g. 12 for 12x fewer parameters), got {cfg.compression!r}")
    if cfg.method == "sensitivity" and cfg.targets:
        raise ConfigError(f"method 'sensitivity' sets every layer's threshold from its scan, so the "
                          f"targets {cfg.targets} would be ignored; tune --compression instead, or "
                          "give targets with --method std, sparsity, global or probabilistic")
    if cfg.method == "sensitivity" and cfg.schedule != "geometric":
        raise ConfigError(f"method 'sensitivity' plans its rounds itself (round r keeps keep^(r/R) of "
                          f"each layer), so schedule {cfg.schedule!r} would be ignored; use --rounds, or "
                          "a schedule with --method std, sparsity, global or probabilistic")
    if cfg.method == "global" and set(cfg.targets) - {"all"}:
        raise ConfigError(f"method 'global' takes one sparsity, targets = {{all = S}}; got "
                          f"{sorted(cfg.targets)}")
    if cfg.method in ("std", "sparsity", "probabilistic") and "all" in cfg.targets:
        raise ConfigError(f"'all' is a target of method 'global'; method {cfg.method!r} takes one "
                          "target per layer, e.g. --target fc1=0.9")
    if cfg.method == "sensitivity" and cfg.phases and cfg.val_size < 1:
        raise ConfigError("method 'sensitivity' decides each layer's threshold on the validation "
                          "split; set val_size >= 1 (default 5000) or choose another --method")
    if isinstance(cfg.schedule, str) and cfg.schedule not in SCHEDULES:
        raise ConfigError(f"config key 'schedule': {cfg.schedule!r} is not 'geometric', 'linear' or a list")
    if isinstance(cfg.schedule, list) and cfg.phases and cfg.rounds != len(cfg.schedule):
        raise ConfigError(f"the schedule has {len(cfg.schedule)} rounds but rounds = {cfg.rounds}; "
                          "drop --rounds (an explicit schedule sets it) or make them agree")
    if (cfg.method in ("std", "sparsity", "probabilistic", "global") and cfg.phases
            and isinstance(cfg.schedule, str) and not cfg.targets):
        example = "--target all=0.9" if cfg.method == "global" else "--target fc1=0.9"
        raise ConfigError(f"method {cfg.method!r} prunes to the targets you give, and none was "
                          f"given, so nothing would be pruned: add {example} (or an explicit "
                          "--schedule), or use --method sensitivity")
    for key in ("dropout", "momentum"):
        if not 0.0 <= getattr(cfg, key) < 1.0:
            raise ConfigError(f"config key {key!r} must lie in [0, 1), got {getattr(cfg, key)}")
    return cfg


def config_from_dict(values: dict, base: RunConfig | None = None) -> RunConfig:
    """A RunConfig from ``base`` (or the defaults) with ``values`` replacing fields; validated.

    Unknown keys raise ConfigError naming them (with the valid keys listed).
    """
    base = base if base is not None else RunConfig()
    known = {f.name for f in dataclasses.fields(RunConfig)}
    for key in values:
        if key not in known:
            raise ConfigError(f"unknown config key {key!r}; valid keys: {sorted(known)}")
    return check_config(dataclasses.replace(base, **values))


def load_config_file(path) -> dict:
    """Read a TOML file into a dict (keys are checked when it is applied with ``config_from_dict``)."""
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"--config {path} is a folder; give a TOML file of RunConfig keys") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: not valid TOML ({e})") from None

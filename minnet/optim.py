"""SGD with momentum, L2 (weight decay) and L1 regularisation, and learning-rate schedules.

The update follows Caffe's solver, which trained the paper's reference models (sec. 3.1, 4):
    v <- momentum * v + lr(t) * (dL/dw + weight_decay * w + l1 * sign(w))
    w <- w - v
Pruned connections (mask False) get no update and no momentum: they stay exactly 0.0.
"""

import numpy as np

from minnet import hooks
from minnet.config import LR_POLICIES, REGULARIZATIONS
from minnet.errors import CheckpointError, ConfigError
from minnet.kernels.dense import masked_sgd_update


class ConstantLR:
    """lr(t) = base_lr."""

    def __init__(self, base_lr):
        self.base_lr = float(base_lr)

    def __call__(self, iteration):
        return self.base_lr

    def config(self):
        """The schedule as plain data; ``make_schedule`` rebuilds it."""
        return {"policy": "constant", "base_lr": self.base_lr}


class StepLR:
    """Caffe's "step" policy: lr(t) = base_lr * gamma ** floor(t / step_size)."""

    def __init__(self, base_lr, step_size, gamma=0.1):
        if step_size < 1:
            raise ConfigError(f"StepLR: step_size must be >= 1 iteration, got {step_size}")
        self.base_lr, self.step_size, self.gamma = float(base_lr), int(step_size), float(gamma)

    def __call__(self, iteration):
        return self.base_lr * self.gamma ** (iteration // self.step_size)

    def config(self):
        """The schedule as plain data; ``make_schedule`` rebuilds it."""
        return {"policy": "step", "base_lr": self.base_lr, "step_size": self.step_size,
                "gamma": self.gamma}


class InvLR:
    """Caffe's "inv" policy (the LeNet solver's): lr(t) = base_lr * (1 + gamma * t) ** (-power).

    Caffe's LeNet uses base_lr 0.01, gamma 1e-4, power 0.75.
    """

    def __init__(self, base_lr, gamma=1e-4, power=0.75):
        self.base_lr, self.gamma, self.power = float(base_lr), float(gamma), float(power)

    def __call__(self, iteration):
        return self.base_lr * (1.0 + self.gamma * iteration) ** (-self.power)

    def config(self):
        """The schedule as plain data; ``make_schedule`` rebuilds it."""
        return {"policy": "inv", "base_lr": self.base_lr, "gamma": self.gamma, "power": self.power}


class CosineLR:
    """Cosine annealing over a fixed number of iterations (Loshchilov & Hutter, SGDR, 2017):

        lr(t) = base_lr * (1 + cos(pi * min(t, T) / T)) / 2,   T = total_iterations

    It starts at base_lr and falls smoothly to 0 at t = T. Retraining uses it within each
    prune -> retrain step (``retrain_lr_policy = "cosine"``): the survivors first move at full
    speed, then settle, without an extra knob for when to drop the learning rate.
    """

    def __init__(self, base_lr, total_iterations):
        if total_iterations < 1:
            raise ConfigError(f"CosineLR: total_iterations must be >= 1, got {total_iterations}")
        self.base_lr, self.total_iterations = float(base_lr), int(total_iterations)

    def __call__(self, iteration):
        t = min(iteration, self.total_iterations)
        return self.base_lr * 0.5 * (1.0 + np.cos(np.pi * t / self.total_iterations))

    def config(self):
        """The schedule as plain data; ``make_schedule`` rebuilds it."""
        return {"policy": "cosine", "base_lr": self.base_lr, "total_iterations": self.total_iterations}


def make_schedule(config: dict):
    """Build a schedule from its ``config()`` dict, e.g. {"policy": "inv", "base_lr": 0.01}."""
    config = dict(config)
    policy = config.pop("policy", "constant")
    classes = {"constant": ConstantLR, "step": StepLR, "inv": InvLR, "cosine": CosineLR}
    if policy not in classes:
        raise ConfigError(f"unknown learning-rate policy {policy!r}; choose from {sorted(classes)}")
    return classes[policy](**config)


class SGD:
    """Stochastic gradient descent with momentum, L2 and L1 (paper sec. 3.1), honouring masks.

    Parameters
    ----------
    lr : float or schedule
        A number (constant) or a callable iteration -> learning rate (``ConstantLR``, ``StepLR``,
        ``InvLR``, ``CosineLR``).
    momentum : float in [0, 1)
    weight_decay : float >= 0
        L2 coefficient lambda_2: adds lambda_2 * w to the gradient (the gradient of lambda_2/2 ||w||^2).
    l1 : float >= 0
        L1 coefficient lambda_1: adds lambda_1 * sign(w) (the subgradient of lambda_1 ||w||_1).

    State: ``velocity[(layer_name, param_name)]`` (same shape as the parameter) and ``iteration``.
    Frozen layers (``layer.trainable = False``) are skipped (paper sec. 3.3).
    """

    def __init__(self, lr=0.01, momentum=0.9, weight_decay=0.0, l1=0.0):
        self.schedule = lr if callable(lr) else ConstantLR(lr)
        if not 0.0 <= momentum < 1.0:
            raise ConfigError(f"SGD: momentum must be in [0, 1), got {momentum}")
        if not callable(lr) and not 0.0 <= float(lr) < float("inf"):     # NaN fails both
            raise ConfigError(f"SGD: lr must be a finite number >= 0, got {lr}")
        if weight_decay < 0 or l1 < 0:
            raise ConfigError(f"SGD: weight_decay and l1 must be >= 0, got {weight_decay}, {l1}")
        self.momentum, self.weight_decay, self.l1 = float(momentum), float(weight_decay), float(l1)
        self.iteration = 0
        # (layer name, param name) of the first parameter the last step made NaN/inf, else None.
        self.nonfinite = None
        self.velocity: dict[tuple[str, str], np.ndarray] = {}
        self._all_kept: dict[tuple[str, str], np.ndarray] = {}

    @property
    def lr(self):
        """The learning rate the next step will use."""
        return self.schedule(self.iteration)

    def step(self, model):
        """Apply one update to every trainable parameter of ``model`` from its ``grads``.

        Afterwards ``self.nonfinite`` names the first parameter that became NaN/inf (else None).
        """
        lr = self.schedule(self.iteration)
        self.nonfinite = None
        # Looked up once per step, at call time: --use-exercises puts a student's update here.
        update = hooks.implementation("masked_sgd", masked_sgd_update)
        for layer in model.layers:
            if not layer.trainable:
                continue
            for name, w in layer.params.items():
                key = (layer.name, name)
                v = self.velocity.get(key)
                if v is None or v.shape != w.shape or v.dtype != w.dtype:
                    v = self.velocity[key] = np.zeros_like(w)
                mask = layer.masks.get(name)
                if mask is None:
                    mask = self._all_kept.get(key)
                    if mask is None or mask.shape != w.shape:
                        mask = self._all_kept[key] = np.ones(w.shape, dtype=bool)
                n_bad = update(w.reshape(-1), v.reshape(-1), layer.grads[name].reshape(-1),
                               mask.reshape(-1), lr, self.momentum, self.weight_decay, self.l1)
                if n_bad and self.nonfinite is None:
                    self.nonfinite = (layer.name, name)
        self.iteration += 1

    def reset_state(self):
        """Forget momentum (e.g. at the start of a retraining phase); keeps the iteration count."""
        self.velocity.clear()

    def state_dict(self) -> dict:
        """Arrays and numbers that restore this optimiser exactly (for checkpoints)."""
        state = {"iteration": np.array(self.iteration)}
        for (layer, name), v in self.velocity.items():
            state[f"velocity/{layer}/{name}"] = v
        return state

    def load_state_dict(self, state: dict, model=None, source="optimizer state") -> None:
        """Restore what ``state_dict`` returned, checked first: the iteration is one integer >= 0,
        every velocity a finite float array (shaped like its parameter of ``model`` if given).
        Raises CheckpointError naming ``source`` and the entry; nothing changes on failure."""
        iteration = state.get("iteration")
        if (not isinstance(iteration, np.ndarray) or iteration.shape != ()
                or iteration.dtype.kind not in "iu" or int(iteration) < 0):
            raise CheckpointError(f"{source}: the optimizer's 'iteration' must be one integer >= 0, "
                                  f"got {iteration!r:.60}")
        velocity = {}
        for key, v in state.items():
            if not key.startswith("velocity/"):
                continue
            _, layer, name = (key.split("/", 2) + ["", ""])[:3]
            if not isinstance(v, np.ndarray) or v.dtype.kind != "f" or not np.isfinite(v).all():
                raise CheckpointError(f"{source}: {key} is not a finite float array")
            if model is not None:
                try:
                    expected = model.layer(layer).params[name].shape
                except (KeyError, ValueError, AttributeError):
                    raise CheckpointError(f"{source}: {key} names no parameter of the model") from None
                if v.shape != expected:
                    raise CheckpointError(f"{source}: {key} has shape {v.shape}, the parameter "
                                          f"{expected}")
            velocity[(layer, name)] = np.array(v)
        self.iteration, self.velocity = int(iteration), velocity

    def config(self) -> dict:
        """Hyper-parameters as plain data (for reports)."""
        return {"lr": self.schedule.config() if hasattr(self.schedule, "config") else None,
                "momentum": self.momentum, "weight_decay": self.weight_decay, "l1": self.l1}


def make_optimizer(lr, policy, momentum, regularization, strength, total_iterations=None):
    """SGD with momentum and either L2 (weight_decay = strength) or L1 (l1 = strength) (sec. 3.1).

    policy "inv" is Caffe's LeNet schedule lr * (1 + 1e-4 t)^-0.75; "constant" keeps lr;
    "cosine" anneals lr to 0 over ``total_iterations`` (:class:`minnet.optim.CosineLR`).
    """
    if policy == "inv":
        schedule = InvLR(lr)
    elif policy == "constant":
        schedule = ConstantLR(lr)
    elif policy == "cosine":
        if total_iterations is None:
            raise ConfigError("make_optimizer: policy 'cosine' needs total_iterations")
        schedule = CosineLR(lr, total_iterations)
    else:
        raise ConfigError(f"lr policy must be one of {list(LR_POLICIES)}, got {policy!r}")
    if regularization not in REGULARIZATIONS:
        raise ConfigError(f"regularization must be one of {list(REGULARIZATIONS)}, got {regularization!r}")
    return SGD(schedule, momentum=momentum,
               weight_decay=strength if regularization == "l2" else 0.0,
               l1=strength if regularization == "l1" else 0.0)


def caffe_lenet_sgd(lr=0.01, policy="inv", total_iterations=None, regularization="l2",
                    strength=5e-4):
    """Caffe's LeNet solver, the one the paper's reference LeNets were trained with (defined once).

    SGD, momentum 0.9, L2 weight decay 5e-4, lr 0.01 on the "inv" policy
    lr_t = lr (1 + 1e-4 t)^-0.75 (lenet_solver.prototxt). ``policy`` / ``total_iterations`` swap
    the schedule (e.g. "cosine", as the LeNet-5 recipe does; "constant", as PyTorch's SGD in the
    benchmarks), ``regularization`` / ``strength`` the penalty (L1 for sec. 3.1's comparison).
    """
    return make_optimizer(lr, policy, 0.9, regularization, strength, total_iterations)

"""Parameter-free layers: ReLU, Dropout (inverted) and Flatten."""

import numpy as np

from minnet.errors import ConfigError, ShapeError
from minnet.kernels.dense import dropout_forward, relu_backward
from minnet.layers.base import Layer, check_float_array


class ReLU(Layer):
    """Rectified linear unit, elementwise on any shape.

    forward:  y = max(x, 0)
    backward: dx = dout * [y > 0]            cache: y
    (Dense and Conv2D can fuse this with their bias: ``activation="relu"``.)
    """

    batch_invariant = True

    def __init__(self, name=None):
        super().__init__(name)
        self._y = None

    def forward(self, x, training=False):
        """y = max(x, 0), any shape."""
        check_float_array(x, self.describe())
        self._y = np.maximum(x, 0)
        return self._y

    def backward(self, dout, need_dx=True):
        """dx = dout * [y > 0]."""
        if dout.shape != self._y.shape:
            raise ShapeError(f"{self.describe()}: dout {dout.shape} != output {self._y.shape}")
        dx = np.empty_like(self._y)
        relu_backward(np.ascontiguousarray(dout).reshape(-1), self._y.reshape(-1), dx.reshape(-1))
        return dx


class Dropout(Layer):
    """Inverted dropout: zero each activation with probability ``rate`` while training.

    forward (training):  keep_i ~ Bernoulli(1 - rate);  y = x * keep / (1 - rate)
    forward (inference): y = x
    backward:            dx = dout * keep / (1 - rate)          cache: the scale array
    The rate can change at any time (the paper's sec. 3.2 lowers it after pruning:
    D_r = D_o * sqrt(C_ir / C_io)); ``original_rate`` remembers D_o.
    """

    def __init__(self, rate=0.5, seed=None, name=None, original_rate=None):
        super().__init__(name)
        self.rate = rate
        self.original_rate = self.rate if original_rate is None else float(original_rate)
        self.rng = np.random.default_rng(seed)
        self._scale = None

    @property
    def rate(self):
        """The probability of dropping an activation, in [0, 1)."""
        return self._rate

    @rate.setter
    def rate(self, value):
        value = float(value)
        if not 0.0 <= value < 1.0:
            raise ConfigError(f"{self.describe()}: dropout rate must be in [0, 1), got {value}")
        self._rate = value

    def reseed(self, seed_sequence):
        """New generator for the dropout masks (fit reseeds every epoch from (seed, epoch, index))."""
        self.rng = np.random.default_rng(seed_sequence)

    def forward(self, x, training=False):
        """Training: y = x * keep / (1 - rate) with a fresh Bernoulli mask; inference: y = x."""
        check_float_array(x, self.describe())
        if not training or self._rate == 0.0:
            self._scale = None
            return x
        flat = np.ascontiguousarray(x).reshape(-1)
        u = self.rng.random(flat.shape[0], dtype=x.dtype)
        out = np.empty_like(flat)
        self._scale = np.empty_like(flat)
        dropout_forward(flat, u, self._rate, out, self._scale)
        return out.reshape(x.shape)

    def backward(self, dout, need_dx=True):
        """dx = dout * keep / (1 - rate), with the mask of the last forward."""
        if self._scale is None:          # forward ran in inference mode or with rate 0
            return dout
        if dout.size != self._scale.size:
            raise ShapeError(f"{self.describe()}: dout {dout.shape} does not match the last input")
        return dout * self._scale.reshape(dout.shape)

    def config(self):
        """The constructor's rate is D_o, the original rate; the current one is state."""
        return {"rate": self.original_rate, "name": self.name}

    def state_dict(self):
        """The current (possibly adjusted) rate, so it survives save and load."""
        return {**self.state, "rate": self.rate}

    def load_state(self, state):
        """Restore the current rate (D_o if the state has none)."""
        state = dict(state)
        self.rate = state.pop("rate", self.original_rate)
        self.state = state


class Flatten(Layer):
    """Reshape (N, d1, d2, ...) -> (N, d1 * d2 * ...); backward reshapes back."""

    batch_invariant = True

    def __init__(self, name=None):
        super().__init__(name)
        self._shape = None

    def forward(self, x, training=False):
        """(N, d1, d2, ...) -> (N, d1 * d2 * ...), a view."""
        check_float_array(x, self.describe())
        self._shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dout, need_dx=True):
        """Reshape dout back to the input's shape."""
        return dout.reshape(self._shape)

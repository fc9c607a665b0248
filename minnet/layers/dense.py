"""Dense (fully connected) layer: y = x W^T + b, optionally fused with ReLU."""

import numbers

import numpy as np

from minnet.errors import ConfigError, DTypeError, OrderError, ShapeError
from minnet.kernels.dense import bias_relu_forward, relu_backward
from minnet.layers.base import (FLOAT_DTYPES, Layer, check_float_array, check_weight_count,
                                helper_thread, spare_core_free)


# The smallest dW product (multiply-adds) worth handing to the helper thread: below it the hand-off
# (~30 us) costs more than it saves. LeNet-5's fc1 at batch 64 has 25.6M, LeNet-300-100's fc2 1.9M.
OVERLAP_MACS = 8_000_000


class Dense(Layer):
    """Fully connected layer with a prunable weight matrix.

    forward:  x (N, in_features) -> y (N, out_features)
        z = x W^T + b                   W: (out_features, in_features), b: (out_features,)
        y = z, or y = max(z, 0) when activation="relu" (bias and ReLU fused in one Numba pass)
    backward: dout (N, out_features) -> dx (N, in_features)
        1. dz = dout * [y > 0]          (undoes the ReLU of forward step 2; dz = dout without it)
        2. dW = dz^T x,  db = sum_n dz  (then dW is zeroed where the mask prunes a connection)
        3. dx = dz W
    cache: x and y from the last forward.

    The weight layout (out, in) is PyTorch's and Caffe's, so row i holds neuron i's incoming
    connections. Weights start from Caffe's "xavier" filler, U(-a, a) with a = sqrt(3 / in_features),
    drawn from ``rng`` (a ``numpy.random.Generator`` or a seed); biases start at 0.
    """

    kind = "fc"

    def __init__(self, in_features, out_features, activation=None, rng=None, dtype=np.float32,
                 name=None):
        super().__init__(name)
        if activation not in (None, "relu"):
            raise ConfigError(f"Dense: activation must be None or 'relu', got {activation!r}")
        for what, value in (("in_features", in_features), ("out_features", out_features)):
            # int(2.7) would silently build a 2-input layer: only whole numbers are sizes.
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ConfigError(f"Dense: {what} must be a whole number >= 1, got {value!r}")
        if np.dtype(dtype) not in FLOAT_DTYPES:
            raise DTypeError(f"Dense: dtype must be float32 or float64, got {np.dtype(dtype)}")
        self.in_features, self.out_features = int(in_features), int(out_features)
        check_weight_count(self, self.in_features * self.out_features)
        self.activation = activation
        rng = np.random.default_rng(rng)
        a = np.sqrt(3.0 / self.in_features)
        self.params["W"] = rng.uniform(-a, a, (self.out_features, self.in_features)).astype(dtype)
        self.params["b"] = np.zeros(self.out_features, dtype=dtype)
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.masks["W"] = np.ones(self.params["W"].shape, dtype=bool)
        self._x = self._y = None

    def forward(self, x, training=False):
        """y = x W^T + b (then ReLU if fused): x (N, in_features) -> y (N, out_features)."""
        W, b = self.params["W"], self.params["b"]
        check_float_array(x, self.describe(), W.dtype)
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ShapeError(f"{self.describe()}: expected input of shape (N, {self.in_features}), "
                             f"got {x.shape}")
        z = x @ W.T                                     # 1. BLAS matrix product
        if self.activation == "relu":
            bias_relu_forward(z, b, z)                  # 2. bias + ReLU, one pass, in place
        else:
            z += b
        self._x, self._y = x, z
        return z

    def backward(self, dout, need_dx=True):
        """dout (N, out_features) -> dx = dz W (N, in_features); fills grads dW = dz^T x, db = sum dz.

        Returns None instead of dx when ``need_dx`` is False (the lowest layer in training).
        """
        if self._x is None:
            raise OrderError(f"{self.describe()}: backward called before forward")
        if dout.shape != self._y.shape:
            raise ShapeError(f"{self.describe()}: dout has shape {dout.shape}, "
                             f"the last output had shape {self._y.shape}")
        if self.activation == "relu":                   # 1. undo the ReLU
            dz = np.empty_like(self._y)
            relu_backward(np.ascontiguousarray(dout).reshape(-1), self._y.reshape(-1),
                          dz.reshape(-1))
        else:
            dz = dout
        pending = None
        if self.trainable:                              # 2. parameter gradients
            if need_dx and spare_core_free() and dz.size * self.in_features >= OVERLAP_MACS:
                pending = helper_thread().submit(self._weight_grads, dz)   # alongside step 3
            else:
                self._weight_grads(dz)
        if not need_dx:                                 # nothing below needs dx (Sequential says so)
            return None
        dx = dz @ self.params["W"]                      # 3. gradient for the layer below
        if pending is not None:
            pending.result()
        return dx

    def _weight_grads(self, dz):
        """dW = dz^T x (zeroed where pruned), db = sum_n dz: backward step 2."""
        np.dot(dz.T, self._x, out=self.grads["W"])
        np.sum(dz, axis=0, out=self.grads["b"])
        self.mask_grads()

    # -- removing whole neurons (paper sec. 3.5) -------------------------------------------------
    def keep_units(self, keep):
        """Keep only the output units where ``keep`` (bool, (out_features,)) is True: rows of W,
        of its mask and of b. Returns the kept row indices (for an optimiser's velocities)."""
        rows = self._check_keep(keep, self.out_features, "keep_units")
        self._reshape_params(lambda a, name: a[rows])
        return rows

    def keep_inputs(self, keep):
        """Keep only the inputs where ``keep`` (bool, (in_features,)) is True: columns of W and of
        its mask (b is unchanged). Returns the kept column indices."""
        cols = self._check_keep(keep, self.in_features, "keep_inputs")
        self._reshape_params(lambda a, name: a[:, cols] if name == "W" else a)
        return cols

    def _check_keep(self, keep, n, what):
        keep = np.asarray(keep)
        if keep.dtype != np.bool_ or keep.shape != (n,):
            raise ShapeError(f"{self.describe()}.{what}: expected a bool array of shape ({n},), "
                             f"got {keep.dtype} {keep.shape}")
        if not keep.any():
            raise ConfigError(f"{self.describe()}.{what}: keeping nothing would leave an empty layer")
        return np.flatnonzero(keep)

    def _reshape_params(self, cut):
        mask = cut(self.masks["W"], "W")
        for name in list(self.params):
            self.params[name] = np.ascontiguousarray(cut(self.params[name], name))
            self.grads[name] = np.zeros_like(self.params[name])
        self.masks["W"] = np.ones(self.params["W"].shape, dtype=bool)
        self.set_mask("W", mask)
        self.out_features, self.in_features = self.params["W"].shape
        self._x = self._y = None       # the cache of the last forward has the old shapes

    def config(self):
        """Constructor arguments (saved with the architecture)."""
        return {"in_features": self.in_features, "out_features": self.out_features,
                "activation": self.activation, "name": self.name}

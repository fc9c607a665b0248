"""MaxPool2D: max pooling over (N, C, H, W) with argmax bookkeeping for the backward pass."""

import numpy as np

from minnet.errors import ConfigError, OrderError, ShapeError
from minnet.kernels.conv import maxpool_backward, maxpool_forward
from minnet.layers.base import Layer, check_float_array
from minnet.layers.conv import as_pair, output_size


class MaxPool2D(Layer):
    """Max pooling over kh x kw windows, channel by channel; no parameters.

    forward:  x (N, C, H, W) -> y (N, C, OH, OW),  OH = (H + 2*ph - kh) // sh + 1 (same for OW)
        1. y[n, c, oy, ox] = max of x[n, c] over rows oy*sh - ph + [0, kh), cols ox*sw - pw + [0, kw)
           (padding never wins: it is skipped, as if it were -inf), and argmax remembers where
           the max was (ties: the first in row-major window order, so results are deterministic)
    backward: dout (N, C, OH, OW) -> dx (N, C, H, W)
        1. dx[argmax] += dout; every other input position gets 0 (it did not affect the output)
    cache: argmax (N, C, OH, OW) int32 and the input shape.

    ``stride`` defaults to ``kernel_size`` (non-overlapping windows, LeNet-5's 2x2 pooling);
    AlexNet uses overlapping 3x3 windows with stride 2. Output sizes round down, as in PyTorch;
    for the paper's networks this gives the same shapes as Caffe (which rounds up).
    """

    batch_invariant = True         # each window of each image alone

    def __init__(self, kernel_size, stride=None, padding=0, name=None):
        super().__init__(name)
        self.kernel_size = as_pair(kernel_size, f"{self.describe()}: kernel_size")
        self.stride = self.kernel_size if stride is None else as_pair(stride, f"{self.describe()}: stride")
        self.padding = as_pair(padding, f"{self.describe()}: padding")
        if min(self.kernel_size + self.stride) < 1 or min(self.padding) < 0:
            raise ConfigError(f"{self.describe()}: kernel_size and stride must be >= 1 and padding >= 0, "
                             f"got {self.kernel_size}, {self.stride}, {self.padding}")
        if self.padding[0] > self.kernel_size[0] // 2 or self.padding[1] > self.kernel_size[1] // 2:
            # Larger padding would allow windows lying entirely in the padding (no max to take).
            raise ConfigError(f"{self.describe()}: padding {self.padding} must be at most half the "
                             f"kernel size {self.kernel_size}")
        self._x_shape = self._argmax = None

    def output_shape(self, input_shape):
        """(N, C, H, W) -> (N, C, OH, OW); raises ShapeError for an input this layer cannot take."""
        if len(input_shape) != 4:
            raise ShapeError(f"{self.describe()}: expected input of shape (N, C, H, W), "
                             f"got {len(input_shape)}-D shape {tuple(input_shape)}")
        n, c, h, w = input_shape
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        if kh > h + 2 * ph or kw > w + 2 * pw:
            raise ShapeError(f"{self.describe()}: window {kh}x{kw} is larger than the padded input "
                             f"{h + 2 * ph}x{w + 2 * pw} (input {tuple(input_shape)}, padding {ph},{pw})")
        return n, c, output_size(h, kh, sh, ph), output_size(w, kw, sw, pw)

    def forward(self, x, training=False):
        check_float_array(x, self.describe())
        out_shape = self.output_shape(x.shape)
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        y = np.empty(out_shape, dtype=x.dtype)
        # The previous call's argmax is this layer's own (nobody else holds it): reuse its memory
        # rather than fault in fresh pages (11.5 MB for LeNet-5's pool1 at batch 1000).
        argmax = self._argmax
        if argmax is None or argmax.shape != out_shape:
            argmax = np.empty(out_shape, dtype=np.int32)
        maxpool_forward(np.ascontiguousarray(x), kh, kw, sh, sw, ph, pw, y, argmax)   # 1.
        self._x_shape, self._argmax = x.shape, argmax
        return y

    def backward(self, dout, need_dx=True):
        if self._argmax is None:
            raise OrderError(f"{self.describe()}: backward called before forward")
        if dout.shape != self._argmax.shape:
            raise ShapeError(f"{self.describe()}: dout has shape {dout.shape}, "
                             f"the last output had shape {self._argmax.shape}")
        dx = np.empty(self._x_shape, dtype=dout.dtype)
        maxpool_backward(np.ascontiguousarray(dout), self._argmax, dx)               # 1.
        return dx

    def config(self):
        return {"kernel_size": list(self.kernel_size), "stride": list(self.stride),
                "padding": list(self.padding), "name": self.name}

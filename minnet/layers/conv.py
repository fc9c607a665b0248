"""Conv2D: 2-D convolution as im2col + one BLAS matrix product, optionally fused with ReLU."""

import numpy as np

from minnet.errors import ShapeError
from minnet.kernels.conv import col2im, conv_grad_to_gemm, conv_output_from_gemm, im2col
from minnet.layers.base import Layer, check_float_array


def as_pair(value, what):
    """7 -> (7, 7); (3, 5) -> (3, 5). ``what`` names the argument in the error message."""
    pair = tuple(int(v) for v in value) if isinstance(value, (tuple, list)) else (int(value),) * 2
    if len(pair) != 2:
        raise ValueError(f"{what} must be an int or a pair of ints, got {value!r}")
    return pair


def output_size(size, kernel, stride, pad):
    """Positions a window of ``kernel`` fits at: floor((size + 2*pad - kernel) / stride) + 1."""
    return (size + 2 * pad - kernel) // stride + 1


class Conv2D(Layer):
    """2-D convolution (cross-correlation, as in Caffe and PyTorch) with a prunable weight tensor.

    forward:  x (N, C, H, W) -> y (N, OC, OH, OW),  OH = (H + 2*ph - kh) // sh + 1 (same for OW)
        1. col = im2col(x)                      (C*kh*kw, N*OH*OW): each column one receptive field
        2. z_g = W_g @ col_g for each group g   (OC, N*OH*OW): one BLAS GEMM per group
        3. y = z + b, or max(z + b, 0) when activation="relu", laid out as (N, OC, OH, OW)
       i.e. y[n, k, oy, ox] = b[k] + sum_{c in group(k), i, j} W[k, c, i, j] x[n, c, oy*sh+i-ph, ox*sw+j-pw]
    backward: dout (N, OC, OH, OW) -> dx (N, C, H, W)
        3. dz = dout * [y > 0] (ReLU only), back to (OC, N*OH*OW);  db = sum of dz over n, oy, ox
        2. dW_g = dz_g @ col_g^T  (then zeroed where the mask prunes);  dcol_g = W_g^T @ dz_g
        1. dx = col2im(dcol)                    (sums the overlapping receptive fields)
    cache: col and y from the last forward.

    W: (out_channels, in_channels // groups, kh, kw), b: (out_channels,). ``groups`` splits the
    channels into independent convolutions (AlexNet's two-GPU layers conv2, conv4, conv5; paper
    Table 4): output channel k only sees input channels of its group g = k // (OC / groups).
    In the GEMM view group g owns rows g*(C/groups)*kh*kw ... of col and rows g*OC/groups ... of z.

    Weights start from Caffe's "xavier" filler, U(-a, a) with a = sqrt(3 / fan_in) and
    fan_in = in_channels / groups * kh * kw, drawn from ``rng`` (a Generator or a seed) directly in
    ``dtype`` (float32 draws keep VGG-16's 138M weights fast to create); biases start at 0.
    The mask on W is the pruning mask (paper sec. 2); the paper prunes conv layers like FC layers.
    """

    kind = "conv"

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, groups=1,
                 activation=None, rng=None, dtype=np.float32, name=None):
        super().__init__(name)
        if activation not in (None, "relu"):
            raise ValueError(f"{self.describe()}: activation must be None or 'relu', got {activation!r}")
        self.in_channels, self.out_channels, self.groups = int(in_channels), int(out_channels), int(groups)
        self.kernel_size = as_pair(kernel_size, f"{self.describe()}: kernel_size")
        self.stride = as_pair(stride, f"{self.describe()}: stride")
        self.padding = as_pair(padding, f"{self.describe()}: padding")
        if min(self.in_channels, self.out_channels, self.groups) < 1:
            raise ValueError(f"{self.describe()}: in_channels, out_channels and groups must be >= 1, "
                             f"got {in_channels}, {out_channels}, {groups}")
        if self.in_channels % self.groups or self.out_channels % self.groups:
            raise ValueError(f"{self.describe()}: in_channels ({self.in_channels}) and out_channels "
                             f"({self.out_channels}) must both be divisible by groups ({self.groups})")
        if min(self.kernel_size + self.stride) < 1 or min(self.padding) < 0:
            raise ValueError(f"{self.describe()}: kernel_size and stride must be >= 1 and padding >= 0, "
                             f"got {self.kernel_size}, {self.stride}, {self.padding}")
        self.activation = activation
        kh, kw = self.kernel_size
        shape = (self.out_channels, self.in_channels // self.groups, kh, kw)
        fan_in = shape[1] * kh * kw
        a = np.sqrt(3.0 / fan_in)
        rng = np.random.default_rng(rng)
        dtype = np.dtype(dtype)
        # U(-a, a) = a * (2u - 1) with u ~ U[0, 1), drawn in the target dtype (no float64 detour).
        W = rng.random(shape, dtype=dtype)
        W *= 2 * a
        W -= a
        self.params["W"] = W
        self.params["b"] = np.zeros(self.out_channels, dtype=dtype)
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.masks["W"] = np.ones(shape, dtype=bool)
        self._x_shape = self._col = self._y = None

    def output_shape(self, input_shape):
        """(N, C, H, W) -> (N, OC, OH, OW); raises ShapeError for an input this layer cannot take."""
        if len(input_shape) != 4:
            raise ShapeError(f"{self.describe()}: expected input of shape (N, C, H, W) with "
                             f"C = {self.in_channels}, got {len(input_shape)}-D shape {tuple(input_shape)}")
        n, c, h, w = input_shape
        if c != self.in_channels:
            raise ShapeError(f"{self.describe()}: expected {self.in_channels} input channels, "
                             f"got input of shape {tuple(input_shape)}")
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        if kh > h + 2 * ph or kw > w + 2 * pw:
            raise ShapeError(f"{self.describe()}: kernel {kh}x{kw} is larger than the padded input "
                             f"{h + 2 * ph}x{w + 2 * pw} (input {tuple(input_shape)}, padding {ph},{pw})")
        return n, self.out_channels, output_size(h, kh, sh, ph), output_size(w, kw, sw, pw)

    def forward(self, x, training=False):
        W, b = self.params["W"], self.params["b"]
        check_float_array(x, self.describe(), W.dtype)
        n, oc, oh, ow = self.output_shape(x.shape)
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        x = np.ascontiguousarray(x)
        # 1. im2col: (C*kh*kw, N*OH*OW)
        col = np.empty((self.in_channels * kh * kw, n * oh * ow), dtype=W.dtype)
        im2col(x, kh, kw, sh, sw, ph, pw, col)
        # 2. one GEMM per group; W viewed as (OC, C/groups*kh*kw) is a free reshape
        z = np.empty((oc, n * oh * ow), dtype=W.dtype)
        W2 = W.reshape(oc, -1)
        rows, outs = W2.shape[1], oc // self.groups
        for g in range(self.groups):
            np.matmul(W2[g * outs:(g + 1) * outs], col[g * rows:(g + 1) * rows],
                      out=z[g * outs:(g + 1) * outs])
        # 3. bias (+ ReLU) and the change to (N, OC, OH*OW) layout, fused in one pass
        y = np.empty((n, oc, oh * ow), dtype=W.dtype)
        conv_output_from_gemm(z, b, self.activation == "relu", y)
        self._x_shape, self._col, self._y = x.shape, col, y
        return y.reshape(n, oc, oh, ow)

    def backward(self, dout):
        if self._col is None:
            raise RuntimeError(f"{self.describe()}: backward called before forward")
        n, oc, plane = self._y.shape
        if dout.shape != (n, oc) + self.output_shape(self._x_shape)[2:]:
            raise ShapeError(f"{self.describe()}: dout has shape {dout.shape}, the last output had "
                             f"shape {(n, oc) + self.output_shape(self._x_shape)[2:]}")
        W, col = self.params["W"], self._col
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        # 3. ReLU gradient + layout back to (OC, N*OH*OW) + db, one pass
        dz = np.empty((oc, n * plane), dtype=W.dtype)
        db = self.grads["b"] if self.trainable else np.empty_like(self.grads["b"])
        conv_grad_to_gemm(np.ascontiguousarray(dout).reshape(n, oc, plane), self._y,
                          self.activation == "relu", dz, db)
        # 2. per group: dW_g = dz_g col_g^T (skipped when frozen), dcol_g = W_g^T dz_g
        W2 = W.reshape(oc, -1)
        rows, outs = W2.shape[1], oc // self.groups
        dcol = np.empty_like(col)
        dW2 = self.grads["W"].reshape(oc, -1)
        for g in range(self.groups):
            o, r = slice(g * outs, (g + 1) * outs), slice(g * rows, (g + 1) * rows)
            if self.trainable:
                np.matmul(dz[o], col[r].T, out=dW2[o])
            np.matmul(W2[o].T, dz[o], out=dcol[r])
        if self.trainable:
            self.mask_grads()
        # 1. col2im: sum every column back onto the input positions it was copied from
        dx = np.empty(self._x_shape, dtype=W.dtype)
        col2im(dcol, kh, kw, sh, sw, ph, pw, dx)
        return dx

    def config(self):
        return {"in_channels": self.in_channels, "out_channels": self.out_channels,
                "kernel_size": list(self.kernel_size), "stride": list(self.stride),
                "padding": list(self.padding), "groups": self.groups,
                "activation": self.activation, "name": self.name}

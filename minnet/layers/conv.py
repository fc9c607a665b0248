"""Conv2D: 2-D convolution as im2col + one BLAS matrix product, optionally fused with ReLU."""

import numpy as np

from minnet.errors import ConfigError, OrderError, ShapeError
from minnet.kernels.conv import col2im_t, conv_grad_to_gemm, conv_output_from_gemm, im2col
from minnet.layers.base import (Layer, check_float_array, check_weight_count, helper_thread,
                                spare_core_free)
from minnet.workspace import scratch


# The batch goes through im2col and the GEMMs in chunks of images whose col matrix takes at most
# this many bytes. That bounds memory (VGG-16's conv1_2 needs a 115 MB col per 224x224 image, so one
# image per chunk) and keeps col, z and the output nearer the caches. LeNet-5's training batches of
# 64 are one chunk (conv2's col: 8 MB). For a 1000-image inference batch we measured, against
# PyTorch's 128 ms (idle machine) and 318 ms (busy machine) in the same runs:
#     chunks of   8 MB: 71 ms idle, 567 ms busy     32 MB: 100 ms idle, 288 ms busy
#                16 MB: 84 ms idle, 316 ms busy    128 MB: 102 ms idle, 291 ms busy
# Small chunks use the caches best, but each chunk is a threaded GEMM call, and on a busy machine
# every such call can wait for a scheduler time slice. 32 MB is ahead of PyTorch on both.
CHUNK_BYTES = 32 * 2**20

def _accumulate_dw(dW_g, col_g, dz_g):
    """dW_g[g] += (col_g[g] dz_g[g]^T)^T for every group g (backward step 2, weight part)."""
    for g in range(len(dW_g)):
        dW_g[g] += (col_g[g] @ dz_g[g].T).T


def as_pair(value, what):
    """7 -> (7, 7); (3, 5) -> (3, 5). ``what`` names the argument in the error message."""
    pair = tuple(int(v) for v in value) if isinstance(value, (tuple, list)) else (int(value),) * 2
    if len(pair) != 2:
        raise ConfigError(f"{what} must be an int or a pair of ints, got {value!r}")
    return pair


def output_size(size, kernel, stride, pad):
    """Positions a window of ``kernel`` fits at: floor((size + 2*pad - kernel) / stride) + 1."""
    return (size + 2 * pad - kernel) // stride + 1


class ConvGeometry:
    """The shape arithmetic of a 2-D convolution, shared by :class:`Conv2D` and the CSR
    ``minnet.sparse.SparseConv2D`` (which has no dense W to read it from).

    Attributes set by ``_set_geometry``: in_channels C, out_channels OC, kernel_size (kh, kw),
    stride (sh, sw), padding (ph, pw), groups, activation (None or "relu").
    output_shape: (N, C, H, W) -> (N, OC, OH, OW), OH = (H + 2*ph - kh) // sh + 1 (same for OW).
    A mixin for Layer subclasses (the messages use ``describe()``); it holds no arrays.
    """

    def _set_geometry(self, in_channels, out_channels, kernel_size, stride, padding, groups,
                      activation):
        """Check and store the geometry; a bad value raises ValueError naming the layer."""
        if activation not in (None, "relu"):
            raise ConfigError(f"{self.describe()}: activation must be None or 'relu', got {activation!r}")
        self.in_channels, self.out_channels, self.groups = int(in_channels), int(out_channels), int(groups)
        self.kernel_size = as_pair(kernel_size, f"{self.describe()}: kernel_size")
        self.stride = as_pair(stride, f"{self.describe()}: stride")
        self.padding = as_pair(padding, f"{self.describe()}: padding")
        if min(self.in_channels, self.out_channels, self.groups) < 1:
            raise ConfigError(f"{self.describe()}: in_channels, out_channels and groups must be >= 1, "
                             f"got {in_channels}, {out_channels}, {groups}")
        if self.in_channels % self.groups or self.out_channels % self.groups:
            raise ConfigError(f"{self.describe()}: in_channels ({self.in_channels}) and out_channels "
                             f"({self.out_channels}) must both be divisible by groups ({self.groups})")
        if min(self.kernel_size + self.stride) < 1 or min(self.padding) < 0:
            raise ConfigError(f"{self.describe()}: kernel_size and stride must be >= 1 and padding >= 0, "
                             f"got {self.kernel_size}, {self.stride}, {self.padding}")
        self.activation = activation
        kh, kw = self.kernel_size
        check_weight_count(self, self.out_channels * (self.in_channels // self.groups) * kh * kw)

    def geometry_config(self) -> dict:
        """The geometry as constructor arguments (the part of ``config()`` both conv layers share)."""
        return {"in_channels": self.in_channels, "out_channels": self.out_channels,
                "kernel_size": list(self.kernel_size), "stride": list(self.stride),
                "padding": list(self.padding), "groups": self.groups,
                "activation": self.activation}

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


class Conv2D(ConvGeometry, Layer):
    """2-D convolution (cross-correlation, as in Caffe and PyTorch) with a prunable weight tensor.

    forward:  x (N, C, H, W) -> y (N, OC, OH, OW),  OH = (H + 2*ph - kh) // sh + 1 (same for OW)
      for each chunk of images (the whole batch unless its col would exceed CHUNK_BYTES):
        1. col = im2col(x)                      (C*kh*kw, N*OH*OW): each column one receptive field
        2. z_g = W_g @ col_g for each group g   (OC, N*OH*OW): one BLAS GEMM per group (and per
                                                image when the layer is frozen and training)
        3. y = z + b, or max(z + b, 0) when activation="relu", laid out as (N, OC, OH, OW)
       i.e. y[n, k, oy, ox] = b[k] + sum_{c in group(k), i, j} W[k, c, i, j] x[n, c, oy*sh+i-ph, ox*sw+j-pw]
    backward: dout (N, OC, OH, OW) -> dx (N, C, H, W), chunk by chunk, summing dW and db
        3. dz = dout * [y > 0] (ReLU only), back to (OC, N*OH*OW);  db = sum of dz over n, oy, ox
        2. dW_g = dz_g @ col_g^T  (then zeroed where the mask prunes);  dcol_g = W_g^T @ dz_g
           (dcol is kept transposed, one row per window: see kernels.conv.col2im)
        1. dx = col2im(dcol)                    (sums the overlapping receptive fields)
    cache: x, y and (after a training forward) col. After an inference forward (training=False)
    backward recomputes col from x instead: inference keeps no col around.

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

    @property
    def batch_invariant(self):
        """True while the layer is frozen: then a training forward runs one GEMM per image.

        Why: OpenBLAS rounds an entry of a product differently depending on where its column sits
        (its blocking; measured: an image's conv outputs change in the last bits when it moves
        within a batch, never when only its neighbours change). Image by image, a frozen layer's
        output depends on the image alone, so fit's PrefixCache can compute it once per phase and
        match the uncached path bit for bit. Trained layers keep the batched GEMM, so dense
        training gives the same numbers as before the cache existed.
        """
        return not self.trainable

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, groups=1,
                 activation=None, rng=None, dtype=np.float32, name=None):
        super().__init__(name)
        self._set_geometry(in_channels, out_channels, kernel_size, stride, padding, groups, activation)
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
        self._x = self._y = self._cols = None

    def forward(self, x, training=False):
        W, b = self.params["W"], self.params["b"]
        check_float_array(x, self.describe(), W.dtype)
        n, oc, oh, ow = self.output_shape(x.shape)
        x = np.ascontiguousarray(x)
        y = np.empty((n, oc, oh * ow), dtype=W.dtype)
        step = self._images_per_chunk(oh * ow)
        cols = []
        for n0 in range(0, n, step):
            # Only a training forward keeps col (for backward); otherwise col and z are scratch
            # (minnet.workspace: fresh 32 MB blocks cost more to fault in than to fill).
            col = self._im2col(x[n0:n0 + step], keep=training)                # 1.
            z = scratch("conv.z", (oc, col.shape[1]), W.dtype)
            # A frozen layer in training runs one GEMM per image (see batch_invariant), else one
            # per chunk: each image's columns, or the whole chunk's.
            width = oh * ow if training and not self.trainable else col.shape[1]
            for Wg, col_g, z_g in zip(*self._split_groups(W, col, z)):        # 2.
                for j in range(0, col.shape[1], width):
                    np.matmul(Wg, col_g[:, j:j + width], out=z_g[:, j:j + width])
            conv_output_from_gemm(z, b, self.activation == "relu", y[n0:n0 + step])   # 3.
            if training:
                cols.append(col)
        self._x, self._y = x, y
        self._cols = cols if training else None
        return y.reshape(n, oc, oh, ow)

    def backward(self, dout, need_dx=True):
        """dout (N, OC, OH, OW) -> dx (N, C, H, W), filling grads["W"] and grads["b"].

        Returns None instead of dx when ``need_dx`` is False (Sequential passes that to the
        lowest layer it trains: nobody needs dx there, and for LeNet-5's conv1 it saves a GEMM and
        col2im, 6% of a training step). A frozen layer (trainable False) computes only dx.
        """
        if self._y is None:
            raise OrderError(f"{self.describe()}: backward called before forward")
        n, oc, plane = self._y.shape
        out_shape = (n, oc) + self.output_shape(self._x.shape)[2:]
        if dout.shape != out_shape:
            raise ShapeError(f"{self.describe()}: dout has shape {dout.shape}, the last output had "
                             f"shape {out_shape}")
        W = self.params["W"]
        dout = np.ascontiguousarray(dout).reshape(n, oc, plane)
        dW2 = self.grads["W"].reshape(oc, -1)
        db = self.grads["b"]
        if self.trainable:
            dW2[...] = 0.0
            db[...] = 0.0
        db_chunk = np.empty_like(db)
        dx = np.empty(self._x.shape, dtype=W.dtype) if need_dx else None
        step = self._images_per_chunk(plane)
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        overlap = self.trainable and dx is not None and spare_core_free()
        pending = None
        for i, n0 in enumerate(range(0, n, step)):
            # the chunk's col: kept by a training forward, recomputed after an inference one
            col = self._cols[i] if self._cols is not None else self._im2col(self._x[n0:n0 + step])
            # 3. ReLU gradient + layout back to (OC, N*OH*OW) + db, one pass
            dz = np.empty((oc, col.shape[1]), dtype=W.dtype)
            conv_grad_to_gemm(dout[n0:n0 + step], self._y[n0:n0 + step],
                              self.activation == "relu", dz, db_chunk)
            if self.trainable:
                db += db_chunk
            # 2. per group: dW_g += dz_g col_g^T (skipped when frozen), dcol_g = W_g^T dz_g.
            # Both come out transposed, (col_g dz_g^T)^T and (dz_g^T W_g)^T: the same numbers, but
            # OpenBLAS runs these orientations faster (LeNet-5 conv2: 1.3 vs 1.7, 2.1 vs 2.9 ms).
            W_g, col_g, dz_g, dW_g = self._split_groups(W, col, dz, dW2)
            if overlap:                 # one chunk's dW at a time: the sums keep their order
                if pending is not None:
                    pending.result()
                pending = helper_thread().submit(_accumulate_dw, dW_g, col_g, dz_g)
            elif self.trainable:
                _accumulate_dw(dW_g, col_g, dz_g)
            if dx is not None:
                dcol_t = np.empty((col.shape[1], col.shape[0]), dtype=W.dtype)
                for g, dcol_t_g in enumerate(self._split_groups_t(dcol_t)):
                    np.matmul(dz_g[g].T, W_g[g], out=dcol_t_g)
                # 1. col2im: sum every column back onto the input positions it was copied from
                col2im_t(dcol_t, kh, kw, sh, sw, ph, pw, dx[n0:n0 + step])
        if pending is not None:
            pending.result()
        if self.trainable:
            self.mask_grads()
        return dx

    # -- helpers -----------------------------------------------------------------------------------
    def _im2col(self, x, keep=True):
        """x (n, C, H, W) -> col (C*kh*kw, n*OH*OW), forward step 1. keep=False: col is in
        scratch memory, valid until the next such call (:mod:`minnet.workspace`)."""
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        _, _, oh, ow = self.output_shape(x.shape)
        shape = (self.in_channels * kh * kw, x.shape[0] * oh * ow)
        col = np.empty(shape, dtype=x.dtype) if keep else scratch("conv.col", shape, x.dtype)
        return im2col(x, kh, kw, sh, sw, ph, pw, col)

    def _split_groups(self, W, col, *outs):
        """Per-group views for the GEMMs: W as (OC, C/groups*kh*kw) cut into ``groups`` row blocks,
        col (C*kh*kw, m) cut into row blocks, and each array in ``outs`` too (all views, no copies).
        Group g's output channels are rows g*OC/groups ... of W, z, dz, dW; its input channels
        are rows g*(C/groups)*kh*kw ... of col (and the same columns of dcol^T)."""
        g = self.groups
        W2 = W.reshape(self.out_channels, -1)
        split = (lambda a: [a]) if g == 1 else (lambda a: np.split(a, g, axis=0))
        return (split(W2), split(col)) + tuple(split(a) for a in outs)

    def _split_groups_t(self, dcol_t):
        """dcol^T (m, C*kh*kw) cut into ``groups`` column blocks (views), one per group."""
        return [dcol_t] if self.groups == 1 else np.split(dcol_t, self.groups, axis=1)

    def _images_per_chunk(self, plane):
        """How many images one im2col matrix holds: as many as fit in CHUNK_BYTES (at least 1)."""
        kh, kw = self.kernel_size
        per_image = self.in_channels * kh * kw * plane * self.params["W"].itemsize
        return max(1, CHUNK_BYTES // per_image)

    def config(self):
        """Constructor arguments (saved with the architecture): the geometry and the name."""
        return {**self.geometry_config(), "name": self.name}

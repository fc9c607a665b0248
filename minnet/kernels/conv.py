"""Numba kernels for convolution (im2col / col2im) and max pooling, on (N, C, H, W) arrays.

A convolution becomes one big matrix product, as in Caffe (which trained the paper's models):

    col = im2col(x)                 (C*kh*kw, N*OH*OW)   every receptive field is a column
    z   = W.reshape(OC, -1) @ col   (OC, N*OH*OW)        one BLAS GEMM for the whole minibatch
    y   = bias + act, as (N, OC, OH, OW)                 ``conv_output_from_gemm``

Why this layout: putting the whole minibatch side by side in the columns makes the GEMM "fat"
(N*OH*OW = 36,864 columns for LeNet-5's conv1 at batch 64) instead of 64 skinny per-image products,
and rows of ``col`` are written contiguously. The price is one transpose from (OC, N, OH*OW) to
(N, OC, OH*OW), which we fold into the pass that adds the bias and applies ReLU anyway.

Threads: these kernels run on one thread; BLAS (OpenBLAS, with its own thread pool) parallelises
the GEMMs, the larger part of a LeNet-5 step. We tried ``prange`` versions and dropped them. After
each GEMM OpenBLAS's worker thread keeps spinning for a while, so Numba's second thread has to
share the second core with it, and every parallel region is a thread hand-off, which on a busy
machine waits for a scheduler time slice (several ms): a training step (earlier versions of these
kernels) took 325 ms with all six parallel, 159 ms with only im2col/col2im parallel and 63 ms
with none. (Also, the body of a ``prange`` loop lost the gather's vectorisation unless moved into
a helper function.) Each kernel takes 0.02-1.1 ms at LeNet-5's training sizes.

All kernels are pure (they write only into their ``out`` arguments) and work for float32 and
float64. Output sizes use floor division, as PyTorch does: OH = (H + 2*ph - kh) // sh + 1.
"""

import numpy as np
from numba import njit

from minnet.errors import ConfigError

@njit(cache=True)
def pad_images(x, ph, pw):
    """x (N, C, H, W) -> (N, C, H + 2*ph, W + 2*pw) with zeros around; x itself when ph = pw = 0."""
    if ph == 0 and pw == 0:
        return x
    n_img, n_ch, h, w = x.shape
    xp = np.zeros((n_img, n_ch, h + 2 * ph, w + 2 * pw), dtype=x.dtype)
    xp[:, :, ph:ph + h, pw:pw + w] = x
    return xp


@njit(cache=True)
def window_offsets(oh, ow, sh, sw, wp):
    """offsets[oy*OW + ox] = (oy*sh)*Wp + ox*sw: where each window's top-left corner sits in a
    flattened (padded) input plane of width Wp. Tap (i, j) of a window is at that + i*Wp + j."""
    offsets = np.empty(oh * ow, dtype=np.int64)
    for oy in range(oh):
        for ox in range(ow):
            offsets[oy * ow + ox] = oy * sh * wp + ox * sw
    return offsets


@njit(cache=True)
def conv_geometry(h, w, kh, kw, sh, sw, ph, pw):
    """Where a kh x kw window with stride (sh, sw) lands on an H x W plane padded by (ph, pw).

    Returns (OH, OW, Hp, Wp, offsets): OH = (H + 2*ph - kh) // sh + 1 (OW likewise), the padded
    size Hp = H + 2*ph, Wp = W + 2*pw, and ``window_offsets(OH, OW, sh, sw, Wp)``. im2col and its
    two adjoints share it, so they cannot disagree about the geometry.
    """
    oh = (h + 2 * ph - kh) // sh + 1
    ow = (w + 2 * pw - kw) // sw + 1
    hp, wp = h + 2 * ph, w + 2 * pw
    return oh, ow, hp, wp, window_offsets(oh, ow, sh, sw, wp)


@njit(cache=True)
def im2col(x, kh, kw, sh, sw, ph, pw, col):
    """Unfold receptive fields into columns.

    x (N, C, H, W) -> col (C*kh*kw, N*OH*OW), with row r = (c*kh + i)*kw + j, column
    q = (n*OH + oy)*OW + ox and
        col[r, q] = x[n, c, oy*sh + i - ph, ox*sw + j - pw]   (0 where that falls in the padding).
    Returns col.

    With x zero-padded first (a copy, only when ph or pw > 0), the OH*OW values of row r for image
    n come from one padded plane at the positions window_offsets + (i*Wp + j): the inner loop is one
    gather of OH*OW values (64 for LeNet-5's conv2), 2x faster than copying OH rows of OW = 8
    values each (too short to vectorise). Rows are filled one after the other, so the writes
    stream through col in order.
    """
    n_img, n_ch, h, w = x.shape
    oh, ow, hp, wp, offsets = conv_geometry(h, w, kh, kw, sh, sw, ph, pw)
    plane = oh * ow
    if col.shape[0] != n_ch * kh * kw or col.shape[1] != n_img * plane:
        raise ConfigError("im2col: col must have shape (C*kh*kw, N*OH*OW)")   # Numba does not
    xp = pad_images(x, ph, pw)                                               # check indices
    x_flat = xp.reshape(n_img, n_ch, hp * wp)
    for r in range(n_ch * kh * kw):
        c, i, j = r // (kh * kw), (r // kw) % kh, r % kw
        tap = i * wp + j
        for n in range(n_img):
            src = x_flat[n, c]
            q0 = n * plane
            for p in range(plane):
                col[r, q0 + p] = src[offsets[p] + tap]
    return col


@njit(cache=True)
def col2im(dcol, kh, kw, sh, sw, ph, pw, dx):
    """Fold columns back, summing overlaps: the adjoint (transpose) of ``im2col``.

    dcol (C*kh*kw, N*OH*OW) -> dx (N, C, H, W), overwritten with
        dx[n, c, y, x] = sum over (i, j, oy, ox) with oy*sh + i - ph = y and ox*sw + j - pw = x
                         of dcol[(c*kh + i)*kw + j, (n*OH + oy)*OW + ox].
    The same offsets as im2col, scattering (+=) into a padded buffer that is then cropped.
    Returns dx. (Conv2D uses ``col2im_t``, which takes dcol transposed.)
    """
    n_img, n_ch, h, w = dx.shape
    oh, ow, hp, wp, offsets = conv_geometry(h, w, kh, kw, sh, sw, ph, pw)
    plane = oh * ow
    if dcol.shape[0] != n_ch * kh * kw or dcol.shape[1] != n_img * plane:
        raise ConfigError("col2im: dcol must have shape (C*kh*kw, N*OH*OW)")
    dxp = np.zeros((n_img, n_ch, hp, wp), dtype=dx.dtype)
    dx_flat = dxp.reshape(n_img, n_ch, hp * wp)
    for r in range(n_ch * kh * kw):
        c, i, j = r // (kh * kw), (r // kw) % kh, r % kw
        tap = i * wp + j
        for n in range(n_img):
            dst = dx_flat[n, c]
            q0 = n * plane
            for p in range(plane):
                dst[offsets[p] + tap] += dcol[r, q0 + p]
    dx[...] = dxp[:, :, ph:ph + h, pw:pw + w]
    return dx


@njit(cache=True)
def col2im_t(dcol_t, kh, kw, sh, sw, ph, pw, dx):
    """``col2im`` from the transposed matrix: dcol_t (N*OH*OW, C*kh*kw), one row per window.

    dx (N, C, H, W) is overwritten with the same sums as col2im(dcol_t.T, ...). Returns dx.

    Why transposed: Conv2D gets dcol from a GEMM, and OpenBLAS computes dcol^T = dz^T W about
    1.4x faster than dcol = W^T dz (LeNet-5's conv2 at batch 64: 2.1 vs 2.9 ms). Reading it row by
    row, each window's C*kh*kw gradients are added into one image, a few KB that stay in cache.
    """
    n_img, n_ch, h, w = dx.shape
    oh, ow, hp, wp, offsets = conv_geometry(h, w, kh, kw, sh, sw, ph, pw)
    plane = oh * ow
    if dcol_t.shape[0] != n_img * plane or dcol_t.shape[1] != n_ch * kh * kw:
        raise ConfigError("col2im_t: dcol_t must have shape (N*OH*OW, C*kh*kw)")
    padded = ph > 0 or pw > 0
    dxp = np.zeros((n_img, n_ch, hp, wp), dtype=dx.dtype) if padded else dx
    taps = np.empty(kh * kw, dtype=np.int64)           # tap (i, j) sits i*Wp + j past the corner
    for i in range(kh):
        for j in range(kw):
            taps[i * kw + j] = i * wp + j
    dx_flat = dxp.reshape(n_img, n_ch * hp * wp)
    if not padded:
        dx_flat[...] = 0
    for n in range(n_img):
        dst = dx_flat[n]
        for p in range(plane):
            window = dcol_t[n * plane + p]
            for c in range(n_ch):
                corner = c * hp * wp + offsets[p]
                for t in range(kh * kw):
                    dst[corner + taps[t]] += window[c * kh * kw + t]
    if padded:
        dx[...] = dxp[:, :, ph:ph + h, pw:pw + w]
    return dx


@njit(cache=True)
def conv_output_from_gemm(z, b, relu, out):
    """Bias, optional ReLU and the layout change after the GEMM, in one pass.

    z (OC, N*P) (P = OH*OW), b (OC,) -> out (N, OC, P):
        out[n, k, p] = z[k, n*P + p] + b[k],  then max(., 0) if ``relu``.
    Returns out (reshape it to (N, OC, OH, OW)).
    """
    n_img, n_out, plane = out.shape
    zero = z.dtype.type(0)
    for n in range(n_img):
        q0 = n * plane
        for k in range(n_out):
            bk = b[k]
            if relu:
                for p in range(plane):
                    v = z[k, q0 + p] + bk
                    out[n, k, p] = v if v > zero else zero
            else:
                for p in range(plane):
                    out[n, k, p] = z[k, q0 + p] + bk
    return out


# fastmath "reassoc" lets LLVM vectorise the db sum (8x faster); the sum's rounding then depends
# on the vector width, not on the run, so results stay deterministic on a given machine.
@njit(cache=True, fastmath={"reassoc"})
def conv_grad_to_gemm(dout, y, relu, dz, db):
    """Undo ``conv_output_from_gemm``: ReLU gradient, layout change back, and the bias gradient.

    dout (N, OC, P), y (N, OC, P) the forward output -> dz (OC, N*P), db (OC,):
        dz[k, n*P + p] = dout[n, k, p] * ([y[n, k, p] > 0] if ``relu`` else 1)
        db[k]          = sum over n, p of dz[k, n*P + p]   (per-plane sums added in float64)
    Returns dz.
    """
    n_img, n_out, plane = dout.shape
    zero = dout.dtype.type(0)
    for k in range(n_out):
        total = 0.0
        for n in range(n_img):
            q0 = n * plane
            s = zero                                   # one plane's sum, then added in float64
            if relu:
                for p in range(plane):
                    g = dout[n, k, p] if y[n, k, p] > zero else zero
                    dz[k, q0 + p] = g
                    s += g
            else:
                for p in range(plane):
                    g = dout[n, k, p]
                    dz[k, q0 + p] = g
                    s += g
            total += s
        db[k] = total
    return dz


@njit(cache=True)
def maxpool_forward(x, kh, kw, sh, sw, ph, pw, out, argmax):
    """Max pooling with argmax bookkeeping.

    x (N, C, H, W) -> out (N, C, OH, OW), argmax (N, C, OH, OW) integer:
        out[n, c, oy, ox]    = max over the window rows oy*sh - ph + [0, kh), cols ox*sw - pw + [0, kw)
                               (positions in the padding are skipped, as if they were -inf)
        argmax[n, c, oy, ox] = y*W + x of that max inside the (n, c) plane.
    Ties go to the first maximum in row-major window order (strict ``>``), so the result is
    deterministic. Windows must contain at least one input position. Returns out.
    """
    n_img, n_ch, h, w = x.shape
    oh, ow = out.shape[2], out.shape[3]
    if kh == 2 and kw == 2 and sh == 2 and sw == 2 and ph == 0 and pw == 0:
        return _maxpool_2x2(x, out, argmax)
    for n in range(n_img):
        for c in range(n_ch):
            for oy in range(oh):
                y0 = oy * sh - ph
                i0, i1 = max(0, -y0), min(kh, h - y0)         # window rows inside the image
                for ox in range(ow):
                    x0 = ox * sw - pw
                    j0, j1 = max(0, -x0), min(kw, w - x0)
                    best = x[n, c, y0 + i0, x0 + j0]
                    best_idx = (y0 + i0) * w + x0 + j0
                    for i in range(i0, i1):
                        for j in range(j0, j1):
                            v = x[n, c, y0 + i, x0 + j]
                            if v > best:
                                best = v
                                best_idx = (y0 + i) * w + x0 + j
                    out[n, c, oy, ox] = best
                    argmax[n, c, oy, ox] = best_idx
    return out


@njit(cache=True)
def _maxpool_2x2(x, out, argmax):
    """The 2x2, stride 2, no padding case (LeNet-5, VGG-16) of ``maxpool_forward``, same rules.

    The window is written out (row oy*2, then row oy*2 + 1; left, then right: strict ``>`` keeps
    the first maximum), so LLVM turns the comparisons into selects, ~14x faster than the general
    loop, whose data-dependent branches mispredict half the time. The N*C planes are walked as one
    flat stack of rows: taking a view per (image, channel) cost more than pooling LeNet-5's 8x8
    conv2 planes (batch 1000: 2.5 ms -> 1.1 ms). Needs C-contiguous arrays. Returns out.
    """
    n_img, n_ch, h, w = x.shape
    oh, ow = out.shape[2], out.shape[3]
    planes = x.reshape(n_img * n_ch, h, w)
    maxima = out.reshape(n_img * n_ch, oh, ow)
    where = argmax.reshape(n_img * n_ch, oh, ow)
    for p in range(planes.shape[0]):
        for oy in range(oh):
            top, bottom = planes[p, 2 * oy], planes[p, 2 * oy + 1]
            row_max, row_where = maxima[p, oy], where[p, oy]
            base = 2 * oy * w                   # flat index of (2*oy, 0) in the plane
            for ox in range(ow):
                j = 2 * ox
                best, best_idx = top[j], base + j
                if top[j + 1] > best:
                    best, best_idx = top[j + 1], base + j + 1
                if bottom[j] > best:
                    best, best_idx = bottom[j], base + w + j
                if bottom[j + 1] > best:
                    best, best_idx = bottom[j + 1], base + w + j + 1
                row_max[ox] = best
                row_where[ox] = best_idx
    return out


@njit(cache=True)
def maxpool_backward(dout, argmax, dx):
    """Route each output gradient to the input position that won the max.

    dout (N, C, OH, OW), argmax from ``maxpool_forward`` -> dx (N, C, H, W), overwritten with
        dx[n, c, y, x] = sum of dout[n, c, oy, ox] over the windows whose argmax is y*W + x
    (a sum because overlapping windows, e.g. 3x3 stride 2, can share a winner). Returns dx.
    """
    n_img, n_ch, h, w = dx.shape
    oh, ow = dout.shape[2], dout.shape[3]
    dx_flat = dx.reshape(n_img, n_ch, h * w)        # argmax is a flat index: no division needed
    dx_flat[...] = 0
    for n in range(n_img):
        for c in range(n_ch):
            for oy in range(oh):
                for ox in range(ow):
                    dx_flat[n, c, argmax[n, c, oy, ox]] += dout[n, c, oy, ox]
    return dx

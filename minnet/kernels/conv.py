"""Numba kernels for convolution (im2col / col2im) and max pooling, on (N, C, H, W) arrays.

A convolution becomes one big matrix product (paper sec. 4 counts conv layers' FLOPs this way):

    col = im2col(x)                 (C*kh*kw, N*OH*OW)   every receptive field is a column
    z   = W.reshape(OC, -1) @ col   (OC, N*OH*OW)        one BLAS GEMM for the whole minibatch
    y   = bias + act, as (N, OC, OH, OW)                 ``conv_output_from_gemm``

Why this layout: putting the whole minibatch side by side in the columns makes the GEMM "fat"
(N*OH*OW = 36,864 columns for LeNet-5's conv1 at batch 64) instead of 64 skinny per-image products,
and rows of ``col`` are written contiguously. The price is one transpose from (OC, N, OH*OW) to
(N, OC, OH*OW), which we fold into the pass that adds the bias and applies ReLU anyway.

Parallel kernels (``prange``) split work so that no two threads ever write the same element:
im2col by (row, image), col2im and pooling by (image, channel) plane, the GEMM layout changes by
channel. All kernels are pure (they write only into their ``out`` arguments) and work for float32
and float64. Output sizes use floor division, as PyTorch does: OH = (H + 2*ph - kh) // sh + 1.
"""

import numpy as np
from numba import njit, prange


@njit(cache=True)
def _valid_range(size_in, size_out, k_offset, stride, pad):
    """Output positions o in [lo, hi) whose input position o*stride + k_offset - pad is inside [0, size_in)."""
    shift = k_offset - pad                       # input position = o * stride + shift
    lo = 0 if shift >= 0 else (-shift + stride - 1) // stride
    hi = (size_in - 1 - shift) // stride + 1 if size_in - 1 - shift >= 0 else 0
    return min(lo, size_out), max(min(hi, size_out), min(lo, size_out))


@njit(parallel=True, cache=True)
def im2col(x, kh, kw, sh, sw, ph, pw, col):
    """Unfold receptive fields into columns.

    x (N, C, H, W) -> col (C*kh*kw, N*OH*OW), with row r = (c*kh + i)*kw + j, column
    q = (n*OH + oy)*OW + ox and
        col[r, q] = x[n, c, oy*sh + i - ph, ox*sw + j - pw]   (0 where that falls in the padding).
    Returns col.
    """
    n_img, n_ch, h, w = x.shape
    oh = (h + 2 * ph - kh) // sh + 1
    ow = (w + 2 * pw - kw) // sw + 1
    plane = oh * ow
    zero = x.dtype.type(0)
    for task in prange(n_ch * kh * kw * n_img):          # one (row, image) block per task
        r = task // n_img
        n = task % n_img
        c = r // (kh * kw)
        i = (r // kw) % kh
        j = r % kw
        x_lo, x_hi = _valid_range(w, ow, j, sw, pw)       # columns that read inside the image
        for oy in range(oh):
            yy = oy * sh + i - ph
            q0 = n * plane + oy * ow
            if yy < 0 or yy >= h:
                for ox in range(ow):
                    col[r, q0 + ox] = zero
                continue
            for ox in range(x_lo):
                col[r, q0 + ox] = zero
            for ox in range(x_lo, x_hi):
                col[r, q0 + ox] = x[n, c, yy, ox * sw + j - pw]
            for ox in range(x_hi, ow):
                col[r, q0 + ox] = zero
    return col


@njit(parallel=True, cache=True)
def col2im(col, kh, kw, sh, sw, ph, pw, dx):
    """Fold columns back, summing overlaps: the adjoint (transpose) of ``im2col``.

    col (C*kh*kw, N*OH*OW) -> dx (N, C, H, W), overwritten with
        dx[n, c, y, x] = sum over (i, j, oy, ox) with oy*sh + i - ph = y and ox*sw + j - pw = x
                         of col[(c*kh + i)*kw + j, (n*OH + oy)*OW + ox].
    Each (image, channel) plane is summed by one thread, so the += never races. Returns dx.
    """
    n_img, n_ch, h, w = dx.shape
    oh = (h + 2 * ph - kh) // sh + 1
    ow = (w + 2 * pw - kw) // sw + 1
    plane = oh * ow
    zero = dx.dtype.type(0)
    for task in prange(n_img * n_ch):
        n = task // n_ch
        c = task % n_ch
        for yy in range(h):
            for xx in range(w):
                dx[n, c, yy, xx] = zero
        for i in range(kh):
            for j in range(kw):
                r = (c * kh + i) * kw + j
                x_lo, x_hi = _valid_range(w, ow, j, sw, pw)
                for oy in range(oh):
                    yy = oy * sh + i - ph
                    if yy < 0 or yy >= h:
                        continue
                    q0 = n * plane + oy * ow
                    for ox in range(x_lo, x_hi):
                        dx[n, c, yy, ox * sw + j - pw] += col[r, q0 + ox]
    return dx


@njit(parallel=True, cache=True)
def conv_output_from_gemm(z, b, relu, out):
    """Bias, optional ReLU and the layout change after the GEMM, in one pass.

    z (OC, N*P) (P = OH*OW), b (OC,) -> out (N, OC, P):
        out[n, k, p] = z[k, n*P + p] + b[k],  then max(., 0) if ``relu``.
    Returns out (reshape it to (N, OC, OH, OW)).
    """
    n_img, n_out, plane = out.shape
    zero = z.dtype.type(0)
    for task in prange(n_img * n_out):
        n = task // n_out
        k = task % n_out
        bk = b[k]
        q0 = n * plane
        if relu:
            for p in range(plane):
                v = z[k, q0 + p] + bk
                out[n, k, p] = v if v > zero else zero
        else:
            for p in range(plane):
                out[n, k, p] = z[k, q0 + p] + bk
    return out


@njit(parallel=True, cache=True)
def conv_grad_to_gemm(dout, y, relu, dz, db):
    """Undo ``conv_output_from_gemm``: ReLU gradient, layout change back, and the bias gradient.

    dout (N, OC, P), y (N, OC, P) the forward output -> dz (OC, N*P), db (OC,):
        dz[k, n*P + p] = dout[n, k, p] * ([y[n, k, p] > 0] if ``relu`` else 1)
        db[k]          = sum over n, p of dz[k, n*P + p]      (accumulated in float64)
    One thread per output channel k, so db needs no reduction across threads. Returns dz.
    """
    n_img, n_out, plane = dout.shape
    zero = dout.dtype.type(0)
    for k in prange(n_out):
        total = 0.0
        for n in range(n_img):
            q0 = n * plane
            for p in range(plane):
                g = dout[n, k, p]
                if relu and not y[n, k, p] > zero:
                    g = zero
                dz[k, q0 + p] = g
                total += g
        db[k] = total
    return dz


@njit(parallel=True, cache=True)
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
    for task in prange(n_img * n_ch):
        n = task // n_ch
        c = task % n_ch
        for oy in range(oh):
            y0 = oy * sh - ph
            for ox in range(ow):
                x0 = ox * sw - pw
                best = x.dtype.type(0)
                best_idx = -1
                for i in range(kh):
                    yy = y0 + i
                    if yy < 0 or yy >= h:
                        continue
                    for j in range(kw):
                        xx = x0 + j
                        if xx < 0 or xx >= w:
                            continue
                        v = x[n, c, yy, xx]
                        if best_idx < 0 or v > best:
                            best = v
                            best_idx = yy * w + xx
                out[n, c, oy, ox] = best
                argmax[n, c, oy, ox] = best_idx
    return out


@njit(parallel=True, cache=True)
def maxpool_backward(dout, argmax, dx):
    """Route each output gradient to the input position that won the max.

    dout (N, C, OH, OW), argmax from ``maxpool_forward`` -> dx (N, C, H, W), overwritten with
        dx[n, c, y, x] = sum of dout[n, c, oy, ox] over the windows whose argmax is y*W + x
    (a sum because overlapping windows, e.g. 3x3 stride 2, can share a winner). Returns dx.
    """
    n_img, n_ch, h, w = dx.shape
    oh, ow = dout.shape[2], dout.shape[3]
    zero = dx.dtype.type(0)
    for task in prange(n_img * n_ch):
        n = task // n_ch
        c = task % n_ch
        for yy in range(h):
            for xx in range(w):
                dx[n, c, yy, xx] = zero
        for oy in range(oh):
            for ox in range(ow):
                idx = argmax[n, c, oy, ox]
                dx[n, c, idx // w, idx % w] += dout[n, c, oy, ox]
    return dx

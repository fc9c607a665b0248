"""Direct sparse convolution: a pruned Conv2D straight from its CSR weights (paper sec. 4).

A pruned convolution keeps few weights, and each kept weight (oc, c, i, j) with value w adds
w * (input plane c, shifted by (i, j)) to output plane oc. So instead of unfolding the input into
the im2col matrix first (C*kh*kw rows of N*OH*OW numbers: 128 MB for LeNet-5's conv2 at batch
1000, streamed through the cache once per kept weight), we add the shifted input planes directly,
as Park et al. 2017 ("Faster CNNs with direct sparse convolutions", sec. 3) do:

    out[n, oc, oy, ox] = act(b[oc] + sum over kept k of row oc:
                             data[k] * xp[n, c_k, oy*sh + i_k, ox*sw + j_k])

where xp is x zero-padded by (ph, pw) and column r = indices[k] of W2 = W.reshape(OC, C*kh*kw)
names input channel c = r // (kh*kw) and tap (i, j) = ((r // kw) % kh, r % kw) (with groups,
W2 is block-diagonal and r already counts channels of the whole input, see
:mod:`minnet.sparse.conv`).

The stride-1 trick: view image n as one flat array of C*Hp*Wp numbers. Output (oy, ox) then reads
position oy*Wp + ox + off_k with off_k = c_k*Hp*Wp + i_k*Wp + j_k. So each kept weight is one
long contiguous loop, which the compiler vectorises:

    acc[p] += w * img[off_k + p]     for p = 0 .. (OH-1)*Wp + OW - 1

(four kept weights at a time: acc[p] += (w0*s0[p] + w1*s1[p]) + (w2*s2[p] + w3*s3[p])).

The positions p with p % Wp >= OW are junk (windows running off the right edge) and are dropped
when acc is written out; they cost (Wp - OW) / Wp extra work (16% for LeNet-5's conv1, 33% for
conv2). acc holds one output plane (2.7 KB for conv1) and the image a few KB: both stay in L1.
Strides > 1 use a plain double loop over (oy, ox) instead.

Work is split over (image, output channel) pairs, in chunks; each output number is summed by one
thread in a fixed order (its weights in stored order, four at a time, then the bias): the result
is bit-identical for any number of threads, and equals Conv2D's to float rounding. ``sparse_conv2d_serial`` runs the same loop on one thread (batch 1:
starting threads costs more than the ~50 us of work). Plain NumPy reference:
:func:`minnet.kernels.reference.sparse_conv2d`.
"""

import numpy as np
from numba import njit, prange

from minnet.errors import ShapeError
from minnet.kernels.conv import pad_images

# (image, output channel) pairs are split in at most this many chunks over the threads: enough to
# balance up to ~8 threads; each chunk allocates its accumulator once.
ITEM_CHUNKS = 64


@njit(cache=True)
def weight_offsets(indices, kh, kw, hp, wp):
    """off (nnz,) int64: where kept weight k reads a flattened padded image (C, Hp, Wp).

    off[k] = c*Hp*Wp + i*Wp + j for column r = indices[k] of W2 (OC, C*kh*kw), with
    c = r // (kh*kw), i = (r // kw) % kh, j = r % kw. Output (oy, ox) of weight k reads
    img[off[k] + oy*sh*Wp + ox*sw].
    """
    off = np.empty(indices.shape[0], dtype=np.int64)
    for k in range(indices.shape[0]):
        r = np.int64(indices[k])
        off[k] = (r // (kh * kw)) * hp * wp + ((r // kw) % kh) * wp + r % kw
    return off


@njit(cache=True)
def _conv_items(indptr, off, data, bias, relu, xflat, sh, sw, wp, out, lo, hi):
    # Items t = n*OC + oc for t in lo..hi: output plane oc of image n, summed in acc.
    n_oc, oh, ow = out.shape[1], out.shape[2], out.shape[3]
    zero = data.dtype.type(0)
    flat = sh == 1 and sw == 1
    pitch = wp if flat else ow               # acc position of output (oy, ox) is oy*pitch + ox
    span = (oh - 1) * wp + ow if flat else oh * ow
    # A scratch accumulator of this call's own: the compiler then knows it cannot overlap the
    # image and vectorises the inner loop (as in minnet.kernels.csr._matmul_rows).
    acc = np.empty(span, dtype=data.dtype)
    for t in range(lo, hi):
        n, oc = t // n_oc, t % n_oc
        img = xflat[n]
        for p in range(span):
            acc[p] = zero
        k, stop = indptr[oc], indptr[oc + 1]
        if flat:
            # Four weights per pass over acc: 5 loads + 1 store per 4 multiply-adds instead of
            # 8 loads + 4 stores (the loop is bound by L1 traffic; measured 1.45x on LeNet-5).
            while k + 4 <= stop:
                s0, s1 = img[off[k]:off[k] + span], img[off[k + 1]:off[k + 1] + span]
                s2, s3 = img[off[k + 2]:off[k + 2] + span], img[off[k + 3]:off[k + 3] + span]
                w0, w1, w2, w3 = data[k], data[k + 1], data[k + 2], data[k + 3]
                for p in range(span):      # slices walked with range: no wrap-around checks
                    acc[p] += (w0 * s0[p] + w1 * s1[p]) + (w2 * s2[p] + w3 * s3[p])
                k += 4
        for rest in range(k, stop):              # the last 0-3 weights (all of them if strided)
            w, o = data[rest], off[rest]
            if flat:
                src = img[o:o + span]
                for p in range(span):
                    acc[p] += w * src[p]
            else:
                for oy in range(oh):
                    row = img[o + oy * sh * wp:]
                    for ox in range(ow):
                        acc[oy * ow + ox] += w * row[ox * sw]
        b, dst = bias[oc], out[n, oc]
        for oy in range(oh):
            for ox in range(ow):
                v = acc[oy * pitch + ox] + b
                dst[oy, ox] = zero if relu and v < zero else v


@njit(cache=True)
def _prepare(indptr, indices, data, bias, x, kh, kw, sh, sw, ph, pw, out):
    # Checks the shapes (Numba does not check indices), pads x, flattens it, computes offsets.
    n_img, n_ch, h, w = x.shape
    hp, wp = h + 2 * ph, w + 2 * pw
    oh, ow = (hp - kh) // sh + 1, (wp - kw) // sw + 1
    n_oc = bias.shape[0]
    if (out.shape[0] != n_img or out.shape[1] != n_oc or out.shape[2] != oh or out.shape[3] != ow
            or indptr.shape[0] != n_oc + 1 or indices.shape[0] != data.shape[0]
            or indptr[n_oc] != data.shape[0]):
        raise ShapeError("sparse_conv2d: need out (N, OC, OH, OW), indptr (OC + 1,), bias (OC,), "
                         "indices and data (nnz,)")
    for k in range(indices.shape[0]):
        if indices[k] < 0 or indices[k] >= n_ch * kh * kw:
            raise ShapeError("sparse_conv2d: a column index is outside 0 .. C*kh*kw - 1")
    xflat = np.ascontiguousarray(pad_images(x, ph, pw)).reshape(n_img, n_ch * hp * wp)
    return xflat, weight_offsets(indices, kh, kw, hp, wp), wp


@njit(cache=True, parallel=True)
def sparse_conv2d_parallel(indptr, indices, data, bias, relu, x, kh, kw, sh, sw, ph, pw, out):
    """y = act(conv(x, W) + b) with W in CSR, computed directly (no im2col), over all threads.

    Shapes: indptr (OC + 1,) int, indices (nnz,) any integer type, data (nnz,) float: the CSR form
    of W2 = W.reshape(OC, C*kh*kw) (block-diagonal over groups); bias (OC,); x (N, C, H, W);
    out (N, OC, OH, OW) with OH = (H + 2*ph - kh) // sh + 1 (OW likewise).
        out[n, oc, oy, ox] = act(bias[oc] + sum_{k in row oc} data[k]
                                 * xpad[n, c_k, oy*sh + i_k, ox*sw + j_k])
    (c_k, i_k, j_k) decoded from indices[k] as in :func:`weight_offsets`; act is max(., 0) when
    ``relu``, else the identity. An output channel with no kept weights gives act(bias[oc]).
    (image, channel) pairs are split in chunks over threads; each output is summed by one thread
    in a fixed order (bit-identical for any thread count). Returns out.
    """
    xflat, off, wp = _prepare(indptr, indices, data, bias, x, kh, kw, sh, sw, ph, pw, out)
    items = out.shape[0] * out.shape[1]
    n_chunks = min(items, ITEM_CHUNKS)
    for c in prange(n_chunks):
        lo, hi = c * items // n_chunks, (c + 1) * items // n_chunks
        _conv_items(indptr, off, data, bias, relu, xflat, sh, sw, wp, out, lo, hi)
    return out


@njit(cache=True)
def sparse_conv2d_serial(indptr, indices, data, bias, relu, x, kh, kw, sh, sw, ph, pw, out):
    """:func:`sparse_conv2d_parallel` on one thread, same arguments, bit-identical numbers (for
    small batches, where starting threads costs more than the work). Returns out."""
    xflat, off, wp = _prepare(indptr, indices, data, bias, x, kh, kw, sh, sw, ph, pw, out)
    _conv_items(indptr, off, data, bias, relu, xflat, sh, sw, wp, out, 0,
                out.shape[0] * out.shape[1])
    return out

"""Property-based tests (hypothesis): Numba kernels equal their NumPy references on random shapes,
densities 0..1 (so all-zero rows, empty and full matrices) and dtypes; CSR paths equal masked dense.
"""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from minnet.kernels import csr as C
from minnet.kernels import dense as K
from minnet.kernels import reference as ref
from minnet.layers import Dense
from minnet.model import Sequential
from minnet.sparse import dense_to_csr, to_sparse

# Numba compiles on first call; generous deadlines keep that from failing the first example.
FAST = settings(max_examples=40, deadline=None)
dtypes = st.sampled_from([np.float32, np.float64])
densities = st.sampled_from([0.0, 0.05, 0.3, 0.9, 1.0])


def tol(dtype):
    return dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)


@FAST
@given(rows=st.integers(1, 9), cols=st.integers(1, 9), dtype=dtypes, seed=st.integers(0, 10**6))
def test_bias_relu_forward_property(rows, cols, dtype, seed):
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((rows, cols)).astype(dtype)
    b = rng.standard_normal(cols).astype(dtype)
    np.testing.assert_array_equal(K.bias_relu_forward(z, b, np.empty_like(z)), ref.bias_relu_forward(z, b))


@FAST
@given(n=st.integers(1, 200), rate=st.floats(0.0, 0.95), dtype=dtypes, seed=st.integers(0, 10**6))
def test_dropout_forward_property(n, rate, dtype, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n).astype(dtype)
    u = rng.random(n).astype(dtype)
    out, scale = np.empty_like(x), np.empty_like(x)
    K.dropout_forward(x, u, rate, out, scale)
    ref_out, ref_scale = ref.dropout_forward(x, u, rate)
    np.testing.assert_allclose(out, ref_out, **tol(dtype))
    np.testing.assert_allclose(scale, ref_scale, **tol(dtype))


@FAST
@given(n=st.integers(1, 300), density=densities, dtype=dtypes, seed=st.integers(0, 10**6),
       momentum=st.sampled_from([0.0, 0.9]), wd=st.sampled_from([0.0, 5e-4]),
       l1=st.sampled_from([0.0, 1e-4]))
def test_masked_sgd_update_property(n, density, dtype, seed, momentum, wd, l1):
    rng = np.random.default_rng(seed)
    w, v, g = (rng.standard_normal(n).astype(dtype) for _ in range(3))
    mask = rng.random(n) < density
    ref_w, ref_v = ref.masked_sgd_update(w, v, g, mask, 0.01, momentum, wd, l1)
    K.masked_sgd_update(w, v, g, mask, 0.01, momentum, wd, l1)
    np.testing.assert_allclose(w, ref_w, **tol(dtype))
    np.testing.assert_allclose(v, ref_v, **tol(dtype))
    assert np.count_nonzero(w[~mask]) == 0 and np.count_nonzero(v[~mask]) == 0


def random_csr(rng, rows, cols, density, dtype, block_cols, shuffle_rows=True):
    """The kernels' (block_ptr, indices, data) at the given density, with some all-zero rows and
    unsorted column indices, in column blocks of ``block_cols`` (>= cols: plain CSR)."""
    W = rng.standard_normal((rows, cols)).astype(dtype)
    mask = rng.random((rows, cols)) < density
    if rows > 1:
        mask[rng.integers(0, rows)] = False          # at least one fully pruned neuron
    indptr, indices, data = dense_to_csr(W, mask)
    if shuffle_rows:                                  # entries within a row in arbitrary order
        for i in range(rows):
            seg = slice(indptr[i], indptr[i + 1])
            p = rng.permutation(indptr[i + 1] - indptr[i])
            indices[seg], data[seg] = indices[seg][p], data[seg][p]
    return (*C.csr_column_blocks(indptr, indices, data, cols, block_cols), np.where(mask, W, 0))


@FAST
@given(rows=st.integers(1, 40), cols=st.integers(1, 40), batch=st.integers(1, 9), density=densities,
       relu=st.booleans(), dtype=dtypes, seed=st.integers(0, 10**6), block_cols=st.integers(1, 45))
def test_csr_forward_kernels_property(rows, cols, batch, density, relu, dtype, seed, block_cols):
    rng = np.random.default_rng(seed)
    indptr, indices, data, dense = random_csr(rng, rows, cols, density, dtype, block_cols)
    bias = rng.standard_normal(rows).astype(dtype)
    xt = rng.standard_normal((cols, batch)).astype(dtype)
    expected = ref.csr_matmul_t(indptr, indices, data, bias, relu, xt)
    for kernel in (C.csr_matmul_t, C.csr_matmul_t_serial):
        got = kernel(indptr, indices, data, bias, relu, xt, np.empty((rows, batch), dtype=dtype))
        np.testing.assert_allclose(got, expected, **tol(dtype))
    x = xt[:, 0].copy()
    for kernel in (C.csr_matvec, C.csr_matvec_serial):
        got = kernel(indptr, indices, data, bias, relu, x, np.empty(rows, dtype=dtype))
        np.testing.assert_allclose(got, expected[:, 0], **tol(dtype))


@FAST
@given(rows=st.integers(1, 30), cols=st.integers(1, 30), batch=st.integers(1, 7), density=densities,
       dtype=dtypes, seed=st.integers(0, 10**6), block_cols=st.integers(1, 35))
def test_csr_backward_kernels_property(rows, cols, batch, density, dtype, seed, block_cols):
    rng = np.random.default_rng(seed)
    indptr, indices, data, dense = random_csr(rng, rows, cols, density, dtype, block_cols)
    dzt = rng.standard_normal((rows, batch)).astype(dtype)
    xt = rng.standard_normal((cols, batch)).astype(dtype)
    got = C.csr_sddmm_t(indptr, indices, dzt, xt, np.empty(len(data), dtype=dtype))
    np.testing.assert_allclose(got, ref.csr_sddmm_t(indptr, indices, dzt, xt), **tol(dtype))
    t_indptr, t_rows, t_perm = C.csr_transpose_structure(indptr, indices, cols)
    got = C.csr_t_matmul_t(t_indptr, t_rows, t_perm, data, dzt, np.empty((cols, batch), dtype=dtype))
    np.testing.assert_allclose(got, ref.csr_t_matmul_t(indptr, indices, data, dzt, cols), **tol(dtype))


@FAST
@given(sizes=st.lists(st.integers(1, 30), min_size=2, max_size=4), batch=st.sampled_from([1, 5]),
       density=densities, backend=st.sampled_from(["minnet", "scipy"]), seed=st.integers(0, 10**6))
def test_sparse_model_equals_masked_dense_property(sizes, batch, density, backend, seed):
    rng = np.random.default_rng(seed)
    layers = [Dense(a, b, activation="relu" if i < len(sizes) - 2 else None, rng=rng, name=f"fc{i + 1}")
              for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:]))]
    model = Sequential(layers)
    for layer in layers:
        layer.params["b"][:] = rng.standard_normal(layer.params["b"].shape)
        layer.set_mask("W", rng.random(layer.params["W"].shape) < density)
    x = rng.standard_normal((batch, sizes[0])).astype(np.float32)
    dense_out = model.forward(x)
    sparse_out = to_sparse(model, backend=backend).forward(x)
    np.testing.assert_allclose(sparse_out, dense_out, rtol=1e-5, atol=1e-5)


# -- convolution and pooling -----------------------------------------------------------------------
from minnet.kernels import conv as CK          # noqa: E402  (grouped with the tests that use it)
from minnet.layers import Conv2D               # noqa: E402


@st.composite
def conv_geometry(draw):
    """(N, C, H, W, kh, kw, sh, sw, ph, pw) with the kernel fitting the padded input."""
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    ph, pw = draw(st.integers(0, min(2, kh - 1))), draw(st.integers(0, min(2, kw - 1)))
    h = draw(st.integers(max(1, kh - 2 * ph), 9))
    w = draw(st.integers(max(1, kw - 2 * pw), 9))
    return (draw(st.integers(1, 3)), draw(st.integers(1, 3)), h, w, kh, kw,
            draw(st.integers(1, 3)), draw(st.integers(1, 3)), ph, pw)


@FAST
@given(geom=conv_geometry(), dtype=dtypes, seed=st.integers(0, 10**6))
def test_im2col_col2im_property(geom, dtype, seed):
    n, c, h, w, kh, kw, sh, sw, ph, pw = geom
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    expected = ref.im2col(x, kh, kw, sh, sw, ph, pw)
    col = CK.im2col(x, kh, kw, sh, sw, ph, pw, np.empty(expected.shape, dtype=dtype))
    np.testing.assert_array_equal(col, expected)
    dcol = rng.standard_normal(expected.shape).astype(dtype)
    want = ref.col2im(dcol, x.shape, kh, kw, sh, sw, ph, pw)
    np.testing.assert_allclose(CK.col2im(dcol, kh, kw, sh, sw, ph, pw, np.empty_like(x)), want, **tol(dtype))
    got_t = CK.col2im_t(np.ascontiguousarray(dcol.T), kh, kw, sh, sw, ph, pw, np.empty_like(x))
    np.testing.assert_allclose(got_t, want, **tol(dtype))


@FAST
@given(geom=conv_geometry(), dtype=dtypes, seed=st.integers(0, 10**6), ties=st.booleans())
def test_maxpool_property(geom, dtype, seed, ties):
    n, c, h, w, kh, kw, sh, sw, ph, pw = geom
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    if ties:
        x = np.round(x).astype(dtype)              # many equal values: first-max rule decides
    ref_out, ref_arg = ref.maxpool_forward(x, kh, kw, sh, sw, ph, pw)
    out, arg = np.empty_like(ref_out), np.empty(ref_arg.shape, dtype=np.int64)
    CK.maxpool_forward(x, kh, kw, sh, sw, ph, pw, out, arg)
    np.testing.assert_array_equal(out, ref_out)
    np.testing.assert_array_equal(arg, ref_arg)
    dout = rng.standard_normal(out.shape).astype(dtype)
    np.testing.assert_allclose(CK.maxpool_backward(dout, arg, np.empty_like(x)),
                               ref.maxpool_backward(dout, arg, x.shape), **tol(dtype))


@FAST
@given(geom=conv_geometry(), groups=st.sampled_from([1, 2]), density=densities,
       relu=st.booleans(), seed=st.integers(0, 10**6))
def test_conv2d_layer_equals_direct_convolution_property(geom, groups, density, relu, seed):
    n, c, h, w, kh, kw, sh, sw, ph, pw = geom
    rng = np.random.default_rng(seed)
    c, oc = c * groups, 2 * groups
    layer = Conv2D(c, oc, (kh, kw), stride=(sh, sw), padding=(ph, pw), groups=groups,
                   activation="relu" if relu else None, rng=seed, dtype=np.float64)
    layer.params["b"][:] = rng.standard_normal(oc)
    layer.set_mask("W", rng.random(layer.params["W"].shape) < density)
    x = rng.standard_normal((n, c, h, w))
    want = ref.conv2d(x, layer.params["W"], layer.params["b"], (sh, sw), (ph, pw), groups)
    if relu:
        want = np.maximum(want, 0)
    np.testing.assert_allclose(layer.forward(x), want, rtol=1e-10, atol=1e-10)

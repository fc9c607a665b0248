"""minnet.sparse: CSR models compute what the masked dense model computes (forward, gradients, an
SGD step, a retraining run), and compressed files restore it exactly."""

import os

import numpy as np
import pytest

from minnet.errors import CheckpointError, ConfigError, ShapeError
from minnet.layers import Conv2D, Dense
from minnet.model import Sequential
from minnet.models import lenet5, lenet_300_100
from minnet.optim import SGD
from minnet.sparse import (SparseConv2D, SparseDense, load_sparse, save_sparse, to_dense, to_sparse)
from minnet.sparse.storage import (decode_relative, encode_relative, pack_bits, sparse_arrays,
                                   unpack_bits)
from minnet.train import fit

PAPER_DENSITIES = (0.08, 0.09, 0.26)    # LeNet-300-100, paper Table 2


def assert_close(mine, ref, rtol=1e-5, what=""):
    mine, ref = np.asarray(mine, np.float64), np.asarray(ref, np.float64)
    assert mine.shape == ref.shape, f"{what}: shape {mine.shape} vs reference {ref.shape}"
    err = np.abs(mine - ref)
    worst = np.unravel_index(np.argmax(err), err.shape)
    scale = max(np.abs(ref).max(), 1e-30)
    assert err.max() <= rtol * scale, (f"{what}: worst entry {worst}: sparse {mine[worst]!r} vs "
                                       f"dense {ref[worst]!r} (max |dense| {scale:.3g})")


def pruned_lenet(seed=0, dead_neurons=True):
    """LeNet-300-100 with random masks at the paper's densities. With dead_neurons, fc1 neurons 0-4
    lose every input (all-zero CSR rows) and fc3 is fed by a fully pruned fc2 neuron 7."""
    model = lenet_300_100(seed=seed)
    rng = np.random.default_rng(seed + 100)
    for layer, density in zip(model.prunable_layers(), PAPER_DENSITIES):
        mask = rng.random(layer.params["W"].shape) < density
        if dead_neurons:
            mask[:5] = False if layer.name == "fc1" else mask[:5]
            if layer.name == "fc2":
                mask[7] = False
        layer.params["b"][...] = rng.normal(0, 0.1, layer.params["b"].shape)
        layer.set_mask("W", mask)
    return model


@pytest.fixture(scope="module")
def mnist_batch():
    from minnet.data import load_mnist
    try:
        _, (x_test, y_test) = load_mnist(verify=False)
    except Exception as e:      # the data folder is part of the repo; say clearly if it is missing
        pytest.fail(f"MNIST is needed for this test: {e}")
    return x_test[:1000], y_test[:1000]


@pytest.mark.parametrize("backend", ["minnet", "scipy"])
def test_forward_equals_masked_dense(backend, mnist_batch):
    model = pruned_lenet()
    sparse = to_sparse(model, backend=backend)
    rng = np.random.default_rng(1)
    inputs = {"mnist 1000": mnist_batch[0], "mnist 1": mnist_batch[0][:1],
              "random 64": rng.standard_normal((64, 784)).astype(np.float32),
              "random 1": rng.standard_normal((1, 784)).astype(np.float32)}
    for what, x in inputs.items():
        assert_close(sparse.forward(x), model.forward(x), 1e-5, f"{backend}, {what}")
    # dead fc1 neurons output relu(bias) for every input
    sparse.forward(mnist_batch[0][:3])
    b = model.layer("fc1").params["b"][:5]
    assert np.array_equal(sparse.layer("fc1")._yt[:5], np.repeat(np.maximum(b, 0)[:, None], 3, 1))


@pytest.mark.parametrize("backend", ["minnet", "scipy"])
def test_fully_pruned_layer_outputs_the_bias(backend):
    """An empty weight matrix (nnz = 0): y = act(b) for every input."""
    model = Sequential([Dense(6, 4, rng=0, name="a"), Dense(4, 3, activation="relu", rng=1, name="b")])
    model.layer("a").set_mask("W", np.zeros((4, 6), bool))
    model.layer("a").params["b"][...] = [1, -2, 3, 0]
    sparse = to_sparse(model, backend)
    assert sparse.layer("a").nnz == 0
    x = np.random.default_rng(0).standard_normal((5, 6)).astype(np.float32)
    assert_close(sparse.forward(x), model.forward(x), 1e-6, "empty layer")
    assert np.array_equal(sparse.layer("a").forward(x), np.tile([1, -2, 3, 0], (5, 1)))


def test_gradients_equal_masked_dense():
    """Backward at the kept connections equals the masked dense gradient there (float64: exact
    up to summation order); dx equals the dense dx."""
    model = pruned_lenet(3).astype(np.float64)
    sparse = to_sparse(model)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((17, 784))
    dout = rng.standard_normal((17, 10))
    model.forward(x, training=True)
    sparse.forward(x, training=True)
    dx_dense = model.backward(dout, input_grad=True)
    dx_sparse = sparse.layers[1].backward(sparse.layers[2].backward(sparse.layers[3].backward(dout)))
    assert_close(dx_sparse, dx_dense.reshape(17, 784), 1e-10, "dx")
    for d in model.prunable_layers():
        s = sparse.layer(d.name)
        mask = d.masks["W"]
        assert_close(s.grads["data"], d.grads["W"][mask], 1e-10, f"{d.name} dW at kept connections")
        assert_close(s.grads["b"], d.grads["b"], 1e-10, f"{d.name} db")


def test_wide_layer_in_column_blocks_equals_masked_dense():
    """A layer with more inputs than BLOCK_COLS (AlexNet's fc6 has 9216) is stored in column
    blocks by the minnet back-end: outputs, gradients and the round trip to dense still match."""
    from minnet.sparse.csr import csr_to_dense
    model = Sequential([Dense(9000, 40, activation="relu", rng=0, name="wide"),
                        Dense(40, 10, rng=1, name="out")]).astype(np.float64)
    rng = np.random.default_rng(5)
    wide = model.layer("wide")
    mask = rng.random((40, 9000)) < 0.09
    mask[3] = False                                              # one neuron with no inputs
    wide.set_mask("W", mask)
    sparse, plain = to_sparse(model, "minnet"), to_sparse(model, "scipy")
    from minnet.kernels.csr import BLOCK_COLS                   # 4096 or 8192: from the L1 size
    assert sparse.layer("wide").block_ptr.shape == (-(-9000 // BLOCK_COLS), 41)
    assert plain.layer("wide").block_ptr.shape == (1, 41)      # scipy: plain CSR
    for n in (1, 7):
        x = rng.standard_normal((n, 9000))
        for what, m in (("minnet blocks", sparse), ("scipy", plain)):
            assert_close(m.forward(x, training=True), model.forward(x, training=True), 1e-10,
                         f"{what}, batch {n}")
    dout = rng.standard_normal((7, 10))
    model.forward(x, training=True)
    sparse.forward(x, training=True)
    dx_dense = model.backward(dout, input_grad=True)
    dx_sparse = sparse.backward(dout, input_grad=True)
    assert_close(dx_sparse, dx_dense, 1e-10, "dx")
    s = sparse.layer("wide")
    g, kept = csr_to_dense(s.block_ptr, s.indices, s.grads["data"], (40, 9000))
    assert np.array_equal(kept, wide.masks["W"])
    assert_close(g, wide.grads["W"] * wide.masks["W"], 1e-10, "dW at the kept connections")
    back = to_dense(sparse).layer("wide")
    assert np.array_equal(back.masks["W"], wide.masks["W"])
    assert np.array_equal(back.params["W"], wide.params["W"] * wide.masks["W"])


def test_sgd_steps_match_masked_dense_training():
    """Three SGD steps with momentum and weight decay move the kept weights identically, and the
    sparse model still has only its stored connections."""
    model = pruned_lenet(4)
    sparse = to_sparse(model)
    opt_d, opt_s = SGD(0.05, momentum=0.9, weight_decay=5e-4), SGD(0.05, momentum=0.9, weight_decay=5e-4)
    rng = np.random.default_rng(5)
    from minnet.losses import softmax_cross_entropy
    for _ in range(3):
        x, y = rng.random((32, 784)).astype(np.float32), rng.integers(0, 10, 32)
        for m, opt in ((model, opt_d), (sparse, opt_s)):
            _, dlogits = softmax_cross_entropy(m.forward(x, training=True), y)
            m.backward(dlogits)
            opt.step(m)
    back = to_dense(sparse)
    for d, b in zip(model.prunable_layers(), back.prunable_layers()):
        assert np.array_equal(d.masks["W"], b.masks["W"])
        assert_close(b.params["W"], d.params["W"], 1e-5, f"{d.name} W after 3 steps")


def test_retraining_with_fit_matches_masked_dense_training(mnist_batch):
    """minnet.train.fit retrains a sparse LeNet-300-100 at the paper's densities unchanged, and
    the loss curve is the masked dense model's (up to float32 summation order)."""
    x, y = mnist_batch
    model = pruned_lenet(6, dead_neurons=False)
    for layer, density in zip(model.prunable_layers(), PAPER_DENSITIES):
        layer.params["W"] /= np.sqrt(density)   # as if trained: keep the activations' scale
    sparse = to_sparse(model)
    runs = [fit(m, SGD(0.05, momentum=0.9), x, y, epochs=3, batch_size=64, progress=False)
            for m in (model, sparse)]
    dense_loss, sparse_loss = runs[0]["loss"], runs[1]["loss"]
    assert sparse_loss[-1] < 0.9 * sparse_loss[0], sparse_loss
    assert_close(sparse_loss, dense_loss, 1e-3, "loss per epoch")
    assert [l.nnz for l in sparse.layers[1:]] == [int(l.masks["W"].sum()) for l in model.layers[1:]]


def test_forward_is_deterministic():
    sparse = to_sparse(pruned_lenet(7))
    x = np.random.default_rng(0).random((300, 784)).astype(np.float32)
    assert np.array_equal(sparse.forward(x), sparse.forward(x))


def test_round_trip_to_dense_keeps_masks_and_weights():
    model = pruned_lenet(8)
    back = to_dense(to_sparse(model))
    for a, b in zip(model.prunable_layers(), back.prunable_layers()):
        assert np.array_equal(a.masks["W"], b.masks["W"]) and np.array_equal(a.params["W"], b.params["W"])


@pytest.mark.parametrize("kind", ["fc", "conv"])
def test_round_trip_to_dense_keeps_bias_trainable_flag_and_pruning_record(kind):
    """What the masked twin must bring back besides W: retraining reads the trainable flag, and
    the next prune reads the record's std from before the first prune (paper sec. 2)."""
    layer = pruned_lenet(8).layer("fc2") if kind == "fc" else pruned_conv(2)
    layer.remember_before_pruning()
    layer.trainable = False
    sparse = (SparseDense if kind == "fc" else SparseConv2D).from_dense(layer)
    back = sparse.to_dense()
    assert type(back) is type(layer) and back.trainable is False
    assert np.array_equal(back.params["b"], layer.params["b"])
    assert back.pruning_record == layer.pruning_record is not None


def test_bad_inputs_raise_clear_errors():
    sparse = to_sparse(pruned_lenet(9))
    with pytest.raises(ShapeError):
        sparse.layer("fc1").forward(np.zeros((2, 100), np.float32))
    with pytest.raises(ValueError, match="backend"):
        to_sparse(pruned_lenet(9), backend="cuda")
    with pytest.raises(ShapeError):
        SparseDense.from_csr([0, 1], [5], np.ones(1, np.float32), np.zeros(1, np.float32),
                             in_features=3)



def test_only_the_named_layers_become_csr(mnist_batch, tmp_path):
    model = pruned_lenet(10)
    mixed = to_sparse(model, layers=["fc1", "fc3"])
    kinds = {layer.name: type(layer) for layer in mixed.layers}
    assert kinds["fc1"] is SparseDense and kinds["fc3"] is SparseDense and kinds["fc2"] is Dense
    assert mixed.layer("fc2") is not model.layer("fc2")              # a copy, not the original
    assert np.array_equal(mixed.layer("fc2").masks["W"], model.layer("fc2").masks["W"])
    x = mnist_batch[0][:200]
    assert_close(mixed.forward(x), model.forward(x), 1e-5, "fc1 and fc3 as CSR")
    mixed.save(tmp_path / "mixed.npz")                               # saves and loads as it is
    back = Sequential.load(tmp_path / "mixed.npz")
    assert [type(l) for l in back.layers] == [type(l) for l in mixed.layers]
    assert np.array_equal(back.forward(x), mixed.forward(x))
    assert type(to_sparse(model, layers="fc2").layer("fc2")) is SparseDense      # one name
    assert all(type(l) is not SparseDense for l in to_sparse(model, layers=[]).layers)
    for wrong in (["fc9"], ["fc1", "flatten"], "fc"):
        with pytest.raises(ConfigError, match=r"not Dense or Conv2D layers.*'fc1', 'fc2', 'fc3'"):
            to_sparse(model, layers=wrong)
    conv_model = lenet5(seed=0)
    conv_model.layer("conv2").set_mask("W", np.random.default_rng(0).random((50, 20, 5, 5)) < 0.2)
    kinds = {l.name: type(l) for l in to_sparse(conv_model, layers=["conv2", "fc2"]).layers}
    assert (kinds["conv1"], kinds["conv2"], kinds["fc1"], kinds["fc2"]) == (
        Conv2D, SparseConv2D, Dense, SparseDense)


# -- storage -----------------------------------------------------------------------------------

def test_relative_index_example_from_the_docstring():
    # bits = 2 (gaps up to 4), kept positions 1, 2, 9 -> codes 1, 0, 3 (filler at 6), 2
    codes, slots = encode_relative([1, 2, 9], 2)
    assert codes.tolist() == [1, 0, 3, 2] and slots.tolist() == [0, 1, -1, 2]
    assert decode_relative(codes).tolist() == [1, 2, 6, 9]
    packed = pack_bits(np.array([31, 0, 7, 19, 1], np.uint8), 5)
    assert packed.nbytes == 4 and unpack_bits(packed, 5, 5).tolist() == [31, 0, 7, 19, 1]


@pytest.mark.parametrize("index_bits", [None, "paper", 2])
def test_save_load_restores_outputs_and_masks(tmp_path, index_bits):
    model = pruned_lenet(10)
    fc2 = model.layer("fc2")
    fc2.params["W"][fc2.masks["W"].nonzero()[0][0], fc2.masks["W"].nonzero()[1][0]] = 0.0  # kept zero
    path = save_sparse(model, tmp_path / "m.npz", index_bits=index_bits)
    loaded = load_sparse(path)
    x = np.random.default_rng(0).random((20, 784)).astype(np.float32)
    assert np.array_equal(loaded.forward(x), model.forward(x))
    for a, b in zip(model.prunable_layers(), loaded.prunable_layers()):
        assert np.array_equal(a.masks["W"], b.masks["W"]), a.name
    assert not list(tmp_path.glob(".*tmp"))      # atomic write left no temporary file


def test_pruned_lenet_file_is_at_most_an_eighth_of_the_dense_file(tmp_path):
    """Target of issue #5: LeNet-300-100 pruned 12x stores in <= 1/8 of its dense .npz."""
    model = pruned_lenet(11, dead_neurons=False)
    ratio = model.count_params() / model.count_params(nonzero=True)
    assert 11 < ratio < 13
    dense = os.path.getsize(model.save(tmp_path / "dense.npz"))
    for bits in (None, "paper"):
        size = os.path.getsize(save_sparse(model, tmp_path / "sparse.npz", index_bits=bits))
        assert size <= dense / 8, f"index_bits={bits}: {size} bytes vs dense {dense}"
    arrays = sparse_arrays(model)
    assert arrays["sparse/fc1/W/indices"].dtype == np.uint16       # 784 columns
    assert arrays["sparse/fc3/W/indptr"].dtype == np.uint16        # 260 entries


def test_damaged_and_foreign_files_raise_checkpoint_error(tmp_path):
    model = pruned_lenet(12)
    path = save_sparse(model, tmp_path / "m.npz")
    raw = path.read_bytes()
    (tmp_path / "cut.npz").write_bytes(raw[:len(raw) // 2])
    (tmp_path / "text.npz").write_text("hello")
    model.save(tmp_path / "dense.npz")                         # a valid file, but not sparse
    for name in ("cut.npz", "text.npz", "dense.npz", "missing.npz"):
        with pytest.raises(CheckpointError):
            load_sparse(tmp_path / name)
    arrays = sparse_arrays(model)
    arrays["sparse/fc1/W/indices"] = arrays["sparse/fc1/W/indices"] + 1000   # out of range
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(CheckpointError, match="fc1"):
        load_sparse(tmp_path / "bad.npz")


# -- convolutions ------------------------------------------------------------------------------

def pruned_conv(groups=2, dtype=np.float32):
    from minnet.layers.conv import Conv2D
    conv = Conv2D(4, 6, 3, stride=2, padding=1, groups=groups, activation="relu", rng=0,
                  dtype=dtype, name="conv")
    rng = np.random.default_rng(1)
    mask = rng.random(conv.params["W"].shape) < 0.3
    mask[2] = False                                   # output channel 2 fully pruned
    conv.params["b"][...] = rng.normal(0, 0.1, 6)
    conv.set_mask("W", mask)
    return conv


@pytest.mark.parametrize("backend", ["minnet", "scipy"])
@pytest.mark.parametrize("groups", [1, 2])
def test_sparse_conv_forward_equals_masked_conv(backend, groups):
    from minnet.sparse import SparseConv2D
    conv = pruned_conv(groups)
    sparse = SparseConv2D.from_dense(conv, backend)
    x = np.random.default_rng(2).standard_normal((3, 4, 9, 7)).astype(np.float32)
    assert_close(sparse.forward(x), conv.forward(x), 1e-5, f"conv {backend} groups={groups}")
    back = sparse.to_dense()
    assert np.array_equal(back.masks["W"], conv.masks["W"]) and np.array_equal(back.params["W"], conv.params["W"])


def test_sparse_conv_gradients_equal_masked_conv():
    from minnet.sparse import SparseConv2D
    conv = pruned_conv(2, np.float64)
    sparse = SparseConv2D.from_dense(conv)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 4, 8, 8))
    y = conv.forward(x)
    sparse.forward(x)
    dout = rng.standard_normal(y.shape)
    dx_dense, dx_sparse = conv.backward(dout), sparse.backward(dout)
    assert_close(dx_sparse, dx_dense, 1e-10, "conv dx")
    assert_close(sparse.grads["data"], conv.grads["W"][conv.masks["W"]], 1e-10, "conv dW at kept")
    assert_close(sparse.grads["b"], conv.grads["b"], 1e-10, "conv db")


def test_pruned_lenet5_sparse_model_and_storage(tmp_path, mnist_batch):
    from minnet.models import lenet5
    model = lenet5(seed=0)
    rng = np.random.default_rng(4)
    for layer, density in zip(model.prunable_layers(), (0.66, 0.12, 0.08, 0.19)):  # paper Table 3
        layer.set_mask("W", rng.random(layer.params["W"].shape) < density)
    x = mnist_batch[0][:200]
    for backend in ("minnet", "scipy"):
        assert_close(to_sparse(model, backend).forward(x), model.forward(x), 1e-5, f"lenet5 {backend}")
    dense_size = os.path.getsize(model.save(tmp_path / "dense.npz"))
    path = save_sparse(model, tmp_path / "sparse.npz", index_bits="paper")   # 8-bit conv, 5-bit fc
    assert os.path.getsize(path) <= dense_size / 8
    assert np.array_equal(load_sparse(path).forward(x), model.forward(x))


# -- the per-layer report and the benchmark entry point ------------------------------------------

def test_layer_report_numbers():
    from minnet.sparse import format_layer_report, layer_report
    model = pruned_lenet(13, dead_neurons=False)
    rows = layer_report(model, batch_size=2, repeats=2)
    assert [r["layer"] for r in rows] == ["fc1", "fc2", "fc3"]
    fc1 = rows[0]
    nnz = int(model.layer("fc1").masks["W"].sum())
    assert fc1["density"] == nnz / (300 * 784) and fc1["dense_bytes"] == 300 * 784 * 4
    assert fc1["sparse_bytes"] == nnz * (4 + 2) + 301 * 4      # float32 data, uint16 columns, int32 rows
    assert fc1["dense_s"] > 0 and fc1["sparse_s"] > 0
    assert "fc3" in format_layer_report(rows)


def test_bench_dispatch_rejects_unknown_benchmarks(capsys):
    from minnet.bench.__main__ import main
    assert main(["nonsense"]) == 2
    assert "unknown benchmark 'nonsense'" in capsys.readouterr().err

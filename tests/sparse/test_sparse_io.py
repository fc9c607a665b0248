"""CSR layers keep the Layer contract: their config() round-trips, their CSR structure is array
state, and a sparse model saves and loads with Sequential.save / load like any other (issue #17)."""

import numpy as np
import pytest

from minnet.errors import CheckpointError, MinnetError
from minnet.layers import LAYER_CLASSES, Conv2D, Dense
from minnet.model import Sequential
from minnet.models import lenet5, lenet_300_100
from minnet.pruning import prune_model
from minnet.sparse import SparseConv2D, SparseDense, save_sparse, to_sparse


def prune_at_random(model, density, seed):
    """Every prunable layer keeps a random ``density`` of its connections (layer.prune(keep)),
    biases made nonzero so that they are checked too."""
    rng = np.random.default_rng(seed)
    for layer in model.prunable_layers():
        layer.remember_before_pruning()
        layer.prune(rng.random(layer.weight.shape) < density)
        layer.params["b"][...] = rng.normal(0, 0.1, layer.params["b"].shape)
    return model


def csr_layers(model):
    return [l for l in model.layers if isinstance(l, (SparseDense, SparseConv2D))]


def assert_same_csr(a, b):
    """Same class, config, structure (values and dtypes), weights, state and trainable flag."""
    assert type(a) is type(b) and a.config() == b.config(), a.describe()
    for name in ("block_ptr", "indices", "t_indptr", "t_rows", "t_perm"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and np.array_equal(x, y), f"{a.describe()}: {name}"
    for k in a.params:
        assert a.params[k].dtype == b.params[k].dtype, f"{a.describe()}: {k}"
        assert np.array_equal(a.params[k], b.params[k]), f"{a.describe()}: {k}"
    assert a.state == b.state and a.trainable == b.trainable, a.describe()


def conv_layer(groups, seed=0):
    conv = Conv2D(4, 6, (3, 2), stride=(2, 1), padding=1, groups=groups, activation="relu",
                  rng=seed, name="conv")
    mask = np.random.default_rng(seed).random(conv.weight.shape) < 0.3
    mask[1] = False                                            # an output channel with no inputs
    conv.prune(mask)
    conv.params["b"][...] = np.arange(6) / 10
    return conv


def dense_layer(n_in, backend, seed=0):
    dense = Dense(n_in, 7, activation="relu", rng=seed, name="fc")
    keep = np.random.default_rng(seed).random(dense.weight.shape) < 0.1
    keep[:2] = False                                           # rows with no connections
    dense.prune(keep)
    return SparseDense.from_dense(dense, backend)


LAYERS = {
    "dense": lambda: dense_layer(30, "minnet"),
    "dense-scipy": lambda: dense_layer(30, "scipy"),
    "dense-blocked": lambda: dense_layer(9000, "minnet"),      # > BLOCK_COLS: 3 column blocks
    "conv": lambda: SparseConv2D.from_dense(conv_layer(1)),
    "conv-groups": lambda: SparseConv2D.from_dense(conv_layer(2), "scipy"),
}


def some_input(layer, n=3):
    rng = np.random.default_rng(5)
    shape = (n, layer.in_features) if isinstance(layer, SparseDense) else (n, 4, 9, 7)
    return rng.standard_normal(shape).astype(np.float32)


# -- the layer contract ---------------------------------------------------------------------------

def test_sparse_classes_are_registered_under_their_names():
    assert LAYER_CLASSES["SparseDense"] is SparseDense
    assert LAYER_CLASSES["SparseConv2D"] is SparseConv2D


@pytest.mark.parametrize("case", sorted(LAYERS))
def test_config_round_trips_and_state_fills_in_the_csr_arrays(case):
    layer = LAYERS[case]()
    x = some_input(layer)
    y = layer.forward(x)
    blank = type(layer)(**layer.config())                      # same geometry, placeholder weights
    assert blank.config() == layer.config()
    assert {k: v.shape for k, v in blank.params.items()} == {k: v.shape for k, v in layer.params.items()}
    assert blank.forward(x).shape == y.shape
    assert not np.array_equal(blank.forward(x), y)             # the placeholder is not the layer
    for k, p in layer.params.items():                          # what io does: params, then state
        blank.params[k] = p.copy()
    blank.load_state(layer.state_dict())
    assert_same_csr(layer, blank)
    assert np.array_equal(blank.forward(x), y)
    dout = np.random.default_rng(6).standard_normal(y.shape).astype(np.float32)
    assert np.array_equal(blank.backward(dout), layer.backward(dout))   # transposed structure too
    assert np.array_equal(blank.grads["data"], layer.grads["data"])


def test_sparse_conv_holds_its_own_geometry_not_a_conv2d():
    conv = conv_layer(2)
    sparse = SparseConv2D.from_dense(conv)
    assert not any(isinstance(v, Conv2D) for v in vars(sparse).values())
    assert (sparse.kernel_size, sparse.stride, sparse.padding, sparse.groups) == ((3, 2), (2, 1), (1, 1), 2)
    assert sparse.output_shape((2, 4, 9, 7)) == conv.output_shape((2, 4, 9, 7))
    config = {k: v for k, v in sparse.config().items() if k not in ("backend", "nnz")}
    assert config == conv.config()
    with pytest.raises(ValueError, match="divisible by groups"):
        SparseConv2D(4, 6, 3, groups=4)
    with pytest.raises(ValueError, match="nnz must be between 0 and 6 x 18"):
        SparseConv2D(4, 6, 3, groups=2, nnz=6 * 18 + 1)


def test_structure_outside_its_group_or_inconsistent_is_refused():
    sparse = SparseConv2D.from_dense(conv_layer(2))
    state = sparse.state_dict()
    wrong = dict(state, indices=state["indices"].copy())
    wrong["indices"][0] += 12                                  # row 0 (group 0) into group 1's columns
    with pytest.raises(MinnetError, match="SparseConv2D 'conv'.*inconsistent"):
        sparse.load_state(wrong)
    dense = dense_layer(30, "minnet")
    with pytest.raises(MinnetError, match="SparseDense 'fc'.*inconsistent"):
        dense.load_state(dict(dense.state_dict(), block_ptr=dense.block_ptr[:, ::-1]))
    with pytest.raises(MinnetError, match="lacks the CSR structure"):
        dense.load_state({})


# -- whole models through Sequential.save / load ----------------------------------------------------

@pytest.mark.parametrize("build, density", [(lenet_300_100, 0.08), (lenet5, 0.15)])
def test_pruned_csr_model_saves_and_loads_bit_exactly(tmp_path, mnist, build, density):
    x = mnist[1][0][:300]
    dense = prune_at_random(build(seed=0), density, seed=1)
    model = to_sparse(dense)
    path = model.save(tmp_path / "csr.npz")
    loaded = Sequential.load(path)
    assert loaded.architecture() == model.architecture()
    assert len(csr_layers(loaded)) == len(dense.prunable_layers())
    for a, b in zip(csr_layers(model), csr_layers(loaded)):
        assert_same_csr(a, b)
        assert b.state["std_before_pruning"] > 0              # the pruning record came along
    assert np.array_equal(loaded.forward(x), model.forward(x))
    # loading weights into a model built from the same architecture, and from arrays in memory
    fresh = Sequential.from_arrays(model.to_arrays())
    assert np.array_equal(fresh.forward(x), model.forward(x))
    fresh.load_weights(path)
    assert np.array_equal(fresh.forward(x), model.forward(x))


def test_float64_and_retrained_csr_model_round_trip(tmp_path):
    from minnet.optim import SGD
    model = to_sparse(prune_at_random(lenet_300_100(seed=2), 0.1, seed=3)).astype(np.float64)
    x = np.random.default_rng(0).random((16, 1, 28, 28))
    model.forward(x, training=True)
    model.backward(np.ones((16, 10)))
    SGD(lr=0.1).step(model)                                    # weights move: the file must follow
    loaded = Sequential.load(model.save(tmp_path / "m.npz"))
    assert loaded.dtype == np.float64
    assert np.array_equal(loaded.forward(x), model.forward(x))


def test_a_pruned_model_and_its_csr_form_load_to_the_same_function(tmp_path, mnist):
    x = mnist[1][0][:100]
    dense = lenet_300_100(seed=4)
    prune_model(dense, "sparsity", {"fc1": 0.92, "fc2": 0.9, "fc3": 0.7})
    sparse = Sequential.load(to_sparse(dense).save(tmp_path / "csr.npz"))
    compact = Sequential.load(save_sparse(dense, tmp_path / "compact.npz", index_bits="paper"))
    assert [type(l).__name__ for l in compact.layers] == [type(l).__name__ for l in dense.layers]
    assert np.array_equal(compact.forward(x), dense.forward(x))      # save_sparse files load too
    np.testing.assert_allclose(sparse.forward(x), dense.forward(x), rtol=1e-5, atol=1e-5)


# -- damaged files ------------------------------------------------------------------------------------

def damaged(tmp_path, change):
    model = to_sparse(prune_at_random(lenet_300_100(seed=5), 0.1, seed=6))
    arrays = dict(model.to_arrays())
    change(arrays)
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize("change, match", [
    (lambda a: a.__setitem__("state/fc2/indices", a["state/fc2/indices"] + 300),
     "bad.npz: SparseDense 'fc2': bad saved state .*inconsistent CSR"),
    (lambda a: a.__setitem__("state/fc1/block_ptr", a["state/fc1/block_ptr"][:, :-1]),
     "bad.npz: SparseDense 'fc1': bad saved state .*saved CSR structure is inconsistent"),
    (lambda a: a.pop("state/fc3/indices"), "bad.npz: SparseDense 'fc3'.*lacks the CSR structure"),
    (lambda a: a.__setitem__("param/fc1/data", a["param/fc1/data"][:-1]),
     "bad.npz: fc1/data has shape"),
])
def test_a_damaged_sparse_file_is_one_clear_checkpoint_error(tmp_path, change, match):
    path = damaged(tmp_path, change)
    with pytest.raises(CheckpointError, match=match) as info:
        Sequential.load(path)
    assert "\n" not in str(info.value)


def test_a_truncated_sparse_file_is_a_checkpoint_error(tmp_path):
    path = to_sparse(prune_at_random(lenet_300_100(seed=7), 0.1, seed=8)).save(tmp_path / "m.npz")
    raw = path.read_bytes()
    path.write_bytes(raw[:len(raw) // 2])
    with pytest.raises(CheckpointError, match="m.npz: damaged or not an .npz file"):
        Sequential.load(path)

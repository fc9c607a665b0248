"""minnet.torch_names: models <-> PyTorch state_dict names in .safetensors / .npz files (issue #19).

The PyTorch side is written by hand with NumPy + safetensors (torch is not a dependency): each name,
shape and dtype below is what ``net.state_dict()`` of the nn.Module in docs/pytorch.md holds, and
``safetensors.torch.save_file(net.state_dict(), path)`` writes no minnet metadata, as here.
"""

import sys

import numpy as np
import pytest
from safetensors.numpy import save_file

from minnet.errors import CheckpointError, MinnetError, MissingDependencyError
from minnet.layers import Flatten
from minnet.models import lenet5, lenet_300_100, mlp
from minnet.torch_names import (infer_model, load_model_file, load_state_dict, save_safetensors,
                                save_torch_npz, to_state_dict)

# name -> (shape, the torch module the tensor comes from). Linear.weight is (out_features,
# in_features), Conv2d.weight (out_channels, in_channels / groups, kH, kW), every bias (out,).
TORCH_LENET300 = {
    "fc1.weight": ((300, 784), "nn.Linear(784, 300).weight, input torch.flatten(x, 1)"),
    "fc1.bias": ((300,), "nn.Linear(784, 300).bias"),
    "fc2.weight": ((100, 300), "nn.Linear(300, 100).weight"),
    "fc2.bias": ((100,), "nn.Linear(300, 100).bias"),
    "fc3.weight": ((10, 100), "nn.Linear(100, 10).weight"),
    "fc3.bias": ((10,), "nn.Linear(100, 10).bias"),
}
TORCH_LENET5 = {
    "conv1.weight": ((20, 1, 5, 5), "nn.Conv2d(1, 20, 5).weight"),
    "conv1.bias": ((20,), "nn.Conv2d(1, 20, 5).bias"),
    "conv2.weight": ((50, 20, 5, 5), "nn.Conv2d(20, 50, 5).weight"),
    "conv2.bias": ((50,), "nn.Conv2d(20, 50, 5).bias"),
    "fc1.weight": ((500, 800), "nn.Linear(800, 500).weight, input torch.flatten(x, 1) of (N, 50, 4, 4)"),
    "fc1.bias": ((500,), "nn.Linear(800, 500).bias"),
    "fc2.weight": ((10, 500), "nn.Linear(500, 10).weight"),
    "fc2.bias": ((10,), "nn.Linear(500, 10).bias"),
}


def torch_fixture(spec, seed=0, prune=()):
    """Random float32 tensors named and shaped as ``spec``. For each layer in ``prune``,
    ``prune.custom_from_mask(net.<layer>, "weight", mask)`` turned "L.weight" into "L.weight_orig"
    (the original values, still nonzero where pruned) + "L.weight_mask" (float32 0/1 buffer)."""
    rng = np.random.default_rng(seed)
    sd = {name: rng.normal(0, 0.1, shape).astype(np.float32) for name, (shape, _) in spec.items()}
    for layer in prune:
        w = sd.pop(f"{layer}.weight")
        sd[f"{layer}.weight_orig"] = w
        sd[f"{layer}.weight_mask"] = (rng.random(w.shape) < 0.3).astype(np.float32)
    return sd


def assert_same_model(a, b):
    assert a.architecture() == b.architecture()
    for la, lb in zip(a.layers, b.layers):
        assert la.params.keys() == lb.params.keys() and la.state_dict() == lb.state_dict()
        for k in la.params:
            assert lb.params[k].dtype == la.params[k].dtype and lb.params[k].flags.c_contiguous
            assert la.params[k].tobytes() == lb.params[k].tobytes(), f"{la.name}.{k} differs"
        for k in la.masks:
            np.testing.assert_array_equal(la.masks[k], lb.masks[k])


def pruned(model, layers, seed=1):
    rng = np.random.default_rng(seed)
    for name in layers:
        layer = model.layer(name)
        layer.remember_before_pruning()           # the record must travel too (metadata)
        layer.prune(rng.random(layer.weight.shape) < 0.4)
    return model


@pytest.mark.parametrize("build, prune", [
    (lambda: lenet_300_100(seed=3), ("fc1", "fc2", "fc3")),
    (lambda: lenet5(seed=1, conv_relu=True, dropout=0.5), ("conv2", "fc1")),
    (lambda: mlp((40, 20), seed=2), ("fc2",)),
    (lambda: lenet5(seed=2), ()),
])
def test_round_trip_is_bit_exact(tmp_path, mnist, build, prune):
    model = pruned(build(), prune)
    path = save_safetensors(model, tmp_path / "m.safetensors")
    back = load_model_file(path)                   # rebuilt from the metadata minnet wrote
    assert_same_model(model, back)
    x = mnist[1][0][:200]
    assert model.predict(x).tobytes() == back.predict(x).tobytes()
    # a .npz has no metadata: load into a model of the same architecture instead
    fresh = load_model_file(save_torch_npz(model, tmp_path / "m.npz"), model=build())
    for la, lb in zip(model.prunable_layers(), fresh.prunable_layers()):
        assert la.weight.tobytes() == lb.weight.tobytes()
        np.testing.assert_array_equal(la.mask, lb.mask)


def test_names_shapes_and_dtypes_are_pytorchs():
    for model, spec in ((lenet_300_100(), TORCH_LENET300), (lenet5(), TORCH_LENET5)):
        sd = to_state_dict(model)
        assert list(sd) == list(spec)              # a dense model: plain L.weight, in module order
        for name, (shape, module) in spec.items():
            assert sd[name].shape == shape and sd[name].dtype == np.float32, (name, module)
            assert sd[name].flags.c_contiguous
    sd = to_state_dict(pruned(lenet_300_100(), ["fc2"]))
    assert "fc2.weight" not in sd and sd["fc2.weight_mask"].dtype == np.float32
    assert set(np.unique(sd["fc2.weight_mask"])) == {0.0, 1.0}
    np.testing.assert_array_equal(sd["fc2.weight_orig"] * sd["fc2.weight_mask"], sd["fc2.weight_orig"])
    assert set(sd) == set(TORCH_LENET300) - {"fc2.weight"} | {"fc2.weight_orig", "fc2.weight_mask"}


def test_flatten_is_torch_flatten_of_nchw():
    """LeNet-5's fc1 reads flatten(N, 50, 4, 4): column c*16 + h*4 + w must be x[n, c, h, w], as
    torch.flatten(x, 1) orders it on NCHW, or a PyTorch fc1.weight would be read scrambled."""
    x = np.arange(2 * 50 * 4 * 4, dtype=np.float32).reshape(2, 50, 4, 4)
    flat = Flatten().forward(x)
    n, c, h, w = 1, 7, 2, 3
    assert flat[n, c * 16 + h * 4 + w] == x[n, c, h, w]


def torch_lenet5_forward(sd, x, flatten=lambda a: a.reshape(len(a), -1)):
    """What the PyTorch LeNet5 of docs/pytorch.md computes, in float64 NumPy: F.conv2d
    (cross-correlation), F.max_pool2d(2), torch.flatten(x, 1), F.linear (x W^T + b), no conv ReLU."""
    sd = {k: v.astype(np.float64) for k, v in sd.items()}

    def conv(a, w, b):
        windows = np.lib.stride_tricks.sliding_window_view(a, w.shape[2:], axis=(2, 3))
        return np.einsum("nchwij,kcij->nkhw", windows, w) + b[:, None, None]

    def pool(a):
        n, c, h, w = a.shape
        return a.reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))

    a = pool(conv(x.astype(np.float64), sd["conv1.weight"], sd["conv1.bias"]))
    a = flatten(pool(conv(a, sd["conv2.weight"], sd["conv2.bias"])))
    a = np.maximum(a @ sd["fc1.weight"].T + sd["fc1.bias"], 0)
    return a @ sd["fc2.weight"].T + sd["fc2.bias"]


def test_a_pytorch_lenet5_computes_the_same_in_minnet(tmp_path, mnist):
    sd = torch_fixture(TORCH_LENET5, seed=4)
    save_file(sd, tmp_path / "lenet5.safetensors")
    model = load_model_file(tmp_path / "lenet5.safetensors")          # inferred: LeNet-5
    assert [l.name for l in model.prunable_layers()] == ["conv1", "conv2", "fc1", "fc2"]
    x = mnist[1][0][:64]
    ours, ref = model.predict(x), torch_lenet5_forward(sd, x)
    np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-4)
    # the check can fail: reading fc1's columns in NHWC order gives other logits
    nhwc = torch_lenet5_forward(sd, x, flatten=lambda a: a.transpose(0, 2, 3, 1).reshape(len(a), -1))
    assert np.abs(ours - nhwc).max() > 1e-2


def test_a_pruned_pytorch_state_dict_loads_with_its_masks(tmp_path, mnist):
    sd = torch_fixture(TORCH_LENET300, seed=5, prune=("fc1", "fc3"))
    save_file(sd, tmp_path / "lenet300.safetensors")
    kept = {k: v.copy() for k, v in sd.items()}
    from_dict = load_state_dict(lenet_300_100(), sd)
    assert all(np.array_equal(sd[k], kept[k]) for k in sd)          # the caller's arrays untouched
    assert not np.shares_memory(from_dict.layer("fc2").weight, sd["fc2.weight"])
    model = load_model_file(tmp_path / "lenet300.safetensors")
    assert model.architecture() == lenet_300_100().architecture()
    for name in ("fc1", "fc3"):
        layer, mask = model.layer(name), sd[f"{name}.weight_mask"] == 1
        np.testing.assert_array_equal(layer.mask, mask)
        np.testing.assert_array_equal(layer.weight, sd[f"{name}.weight_orig"] * sd[f"{name}.weight_mask"])
        assert np.all(np.signbit(layer.weight[~mask]) == 0)   # exactly +0.0, as minnet prunes
    assert model.layer("fc2").mask.all() and model.layer("fc2").weight.tobytes() == sd["fc2.weight"].tobytes()
    # and it is written back in the same form
    again = to_state_dict(model)
    assert set(again) == set(sd)
    np.testing.assert_array_equal(again["fc1.weight_mask"], sd["fc1.weight_mask"])


def test_other_float_widths_are_converted_to_float32(tmp_path):
    sd = torch_fixture(TORCH_LENET300)
    half = {k: v.astype(np.float16) for k, v in sd.items()}
    double = {k: v.astype(np.float64) * (1 + 1e-12) for k, v in sd.items()}
    m16 = load_state_dict(lenet_300_100(), half)
    m64 = load_state_dict(lenet_300_100(), double)
    for name in ("fc1", "fc3"):
        assert m16.layer(name).weight.dtype == np.float32 == m64.layer(name).weight.dtype
        np.testing.assert_array_equal(m16.layer(name).weight, half[f"{name}.weight"].astype(np.float32))
        np.testing.assert_array_equal(m64.layer(name).weight, double[f"{name}.weight"].astype(np.float32))


def test_the_shapes_decide_the_model():
    sd = {"fc1.weight": np.zeros((64, 784), np.float32), "fc1.bias": np.zeros(64, np.float32),
          "fc2.weight": np.zeros((32, 64), np.float32), "fc2.bias": np.zeros(32, np.float32),
          "fc3.weight_orig": np.zeros((10, 32), np.float32), "fc3.weight_mask": np.ones((10, 32)),
          "fc3.bias": np.zeros(10, np.float32)}
    model = infer_model(sd)
    assert model.architecture() == mlp((64, 32)).architecture()
    assert infer_model(torch_fixture(TORCH_LENET300)).architecture() == lenet_300_100().architecture()
    with pytest.raises(CheckpointError, match="no tensor named conv1.* or fc1.*.*0.weight"):
        infer_model({"0.weight": np.zeros((300, 784)), "0.bias": np.zeros(300)})


def one_line_error(model, tensors, match):
    before = {l.name: l.weight.copy() for l in model.prunable_layers()}
    with pytest.raises(CheckpointError, match=match) as info:
        load_state_dict(model, tensors, source="f.safetensors")
    assert isinstance(info.value, MinnetError) and "\n" not in str(info.value)
    assert str(info.value).startswith("f.safetensors")
    for l in model.prunable_layers():                      # a refused file changes nothing
        assert l.weight.tobytes() == before[l.name].tobytes()
    return str(info.value)


def test_missing_extra_misshaped_and_bad_tensors_are_clear_errors():
    sd = torch_fixture(TORCH_LENET300)
    model = lenet_300_100()
    one_line_error(model, {k: v for k, v in sd.items() if k != "fc3.bias"}, r"missing tensor\(s\) fc3\.bias")
    one_line_error(model, {**sd, "fc4.weight": np.zeros((1, 10), np.float32)},
                   r"unexpected tensor\(s\) fc4\.weight")
    msg = one_line_error(model, {**sd, "fc1.weight": sd["fc1.weight"].T.copy()},
                         r"fc1\.weight has shape \(784, 300\)")
    assert "expects (300, 784)" in msg and "torch.nn.Linear" in msg
    nan = sd["fc2.weight"].copy()
    nan[3, 4] = np.nan
    one_line_error(model, {**sd, "fc2.weight": nan}, r"fc2\.weight holds NaN or inf")
    one_line_error(model, {**sd, "fc2.bias": np.zeros(100, np.int64)}, r"fc2\.bias has dtype int64")
    bad_mask = {k: v for k, v in sd.items() if k != "fc1.weight"}
    bad_mask.update({"fc1.weight_orig": sd["fc1.weight"],
                     "fc1.weight_mask": np.full((300, 784), 0.5, np.float32)})
    one_line_error(model, bad_mask, r"fc1\.weight_mask must hold only 0 and 1")
    del bad_mask["fc1.weight_mask"]
    one_line_error(model, bad_mask, r"missing tensor\(s\) fc1\.weight_mask")
    conv = torch_fixture(TORCH_LENET5)
    conv["conv2.weight"] = conv["conv2.weight"][:, :10]
    msg = one_line_error(lenet5(), conv, r"conv2\.weight has shape \(50, 10, 5, 5\)")
    assert "expects (50, 20, 5, 5)" in msg and "torch.nn.Conv2d" in msg


def test_a_conv_relu_model_is_not_loaded_into_one_without(tmp_path):
    path = save_safetensors(lenet5(conv_relu=True), tmp_path / "relu.safetensors")
    with pytest.raises(CheckpointError, match="conv1 has activation 'relu'.*--conv-relu"):
        load_model_file(path, model=lenet5(conv_relu=False))


def test_unreadable_files_are_checkpoint_errors(tmp_path):
    (tmp_path / "bad.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(CheckpointError, match="bad.safetensors: damaged or not a .safetensors file"):
        load_model_file(tmp_path / "bad.safetensors")
    with pytest.raises(CheckpointError, match="no such file"):
        load_model_file(tmp_path / "missing.safetensors")
    (tmp_path / "net.pt").write_bytes(b"\x80\x02pickle")
    with pytest.raises(CheckpointError, match=r"not pickled PyTorch files.*save_file"):
        load_model_file(tmp_path / "net.pt")


def test_without_safetensors_the_error_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)    # import now raises ImportError
    with pytest.raises(MissingDependencyError, match=r'pip install -e "\.\[safetensors\]"') as info:
        save_safetensors(lenet_300_100(), tmp_path / "m.safetensors")
    assert isinstance(info.value, MinnetError) and "\n" not in str(info.value)
    assert not (tmp_path / "m.safetensors").exists()
    save_torch_npz(lenet_300_100(), tmp_path / "m.npz")            # .npz needs no extra package


def test_a_csr_model_is_refused_with_the_way_back(tmp_path):
    from minnet.sparse import to_dense, to_sparse
    sparse = to_sparse(pruned(lenet_300_100(), ["fc1", "fc2", "fc3"]))
    with pytest.raises(CheckpointError, match=r"with PyTorch names.*minnet\.sparse\.to_dense"):
        save_safetensors(sparse, tmp_path / "s.safetensors")
    assert set(to_state_dict(to_dense(sparse))) >= {"fc1.weight_orig", "fc1.weight_mask"}

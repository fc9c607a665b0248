"""``python -m minnet export`` and ``prune --dense-model FILE.safetensors`` on tiny runs (issue #19)."""

import json

import numpy as np
import pytest

from minnet.cli import main
from minnet.model import Sequential
from minnet.torch_names import load_model_file, read_tensors, save_torch_npz, to_state_dict


@pytest.fixture(scope="module")
def trained(tiny_idx, tmp_path_factory):
    """A finished `train` run of LeNet-300-100 on the tiny IDX dataset (one epoch)."""
    out = tmp_path_factory.mktemp("runs") / "train"
    assert main(["train", "--model", "lenet300", "--data", str(tiny_idx), "--out", str(out),
                 "--epochs", "1", "--val-size", "50", "--no-progress"]) == 0
    return out


def test_export_a_train_run_then_prune_the_safetensors(trained, tiny_idx, tmp_path, capsys):
    capsys.readouterr()
    assert main(["export", str(trained)]) == 0
    printed = capsys.readouterr().out
    path = trained / "model.safetensors"
    assert f"wrote {path}" in printed
    for name in ("fc1.weight", "fc1.bias", "fc2.weight", "fc3.bias"):
        assert name in printed
    assert "activations (not stored as tensors" in printed and "fc1 relu, fc2 relu, fc3 none" in printed
    dense = Sequential.load(trained / "model.npz")
    tensors, meta = read_tensors(path)
    assert sorted(tensors) == sorted(to_state_dict(dense)) and meta["format"] == "pt"
    assert tensors["fc1.weight"].tobytes() == dense.layer("fc1").weight.tobytes()

    out = tmp_path / "pruned"
    assert main(["prune", "--model", "lenet300", "--data", str(tiny_idx), "--out", str(out),
                 "--dense-model", str(path), "--rounds", "1", "--val-size", "50",
                 "--retrain-epochs", "1", "--no-progress"]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["history"][0]["step"] == "retrain"            # the file was the dense model
    assert Sequential.load(out / "dense.npz").layer("fc2").weight.tobytes() == \
        dense.layer("fc2").weight.tobytes()

    # the pruned run exports torch.nn.utils.prune's form, and reads back as pruned.npz
    capsys.readouterr()
    assert main(["export", str(out), "--out", str(tmp_path / "p.safetensors")]) == 0
    assert "fc1.weight_mask" in capsys.readouterr().out
    pruned = Sequential.load(out / "pruned.npz")
    back = load_model_file(tmp_path / "p.safetensors")
    for a, b in zip(pruned.prunable_layers(), back.prunable_layers()):
        assert a.weight.tobytes() == b.weight.tobytes() and np.array_equal(a.mask, b.mask)
    tensors, _ = read_tensors(tmp_path / "p.safetensors")
    assert {"fc1.weight_orig", "fc1.weight_mask"} <= set(tensors) and "fc1.weight" not in tensors


def test_a_pytorch_named_npz_is_a_dense_model_too(trained, tiny_idx, tmp_path, capsys):
    """An .npz of state_dict names (np.savez(f, **{k: v.numpy() ...})), with no minnet run beside
    it: it loads (with the usual warning that its split cannot be checked)."""
    dense = Sequential.load(trained / "model.npz")
    foreign = save_torch_npz(dense, tmp_path / "elsewhere" / "torch.npz")
    out = tmp_path / "p"
    assert main(["prune", "--model", "lenet300", "--data", str(tiny_idx), "--out", str(out),
                 "--dense-model", str(foreign), "--rounds", "1", "--val-size", "50",
                 "--retrain-epochs", "1", "--no-progress"]) == 0
    assert "no config.json beside it" in capsys.readouterr().err
    assert Sequential.load(out / "dense.npz").layer("fc1").weight.tobytes() == \
        dense.layer("fc1").weight.tobytes()


def test_a_dense_model_of_another_shape_names_the_tensor(trained, tiny_idx, tmp_path, capsys):
    capsys.readouterr()
    code = main(["prune", "--model", "mlp", "--hidden", "40,20", "--data", str(tiny_idx),
                 "--out", str(tmp_path / "p"), "--dense-model", str(trained / "model.npz"),
                 "--val-size", "50", "--no-progress"])
    assert code == 2          # a minnet .npz of another architecture: minnet.io's own message
    assert "another architecture" in capsys.readouterr().err
    main(["export", str(trained), "--format", "npz"])
    code = main(["prune", "--model", "mlp", "--hidden", "40,20", "--data", str(tiny_idx),
                 "--out", str(tmp_path / "q"), "--dense-model", str(trained / "model.torch.npz"),
                 "--val-size", "50", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "fc1.weight has shape (300, 784)" in err and "expects (40, 784)" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_export_errors_are_one_line(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["export", str(tmp_path / "empty")]) == 2
    err = capsys.readouterr().err
    assert "neither pruned.npz nor model.npz" in err and len(err.strip().splitlines()) == 1
    assert main(["export", str(tmp_path / "nowhere")]) == 2
    assert "no such run folder or model file" in capsys.readouterr().err

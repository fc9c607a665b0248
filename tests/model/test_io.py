"""minnet.io: the one home of saving and loading; layer state round-trips through the layer itself."""

import json

import numpy as np
import pytest

from minnet import io
from minnet.errors import CheckpointError
from minnet.models import lenet_300_100
from minnet.model import Sequential
from minnet.pruning import adjust_dropout, prune_model


def pruned_model():
    m = lenet_300_100(seed=0, dropout=0.3)
    prune_model(m, "sparsity", {"fc1": 0.9, "fc2": 0.5})
    adjust_dropout(m)
    return m


def test_adjusted_dropout_and_pruning_record_round_trip(tmp_path):
    m = pruned_model()
    io.save_model(m, tmp_path / "m.npz")
    back = Sequential.load(tmp_path / "m.npz")
    assert back.layer("drop1").rate == pytest.approx(0.3 * np.sqrt(0.1))
    assert back.layer("drop1").original_rate == 0.3
    assert back.layer("drop1").config() == {"rate": 0.3, "name": "drop1"}   # D_o builds the layer
    assert back.layer("fc1").pruning_record == m.layer("fc1").pruning_record
    np.testing.assert_array_equal(back.layer("fc1").mask, m.layer("fc1").mask)


def test_version_1_files_still_load():
    """Version 1 kept Dropout's current rate in its config: such files must still load."""
    m = pruned_model()
    arrays = io.model_to_arrays(m)
    arch = json.loads(str(arrays["architecture"]))
    state = json.loads(str(arrays["layer_state"]))
    for spec in arch:
        if spec["class"] == "Dropout":
            name = spec["config"]["name"]
            spec["config"] = {"rate": state[name].pop("rate"), "original_rate": 0.3, "name": name}
    arrays.update(minnet_format=np.array(1), architecture=np.array(json.dumps(arch)),
                  layer_state=np.array(json.dumps(state)))
    back = Sequential.from_arrays(arrays, "v1")
    assert back.layer("drop2").rate == m.layer("drop2").rate and back.layer("drop2").original_rate == 0.3


def test_checkpoints_and_a_damaged_file(tmp_path):
    m = pruned_model()
    io.save_checkpoint(tmp_path, m, None, {"step": 3})
    arrays, optim, meta = io.load_checkpoint(tmp_path)
    assert meta == {"step": 3} and optim is None
    np.testing.assert_array_equal(Sequential.from_arrays(arrays, "ckpt").layer("fc2").weight,
                                  m.layer("fc2").weight)
    data = (tmp_path / io.CHECKPOINT).read_bytes()
    (tmp_path / io.CHECKPOINT).write_bytes(data[:len(data) // 2])
    with pytest.raises(CheckpointError, match="checkpoint.npz"):
        io.load_checkpoint(tmp_path)
    with pytest.raises(CheckpointError, match="no checkpoint to resume from"):
        io.load_checkpoint(tmp_path / "nowhere")


def test_nan_weights_and_unknown_constructor_keys_are_refused_naming_the_file(tmp_path):
    m = pruned_model()
    arrays = io.model_to_arrays(m)
    bad = dict(arrays)
    bad["param/fc2/W"] = np.full_like(arrays["param/fc2/W"], np.nan)
    with pytest.raises(CheckpointError, match="nan.npz: fc2/W holds NaN"):
        Sequential.from_arrays(bad, "nan.npz")
    arch = json.loads(str(arrays["architecture"]))
    arch[1]["config"]["colour"] = "red"
    odd = dict(arrays, architecture=np.array(json.dumps(arch)))
    with pytest.raises(CheckpointError, match="odd.npz: cannot build layer Dense"):
        Sequential.from_arrays(odd, "odd.npz")
    arch[1] = {"class": "NoSuchLayer", "config": {}}
    foreign = dict(arrays, architecture=np.array(json.dumps(arch)))
    with pytest.raises(CheckpointError, match="unknown layer type 'NoSuchLayer'"):
        Sequential.from_arrays(foreign, "foreign.npz")


def test_a_layer_class_that_is_not_registered_is_refused_before_writing(tmp_path):
    from minnet.layers import ReLU

    class MyReLU(ReLU):          # a user's layer, not registered: a file could not rebuild it
        pass
    model = Sequential([MyReLU(name="act")])
    with pytest.raises(CheckpointError, match="MyReLU 'act'.*register_layer"):
        model.save(tmp_path / "s.npz")
    assert not (tmp_path / "s.npz").exists()


def test_a_text_file_is_not_an_npz_and_the_error_never_suggests_unpickling(tmp_path):
    # numpy's own message for such a file advises allow_pickle=True; minnet never passes it on
    path = tmp_path / "notes.npz"
    path.write_text("root:x:0:0:root:/root:/bin/bash\n")
    with pytest.raises(CheckpointError, match="notes.npz: damaged or not an .npz file "
                                              r"\(not a zip archive of arrays\)") as info:
        Sequential.load(path)
    assert "pickle" not in str(info.value)

"""Damaged files, at random (hypothesis): truncation, bit flips and edited arrays in a saved model,
a checkpoint and a compact sparse file. Reading one either works (a flip that only changes a weight
a little) or raises a ``minnet.errors`` exception; nothing else comes out, and no file is changed.
A save that fails leaves the previous good file as it was.
"""

import hashlib
import io
import shutil
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from minnet.errors import MinnetError
from minnet.io import load_checkpoint, save_checkpoint
from minnet.model import Sequential
from minnet.optim import caffe_lenet_sgd
from minnet.pruning.pipeline import RunState
from minnet.sparse import load_sparse, save_sparse


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def good_files(tmp_path_factory):
    """{kind: (path, reader)} of three good files written from one small pruned MLP."""
    folder = tmp_path_factory.mktemp("good")
    model = _small_model()
    for layer in model.prunable_layers():
        layer.prune(np.abs(layer.weight) > np.median(np.abs(layer.weight)))
    model.save(folder / "model.npz")
    run = folder / "run"
    run.mkdir()
    optimizer = caffe_lenet_sgd()
    optimizer.step(model)                                # a momentum buffer to save
    save_checkpoint(run, model, optimizer, RunState().to_json())
    save_sparse(model, folder / "sparse.npz")

    def read_checkpoint(path):
        arrays, optim, meta = load_checkpoint(path.parent)
        fresh = _small_model()
        fresh.load_arrays(arrays, source=str(path))
        if optim is not None:
            caffe_lenet_sgd().load_state_dict(optim, fresh, source=str(path))
        RunState.from_json(meta, source=str(path))

    return {"model": (folder / "model.npz", Sequential.load),
            "checkpoint": (run / "checkpoint.npz", read_checkpoint),
            "sparse": (folder / "sparse.npz", load_sparse)}


def _small_model():
    from minnet.layers import Dense, Flatten
    rng = np.random.default_rng(0)
    return Sequential([Flatten(name="flatten"),
                       Dense(20, 16, activation="relu", rng=rng, name="fc1"),
                       Dense(16, 3, rng=rng, name="fc2")])


def _edit_member(data, rng):
    """Replace one array of the .npz with another shape, dtype or NaNs (a hand-edited file)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    names = source.namelist()
    victim = names[int(rng.integers(len(names)))]
    replacement = [np.full((2, 3), np.nan, np.float32), np.zeros(7, np.int64),
                   np.array("not json"), np.ones((0,), np.float32)][int(rng.integers(4))]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name in names:
            if name == victim:
                buffer = io.BytesIO()
                np.save(buffer, replacement)
                target.writestr(name, buffer.getvalue())
            else:
                target.writestr(name, source.read(name))
    return out.getvalue()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(["model", "checkpoint", "sparse"]),
       damage=st.sampled_from(["truncate", "flip", "edit"]),
       seed=st.integers(0, 2**32 - 1))
def test_a_damaged_file_raises_only_minnet_errors_and_changes_nothing(good_files, tmp_path, kind,
                                                                     damage, seed):
    path, read = good_files[kind]
    before = _digest(path)
    data, rng = path.read_bytes(), np.random.default_rng(seed)
    if damage == "truncate":
        data = data[:int(rng.integers(0, len(data)))]
    elif damage == "flip":
        data = bytearray(data)
        for position in rng.integers(0, len(data), size=int(rng.integers(1, 9))):
            data[position] ^= 1 << int(rng.integers(8))
        data = bytes(data)
    else:
        data = _edit_member(data, rng)
    damaged = tmp_path / kind / path.name
    damaged.parent.mkdir(exist_ok=True)
    damaged.write_bytes(data)
    try:
        read(damaged)
    except MinnetError:
        pass                                           # the one allowed failure
    assert damaged.read_bytes() == data                # reading changes nothing
    assert _digest(path) == before


@pytest.mark.parametrize("failure", ["disk full", "unsaveable model"])
def test_a_failed_save_leaves_the_previous_good_file(good_files, tmp_path, monkeypatch, failure):
    import os
    path, _ = good_files["model"]
    target = tmp_path / "model.npz"
    shutil.copy(path, target)
    before = _digest(target)
    model = Sequential.load(target)
    model.layer("fc1").params["W"][0, 0] = 0.5
    if failure == "disk full":
        def no_space(*args, **kwargs):
            raise OSError(28, "No space left on device")
        monkeypatch.setattr(os, "replace", no_space)
        expected = OSError
    else:
        model.layers.append(type("Foreign", (model.layers[-1].__class__,), {})(3, 3, name="x"))
        expected = MinnetError
    with pytest.raises(expected):
        model.save(target)
    assert _digest(target) == before and not list(tmp_path.glob("*.tmp"))

"""fit/evaluate on a real MNIST slice: learns, is bit-reproducible, records history, calls callbacks."""

import json

import numpy as np
import pytest

from minnet.errors import DivergenceError
from minnet.models import lenet_300_100
from minnet.optim import SGD, InvLR
from minnet.train import Callback, HistoryFile, Resume, evaluate, fit


@pytest.fixture(scope="module")
def mnist_slice(mnist):
    (x, y), (xt, yt) = mnist
    return x[:2000], y[:2000], xt[:1000], yt[:1000]


def train_slice(data, seed=0, epochs=3, **kw):
    x, y, xt, yt = data
    model = lenet_300_100(seed=seed)
    # Caffe's "inv" decay, faster than LeNet's solver because the slice is small (seeds 0-2 reach
    # 0.89-0.91 after 6 epochs; a plain constant rate oscillates around 0.85).
    opt = SGD(lr=InvLR(0.05, gamma=5e-3, power=0.75), momentum=0.9, weight_decay=5e-4)
    history = fit(model, opt, x, y, epochs=epochs, batch_size=32, seed=seed, validation=(xt, yt),
                  progress=False, **kw)
    return model, history


def test_training_on_2000_images_reaches_85_percent(mnist_slice):
    model, history = train_slice(mnist_slice, epochs=6)
    x, y, xt, yt = mnist_slice
    assert history["val_acc"][-1] > 0.85
    assert evaluate(model, xt, yt)["accuracy"] == pytest.approx(history["val_acc"][-1])
    assert history["loss"][-1] < history["loss"][0]


def test_same_seed_gives_bit_identical_history_and_weights(mnist_slice, tmp_path):
    m1, h1 = train_slice(mnist_slice, seed=5, epochs=2, callbacks=[HistoryFile(tmp_path / "h.json")])
    m2, h2 = train_slice(mnist_slice, seed=5, epochs=2)
    for k in ("loss", "train_acc", "val_loss", "val_acc"):
        assert h1[k] == h2[k]
    np.testing.assert_array_equal(m1.layer("fc1").params["W"], m2.layer("fc1").params["W"])
    saved = json.loads((tmp_path / "h.json").read_text())
    assert saved["val_acc"] == h1["val_acc"] and len(saved["epoch"]) == 2


def test_callbacks_see_every_batch_and_epoch(mnist_slice):
    x, y, _, _ = mnist_slice

    class Counter(Callback):
        batches, epochs = 0, []

        def on_batch_end(self, epoch, batch, logs):
            Counter.batches += 1
            assert np.isfinite(logs["loss"]) and logs["lr"] == 0.01

        def on_epoch_end(self, epoch, logs):
            Counter.epochs.append(epoch)
            assert self.model is model

    model = lenet_300_100(seed=0)
    fit(model, SGD(lr=0.01), x[:500], y[:500], epochs=2, batch_size=100, callbacks=[Counter()],
        progress=False)
    assert Counter.batches == 10 and Counter.epochs == [0, 1]


def test_resuming_from_an_epoch_matches_an_uninterrupted_run(mnist_slice):
    x, y, _, _ = mnist_slice
    full, opt_full = lenet_300_100(seed=1), SGD(lr=0.05, momentum=0.9)
    fit(full, opt_full, x[:600], y[:600], epochs=3, batch_size=64, seed=1, progress=False)
    part, opt_part = lenet_300_100(seed=1), SGD(lr=0.05, momentum=0.9)
    history = fit(part, opt_part, x[:600], y[:600], epochs=1, batch_size=64, seed=1, progress=False)
    fit(part, opt_part, x[:600], y[:600], epochs=3, batch_size=64, seed=1, progress=False,
        callbacks=[Resume(history, 1)])
    assert history["epoch"] == [1, 2, 3]                      # the resumed epochs were appended
    np.testing.assert_array_equal(full.layer("fc2").params["W"], part.layer("fc2").params["W"])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_absurd_learning_rate_stops_with_divergence_error(mnist_slice):
    x, y, _, _ = mnist_slice
    model = lenet_300_100(seed=0)
    with pytest.raises(DivergenceError, match=r"epoch 1, batch \d+"):
        fit(model, SGD(lr=1e6, momentum=0.9), x, y, epochs=1, batch_size=64, progress=False)


def test_a_weight_turning_inf_is_reported_with_its_layer_in_the_same_batch():
    model = lenet_300_100(seed=0)
    opt = SGD(lr=1e30, momentum=0.0)
    x = np.random.default_rng(0).random((4, 1, 28, 28), dtype=np.float32)
    from minnet.losses import softmax_cross_entropy
    loss, d = softmax_cross_entropy(model.forward(x, training=True), np.arange(4))
    model.backward(d)
    model.layer("fc2").grads["W"][0, 0] = 1e30          # only fc2 overflows float32
    for name in ("fc1", "fc3"):
        for g in model.layer(name).grads.values():
            g[:] = 0
    opt.step(model)
    assert opt.nonfinite == ("fc2", "W")
    from minnet.train import check_finite
    with pytest.raises(DivergenceError, match=r"layer fc2: parameter W .*epoch 3, batch 8"):
        check_finite(opt, loss, epoch=2, batch=7)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_divergence_leaves_the_last_good_checkpoint_intact(mnist_slice, tmp_path):
    from minnet.model import Sequential
    from minnet.optim import ConstantLR
    x, y, _, _ = mnist_slice
    path = tmp_path / "checkpoint.npz"

    class SaveEachEpoch(Callback):
        def on_epoch_end(self, epoch, logs):
            self.model.save(path)

    model, opt = lenet_300_100(seed=0), SGD(lr=0.01, momentum=0.9)
    opt_history = fit(model, opt, x[:500], y[:500], epochs=1, callbacks=[SaveEachEpoch()],
                      progress=False)
    good = path.read_bytes()
    opt.schedule = ConstantLR(1e6)                    # now it diverges within the next epoch
    with pytest.raises(DivergenceError, match="epoch 2"):
        fit(model, opt, x[:500], y[:500], epochs=3, callbacks=[Resume(opt_history, 1), SaveEachEpoch()],
            progress=False)
    assert path.read_bytes() == good
    restored = Sequential.load(path)
    assert all(np.isfinite(p).all() for l in restored.layers for p in l.params.values())


def test_fit_rejects_nan_in_the_training_data_before_training(mnist_slice):
    x, y = np.concatenate([mnist_slice[0]] * 5), np.concatenate([mnist_slice[1]] * 5)   # 10,000
    x[8500, 0, 3, 4] = np.inf                   # past the first 8192-image chunk of the scan
    model = lenet_300_100(seed=0)
    before = model.layers[1].params["W"].copy()
    with pytest.raises(ValueError, match=r"NaN or inf \(first at index \(8500, 0, 3, 4\)\)"):
        fit(model, SGD(0.01), x, y, epochs=1, progress=False)
    np.testing.assert_array_equal(model.layers[1].params["W"], before)    # nothing was trained


def test_blas_threads_follow_the_batch_size_unless_the_environment_says(monkeypatch):
    from minnet import threads
    monkeypatch.delenv("MINNET_BLAS_THREADS", raising=False)
    monkeypatch.setattr(threads, "available_cores", lambda: 2)
    assert threads.default_blas_threads() == 1
    assert threads.default_blas_threads(64) == 1
    assert threads.default_blas_threads(threads.LARGE_BATCH) == 2
    monkeypatch.setattr(threads, "available_cores", lambda: 64)
    assert threads.default_blas_threads(1024) == threads.MAX_AUTO_THREADS
    monkeypatch.setenv("MINNET_BLAS_THREADS", "3")
    assert threads.default_blas_threads(64) == 3 and threads.default_blas_threads(1024) == 3
    for bad in ("0", "two"):
        monkeypatch.setenv("MINNET_BLAS_THREADS", bad)
        with pytest.raises(ValueError, match="MINNET_BLAS_THREADS"):
            threads.default_blas_threads(64)


def test_prefetching_batches_gives_the_same_training_as_plain_batches(mnist_slice):
    # Two BLAS threads on a 2-core machine turn the helper thread off; one thread turns it on.
    x, y = mnist_slice[0][:640], mnist_slice[1][:640]
    runs = []
    for prefetch in (True, False):
        from minnet import train as T
        model = lenet_300_100(seed=0)
        T._run_epochs(model, SGD(0.01, momentum=0.9), x, y, 2, 64, 0, None, None, (), False,
                      {k: [] for k in ("epoch", "loss", "train_acc", "val_loss", "val_acc", "lr",
                                       "seconds")}, 0, prefetch)
        runs.append(np.concatenate([p.ravel() for l in model.layers for p in l.params.values()]))
    np.testing.assert_array_equal(runs[0], runs[1])


def test_same_threads_limits_blas_and_numba_and_restores_them():
    import numba
    from threadpoolctl import threadpool_info

    from minnet.threads import same_threads
    before = numba.get_num_threads()
    with same_threads(1):
        assert numba.get_num_threads() == 1
        assert all(p["num_threads"] == 1 for p in threadpool_info() if p["user_api"] == "blas")
    assert numba.get_num_threads() == before

"""The verified cache of decoded MNIST files (minnet.data_cache): used when intact, rebuilt when
damaged or stale, never trusted blindly, and never a reason for a load to fail.

Each test works on a copy of the real MNIST files in tmp_path with a cache folder of its own. The
copies' mtimes are set an hour back: the cache refuses files modified in the last seconds (see
RACY_SECONDS), as freshly copied ones are.
"""

import gzip
import os
import shutil
import time

import numpy as np
import pytest

from minnet import data, data_cache
from minnet.data import DEFAULT_MNIST_DIR, IDX_FILE_NAMES, TRAIN_LABELS, load_mnist
from minnet.errors import DataError


def age(path, seconds=3600):
    t = time.time() - seconds
    os.utime(path, (t, t))


@pytest.fixture
def mnist_dir(tmp_path):
    directory = tmp_path / "mnist"
    directory.mkdir()
    for name in IDX_FILE_NAMES:
        shutil.copyfile(DEFAULT_MNIST_DIR / f"{name}.gz", directory / f"{name}.gz")
        age(directory / f"{name}.gz")
    return directory


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("MINNET_DATA_CACHE", str(folder))
    return folder


def cache_files(folder):
    return sorted(folder.glob("idx-*.bin")) if folder.exists() else []


def no_source_reads(monkeypatch):
    """From here on, reading a source file fails the test: the load must come from the cache."""
    def forbidden(path):
        raise AssertionError(f"read {path} although the cache should have been used")
    monkeypatch.setattr(data, "_read_decompressed", forbidden)


def assert_same(got, want):
    for (xg, yg), (xw, yw) in zip(got, want):
        assert xg.dtype == xw.dtype and yg.dtype == yw.dtype
        assert np.array_equal(xg, xw) and np.array_equal(yg, yw)


def test_second_load_comes_from_the_cache_and_is_identical(mnist, mnist_dir, cache, monkeypatch):
    assert_same(load_mnist(mnist_dir), mnist)            # builds the cache
    (written,) = cache_files(cache)
    with monkeypatch.context() as m:
        no_source_reads(m)
        assert_same(load_mnist(mnist_dir), mnist)
        assert_same(load_mnist(mnist_dir, verify=False), mnist)
    assert cache_files(cache) == [written]


@pytest.mark.parametrize("damage", ["flip a payload byte", "flip a header byte", "truncate",
                                    "empty", "garbage"])
def test_a_damaged_cache_is_rebuilt_not_trusted(mnist, mnist_dir, cache, monkeypatch, damage):
    load_mnist(mnist_dir)
    (path,) = cache_files(cache)
    blob = bytearray(path.read_bytes())
    if damage == "flip a payload byte":
        blob[len(blob) // 2] ^= 0x01                     # one pixel changes by 1: plausible data
    elif damage == "flip a header byte":
        blob[60] ^= 0x20
    elif damage == "truncate":
        blob = blob[:len(blob) - 1000]
    elif damage == "empty":
        blob = bytearray()
    else:
        blob = bytearray(os.urandom(4096))
    path.write_bytes(bytes(blob))
    assert_same(load_mnist(mnist_dir), mnist)            # correct data from the sources ...
    assert path.read_bytes() != bytes(blob)              # ... and the cache rewritten
    with monkeypatch.context() as m:
        no_source_reads(m)
        assert_same(load_mnist(mnist_dir), mnist)        # the rebuilt cache is intact and used


def test_changed_source_files_invalidate_the_cache(mnist_dir, cache):
    (_, y_train), _ = load_mnist(mnist_dir, verify=False)
    labels = mnist_dir / f"{TRAIN_LABELS}.gz"
    raw = bytearray(gzip.decompress(labels.read_bytes()))
    raw[8] = (raw[8] + 1) % 10                           # the first training label changes
    labels.write_bytes(gzip.compress(bytes(raw)))
    age(labels, 1800)
    (_, y_new), _ = load_mnist(mnist_dir, verify=False)
    assert y_new[0] == (y_train[0] + 1) % 10 and np.array_equal(y_new[1:], y_train[1:])
    # With verify=True neither the stale cache nor the new one (built from a file that is not
    # MNIST's) may stand in for the real files: the SHA-256 check still fails.
    with pytest.raises(DataError, match="SHA-256 mismatch"):
        load_mnist(mnist_dir)


def test_recently_modified_files_are_not_cached(mnist, mnist_dir, cache):
    (mnist_dir / f"{TRAIN_LABELS}.gz").touch()           # now: its mtime may not be final yet
    assert_same(load_mnist(mnist_dir), mnist)
    assert cache_files(cache) == []


def test_an_unwritable_cache_location_still_loads(mnist, mnist_dir, tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("MINNET_DATA_CACHE", str(blocker / "cache"))   # mkdir fails: NotADirectory
    assert_same(load_mnist(mnist_dir), mnist)

    def read_only(*args, **kwargs):
        raise OSError(30, "Read-only file system")
    folder = tmp_path / "ro"
    monkeypatch.setenv("MINNET_DATA_CACHE", str(folder))
    monkeypatch.setattr(data_cache.tempfile, "mkstemp", read_only)
    assert_same(load_mnist(mnist_dir), mnist)
    assert cache_files(folder) == []


def test_cache_can_be_switched_off(mnist_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("MINNET_DATA_CACHE", "off")
    assert data_cache.cache_dir() is None
    load_mnist(mnist_dir)
    folder = tmp_path / "explicit"
    load_mnist(mnist_dir, cache=False)
    assert cache_files(folder) == []
    load_mnist(mnist_dir, cache=folder)                  # an explicit folder wins over the variable
    assert len(cache_files(folder)) == 1


def test_at_most_max_entries_cache_files_are_kept(tmp_path, cache):
    arrays = {"a": np.arange(5, dtype=np.uint8)}
    for i in range(data_cache.MAX_ENTRIES + 2):
        source = tmp_path / f"src{i}"
        source.mkdir()
        (source / "a").write_bytes(b"x")
        age(source / "a")
        paths = {"a": source / "a"}
        assert data_cache.store(cache, source, paths, data_cache.source_key(paths), arrays,
                                {"a": "0" * 64}) is not None
        hit, digests = data_cache.load(cache, source, paths)
        assert np.array_equal(hit["a"], arrays["a"]) and digests == {"a": "0" * 64}
    assert len(cache_files(cache)) == data_cache.MAX_ENTRIES

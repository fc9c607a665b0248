"""Load MNIST (or any dataset stored in MNIST's IDX format) as NumPy arrays.

The IDX format (http://yann.lecun.com/exdb/mnist/) is a tiny binary layout:

    bytes 0-1   0x00 0x00
    byte  2     dtype code: 0x08 ubyte, 0x09 byte, 0x0B short, 0x0C int, 0x0D float, 0x0E double
    byte  3     number of dimensions, ndim
    4 * ndim    the size of each dimension, big-endian uint32
    the rest    the values, row-major (C order), big-endian

MNIST's images are ``(N, 28, 28)`` ubyte arrays and its labels ``(N,)`` ubyte arrays, usually gzipped.
Everything that can go wrong with a data file raises ``minnet.errors.DataError`` with a message naming
the file, the fault and what to do about it.
"""

import gzip
import hashlib
import math
import os
import zlib
from pathlib import Path

import numpy as np

from minnet import data_cache
from minnet.errors import ConfigError, DataError

# IDX dtype code -> big-endian NumPy dtype (">" = big-endian; single bytes have no byte order).
IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

# MNIST's four file names (without ".gz"). Other IDX datasets, e.g. Fashion-MNIST, use the same names.
TRAIN_IMAGES = "train-images-idx3-ubyte"
TRAIN_LABELS = "train-labels-idx1-ubyte"
TEST_IMAGES = "t10k-images-idx3-ubyte"
TEST_LABELS = "t10k-labels-idx1-ubyte"
IDX_FILE_NAMES = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)

# SHA-256 of each file's *decompressed* bytes. Hashing the decompressed bytes (not the .gz) means the
# same digest checks a gzipped and an uncompressed copy, whatever gzip level or tool made the .gz.
MNIST_SHA256 = {
    TRAIN_IMAGES: "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    TRAIN_LABELS: "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    TEST_IMAGES: "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    TEST_LABELS: "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

# The repository's data/mnist folder, found from this file rather than the working directory, so
# load_mnist() works from any folder (the package is installed editable from the checkout).
DEFAULT_MNIST_DIR = Path(__file__).resolve().parent.parent / "data" / "mnist"

_GZIP_MAGIC = b"\x1f\x8b"
_README_HINT = "see data/README.md for where to get the files"


def _read_decompressed(path: Path) -> bytes:
    """Return the file's bytes, gunzipped if it is a gzip file."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: file not found; check the path ({_README_HINT})") from None
    except OSError as e:
        raise DataError(f"{path}: cannot read the file ({e.strerror or e}); check the path and permissions") from None
    # Why sniff the first two bytes instead of trusting the ".gz" suffix: some browsers silently
    # decompress a download but keep its ".gz" name, and a plain file may be named anything.
    if not raw.startswith(_GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except EOFError:
        raise DataError(
            f"{path}: truncated gzip stream (the file ends before the end of the compressed data); "
            f"the download was probably cut off, download the file again"
        ) from None
    except (OSError, zlib.error) as e:  # gzip.BadGzipFile is an OSError (bad header, CRC mismatch)
        raise DataError(f"{path}: corrupt gzip data ({e}); download the file again") from None


def _parse_idx(data: bytes, path: Path) -> np.ndarray:
    """Parse the bytes of an (already decompressed) IDX file; ``path`` is only used in messages."""
    if len(data) < 4:
        raise DataError(f"{path}: truncated, only {len(data)} bytes, too short for the 4-byte IDX magic number; "
                        f"download or re-create the file")
    zero0, zero1, code, ndim = data[:4]
    if zero0 != 0 or zero1 != 0 or code not in IDX_DTYPES or ndim == 0:
        raise DataError(
            f"{path}: wrong magic number 0x{data[:4].hex()}, expected 0x0000TTNN with TT an IDX dtype code "
            f"({', '.join(f'{c:02x}' for c in IDX_DTYPES)}) and NN >= 1 dimensions; this is not an IDX file "
            f"(an HTML error page saved under the file's name, or the wrong file?), download it again"
        )
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise DataError(f"{path}: truncated inside the header ({len(data)} bytes, the header of a "
                        f"{ndim}-D IDX file needs {header_size}); download or re-create the file")
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    dtype = IDX_DTYPES[code]
    # Python ints, so a corrupt dimension like 0xFFFFFFFF cannot overflow the byte count.
    expected = math.prod(shape) * dtype.itemsize
    got = len(data) - header_size
    if got < expected:
        raise DataError(f"{path}: truncated, the header promises shape {shape} of {dtype.name} "
                        f"({expected} data bytes) but only {got} follow; download or re-create the file")
    if got > expected:
        raise DataError(f"{path}: {got - expected} bytes of trailing garbage after the {expected} data bytes "
                        f"that shape {shape} needs; the file is corrupt, download or re-create it")
    # A read-only view of ``data``, still big-endian; callers copy it into the array they return.
    return np.frombuffer(data, dtype=dtype, offset=header_size).reshape(shape)


def _native_copy(array: np.ndarray) -> np.ndarray:
    """A writable copy in the machine's native byte order (x86 and ARM are little-endian)."""
    return array.astype(array.dtype.newbyteorder("="))


def read_idx(path) -> np.ndarray:
    """Read one IDX file (gzipped or plain) and return its array.

    The array has the shape stored in the file's header, e.g. ``(60000, 28, 28)`` for MNIST's training
    images, and the stored dtype in native byte order: uint8, int8, int16, int32, float32 or float64.

    Raises ``DataError`` if the file is missing, is not IDX (wrong magic number), is truncated (gzip
    stream cut off, or fewer data bytes than the header promises) or has trailing garbage.
    """
    path = Path(path)
    return _native_copy(_parse_idx(_read_decompressed(path), path))


def _find_idx_file(directory: Path, name: str) -> Path:
    """Return ``directory/name.gz`` or ``directory/name``, whichever exists (the .gz first)."""
    for candidate in (directory / f"{name}.gz", directory / name):
        if candidate.is_file():
            return candidate
    raise DataError(f"{directory}: missing file {name}.gz (or uncompressed {name}); "
                    f"put the dataset's four IDX files there ({_README_HINT})")


def _read_sources(paths, expected_sha256, cache_folder=None, directory=None):
    """Read, parse and verify the four files: ({name: read-only array}, {name: SHA-256 hex}).

    Structural faults come first ("truncated" says more than "bad checksum"), file by file in
    IDX_FILE_NAMES order. With a cache folder, a matching intact cache (see
    :mod:`minnet.data_cache`) replaces the reading, and a fresh read is cached for next time.
    """
    expected = {name: digest.lower() for name, digest in expected_sha256.items()}
    if cache_folder is not None:
        hit = data_cache.load(cache_folder, directory, paths)
        if hit is not None and all(hit[1].get(n) == d for n, d in expected.items()):
            return hit
    try:
        key = data_cache.source_key(paths) if cache_folder is not None else None
    except OSError:
        key = None
    arrays, digests = {}, {}
    for name in IDX_FILE_NAMES:
        data = _read_decompressed(paths[name])
        arrays[name] = _parse_idx(data, paths[name])
        digests[name] = hashlib.sha256(data).hexdigest()
        if name in expected and digests[name] != expected[name]:
            raise DataError(f"{paths[name]}: SHA-256 mismatch of the decompressed bytes, expected "
                            f"{expected[name]}, got {digests[name]}; the file is corrupt or a "
                            f"different file, download it again")
    if key is not None:
        data_cache.store(cache_folder, directory, paths, key, arrays, digests)
    return arrays, digests


def load_idx_dataset(directory, expected_sha256=None, normalize=True, cache=False):
    """Load a dataset stored like MNIST: four IDX files in ``directory`` with MNIST's file names.

    The files are ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``
    and ``t10k-labels-idx1-ubyte``, each either gzipped (name + ``.gz``, preferred) or uncompressed.
    Images must be 3-D ``(N, H, W)``, labels 1-D ``(N,)`` integers.

    ``expected_sha256`` optionally maps file names (without ``.gz``) to the SHA-256 hex digest of the
    file's decompressed bytes; a mismatch raises ``DataError``.

    Returns ``(x_train, y_train), (x_test, y_test)``: images of shape ``(N, 1, H, W)`` (a channel axis
    for convolution layers) and labels of dtype int64 in ``0..K-1``. With ``normalize=True`` (needs
    ubyte pixels) the images are float32 in ``[0, 1]`` (pixel / 255); with ``normalize=False`` they keep
    the stored dtype and values.

    ``cache``: False (default here), True (the default cache folder) or a folder: keep the decoded
    files in a verified cache there, so the next load skips decompressing (:mod:`minnet.data_cache`).
    """
    directory = Path(directory)
    expected_sha256 = dict(expected_sha256 or {})
    unknown = set(expected_sha256) - set(IDX_FILE_NAMES)
    if unknown:  # a typo in a key would otherwise silently skip that file's check
        raise ConfigError(f"expected_sha256 has unknown file names {sorted(unknown)}; "
                         f"valid names are {list(IDX_FILE_NAMES)} (without .gz)")
    # Find all four files before decompressing anything, so a missing file is reported at once.
    paths = {name: _find_idx_file(directory, name) for name in IDX_FILE_NAMES}
    raw, _ = _read_sources(paths, expected_sha256, data_cache.cache_dir(cache), directory)
    splits = []
    for images_name, labels_name in ((TRAIN_IMAGES, TRAIN_LABELS), (TEST_IMAGES, TEST_LABELS)):
        images, labels = raw[images_name], raw[labels_name]
        if images.ndim != 3:
            raise DataError(f"{paths[images_name]}: images must be 3-D (N, H, W), got shape {images.shape}; "
                            f"is this an images file?")
        if labels.ndim != 1 or labels.dtype.kind not in "iu":
            raise DataError(f"{paths[labels_name]}: labels must be 1-D integers, got shape {labels.shape} "
                            f"of {labels.dtype}; is this a labels file?")
        if len(images) != len(labels):
            raise DataError(f"{paths[images_name].name} has {len(images)} images but {paths[labels_name].name} "
                            f"has {len(labels)} labels; the two files must come from the same dataset and split")
        splits.append((images, labels.astype(np.int64)))
    (x_train, y_train), (x_test, y_test) = splits

    if x_train.shape[1:] != x_test.shape[1:]:
        raise DataError(f"{directory}: training images are {x_train.shape[1:]} but test images are "
                        f"{x_test.shape[1:]}; the files must come from the same dataset")
    # Classes must be exactly 0..K-1: losses index their outputs with the label, so a gap or a negative
    # label would silently train on a wrong class count. The test split may lack a class, not add one.
    classes = np.unique(y_train)
    num_classes = len(classes)
    if not np.array_equal(classes, np.arange(num_classes)):
        raise DataError(f"{paths[TRAIN_LABELS]}: labels must be the classes 0..K-1 with each one present, "
                        f"got {classes.tolist()[:20]}; relabel the data")
    if len(y_test) and (y_test.min() < 0 or y_test.max() >= num_classes):
        raise DataError(f"{paths[TEST_LABELS]}: test labels must lie in 0..{num_classes - 1} like the training "
                        f"labels, got range {y_test.min()}..{y_test.max()}; relabel the data")

    def prepare(images):
        images = images[:, np.newaxis, :, :]  # (N, H, W) -> (N, 1, H, W): one channel
        if not normalize:
            return _native_copy(images)
        if images.dtype != np.uint8:
            raise DataError(f"{paths[TRAIN_IMAGES]}: normalize=True divides ubyte pixels by 255, but the images "
                            f"are {images.dtype}; pass normalize=False and scale them yourself")
        # One pass straight into a new float32 array; same result as images.astype(np.float32) / 255
        # without the full-size temporary (MNIST's training images are 188 MB as float32).
        return np.divide(images, 255, dtype=np.float32)

    return (prepare(x_train), y_train), (prepare(x_test), y_test)


def load_mnist(directory=None, verify=True, cache=True):
    """Load MNIST: 60000 training and 10000 test images of handwritten digits 0-9.

    The folder is ``directory`` if given, else the environment variable ``MINNET_DATA`` if set, else
    the repository's ``data/mnist`` (found from this file, not from the working directory). It holds
    MNIST's four IDX files, gzipped or not. With ``verify=True`` each file's decompressed bytes are
    checked against the known SHA-256 digests (``DataError`` on a mismatch).

    ``cache=True`` keeps the decoded files in a verified cache (``MINNET_DATA_CACHE``, default the
    checkout's ignored ``.cache/data``; ``MINNET_DATA_CACHE=off`` disables it): a second load reads
    55 MB and checks its SHA-256 instead of decompressing, and a damaged cache is rebuilt, never
    used (see :mod:`minnet.data_cache`). ``cache=False`` or a folder path also work.

    Returns ``(x_train, y_train), (x_test, y_test)``: ``x_train`` float32 ``(60000, 1, 28, 28)`` in
    ``[0, 1]``, ``y_train`` int64 ``(60000,)`` in ``0..9``, ``x_test`` ``(10000, 1, 28, 28)``,
    ``y_test`` ``(10000,)``.
    """
    if directory is not None:
        source = "the directory argument"
    elif os.environ.get("MINNET_DATA"):
        directory, source = os.environ["MINNET_DATA"], "the MINNET_DATA environment variable"
    else:
        directory, source = DEFAULT_MNIST_DIR, "the default data/mnist folder"
    directory = Path(directory).expanduser()
    if not directory.is_dir():
        raise DataError(f"{directory}: MNIST folder not found (taken from {source}); pass directory=... or "
                        f"set MINNET_DATA to the folder holding MNIST's four IDX files ({_README_HINT})")
    train, test = load_idx_dataset(directory, expected_sha256=MNIST_SHA256 if verify else None,
                                   cache=cache)
    if len(train[0]) != 60000 or len(test[0]) != 10000 or train[0].shape[1:] != (1, 28, 28):
        raise DataError(f"{directory}: expected MNIST's 60000 + 10000 images of 28x28, got {train[0].shape} and "
                        f"{test[0].shape}; this is another dataset, load it with load_idx_dataset()")
    return train, test


def split_validation(x, y, size, seed):
    """Hold out ``size`` training examples as a validation split (Han et al. decide nothing on test).

    x: (N, ...), y: (N,); size: 0 <= size < N; seed: the run's seed. The held-out indices are
    ``default_rng(SeedSequence([seed, 1])).permutation(N)[:size]`` sorted; the rest, in their
    original order, stay for training, so size = 0 returns the data unchanged.
    Returns ((x_train, y_train), (x_val, y_val), record) where record describes the split for
    report.json: {"validation_size", "train_size", "seed", "rule", "validation_indices_sha256"}.
    """
    n = len(x)
    if len(y) != n:
        raise DataError(f"split_validation: {n} inputs but {len(y)} labels")
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or not 0 <= size < n:
        raise DataError(f"validation size must be an integer in [0, {n}) (the training set has {n} "
                        f"examples), got {size!r}; lower --val-size")
    held = np.sort(np.random.default_rng(np.random.SeedSequence([int(seed), 1])).permutation(n)[:size])
    keep = np.ones(n, dtype=bool)
    keep[held] = False
    record = {"validation_size": int(size), "train_size": int(n - size), "seed": int(seed),
              "rule": "sorted(default_rng(SeedSequence([seed, 1])).permutation(N)[:validation_size])",
              "validation_indices_sha256": hashlib.sha256(held.astype("<i8").tobytes()).hexdigest()}
    return (x[keep], y[keep]), (x[held], y[held]), record

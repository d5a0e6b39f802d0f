"""matrixflow.data: DataLoader's batches and orders, and the IDX reader on files written here
byte by byte (the format's header by struct, the values big-endian)."""

import gzip
import struct

import numpy as np
import pytest

from matrixflow.data import ArrayDataset, DataLoader, Dataset, load_mnist, read_idx

_CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C, np.float32: 0x0D,
          np.float64: 0x0E}


def _idx_bytes(array):
    """An IDX file's bytes, written from the format's description."""
    array = np.asarray(array)
    header = struct.pack(">BBBB", 0, 0, _CODES[array.dtype.type], array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def _write(path, array, compress=False):
    data = _idx_bytes(array)
    if compress:
        data = gzip.compress(data)
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("dtype", list(_CODES))
@pytest.mark.parametrize("compress", [False, True])
def test_read_idx_gives_back_what_was_written(tmp_path, dtype, compress):
    rng = np.random.default_rng(0)
    array = (rng.standard_normal((3, 4, 5)) * 50).astype(dtype)
    loaded = read_idx(_write(tmp_path / "a.idx", array, compress))
    assert loaded.dtype == np.dtype(dtype) and loaded.dtype.isnative
    np.testing.assert_array_equal(loaded, array)
    loaded[0, 0, 0] = 1  # a writable array of its own


def test_read_idx_reads_the_bytes_in_big_endian_order(tmp_path):
    path = tmp_path / "labels"
    path.write_bytes(bytes([0, 0, 0x0C, 1, 0, 0, 0, 2, 0, 0, 1, 0, 0xFF, 0xFF, 0xFF, 0xFE]))
    np.testing.assert_array_equal(read_idx(path), [256, -2])


@pytest.mark.parametrize("data, words", [
    (b"\x01\x02\x08\x01", "is not an IDX file"),
    (bytes([0, 0, 0x07, 1, 0, 0, 0, 1, 5]), "unknown IDX type code 0x07"),
    (bytes([0, 0, 0x08, 2, 0, 0, 0, 2]), "ends inside its header"),
    (bytes([0, 0, 0x08, 1, 0, 0, 0, 3, 1, 2]), "has 10 bytes, but its header (shape (3,)"),
])
def test_read_idx_refuses_what_is_not_idx(tmp_path, data, words):
    path = tmp_path / "bad"
    path.write_bytes(data)
    with pytest.raises(ValueError) as caught:
        read_idx(path)
    assert words in str(caught.value)


def _damaged(data, how):
    """gzip bytes cut short, with a changed checksum, or with a broken deflate block."""
    if how == "truncated":
        return data[:-6]
    damaged = bytearray(data)
    damaged[-6 if how == "checksum" else 10] ^= 0xFF
    return bytes(damaged)


@pytest.mark.parametrize("how", ["truncated", "checksum", "deflate"])
def test_read_idx_names_a_damaged_gzip_file(tmp_path, how):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(_damaged(gzip.compress(_idx_bytes(np.arange(12, dtype=np.uint8))), how))
    with pytest.raises(ValueError) as caught:
        read_idx(path)
    assert str(caught.value).startswith(f"read_idx: {path} is a damaged gzip file (")


def _fake_mnist(folder, compress, train=5, test=3):
    rng = np.random.default_rng(1)
    arrays = {}
    for part, n in (("train", train), ("t10k", test)):
        images = rng.integers(0, 256, (n, 28, 28)).astype(np.uint8)
        labels = rng.integers(0, 10, n).astype(np.uint8)
        suffix = ".gz" if compress else ""
        _write(folder / f"{part}-images-idx3-ubyte{suffix}", images, compress)
        _write(folder / f"{part}-labels-idx1-ubyte{suffix}", labels, compress)
        arrays[part] = images, labels
    return arrays


@pytest.mark.parametrize("compress", [False, True])
def test_load_mnist_gives_rows_of_784_pixels_and_int_labels(tmp_path, compress):
    written = _fake_mnist(tmp_path, compress)
    mnist = load_mnist(tmp_path)
    assert mnist.X_train.shape == (5, 784) and mnist.X_test.shape == (3, 784)
    assert mnist.X_train.dtype == np.uint8 and mnist.y_train.dtype == np.int64
    np.testing.assert_array_equal(mnist.X_train[2], written["train"][0][2].reshape(-1))
    np.testing.assert_array_equal(mnist.y_test, written["t10k"][1])


def test_load_mnist_says_which_file_is_missing(tmp_path):
    _fake_mnist(tmp_path, False)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(FileNotFoundError, match=r"no t10k-labels-idx1-ubyte .* downloads nothing"):
        load_mnist(tmp_path)


def test_load_mnist_refuses_labels_that_do_not_match_the_images(tmp_path):
    _fake_mnist(tmp_path, False)
    _write(tmp_path / "train-labels-idx1-ubyte", np.zeros(4, np.uint8))
    with pytest.raises(ValueError, match="train files hold images of shape"):
        load_mnist(tmp_path)


def test_batches_in_order_with_the_last_one_short_or_dropped():
    X, y = np.arange(20.0).reshape(10, 2), np.arange(10)
    batches = list(DataLoader(ArrayDataset(X, y), batch_size=4))
    assert [len(b[1]) for b in batches] == [4, 4, 2]
    np.testing.assert_array_equal(batches[1][0], X[4:8])
    np.testing.assert_array_equal(np.concatenate([b[1] for b in batches]), y)
    dropped = DataLoader(ArrayDataset(X, y), batch_size=4, drop_last=True)
    assert len(dropped) == 2 and [len(b[1]) for b in dropped] == [4, 4]
    assert len(DataLoader(ArrayDataset(X), batch_size=3)) == 4


def test_shuffle_is_a_new_permutation_each_epoch_reproducible_from_the_seed():
    X, y = np.arange(30.0).reshape(30, 1), np.arange(30)
    loader = DataLoader(ArrayDataset(X, y), batch_size=7, shuffle=True, seed=3)
    first = np.concatenate([b[1] for b in loader])
    second = np.concatenate([b[1] for b in loader])
    assert sorted(first) == list(range(30)) and not np.array_equal(first, second)
    again = DataLoader(ArrayDataset(X, y), batch_size=7, shuffle=True, seed=3)
    np.testing.assert_array_equal(np.concatenate([b[1] for b in again]), first)
    for batch_X, batch_y in loader:  # inputs and targets stay paired
        np.testing.assert_array_equal(batch_X.ravel(), batch_y)


def test_images_become_rows_and_transforms_apply_to_whole_batches():
    images = np.arange(2 * 3 * 4 * 4, dtype=np.uint8).reshape(2, 3, 4, 4)  # N, C, H, W
    dataset = ArrayDataset(images, np.array([1, 0]), transform=lambda x: x / 255.0,
                           target_transform=lambda t: t + 10)
    (X, y), = DataLoader(dataset, batch_size=2)
    assert X.shape == (2, 48) and X.dtype == np.float64
    np.testing.assert_array_equal(X, images.reshape(2, -1) / 255.0)  # PyTorch's x.reshape(N, -1)
    np.testing.assert_array_equal(y, [11, 10])
    sample, label = dataset[1]
    assert sample.shape == (3, 4, 4) and label == 10


def test_any_dataset_is_batched_sample_by_sample():
    class Squares(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, index):
            return np.array([index, index**2], dtype=float), index % 2

    batches = list(DataLoader(Squares(), batch_size=2))
    assert len(batches) == 3
    np.testing.assert_array_equal(batches[1][0], [[2, 4], [3, 9]])
    np.testing.assert_array_equal(batches[1][1], [0, 1])
    with pytest.raises(NotImplementedError, match="must define __len__"):
        len(Dataset())


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="batch_size must be an integer ≥ 1"):
        DataLoader(ArrayDataset(np.ones((3, 1))), batch_size=0)
    with pytest.raises(ValueError, match="X has 3 samples but y has 2"):
        ArrayDataset(np.ones((3, 1)), np.ones(2))
    with pytest.raises(TypeError, match="must have __len__ and __getitem__"):
        DataLoader(42)


def test_samples_of_fields_are_collated_field_by_field_as_pytorchs_default_collate():
    from collections import namedtuple

    import torch
    from torch.utils.data import default_collate

    Pair = namedtuple("Pair", "image label")
    rng = np.random.default_rng(4)
    rows = [rng.standard_normal(3) for _ in range(4)]
    for make in (lambda i: [rows[i], i], lambda i: (rows[i], i), lambda i: Pair(rows[i], i),
                 lambda i: {"x": rows[i], "y": float(i)}, lambda i: [rows[i], (i, 2 * i)]):
        samples = [make(i) for i in range(4)]  # a list is a dataset: __len__, __getitem__
        (ours,) = list(DataLoader(samples, batch_size=4))
        theirs = default_collate(samples)

        def same(a, b, example):
            """a (ours) against b (torch's) at the level where a sample holds `example`."""
            if isinstance(b, torch.Tensor):
                np.testing.assert_array_equal(a, b.numpy())
            elif isinstance(b, dict):
                assert type(a) is dict and a.keys() == b.keys()
                for key in b:
                    same(a[key], b[key], example[key])
            else:
                # torch gives a list for a plain tuple (for backward compatibility); matrixflow
                # keeps the sample's own type, so that `for X, y in loader` unpacks a tuple
                assert type(a) is type(example) and len(a) == len(b)
                for x, y, part in zip(a, b, example):
                    same(x, y, part)

        same(ours, theirs, samples[0])
    with pytest.raises(ValueError, match="the samples have 1 and 2 fields"):
        from matrixflow.data import collate

        collate([[1.0], [1.0, 2.0]])

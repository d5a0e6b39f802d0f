"""Data for training loops: Dataset, ArrayDataset, DataLoader, and the MNIST IDX reader.

A DataLoader yields batches as NumPy arrays ready for matrixflow: inputs as a matrix with one
sample per row (images flattened in (channel, row, column) order, PyTorch's x.reshape(N, -1)),
labels as they are (a 1-D array of class indices for `mf.cross_entropy`).  Like PyTorch's, it
batches in order unless `shuffle`, which draws a new order each epoch from a generator seeded
once by `seed`: the same seed gives the same epochs on every run.

`read_idx` reads one file of the IDX format MNIST is distributed in (gzip-compressed or not)
and `load_mnist(folder)` the four MNIST files in a folder.  Nothing is downloaded: the files
are the user's.
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from typing import NamedTuple

import numpy as np

__all__ = ["MNIST", "ArrayDataset", "DataLoader", "Dataset", "load_mnist", "read_idx"]


class Dataset:
    """A collection of samples: `len(dataset)` and `dataset[i]`, a sample or an (input, target)
    tuple.  Subclass it and define both (DeZero's and PyTorch's map-style dataset)."""

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")


def as_rows(batch):
    """A batch as a matrix when it has more than two axes: N × (the rest), in C order."""
    batch = np.asarray(batch)
    return batch.reshape(batch.shape[0], -1) if batch.ndim > 2 else batch


class ArrayDataset(Dataset):
    """Samples held in arrays: X (n_samples, …) and optionally y (n_samples, …).

    `transform` and `target_transform`, when given, are applied to what is returned: to one
    sample for `dataset[i]`, to a whole batch when a DataLoader asks for many indices at once —
    so write them with NumPy operations that work on both (`lambda x: x / 255.0`).
    """

    def __init__(self, X, y=None, transform=None, target_transform=None):
        self.X = np.asarray(X)
        self.y = None if y is None else np.asarray(y)
        if self.X.ndim == 0:
            raise ValueError("ArrayDataset: X must hold one sample per entry of its first axis")
        if self.y is not None and len(self.y) != len(self.X):
            raise ValueError(f"ArrayDataset: X has {len(self.X)} samples but y has "
                             f"{len(self.y)}")
        self.transform, self.target_transform = transform, target_transform

    def __len__(self) -> int:
        return len(self.X)

    def __getitem__(self, index):
        x = self.X[index]
        if self.transform is not None:
            x = self.transform(x)
        if self.y is None:
            return x
        target = self.y[index]
        if self.target_transform is not None:
            target = self.target_transform(target)
        return x, target

    def batch(self, indices):
        """The samples at `indices` as one batch (inputs as rows), in a single indexing."""
        item = self[np.asarray(indices)]
        if self.y is None:
            return as_rows(item)
        return as_rows(item[0]), np.asarray(item[1])


def collate(samples):
    """Stack samples into a batch, field by field as PyTorch's default_collate: a tuple or list
    sample is fields, each batched on its own (a tuple of batches for tuples, a named tuple
    kept, a list for lists), a dict key by key; arrays and numbers are stacked, and an input
    with more than one axis per sample becomes rows of a matrix (see `as_rows`)."""
    first = samples[0]
    if isinstance(first, dict):
        return {key: collate([sample[key] for sample in samples]) for key in first}
    if isinstance(first, (tuple, list)):
        sizes = sorted({len(sample) for sample in samples})
        if len(sizes) > 1:
            raise ValueError(f"collate: the samples have {' and '.join(map(str, sizes))} "
                             "fields; every sample of a batch needs the same fields")
        fields = [collate(list(field)) for field in zip(*samples)]
        if isinstance(first, tuple):
            return type(first)(*fields) if hasattr(first, "_fields") else tuple(fields)
        return fields
    return as_rows(np.stack(samples))


class DataLoader:
    """Batches of a dataset: DataLoader(dataset, batch_size=1, shuffle=False, seed=None,
    drop_last=False), PyTorch's defaults.

    Iterating gives one epoch of batches; with `shuffle` each epoch takes a new order from a
    generator seeded by `seed` (an int, a numpy Generator, or None for fresh entropy).
    `drop_last` leaves out a last batch smaller than batch_size.  An ArrayDataset is batched by
    one indexing per batch; any other Dataset sample by sample, joined by `collate`.
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, seed=None, drop_last=False,
                 collate_fn=collate):
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or \
                batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be an integer ≥ 1, got "
                             f"{batch_size!r}")
        if not hasattr(dataset, "__len__") or not hasattr(dataset, "__getitem__"):
            raise TypeError(f"DataLoader: the dataset must have __len__ and __getitem__, got "
                            f"{type(dataset).__name__}")
        self.dataset, self.batch_size = dataset, int(batch_size)
        self.shuffle, self.drop_last = bool(shuffle), bool(drop_last)
        self.generator = np.random.default_rng(seed)
        self.collate_fn = collate_fn

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self):
        n = len(self.dataset)
        order = self.generator.permutation(n) if self.shuffle else np.arange(n)
        for batch in range(len(self)):
            indices = order[batch * self.batch_size:(batch + 1) * self.batch_size]
            if isinstance(self.dataset, ArrayDataset):
                yield self.dataset.batch(indices)
            else:
                yield self.collate_fn([self.dataset[int(i)] for i in indices])


# ---- IDX files (MNIST) ---------------------------------------------------------------------
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path) -> np.ndarray:
    """The array stored in an IDX file (MNIST's format), gzip-compressed or not.

    The header is two zero bytes, a type code (0x08 unsigned byte, 0x09 signed byte, 0x0B
    int16, 0x0C int32, 0x0D float32, 0x0E float64), the number of dimensions, and each
    dimension as a big-endian uint32; the values follow, big-endian, in C order.
    """
    with open(path, "rb") as handle:
        compressed = handle.read(2) == b"\x1f\x8b"
    try:
        with (gzip.open(path, "rb") if compressed else open(path, "rb")) as handle:
            data = handle.read()
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:  # cut short, or bytes changed
        raise ValueError(f"read_idx: {path} is a damaged gzip file ({exc}); download or copy "
                         "it again") from exc
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ValueError(f"read_idx: {path} is not an IDX file: it starts with {data[:4]!r}, "
                         "not two zero bytes, a type code and a number of dimensions")
    code, ndim = data[2], data[3]
    if code not in _IDX_TYPES:
        raise ValueError(f"read_idx: {path} has the unknown IDX type code 0x{code:02X} (known: "
                         + ", ".join(f"0x{c:02X}" for c in _IDX_TYPES) + ")")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"read_idx: {path} ends inside its header ({len(data)} bytes)")
    shape = tuple(int(d) for d in np.frombuffer(data, ">u4", ndim, offset=4))
    dtype = np.dtype(_IDX_TYPES[code])
    expected = header + math.prod(shape) * dtype.itemsize
    if len(data) != expected:
        raise ValueError(f"read_idx: {path} has {len(data)} bytes, but its header (shape "
                         f"{shape}, {dtype.itemsize}-byte values) needs {expected}: the file "
                         "is truncated or not IDX")
    values = np.frombuffer(data, dtype, offset=header).reshape(shape)
    return values.astype(dtype.newbyteorder("="))  # native byte order, and a writable copy


class MNIST(NamedTuple):
    """MNIST's four arrays: images as rows of 784 pixels (uint8, 0–255), labels as int64."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


_MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                "t10k-labels-idx1-ubyte")


def _find(folder, name):
    """folder/name, with .gz, or with the '.' some copies have before idx (train-images.idx3)."""
    for candidate in (name, name.replace("-idx", ".idx")):
        for suffix in ("", ".gz"):
            path = os.path.join(folder, candidate + suffix)
            if os.path.exists(path):
                return path
    raise FileNotFoundError(
        f"load_mnist: no {name} (or {name}.gz) in {folder}. MNIST is the four IDX files "
        f"{', '.join(_MNIST_FILES)}; matrixflow downloads nothing: put them there first")


def load_mnist(folder) -> MNIST:
    """MNIST (or Fashion-MNIST: the same files) from a folder: X_train (60000 × 784), y_train,
    X_test (10000 × 784), y_test.  Each image is a row of 28·28 pixels, row by row, as uint8;
    scale it yourself (x / 255.0) — as float64 the training images alone take 376 MB."""
    arrays = [read_idx(_find(folder, name)) for name in _MNIST_FILES]
    for images, labels, part in ((arrays[0], arrays[1], "train"), (arrays[2], arrays[3], "t10k")):
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise ValueError(f"load_mnist: the {part} files hold images of shape {images.shape} "
                             f"and labels of shape {labels.shape}; expected (n, rows, cols) "
                             "and (n,)")
    rows = [a.reshape(len(a), -1) if a.ndim == 3 else a.astype(np.int64) for a in arrays]
    return MNIST(*rows)

"""Images as rows of a matrix: im2col, its adjoint col2im, and max_pool.

A batch of N images of C channels, H×W pixels, is the N × (C·H·W) matrix whose row n is image n
read in (channel, row, column) order — PyTorch's `x.reshape(N, -1)`.  With a kernel kh×kw,
stride (sh, sw) and zero padding (ph, pw), each image has H'×W' output positions,
H' = ⌊(H + 2ph − kh)/sh⌋ + 1 (likewise W').

`im2col(X)` is the (H'·W'·N) × (C·kh·kw) matrix with one patch per row: row (i·W' + j)·N + n
holds the patch of image n under output position (i, j), in (channel, kernel row, kernel
column) order.  A convolution is then one matrix product, im2col(X)·W with W (C·kh·kw) × O,
and the patches of all N images at one position lie next to each other so that the product
reaches PyTorch's N × (O·H'·W') layout by reshapes and one transpose (matrixflow.nn.Conv2d).
im2col is linear — it copies entries — so its gradient is its adjoint, col2im, which adds
every patch entry back where it came from (overlapping patches add up); and col2im's gradient
is im2col.

`max_pool(X)` takes the largest entry of each window of each channel: N × (C·H'·W'), the
layout of its input.  Its gradient sends each Ȳ entry to the pixel PyTorch's max_pool2d
picks — the first maximum of the window's pixels in the image, or its last NaN — as col2im
of a one-hot mask.
"""

from __future__ import annotations

import numbers

import numpy as np

from .. import symbolic_hooks as _symbolic
from ..backend import array_module, is_cupy_array
from ..node import Node
from .base import Rule, apply1, defop, value
from .structure import reshape

_SHAPES = ("A: N×(C·H·W) → Y: (H'·W'·N)×(C·kh·kw), H' = ⌊(H + 2ph − kh)/sh⌋ + 1, "
           "W' likewise")


# ---- geometry ----------------------------------------------------------------------------
def _pair(name, what, value_, minimum):
    """An int or a pair of ints, each ≥ minimum, as a pair."""
    if isinstance(value_, numbers.Integral):
        parts = (value_, value_)
    else:
        parts = tuple(value_) if isinstance(value_, (tuple, list)) else ()
    if len(parts) != 2 or not all(isinstance(p, numbers.Integral) and not isinstance(p, bool)
                                  for p in parts):
        raise TypeError(f"{name}: {what} must be an int or a pair of ints, got {value_!r}")
    if min(parts) < minimum:
        raise ValueError(f"{name}: {what} must be ≥ {minimum}, got {value_!r}")
    return int(parts[0]), int(parts[1])


def window(name, kernel_size, stride=1, padding=0):
    """(kernel, stride, padding) as pairs, checked: kernel and stride ≥ 1, padding ≥ 0."""
    return (_pair(name, "kernel_size", kernel_size, 1), _pair(name, "stride", stride, 1),
            _pair(name, "padding", padding, 0))


def positive_int(name, what, value_):
    """value_ as an int ≥ 1; a float, even 3.0, is refused rather than truncated."""
    if isinstance(value_, bool) or not isinstance(value_, numbers.Integral):
        raise TypeError(f"{name}: {what} must be a positive integer, got {value_!r}")
    if value_ < 1:
        raise ValueError(f"{name}: {what} must be ≥ 1, got {value_!r}")
    return int(value_)


def image_shape_of(name, image_shape):
    """(C, H, W) as three positive ints, or an error that says what image_shape is."""
    if image_shape is None:
        raise TypeError(f"{name}: image_shape=(channels, height, width) is required: a row of "
                        "the input holds an image's pixels, not its shape (after a Conv2d "
                        "pass image_shape=conv.output_shape)")
    try:
        parts = tuple(image_shape)
    except TypeError:
        parts = ()
    if len(parts) != 3 or not all(isinstance(d, numbers.Integral) and not isinstance(d, bool)
                                  for d in parts):
        raise TypeError(f"{name}: image_shape must be (channels, height, width), three "
                        f"integers, got {image_shape!r}")
    if min(parts) < 1:
        raise ValueError(f"{name}: image_shape must be positive, got {parts}")
    return tuple(int(d) for d in parts)


def geometry(name, image_shape, kernel_size, stride=1, padding=0):
    """The constants of an image op, checked: image_shape (C, H, W), kernel, stride, padding."""
    channels, height, width = image_shape_of(name, image_shape)
    kernel, stride, padding = window(name, kernel_size, stride, padding)
    padded = (height + 2 * padding[0], width + 2 * padding[1])
    if kernel[0] > padded[0] or kernel[1] > padded[1]:
        raise ValueError(
            f"{name}: the kernel {kernel[0]}×{kernel[1]} is larger than the padded image "
            f"{padded[0]}×{padded[1]} (image {height}×{width}, padding {padding}); use a "
            "smaller kernel_size or more padding")
    return {"image_shape": (channels, height, width), "kernel": kernel, "stride": stride,
            "padding": padding}


def pool_geometry(name, image_shape, kernel_size, stride=None, padding=0):
    """geometry() of max pooling: stride defaults to the kernel, padding at most half of it."""
    attrs = geometry(name, image_shape, kernel_size, kernel_size if stride is None else stride,
                     padding)
    kernel, padding_ = attrs["kernel"], attrs["padding"]
    if padding_[0] > kernel[0] // 2 or padding_[1] > kernel[1] // 2:
        raise ValueError(f"{name}: padding {padding_} must be at most half the kernel "
                         f"{kernel} (so every window holds a pixel of the image)")
    return attrs


def output_size(image_shape, kernel, stride, padding):
    """(H', W'): the output positions of a kernel over the padded image."""
    _, height, width = image_shape
    return ((height + 2 * padding[0] - kernel[0]) // stride[0] + 1,
            (width + 2 * padding[1] - kernel[1]) // stride[1] + 1)


def check_images(name, shape, image_shape):
    """A ValueError naming `name` unless each row of a `shape` matrix is one image."""
    channels, height, width = image_shape
    if shape[1] != channels * height * width:
        raise ValueError(
            f"{name}: image_shape {image_shape} has {channels * height * width} entries per "
            f"image, but the matrix {shape} has {shape[1]} columns; each row must be one image "
            "in (channel, row, column) order (PyTorch's x.reshape(N, -1))")


def _image_hint(shape):
    return (": for one image use x.reshape(1, -1)" if len(shape) < 2 else
            f": use x.reshape({shape[0]}, -1)")


def as_matrix(name, x, layout="images are the rows of a matrix, N × (C·H·W), as PyTorch's "
              "x.reshape(N, -1)", hint=_image_hint):
    """x as the matrix an op or layer `name` reads (a list becomes a Node, an array stays one),
    or a ValueError naming `name` that says what `layout` it needs and, by `hint(shape)`, how
    to get there from x's shape."""
    shape = getattr(x, "shape", None)
    if shape is None:
        shape = np.shape(x)
    if len(shape) != 2:
        kind = "a number" if not shape else f"a {len(shape)}-D array of shape {tuple(shape)}"
        raise ValueError(f"{name}: the input is {kind}, but {layout}{hint(shape)}")
    if isinstance(x, (np.ndarray, Node, _symbolic.Matrix)) or is_cupy_array(x):
        return x  # functions of arrays return arrays
    try:
        return Node(x)  # a list; a torch tensor is refused
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{name}: {exc}") from exc


# ---- the forwards, on arrays -------------------------------------------------------------
def _windows(A, image_shape, kernel, stride, padding, fill=0.0):
    """Every window of every image, as an (N, C, H', W', kh, kw) view of the padded images."""
    xp = array_module(A)
    images = A.reshape(A.shape[0], *image_shape)
    if padding != (0, 0):
        (ph, pw) = padding
        images = xp.pad(images, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
    windows = xp.lib.stride_tricks.sliding_window_view(images, kernel, axis=(2, 3))
    return windows[:, :, ::stride[0], ::stride[1]]


def _im2col(A, image_shape, kernel, stride, padding):
    windows = _windows(A, image_shape, kernel, stride, padding)
    n, channels, rows, cols = windows.shape[:4]
    # (H', W', N, C, kh, kw): one patch per row, the N images of a position side by side
    patches = windows.transpose(2, 3, 0, 1, 4, 5).reshape(rows * cols * n,
                                                          channels * kernel[0] * kernel[1])
    # one window per image (the kernel covers it) reshapes to a view of the input: a result
    # must own its memory, as every other op's does
    return patches.copy() if patches.base is not None else patches


def _col2im(A, image_shape, kernel, stride, padding):
    channels, height, width = image_shape
    rows, cols = output_size(image_shape, kernel, stride, padding)
    n = A.shape[0] // (rows * cols)
    patches = A.reshape(rows, cols, n, channels, *kernel).transpose(2, 3, 4, 5, 0, 1)
    (ph, pw), (sh, sw) = padding, stride
    images = array_module(A).zeros((n, channels, height + 2 * ph, width + 2 * pw), A.dtype)
    for ki in range(kernel[0]):  # kh·kw strided additions: each adds one entry of every patch
        for kj in range(kernel[1]):
            images[:, :, ki:ki + sh * (rows - 1) + 1:sh, kj:kj + sw * (cols - 1) + 1:sw] += \
                patches[:, :, ki, kj]
    return images[:, :, ph:ph + height, pw:pw + width].reshape(n, channels * height * width)


def _pool_windows(A, image_shape, kernel, stride, padding):
    """(H'·W'·N·C) × (kh·kw): one pooling window per row, padded with −∞ (never a maximum)."""
    windows = _windows(A, image_shape, kernel, stride, padding, fill=-np.inf)
    n, channels, rows, cols = windows.shape[:4]
    return windows.transpose(2, 3, 0, 1, 4, 5).reshape(rows * cols * n * channels,
                                                       kernel[0] * kernel[1])


def _from_window_order(M, n, channels, positions):
    """Rows (i, j, n, c) of a column to N × (C·H'·W'): (H'W') × (N·C), transposed, reshaped."""
    return M.reshape(positions, n * channels).T.reshape(n, channels * positions)


def _max_pool(A, image_shape, kernel, stride, padding):
    rows, cols = output_size(image_shape, kernel, stride, padding)
    maxima = _pool_windows(A, image_shape, kernel, stride, padding).max(axis=1)
    return _from_window_order(maxima, A.shape[0], image_shape[0], rows * cols)


def _inside_image(image_shape, kernel, stride, padding, xp):
    """(H'·W') × (kh·kw): True where a window's cell lies on the image, False on the padding."""
    height, width = image_shape[1:]
    ones = xp.ones((1, height * width))
    cells = _windows(ones, (1, height, width), kernel, stride, padding, fill=0.0)
    return cells.reshape(-1, kernel[0] * kernel[1]) > 0


def _chosen_pixels(A, image_shape, kernel, stride, padding):
    """M: (H'·W'·N·C) × (kh·kw), 1 at the pixel each pooling window sends its gradient to, 0
    elsewhere — the one PyTorch's max_pool2d picks, scanning the window's pixels in the image
    in (kernel row, kernel column) order and taking each value that is larger or NaN: the last
    NaN when the window holds one, else its first maximum, so a window of −∞ pixels picks its
    first pixel in the image (never the padding)."""
    xp = array_module(A)
    windows = _pool_windows(A, image_shape, kernel, stride, padding)
    rows, size = windows.shape
    at_maximum = windows == windows.max(axis=1, keepdims=True)  # no entry of a NaN window
    if padding != (0, 0):
        inside = _inside_image(image_shape, kernel, stride, padding, xp)
        positions = inside.shape[0]  # rows run over (position, image, channel)
        at_maximum = (at_maximum.reshape(positions, rows // positions, size)
                      & inside[:, None, :]).reshape(rows, size)
    nan = xp.isnan(windows)
    last_nan = size - 1 - nan[:, ::-1].argmax(axis=1)
    chosen = xp.where(nan.any(axis=1), last_nan, at_maximum.argmax(axis=1))
    mask = xp.zeros(windows.shape, A.dtype)
    mask[xp.arange(rows), chosen] = 1.0
    return mask


def _argmax_mask(A, geometry_):
    """M for the operand A (an array or a Node); on symbols, the named function of A."""
    data = value(A)
    if type(data) is _symbolic.Matrix:
        rows, cols = output_size(**geometry_)
        channels = geometry_["image_shape"][0]
        shape = (rows * cols * data.shape[0] * channels, geometry_["kernel"][0]
                 * geometry_["kernel"][1])
        return _symbolic.function("max_pool_argmax", data, geometry_, shape)
    return _chosen_pixels(data, **geometry_)


def _seed_like(G, A):
    """Ȳ for the rule of a linear image op: when A is symbolic and Ȳ a constant (the seed of a
    sum), Ȳ as a symbolic constant, so that a closed form reads col2im(1, …) rather than the
    numbers it comes to (an anonymous C)."""
    if type(value(A)) is _symbolic.Matrix and type(value(G)) is not _symbolic.Matrix:
        return Node(_symbolic.constant(value(G)))
    return G


# ---- the ops -------------------------------------------------------------------------------
IM2COL = defop(
    "im2col",
    family="images",
    summary="Y = im2col(A): every kh×kw patch of the images in A's rows as a row of Y "
    "(stride, zero padding)",
    forward=_im2col,
    differential="dY = im2col(dA) (im2col is linear: it copies entries)",
    shapes=_SHAPES,
    rules=(Rule("A", "tr(Ȳᵀ im2col(dA)) ={adjoint} tr(col2im(Ȳ)ᵀ dA)",
                "Ā = col2im(Ȳ): each patch entry of Ȳ added back where it was copied from "
                "(overlapping patches add up)",
                lambda G, Y, A, **geometry_: apply1(COL2IM, _seed_like(G, A), geometry_)),),
    notes="Row (i·W' + j)·N + n of Y is the patch of image n at output position (i, j); its "
    "columns run over (channel, kernel row, kernel column).",
)

COL2IM = defop(
    "col2im",
    family="images",
    summary="Y = col2im(A), the adjoint of im2col: each patch entry added into its image "
    "(overlaps add up, padding dropped)",
    forward=_col2im,
    differential="dY = col2im(dA) (col2im is linear)",
    shapes="A: (H'·W'·N)×(C·kh·kw) → Y: N×(C·H·W)",
    rules=(Rule("A", "tr(Ȳᵀ col2im(dA)) ={adjoint} tr(im2col(Ȳ)ᵀ dA)",
                "Ā = im2col(Ȳ)",
                lambda G, Y, A, **geometry_: apply1(IM2COL, _seed_like(G, A), geometry_)),),
    notes="col2im is the adjoint of im2col, not its inverse: an entry copied into k patches "
    "comes back k times over.",
)


def _max_pool_rule(G, Y, A, **geometry_):
    rows, cols = output_size(**geometry_)
    n, channels = A.shape[0], geometry_["image_shape"][0]
    positions, kernel = rows * cols, geometry_["kernel"]
    # Ȳ as a column in window order (i, j, n, c): the inverse of _from_window_order
    column = reshape(reshape(G, n * channels, positions).T, positions * n * channels, 1)
    spread = column * _argmax_mask(A, geometry_)  # Ȳ at each window's maximum, 0 elsewhere
    return apply1(COL2IM, reshape(spread, positions * n, channels * kernel[0] * kernel[1]),
                  geometry_)


MAX_POOL = defop(
    "max_pool",
    family="images",
    summary="Y = the largest entry of each kh×kw window of each channel (stride, padding), "
    "images in rows as A",
    forward=_max_pool,
    differential="dY = R((M ⊙ P(dA))·1), P(A) the pooling windows one per row, M the one-hot "
    "of each window's maximum, R the reshape to N×(C·H'·W')",
    shapes="A: N×(C·H·W) → Y: N×(C·H'·W')",
    rules=(Rule("A", "tr(Ȳᵀ R((M ⊙ P(dA))·1)) ={adjoint} tr(R*(Ȳ)ᵀ (M ⊙ P(dA))·1) "
                     "={cyclic} tr((R*(Ȳ)·1ᵀ)ᵀ (M ⊙ P(dA))) ={hadamard} "
                     "tr((M ⊙ R*(Ȳ)·1ᵀ)ᵀ P(dA)) ={adjoint} tr(P*(M ⊙ R*(Ȳ)·1ᵀ)ᵀ dA)",
                "Ā = P*(M ⊙ R*(Ȳ)·1ᵀ) = col2im(M ⊙ R*(Ȳ)·1ᵀ): each Ȳ entry goes to where its "
                "window's maximum sits",
                _max_pool_rule),),
    notes="P is im2col with −∞ padding, one channel's window per row. M follows PyTorch's "
    "MaxPool2d: among the window's pixels in the image, in (kernel row, kernel column) order, "
    "the first maximum (a tie, or a window of −∞, goes to the first) or, when the window holds "
    "NaNs, the last NaN.",
)


# ---- the functions -------------------------------------------------------------------------
def im2col(x, image_shape, kernel_size, stride=1, padding=0):
    """The patches of the images in x's rows, one per row: (H'·W'·N) × (C·kh·kw).

    x is N × (C·H·W), each row an image in (channel, row, column) order; image_shape is
    (C, H, W); kernel_size, stride and padding are ints or pairs (zero padding).
    """
    x = as_matrix("im2col", x)
    attrs = geometry("im2col", image_shape, kernel_size, stride, padding)
    check_images("im2col", x.shape, attrs["image_shape"])
    return apply1(IM2COL, x, attrs)


def col2im(x, image_shape, kernel_size, stride=1, padding=0):
    """The adjoint of im2col: (H'·W'·N) × (C·kh·kw) patches added back into N images,
    N × (C·H·W) (overlapping entries add up; what falls on the padding is dropped)."""
    x = as_matrix("col2im", x, "patches are the rows of a matrix, im2col's (H'·W'·N) × "
                  "(C·kh·kw)", hint=lambda shape: "")
    attrs = geometry("col2im", image_shape, kernel_size, stride, padding)
    rows, cols = output_size(**attrs)
    channels = attrs["image_shape"][0]
    width = channels * attrs["kernel"][0] * attrs["kernel"][1]
    if x.shape[1] != width or x.shape[0] % (rows * cols):
        raise ValueError(
            f"col2im: a {x.shape} matrix is not im2col's layout for image_shape "
            f"{attrs['image_shape']}, kernel {attrs['kernel']}, stride {attrs['stride']}, "
            f"padding {attrs['padding']}: that needs {width} columns (C·kh·kw) and a multiple "
            f"of {rows * cols} rows (H'·W' per image)")
    return apply1(COL2IM, x, attrs)


def max_pool(x, image_shape, kernel_size, stride=None, padding=0):
    """The maximum of each kh×kw window of each channel: N × (C·H'·W'), x's layout.

    stride defaults to kernel_size and padding (with −∞) may be at most half the kernel, as in
    PyTorch's max_pool2d; the gradient goes where PyTorch sends it: to the first maximum of a
    window's pixels in the image (ties and all-−∞ windows included), or to its last NaN.
    """
    x = as_matrix("max_pool", x)
    attrs = pool_geometry("max_pool", image_shape, kernel_size, stride, padding)
    check_images("max_pool", x.shape, attrs["image_shape"])
    return apply1(MAX_POOL, x, attrs)

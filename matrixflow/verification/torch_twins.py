"""Every op written with PyTorch, so a whole matrixflow graph can be replayed in PyTorch.

`replay(outputs, torch)` rebuilds the graph of `outputs` op by op with these functions and
returns the PyTorch tensors, which `mf.verify` differentiates beside matrixflow.  The module
never imports torch: the caller hands it in, so it loads where PyTorch is absent.
"""

from __future__ import annotations

import numpy as np

from ..backend import to_device


def _host(array):
    """A node's constant (an index, a mask, statistics) on the host, wherever the graph ran."""
    return np.asarray(to_device(array, "cpu"))


def _keep_2d(value):
    return value.reshape(1, 1) if value.dim() == 0 else (
        value.reshape(-1, 1) if value.dim() == 1 else value)


def _reduce(method):
    def twin(t, a, axis=None):
        return getattr(t, method)(a, dim=(0, 1) if axis is None else axis, keepdim=True)

    return twin


def _getitem(t, a, index):
    rows, cols = index

    def tensor(part):
        return t.as_tensor(_host(part), device=a.device)

    if not isinstance(rows, slice) and not isinstance(cols, slice):  # paired: a column
        return a[tensor(rows), tensor(cols)].reshape(-1, 1)
    if not isinstance(rows, slice):
        return a[tensor(rows)][:, cols]
    if not isinstance(cols, slice):
        return a[rows][:, tensor(cols)]
    return a[rows, cols]


def _scatter_add(t, g, index, shape):
    rows, cols = (np.arange(shape[i])[part] if isinstance(part, slice) else _host(part)
                  for i, part in enumerate(index))
    if isinstance(index[0], slice) or isinstance(index[1], slice):
        rows, cols, values = rows[:, None], cols[None, :], g
    else:
        values = g.reshape(-1)
    zeros = t.zeros(shape, dtype=g.dtype, device=g.device)
    return zeros.index_put((t.as_tensor(rows, device=g.device),
                            t.as_tensor(cols, device=g.device)), values, accumulate=True)


def _loss(name):
    def twin(t, a, b, reduction, **options):
        return _keep_2d(getattr(t.nn.functional, name)(a, b, reduction=reduction, **options))

    return twin


def _cross_entropy(t, a, b, reduction, one_hot):
    # labels as PyTorch takes them (its one-hot probabilities path is NaN beside a −inf logit)
    target = b.argmax(dim=1) if one_hot else b
    value = t.nn.functional.cross_entropy(a, target, reduction=reduction)
    return _keep_2d(value)


def _images(t, a, image_shape):
    return a.reshape(a.shape[0], *image_shape)


def _im2col(t, a, image_shape, kernel, stride, padding):
    """F.unfold gives N × (C·kh·kw) × L; matrixflow's rows run over (position, image)."""
    patches = t.nn.functional.unfold(_images(t, a, image_shape), kernel, padding=padding,
                                     stride=stride)
    return patches.permute(2, 0, 1).reshape(-1, patches.shape[1])


def _col2im(t, a, image_shape, kernel, stride, padding):
    _, height, width = image_shape
    positions = ((height + 2 * padding[0] - kernel[0]) // stride[0] + 1) * (
        (width + 2 * padding[1] - kernel[1]) // stride[1] + 1)
    patches = a.reshape(positions, a.shape[0] // positions, a.shape[1]).permute(1, 2, 0)
    images = t.nn.functional.fold(patches, (height, width), kernel, padding=padding,
                                  stride=stride)
    return images.reshape(images.shape[0], -1)


def _max_pool(t, a, image_shape, kernel, stride, padding):
    pooled = t.nn.functional.max_pool2d(_images(t, a, image_shape), kernel, stride, padding)
    return pooled.reshape(a.shape[0], -1)


def _dropout(t, a, mask, p):
    """PyTorch's dropout with matrixflow's mask: input ⊙ (mask / (1 − p)), zeros for p = 1."""
    if p == 1.0:
        return a * 0.0
    return a * (t.as_tensor(_host(mask), dtype=a.dtype, device=a.device) / (1.0 - p))


def _batch_norm(t, a, eps, running):
    if running is None:
        return t.nn.functional.batch_norm(a, None, None, training=True, eps=eps)
    mean, var = (t.as_tensor(_host(r).reshape(-1), dtype=a.dtype, device=a.device)
                 for r in running)
    return t.nn.functional.batch_norm(a, mean, var, training=False, eps=eps)


TORCH_OPS = {
    "add": lambda t, a, b: a + b,
    "sub": lambda t, a, b: a - b,
    "neg": lambda t, a: -a,
    "mul": lambda t, a, b: a * b,
    "div": lambda t, a, b: a / b,
    "pow": lambda t, a, exponent: a**exponent,
    "rpow": lambda t, a, base: base**a,
    "matmul": lambda t, a, b: a @ b,
    "transpose": lambda t, a: a.T,
    "trace": lambda t, a: t.trace(a).reshape(1, 1),
    "inv": lambda t, a: t.linalg.inv(a),
    "det": lambda t, a: t.linalg.det(a).reshape(1, 1),
    "logdet": lambda t, a: t.logdet(a).reshape(1, 1),
    "solve": lambda t, a, b: t.linalg.solve(a, b),
    "exp": lambda t, a: t.exp(a),
    "log": lambda t, a: t.log(a),
    "sqrt": lambda t, a: t.sqrt(a),
    "abs": lambda t, a: t.abs(a),
    "sin": lambda t, a: t.sin(a),
    "cos": lambda t, a: t.cos(a),
    "tanh": lambda t, a: t.tanh(a),
    "sigmoid": lambda t, a: t.sigmoid(a),
    "relu": lambda t, a: t.relu(a),
    "leaky_relu": lambda t, a, negative_slope: t.nn.functional.leaky_relu(a, negative_slope),
    "softplus": lambda t, a: t.nn.functional.softplus(a),
    "clamp": lambda t, a, low, high: t.clamp(a, low, high),
    "where": lambda t, a, b, condition: t.where(t.from_numpy(_host(condition)), a, b),
    "clone": lambda t, a: a.clone(),
    "sum": _reduce("sum"),
    "mean": _reduce("mean"),
    "max": _reduce("amax"),
    "broadcast_to": lambda t, a, shape: a.broadcast_to(shape),
    "concat": lambda t, a, b, axis: t.cat([a, b], axis),
    "getitem": _getitem,
    "scatter_add": _scatter_add,
    "reshape": lambda t, a, shape: a.reshape(*shape),
    "softmax": lambda t, a, axis: t.softmax(a, dim=axis),
    "log_softmax": lambda t, a, axis: t.log_softmax(a, dim=axis),
    "mse_loss": _loss("mse_loss"),
    "l1_loss": _loss("l1_loss"),
    "huber_loss": _loss("huber_loss"),
    "binary_cross_entropy_with_logits": _loss("binary_cross_entropy_with_logits"),
    "cross_entropy": _cross_entropy,
    "dropout": _dropout,
    "batch_norm": _batch_norm,
    "im2col": _im2col,
    "col2im": _col2im,
    "max_pool": _max_pool,
}


def replay(outputs, torch, order):
    """PyTorch tensors for `outputs` and for every node in `order` (operands before results):
    leaves become float64 tensors (requires_grad as in matrixflow), ops their TORCH_OPS twin.
    Returns {id(node): tensor}."""
    tensors = {}
    for node in order:
        if node.op is None:
            tensors[id(node)] = torch.tensor(np.array(node.numpy(), dtype=np.float64),
                                             requires_grad=node.requires_grad)
            continue
        if node.op.name not in TORCH_OPS:
            raise KeyError(f"op {node.op.name!r} has no PyTorch twin in matrixflow.twins")
        operands = [tensors[id(node.left)]]
        if node.right is not None:
            operands.append(tensors[id(node.right)])
        tensors[id(node)] = TORCH_OPS[node.op.name](torch, *operands, **(node.attrs or {}))
    return tensors

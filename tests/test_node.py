"""Node: what data becomes, the operators, conversions, and what `import matrixflow` loads."""

import subprocess
import sys

import numpy as np
import pytest

import matrixflow as mf


@pytest.mark.parametrize("data, expected", [
    (3, [[3.0]]), (2.5, [[2.5]]), (True, [[1.0]]), (np.float64(1.5), [[1.5]]),
    (np.array(4.0), [[4.0]]), ([[1, 2], [3, 4]], [[1.0, 2.0], [3.0, 4.0]]),
])
def test_scalars_and_nested_lists_become_2d_float64(data, expected):
    node = mf.Node(data)
    assert node.dtype == np.float64 and node.shape == np.shape(expected)
    np.testing.assert_array_equal(node.data, expected)


def test_ints_and_bools_become_float64_and_float32_is_kept():
    assert mf.Node(np.arange(6).reshape(2, 3)).dtype == np.float64
    assert mf.Node(np.eye(2, dtype=bool)).dtype == np.float64
    assert mf.Node(np.ones((2, 2), np.float32)).dtype == np.float32
    assert mf.Node(np.float32(2.0)).dtype == np.float32
    assert mf.Node(np.ones((2, 2), np.float16)).dtype == np.float64


def test_float64_arrays_are_shared_not_copied_like_np_asarray():
    data = np.ones((2, 2))
    assert mf.Node(data).data is data


def test_attributes_of_a_leaf_and_of_an_op_result():
    x = mf.Node([[1.0, 2.0]], requires_grad=True, name="x")
    y = x * 2.0
    assert x.is_leaf and x.op is None and x.left is None and x.right is None
    assert x.grad is None and x.name == "x" and x.requires_grad
    assert not y.is_leaf and y.op.name == "mul" and y.left is x and y.right.shape == (1, 1)
    assert y.requires_grad and y.shape == (1, 2) and y.size == 2 and len(y) == 1


def test_operators_follow_pep_465():
    a = mf.Node([[1.0, 2.0], [3.0, 4.0]])
    b = mf.Node([[5.0, 6.0], [7.0, 8.0]])
    A, B = a.data, b.data
    np.testing.assert_array_equal((a @ b).data, A @ B)
    np.testing.assert_array_equal((a * b).data, A * B)
    np.testing.assert_array_equal((a + b).data, A + B)
    np.testing.assert_array_equal((a - b).data, A - B)
    np.testing.assert_array_equal((a / b).data, A / B)
    np.testing.assert_array_equal((a ** 2).data, A**2)
    np.testing.assert_array_equal((-a).data, -A)
    np.testing.assert_array_equal(a.T.data, A.T)
    np.testing.assert_array_equal(abs(-a).data, A)


def test_reflected_operators_with_scalars_and_arrays_return_nodes():
    a = mf.Node([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    A = a.data
    for result, expected in [
        (2 + a, 2 + A), (2 - a, 2 - A), (2 * a, 2 * A), (2 / a, 2 / A), (2**a, 2**A),
        (A @ a, A @ A), (A * a, A * A), (A - a, A - A), (np.ones((1, 2)) + a, 1 + A),
    ]:
        assert isinstance(result, mf.Node) and result.requires_grad
        np.testing.assert_allclose(result.data, expected)


def test_scalar_operands_keep_float32():
    x = mf.Node(np.ones((2, 2), np.float32))
    for result in (x * 2, 2.0 - x, x / 3, x**2, x * (x.data > 0), mf.relu(x)):
        assert result.dtype == np.float32


def test_methods_mirror_the_functions():
    x = mf.Node([[0.5, 0.25], [0.125, 2.0]])
    for method in ("exp", "log", "sqrt", "abs", "sin", "cos", "tanh", "sigmoid", "relu",
                   "softplus", "trace", "inv", "det", "logdet"):
        np.testing.assert_array_equal(getattr(x, method)().data, getattr(mf, method)(x).data)
    np.testing.assert_array_equal(x.leaky_relu(0.2).data, mf.leaky_relu(x, 0.2).data)
    np.testing.assert_array_equal(x.sum(0).data, [[0.625, 2.25]])
    np.testing.assert_array_equal(x.mean(1).data, [[0.375], [1.0625]])
    np.testing.assert_array_equal(x.max().data, [[2.0]])
    np.testing.assert_array_equal(x.reshape(1, 4).data, [[0.5, 0.25, 0.125, 2.0]])
    np.testing.assert_array_equal(x.reshape((4, -1)).data, [[0.5], [0.25], [0.125], [2.0]])
    np.testing.assert_allclose(x.softmax().data.sum(axis=1), [1.0, 1.0])
    np.testing.assert_allclose(np.exp(x.log_softmax(0).data).sum(axis=0), [1.0, 1.0])


def test_indexing_always_returns_a_2d_node():
    x = mf.Node(np.arange(12.0).reshape(3, 4))
    assert x[1].shape == (1, 4)
    assert x[:, 2].shape == (3, 1)
    assert x[1, 2].shape == (1, 1) and x[1, 2].item() == 6.0
    assert x[-1, -1].item() == 11.0
    assert x[0:2, 1:3].shape == (2, 2)
    assert x[[2, 0, 2]].shape == (3, 4)
    np.testing.assert_array_equal(x[[0, 2], [1, 3]].data, [[1.0], [11.0]])
    np.testing.assert_array_equal(x[x.data > 9].data, [[10.0], [11.0]])
    assert x[..., 1].shape == (3, 1)


def test_iterating_a_node_yields_its_rows_and_stops():
    rows = list(mf.Node(np.arange(6.0).reshape(3, 2)))
    assert [r.shape for r in rows] == [(1, 2)] * 3


def test_conversions():
    x = mf.Node([[1.5]], requires_grad=True)
    assert x.item() == 1.5 and isinstance(x.item(), float)
    assert isinstance(x.numpy(), np.ndarray)
    assert np.asarray(x).shape == (1, 1)
    d = (x * 2.0).detach()
    assert d.is_leaf and not d.requires_grad and d.item() == 3.0
    assert x.to("cpu") is x and x.device == "cpu" and mf.device_of(x) == "cpu"
    assert mf.device_of(np.ones((1, 1))) == "cpu"


def test_repr_shows_the_values_and_where_the_node_came_from():
    x = mf.Node([[1.0, 2.0]], requires_grad=True, name="w")
    assert repr(x) == "Node([[1., 2.]], requires_grad=True, name='w')"
    assert repr(x * 2.0) == "Node([[2., 4.]], op=mul)"
    assert "dtype=float32" in repr(mf.Node(np.ones((1, 1), np.float32)))


def test_functions_given_plain_arrays_compute_arrays():
    """What lets one rule serve arrays and graphs: no Node in, no Node out."""
    a = np.array([[1.0, 2.0]])
    assert isinstance(mf.exp(a), np.ndarray)
    assert isinstance(mf.sum(a, 1), np.ndarray) and mf.sum(a, 1).shape == (1, 1)
    assert isinstance(mf.exp([[1.0, 2.0]]), mf.Node)  # a list is data, not an array


def test_concat_of_a_list_is_a_balanced_tree():
    parts = [mf.Node([[float(i)]], requires_grad=True) for i in range(8)]
    y = mf.concat(parts, axis=1)
    np.testing.assert_array_equal(y.data, [list(map(float, range(8)))])
    depth, level = 0, [y]
    while any(n.op is not None and n.op.name == "concat" for n in level):
        level = [c for n in level if n.op is not None for c in (n.left, n.right)]
        depth += 1
    assert depth == 3
    assert mf.concat([parts[0]]) is parts[0]


def _imported_modules(code):
    out = subprocess.run([sys.executable, "-c", code + "; import sys; print(sorted(sys.modules))"],
                         capture_output=True, text=True, check=True)
    return out.stdout


def test_import_matrixflow_loads_neither_torch_nor_sklearn_nor_cupy():
    modules = _imported_modules(
        "import matrixflow, matrixflow.cli, matrixflow.verification.op_checks")
    for heavy in ("'torch'", "'sklearn'", "'cupy'"):
        assert heavy not in modules


def test_the_package_never_imports_torch_in_its_source():
    from pathlib import Path

    for path in Path(mf.__file__).parent.rglob("*.py"):
        text = path.read_text()
        assert "import torch" not in text and "from torch" not in text, path


@pytest.mark.filterwarnings("ignore:divide by zero")
def test_number_constants_keep_their_sign_of_zero_and_their_precision():
    # Python numbers beside a Node are cached constants: 0.0 and −0.0 compare equal as keys
    # but are different numbers (1 / (x * −0.0) is −inf).
    x = mf.Node([[1.0]])
    assert np.isposinf((1 / (x * 0.0)).item()) and np.isneginf((1 / (x * -0.0)).item())
    assert np.isneginf((1 / (x * -0.0)).item()) and np.isposinf((1 / (x * 0.0)).item())
    x32 = mf.Node(np.ones((3, 2), np.float32), requires_grad=True)
    for y in (x32 * 0.5, 0.5 * x32, x32 + 1, 2 - x32, x32 / 3, 3 / x32):
        assert y.dtype == np.float32 and y.shape == (3, 2)
    (1.5 - x32 * 2.0).sum().backward()
    assert x32.grad.dtype == np.float32
    np.testing.assert_array_equal(x32.grad, np.full((3, 2), -2.0, np.float32))


def test_an_unpickled_or_copied_node_takes_a_sequence_number_of_its_own():
    """The walk's heap orders nodes by sequence number and needs them unique: a parameter
    unpickled in another process (a Dask worker) once kept the number it had where it was
    pickled, met a new node holding the same one there, and backward failed comparing Nodes."""
    import copy
    import pickle

    a = mf.Node(np.ones((2, 2)), requires_grad=True, name="a")
    for twin in (pickle.loads(pickle.dumps(a)), copy.copy(a), copy.deepcopy(a)):
        assert twin._seq > a._seq and twin.name == "a" and twin.requires_grad
        np.testing.assert_array_equal(twin.data, a.data)
    code = ("import pickle, sys, numpy as np\n"
            "from matrixflow.models import RNNRegressor\n"
            "model = pickle.loads(sys.stdin.buffer.read())\n"  # a fresh process's counter
            "model.partial_fit(np.ones((8, 3)), np.ones(8))\n"
            "print(len(model.loss_curve_))")
    from matrixflow.models import RNNRegressor

    fitted = RNNRegressor(hidden_size=2, random_state=0).partial_fit(np.ones((8, 3)), np.ones(8))
    run = subprocess.run([sys.executable, "-c", code], input=pickle.dumps(fitted),
                         capture_output=True, check=False)
    assert run.returncode == 0, run.stderr.decode()
    assert run.stdout.decode().split() == ["2"]

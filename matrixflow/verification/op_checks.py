"""The checks of one op case: backward against central finite differences (first and second
order, float64) and values and gradients against the PyTorch twin; and every op's cases by name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..autograd import grad
from ..backend import to_device
from ..grad_mode import no_grad
from ..node import Node
from .gradcheck import gradgradcheck
from .jacobians import analytic_jacobians, numerical_jacobians
from .op_cases import (
    Case,
    _arithmetic_builders,
    _elementwise_builders,
    _matrix_builders,
    _reduce_builders,
    _structure_builders,
)
from .op_cases_layers import _batch_norm_cases, _dropout_cases, _images_builders, _losses_builders

# gradcheck's defaults for finite differences; PyTorch agrees to rounding error
FD_EPS, FD_ATOL, FD_RTOL = 1e-6, 1e-5, 1e-3
TORCH_ATOL, TORCH_RTOL = 1e-12, 1e-10

BUILDERS: dict[str, Callable] = {
    **_elementwise_builders(),
    **_arithmetic_builders(),
    **_matrix_builders(),
    **_reduce_builders(),
    **_structure_builders(),
    **_losses_builders(),
    "dropout": _dropout_cases,
    "batch_norm": _batch_norm_cases,
    **_images_builders(),
}


def cases_for(op: str, seed: int = 0) -> list[Case]:
    """The cases of one op, drawn reproducibly from `seed` (and the op's name)."""
    if op not in BUILDERS:
        raise KeyError(f"op {op!r} has no checks in matrixflow.verification.op_checks: add a "
                       "builder for it (op_cases or op_cases_layers)")
    name_key = sum(op.encode())  # different ops draw different numbers from the same seed
    return BUILDERS[op](np.random.default_rng([seed, name_key]))


def leaves(case: Case, device: str = "cpu") -> list[Node]:
    """Fresh leaves for the case's inputs (copies: checks never share data), on `device`."""
    return [Node(to_device(np.array(x, dtype=np.float64), device), requires_grad=d)
            for x, d in zip(case.inputs, case.differentiable)]


def _errors(actual, expected, atol):
    """Max absolute error, and max relative error over entries with |expected| > atol."""
    actual, expected = np.asarray(actual, dtype=float), np.asarray(expected, dtype=float)
    difference = np.abs(actual - expected)
    both_nan = np.isnan(actual) & np.isnan(expected)
    difference = np.where(both_nan, 0.0, difference)
    max_abs = float(np.max(difference, initial=0.0))
    large = np.abs(expected) > atol
    max_rel = float(np.max(difference[large] / np.abs(expected[large]), initial=0.0))
    return max_abs, max_rel


def _close(actual, expected, atol, rtol):
    return bool(np.allclose(actual, expected, atol=atol, rtol=rtol, equal_nan=True))


@dataclass
class Outcome:
    """What checking one case found."""

    case: Case
    fd_abs: float
    fd_rel: float
    fd_ok: bool
    second_order_ok: bool
    torch_abs: float | None = None
    torch_rel: float | None = None
    torch_ok: bool | None = None
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.fd_ok and self.second_order_ok and self.torch_ok is not False


def check_finite_differences(case: Case):
    """(max abs, max rel, ok) of backward's Jacobian against central differences."""
    nodes = leaves(case)
    _, analytic = analytic_jacobians(case.run, nodes)
    numeric = numerical_jacobians(case.run, nodes, FD_EPS)
    fd_abs = fd_rel = 0.0
    ok = True
    for a, n in zip(analytic, numeric):
        if a is None:
            continue
        max_abs, max_rel = _errors(a, n, FD_ATOL)
        fd_abs, fd_rel = max(fd_abs, max_abs), max(fd_rel, max_rel)
        ok &= _close(a, n, FD_ATOL, FD_RTOL)
    return fd_abs, fd_rel, ok


def check_second_order_by_the_forward(case: Case, eps: float = 1e-4) -> bool:
    """Whether uᵀ·H·w, from the rules' Hessian-vector product, agrees with mixed second
    differences of the forward itself, L(x) = ⟨v, f(x)⟩:
        uᵀHw ≈ [L(x+εu+εw) − L(x+εu−εw) − L(x−εu+εw) + L(x−εu−εw)] / 4ε²
    — finite differences of the forward, not of the rule, so a rule whose graph is wrong in a
    way its own derivative repeats (no transpose, on symmetric cases) still shows."""
    rng = np.random.default_rng(13)
    differentiable = [np.array(x, dtype=np.float64) for x, d in
                      zip(case.inputs, case.differentiable) if d]
    v = rng.standard_normal(case.run(*leaves(case)).shape)
    u = [rng.standard_normal(x.shape) for x in differentiable]
    w = [rng.standard_normal(x.shape) for x in differentiable]
    stated = sum(float(np.sum(a * b)) for a, b in zip(u, hessian_vector_product(case, v, w)))

    def loss(su, sw):
        shifted = iter([x + su * eps * du + sw * eps * dw
                        for x, du, dw in zip(differentiable, u, w)])
        values = [next(shifted) if d else np.array(x, dtype=np.float64)
                  for x, d in zip(case.inputs, case.differentiable)]
        with no_grad():
            output = case.run(*[Node(x) for x in values])
        return float(np.sum(v * output.numpy()))

    numeric = (loss(1, 1) - loss(1, -1) - loss(-1, 1) + loss(-1, -1)) / (4 * eps * eps)
    scale = max(1.0, abs(stated), abs(numeric))
    return bool(abs(stated - numeric) <= 1e-4 * scale)


def check_second_order(case: Case) -> bool:
    """Whether the rules run as a graph (create_graph=True) give the same first derivatives as
    on arrays, their own derivatives agree with finite differences (gradgradcheck), and their
    Hessian-vector products with second differences of the forward."""
    nodes = leaves(case)
    output = case.run(*nodes)
    seed_gradient = np.random.default_rng(2).standard_normal(output.shape)
    wrt = [x for x in nodes if x.requires_grad]
    plain = grad(output, wrt, gradient=seed_gradient)
    as_graph = grad(output, wrt, gradient=seed_gradient, create_graph=True)
    if not all(_close(g.numpy(), h.numpy(), 1e-13, 1e-12) for g, h in zip(plain, as_graph)):
        return False
    return gradgradcheck(case.run, leaves(case), atol=FD_ATOL, rtol=FD_RTOL,
                         raise_exception=False) and check_second_order_by_the_forward(case)


def torch_results(case: Case, torch, seed_gradient: np.ndarray):
    """Value and gradients of the twin, as float64 arrays (None where not differentiated)."""
    tensors = [torch.tensor(np.array(x), dtype=torch.float64, requires_grad=d)
               for x, d in zip(case.inputs, case.differentiable)]
    value = case.twin(torch, *tensors)
    value.backward(torch.from_numpy(seed_gradient))
    grads = [t.grad.numpy() if d else None for t, d in zip(tensors, case.differentiable)]
    return value.detach().numpy(), grads


def matrixflow_results(case: Case, seed_gradient: np.ndarray):
    """Value and gradients from matrixflow, with the same seed Ȳ."""
    nodes = leaves(case)
    value = case.run(*nodes)
    wrt = [x for x in nodes if x.requires_grad]
    grads = iter(grad(value, wrt, gradient=seed_gradient))
    return value, [next(grads).numpy() if x.requires_grad else None for x in nodes]


def hessian_vector_product(case: Case, v, w):
    """∂/∂x Σᵢ ⟨∂⟨v, f(x)⟩/∂xᵢ, wᵢ⟩: the Hessian of ⟨v, f⟩ applied to w, from the rules run
    as a graph (create_graph=True)."""
    nodes = leaves(case)
    wrt = [x for x in nodes if x.requires_grad]
    output = case.run(*nodes)
    first = grad(output, wrt, v, create_graph=True)
    inner = (first[0] * w[0]).sum()
    for g, direction in zip(first[1:], w[1:]):
        inner = inner + (g * direction).sum()
    if not inner.requires_grad:  # a linear op: its first derivative is constant
        return [np.zeros(x.shape) for x in wrt]
    return [g.numpy() for g in grad(inner, wrt, materialize_grads=True)]


def torch_hessian_vector_product(case: Case, torch, v, w):
    """The same Hessian-vector product from the PyTorch twin (double backward)."""
    tensors = [torch.tensor(np.array(x), dtype=torch.float64, requires_grad=d)
               for x, d in zip(case.inputs, case.differentiable)]
    wrt = [t for t in tensors if t.requires_grad]
    output = case.twin(torch, *tensors)
    first = torch.autograd.grad(output, wrt, torch.from_numpy(v), create_graph=True,
                                allow_unused=True)
    inner = sum((g * torch.from_numpy(d)).sum() for g, d in zip(first, w) if g is not None)
    if not torch.is_tensor(inner) or not inner.requires_grad:
        return [np.zeros(tuple(t.shape)) for t in wrt]
    second = torch.autograd.grad(inner, wrt, allow_unused=True)
    return [np.zeros(tuple(t.shape)) if g is None else g.numpy(force=True)
            for g, t in zip(second, wrt)]


def check_second_order_against_torch(case: Case, torch):
    """(max abs, ok) of Hessian-vector products against PyTorch's: a rule whose first
    derivative is right but whose graph has the wrong derivative (logdet's without its
    transpose on symmetric inputs) differs here even where finite differences of the rule
    itself agree with it."""
    rng = np.random.default_rng(11)
    v = rng.standard_normal(case.run(*leaves(case)).shape)
    w = [rng.standard_normal(np.shape(x)) for x, d in zip(case.inputs, case.differentiable)
         if d]
    worst, ok = 0.0, True
    for mine, theirs in zip(hessian_vector_product(case, v, w),
                            torch_hessian_vector_product(case, torch, v, w)):
        max_abs, _ = _errors(mine, theirs, TORCH_ATOL)
        worst = max(worst, max_abs)
        ok &= _close(mine, theirs, 1e-11, 1e-9)
    return worst, ok


def check_against_torch(case: Case, torch):
    """(max abs, max rel, ok, problem) of values and gradients against the PyTorch twin."""
    nodes = leaves(case)
    output = case.run(*nodes)
    seed_gradient = np.random.default_rng(1).standard_normal(output.shape)
    value, grads = matrixflow_results(case, seed_gradient)
    torch_value, torch_grads = torch_results(case, torch, seed_gradient)
    if torch_value.shape != value.shape:
        return np.inf, np.inf, False, f"shape {value.shape} vs PyTorch's {torch_value.shape}"
    pairs = [(value.numpy(), torch_value)] + [
        (g, tg) for g, tg in zip(grads, torch_grads) if g is not None]
    worst_abs = worst_rel = 0.0
    ok = True
    for mine, theirs in pairs:
        max_abs, max_rel = _errors(mine, theirs, TORCH_ATOL)
        worst_abs, worst_rel = max(worst_abs, max_abs), max(worst_rel, max_rel)
        ok &= _close(mine, theirs, TORCH_ATOL, TORCH_RTOL)
    if not ok:  # a first-order difference says it already; the second order would repeat it
        return worst_abs, worst_rel, ok, ""
    second_abs, second_ok = check_second_order_against_torch(case, torch)
    if not second_ok:
        return worst_abs, worst_rel, False, (f"Hessian-vector products differ from PyTorch's "
                                             f"by {second_abs:.2e}")
    return worst_abs, worst_rel, ok, ""


def check_case(case: Case, torch=None) -> Outcome:
    """Every check of one case; `torch` is the torch module or None to skip the twin.  A rule
    that raises (a wrong shape, an exception of its own) is a failing case with the error as
    its problem, never a crash: `matrixflow verify` checks every op whatever one rule does."""
    try:
        return _check_case(case, torch)
    except Exception as exc:  # the rule under test is arbitrary code: report, don't die
        return Outcome(case, np.inf, np.inf, False, False,
                       problem=f"raised {type(exc).__name__}: {exc}")


def _check_case(case: Case, torch=None) -> Outcome:
    nodes = leaves(case)
    output = case.run(*nodes)
    if output.op is None or output.op.name != case.op:
        found = output.op.name if output.op is not None else "a leaf"
        return Outcome(case, np.inf, np.inf, False, False,
                       problem=f"the case builds {found}, not {case.op}")
    fd_abs, fd_rel, fd_ok = check_finite_differences(case)
    outcome = Outcome(case, fd_abs, fd_rel, fd_ok, check_second_order(case))
    if torch is not None:
        (outcome.torch_abs, outcome.torch_rel, outcome.torch_ok,
         outcome.problem) = check_against_torch(case, torch)
    return outcome

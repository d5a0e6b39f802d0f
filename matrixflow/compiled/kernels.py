"""Kernels: the hot ops' forwards and rules written as the program's own lines.

Each is the op's own NumPy expression, call for call — `G @ B.T` as np.matmul(G, B.T), `-G` as
np.negative(G) — so it gives the rule's bits exactly; what it adds is knowledge the generic call
hides: which arguments it reads (an operand a rule never reads dies after the forward), whether
its result is fresh or one of its arguments (add's rules pass Ȳ on), and which argument may
receive the result in place (`out=`) once nothing else will read it.

One change of argument, proved equal: relu's rule reads Y instead of A, because
Y = max(A, 0) ≤ 0 exactly where A ≤ 0 (NaN: neither; −0 and −∞: both), so the mask
~(Y ≤ 0) is the rule's ~(A ≤ 0) and A need not outlive the forward.

Arguments by position: a forward's (A, B); a rule's (G, Y, A, B), G = Ȳ.  Kernels run on NumPy
arrays only (the program falls back to the generic calls for CuPy).
"""

from __future__ import annotations

from typing import NamedTuple


class Spec(NamedTuple):
    """`template` formats with the argument names ({0}, {1} …) and {out} (", out=name" when
    the result goes in place, else ""); `reads` and `candidates` are argument positions;
    `result`: "fresh" (a new array), "alias" (argument 0 itself, no call made)."""

    template: str
    reads: tuple
    candidates: tuple = ()
    result: str = "fresh"
    shape: object = None  # the result's shape from the read arguments' (None: broadcasting)


class Kernel(NamedTuple):
    forward: Spec | None
    rules: tuple  # one Spec or None per operand


def _alias_of_g():
    return Spec("{0}", (0,), result="alias")


KERNELS = {
    "matmul": Kernel(Spec("np.matmul({0}, {1}{out})", (0, 1), shape=lambda a, b: (a[0], b[1])),
                     (Spec("np.matmul({0}, {3}.T{out})", (0, 3),  # Ā = Ȳ·Bᵀ
                           shape=lambda g, b: (g[0], b[0])),
                      Spec("np.matmul({2}.T, {0}{out})", (2, 0),  # B̄ = Aᵀ·Ȳ
                           shape=lambda a, g: (a[1], g[1])))),
    "add": Kernel(Spec("np.add({0}, {1}{out})", (0, 1), (0, 1)),
                  (_alias_of_g(), _alias_of_g())),
    "sub": Kernel(Spec("np.subtract({0}, {1}{out})", (0, 1), (0, 1)),
                  (_alias_of_g(), Spec("np.negative({0}{out})", (0,), (0,)))),
    "neg": Kernel(Spec("np.negative({0}{out})", (0,), (0,)),
                  (Spec("np.negative({0}{out})", (0,), (0,)),)),
    "mul": Kernel(Spec("np.multiply({0}, {1}{out})", (0, 1), (0, 1)),
                  (Spec("np.multiply({0}, {3}{out})", (0, 3), (0,)),    # Ā = Ȳ ⊙ B
                   Spec("np.multiply({0}, {2}{out})", (0, 2), (0,)))),  # B̄ = Ȳ ⊙ A
    "tanh": Kernel(Spec("np.tanh({0}{out})", (0,), (0,)),  # Ā = Ȳ ⊙ (1 − Y ⊙ Y)
                   (Spec("np.multiply({0}, np.subtract(1.0, np.multiply({1}, {1})){out})",
                         (0, 1), (0,)),)),
    "relu": Kernel(Spec("np.maximum({0}, 0{out})", (0,), (0,)),  # Ā = Ȳ ⊙ [Y > 0]
                   (Spec("np.multiply({0}, ~({1} <= 0){out})", (0, 1), (0,)),)),
    "exp": Kernel(Spec("np.exp({0}{out})", (0,), (0,)),  # Ā = Ȳ ⊙ Y
                  (Spec("np.multiply({0}, {1}{out})", (0, 1), (0,)),)),
    "sigmoid": Kernel(None,  # Ā = Ȳ ⊙ (Y ⊙ (1 − Y)); the forward is the op's stable one
                      (Spec("np.multiply({0}, np.multiply({1}, np.subtract(1.0, {1})){out})",
                            (0, 1), (0,)),)),
}


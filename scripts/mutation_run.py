"""Plant classic bugs in every op's rules, one at a time, and count what catches them.

For each rule of each op in the table: its gradient negated, doubled, halved, transposed (where
the operand is square) and dropped (zeros), and — for each — whether `matrixflow verify` fails
that op's row and whether gradcheck's localiser, on the first case the bug changes, inside a
larger graph (sum of tanh(op(…)) ⊙ R), names the op.  A mutant that changes no case and passes
verify (a transpose of a symmetric result, say) is counted as equivalent, not as missed.

    python scripts/mutation_run.py            # every op
    python scripts/mutation_run.py exp matmul # some
"""

from __future__ import annotations

import sys

import numpy as np

import matrixflow as mf
from matrixflow.ops.base import REGISTRY, Rule
from matrixflow.verification import op_checks
from matrixflow.verification.op_table import _load_torch, op_row

MUTATIONS = {
    "negated": lambda g: -g,
    "doubled": lambda g: 2.0 * g,
    "halved": lambda g: 0.5 * g,
    "transposed": lambda g: g.T,
    "dropped": lambda g: 0.0 * g,
}


def _mutant(rule, change):
    return Rule(rule.operand, rule.trace, rule.result,
                lambda *args, fn=rule.fn, **attrs: change(fn(*args, **attrs)))




def main(names):
    torch, _ = _load_torch(False)
    caught = named = total = equivalent = 0
    misses = []
    for name in names or sorted(REGISTRY):
        op = REGISTRY[name]
        original = op.rules
        cases = op_checks.cases_for(name)
        seeds = [np.random.default_rng(1).standard_normal(c.run(*op_checks.leaves(c)).shape)
                 for c in cases]
        with np.errstate(all="ignore"):
            rights = [op_checks.matrixflow_results(c, g)[1] for c, g in zip(cases, seeds)]
        for position, rule in enumerate(original):
            for label, change in MUTATIONS.items():
                rules = list(original)
                rules[position] = _mutant(rule, change)
                op.rules = tuple(rules)
                try:
                    with np.errstate(all="ignore"):
                        differing = [c for c, g, right in zip(cases, seeds, rights)
                                     if _differs(c, g, right)]
                        same = not differing
                        row = op_row(name, 0, torch)
                        if same and row["ok"]:
                            equivalent += 1
                            continue
                        total += 1
                        verify_caught = not row["ok"]
                        culprit = _localised(differing[0]) if differing else None
                finally:
                    op.rules = original
                caught += verify_caught
                named += culprit == name
                if not verify_caught or culprit != name:
                    misses.append(f"{name} {rule.operand} {label}: verify "
                                  f"{'caught' if verify_caught else 'MISSED'}, localiser "
                                  f"named {culprit!r}")
    print(f"{total} non-equivalent mutants ({equivalent} equivalent left out"
          f"): verify caught {caught} ({100 * caught / max(total, 1):.1f} %), the "
          f"localiser named the op for {named} ({100 * named / max(total, 1):.1f} %)")
    for miss in misses:
        print("  " + miss)


def _differs(case, seed, right) -> bool:
    """Whether the planted rule changes this case's gradients (or breaks them)."""
    try:
        _, wrong = op_checks.matrixflow_results(case, seed)
    except Exception:  # a rule that raises differs
        return True
    return not all(a is None or (a.shape == b.shape and np.allclose(a, b, equal_nan=True))
                   for a, b in zip(right, wrong))


def _localised(case):
    """The op gradcheck's localiser names for the case inside a larger graph, or None."""
    rng = np.random.default_rng(3)
    nodes = op_checks.leaves(case)
    weights = rng.standard_normal(case.run(*nodes).shape)

    # the graph around the op uses other ops than it, so that the planted bug is in one place
    squash = mf.sin if case.op == "tanh" else mf.tanh
    reduce = mf.mean if case.op == "sum" else mf.sum

    def f(*xs):
        return reduce(squash(case.run(*xs)) * weights)

    try:
        mf.gradcheck(f, op_checks.leaves(case))
    except mf.GradcheckError as error:
        culprit = getattr(error, "culprit", None)
        return getattr(culprit, "op", None)
    except Exception as error:  # a crash names nothing
        return f"crash: {type(error).__name__}"
    return None


if __name__ == "__main__":
    main(sys.argv[1:])

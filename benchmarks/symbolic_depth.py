"""How the closed form's cost grows with depth: `python -m benchmarks.symbolic_depth`.

Three chains, each of `depth` ops on symbols, and the time mf.closed_form takes on each (the
symbolic backward and simplify), then str() (the text, or the note that it is too large):

  sin     y = sin(y), x 3×1, loss sum(y): a product of cosines, its text quadratic in depth
  mixed   y = sin(y)·X on odd steps, exp(y) + X on even ones, X 3×3: sums and products
  affine  y = A·y + y, A 3×3, y 3×1: a sum of 2^depth paths written as nested sums

The symbolic layer works on the expression as a DAG (hash-consed keys, memoised passes and
printers, no recursion), so the time follows the DAG's size, not that of the tree its text
spells.  Best of `--rounds` runs (one at depth 1 000); a few seconds on one core.
"""

from __future__ import annotations

import argparse
import time

import matrixflow as mf

DEPTHS = (10, 50, 100, 300, 1000)


def sin_chain(depth):
    x = mf.symbols("x", shape=(3, 1))
    y = x
    for _ in range(depth):
        y = mf.sin(y)
    return mf.sum(y), x


def mixed_chain(depth):
    X = mf.symbols("X", shape=(3, 3))
    y = X
    for i in range(depth):
        y = mf.sin(y) @ X if i % 2 else mf.exp(y) + X
    return mf.sum(y), X


def affine_chain(depth):
    A, y0 = mf.symbols("A y", shapes={"A": (3, 3), "y": (3, 1)})
    y = y0
    for _ in range(depth):
        y = A @ y + y
    return mf.sum(y), y0


CHAINS = {"sin": sin_chain, "mixed": mixed_chain, "affine": affine_chain}


def _forget_sizes():
    """Empty the caches the printer keeps by structural key (text sizes, how a term prints,
    digests), so that a round after the first pays for them as a fresh process would."""
    from matrixflow.teaching.symbolic import order, printing

    for cache in (printing._SIZES, order._LEAVES, order._DIGESTS):
        cache.clear()


def measure(chain, depth, rounds):
    """(seconds for closed_form, seconds for str, what str gave: its length or 'too large')."""
    best_form = best_text = float("inf")
    for _ in range(rounds):
        _forget_sizes()
        loss, wrt = CHAINS[chain](depth)
        start = time.perf_counter()
        closed = mf.closed_form(loss, wrt)
        middle = time.perf_counter()
        text = str(closed)
        end = time.perf_counter()
        best_form, best_text = min(best_form, middle - start), min(best_text, end - middle)
    shown = "too large" if text.startswith("<too large to print") else f"{len(text)} chars"
    return best_form, best_text, shown


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depths", default=",".join(map(str, DEPTHS)))
    parser.add_argument("--chains", default=",".join(CHAINS))
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    depths = [int(d) for d in args.depths.split(",")]
    print(f"{'chain':<8}{'depth':>6}{'closed form':>13}{'str()':>10}  printed")
    for chain in args.chains.split(","):
        for depth in depths:
            form, text, shown = measure(chain, depth, args.rounds if depth < 1000 else 1)
            print(f"{chain:<8}{depth:>6}{form:>12.3f}s{text:>9.3f}s  {shown}", flush=True)


if __name__ == "__main__":
    main()

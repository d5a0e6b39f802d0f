"""The evidence behind RNNRegressor's defaults: `python -m benchmarks.rnn_defaults`.

The MatrixFlow post's RNN task — y = (x₀·x₁ + x₂·x₃)/2 from a sequence of six 3-vectors xₜ ~
U(−1, 1)³ (dot products of the first four steps), 1 000 sequences to train on, 200 held out.
For each cell and batch size, one run of 400 epochs records the training loss and the held-out
R² after every epoch; each stopping rule is then replayed on that loss curve (the rule only
reads the curve, so the epoch it stops at, and the model it leaves, are those of a fit that
used it).  A few minutes on one core.
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
from sklearn.metrics import r2_score

RULES = [(1e-4, 10), (1e-4, 20), (0.0, 10), (0.0, 20)]  # (tol, n_iter_no_change)


def post_task(n, rng):
    x = rng.uniform(-1, 1, (n, 6, 3))
    y = (np.einsum("ij,ij->i", x[:, 0], x[:, 1]) + np.einsum("ij,ij->i", x[:, 2], x[:, 3])) / 2
    return x, y


def curves(cell, batch_size, epochs=400):
    """(training loss, held-out R²) after each epoch of RNNRegressor(hidden_size=32)."""
    from matrixflow.models import RNNRegressor

    rng = np.random.default_rng(0)
    X, y = post_task(1000, rng)
    X_test, y_test = post_task(200, rng)
    model = RNNRegressor(hidden_size=32, cell=cell, batch_size=batch_size, random_state=0)
    losses, scores = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(epochs):
            model.partial_fit(X, y)
            losses.append(model.loss_)
            scores.append(r2_score(y_test, model.predict(X_test)))
    return losses, scores


def stopping_epoch(losses, tol, patience):
    """The epoch (0-based) at which scikit-learn's rule stops: no improvement over the best
    loss by more than tol for more than `patience` epochs."""
    best, count = np.inf, 0
    for epoch, loss in enumerate(losses):
        count = count + 1 if loss > best - tol else 0
        best = min(best, loss)
        if count > patience:
            return epoch
    return len(losses) - 1


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", default="rnn,lstm,gru")
    parser.add_argument("--batch-sizes", default="32,200")
    args = parser.parse_args(argv)
    print("held-out R² where each rule stops (epoch), of 400 epochs at most")
    header = " ".join(f"{f'tol={tol:g}, n={n}':>18}" for tol, n in RULES)
    print(f"{'cell':<6}{'batch':>6} {header} {'best of 400':>14}")
    for cell in args.cells.split(","):
        for batch in map(int, args.batch_sizes.split(",")):
            losses, scores = curves(cell, batch)
            cells = []
            for tol, patience in RULES:
                epoch = stopping_epoch(losses, tol, patience)
                cells.append(f"{scores[epoch]:>11.3f} ({epoch + 1:>3})")
            print(f"{cell:<6}{batch:>6} {' '.join(cells)} {max(scores):>14.3f}", flush=True)


if __name__ == "__main__":
    main()

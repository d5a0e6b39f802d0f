"""Handwritten digits with matrixflow: MLPClassifier beside scikit-learn's, and a small
convolutional net that beats both.

    python examples/digits.py              # scikit-learn's 8×8 digits (seconds on one core)
    python examples/digits.py --mnist DIR  # MNIST from its four IDX files in DIR (bring them)

On the digits (real handwritten digits, 8×8 pixels, a fixed stratified split) it fits
matrixflow.models.MLPClassifier and sklearn.neural_network.MLPClassifier with the same settings
— they make the same random draws and the same updates, so their accuracies agree — and then a
convolutional net built from matrixflow.nn (Conv2d → ReLU → MaxPool2d → Linear) trained with
matrixflow.optim.Adam over a matrixflow.data.DataLoader.  Every image is a row of the input
matrix, its pixels in (channel, row, column) order.

With --mnist it trains tinynn's MNIST network instead: 784 → 400 → 100 → 10 with ReLUs,
Adam (lr 1e-3), batches of 128, 20 epochs (tinynn reports 98.2 % test accuracy).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

import numpy as np
from matrixflow.models import MLPClassifier
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SklearnMLPClassifier
from threadpoolctl import threadpool_limits

import matrixflow as mf
from matrixflow import nn, optim
from matrixflow.data import ArrayDataset, DataLoader, load_mnist

MLP_SETTINGS = dict(hidden_layer_sizes=(100,), max_iter=500, random_state=0)
CONV_SETTINGS = dict(channels=32, epochs=20, batch_size=32, lr=1e-2, seed=0)
TINYNN_SETTINGS = dict(epochs=20, batch_size=128, lr=1e-3, seed=0)


def digits_split():
    """scikit-learn's digits scaled to [0, 1], split 70/30 by class with a fixed seed."""
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=0.3, stratify=y, random_state=0)


def accuracy(model, X, y, batch_size=2000):
    """The share of rows of X whose largest output is at y (evaluation mode, no graph)."""
    model.eval()
    with mf.no_grad():
        predicted = np.concatenate([model(X[start:start + batch_size]).numpy().argmax(axis=1)
                                    for start in range(0, len(X), batch_size)])
    model.train()
    return float(np.mean(predicted == y))


def train(model, X, y, *, epochs, batch_size, lr, seed, cosine=False, each_epoch=None):
    """Adam on mean cross-entropy over shuffled mini-batches (the DataLoader's seed fixes the
    order); `cosine` anneals the learning rate to 0 over the epochs."""
    optimizer = optim.Adam(model.parameters(), lr=lr)
    schedule = optim.CosineAnnealingLR(optimizer, epochs) if cosine else None
    batches = DataLoader(ArrayDataset(X, y), batch_size=batch_size, shuffle=True, seed=seed)
    for epoch in range(epochs):
        for X_batch, y_batch in batches:
            optimizer.zero_grad()
            mf.cross_entropy(model(X_batch), y_batch).backward()
            optimizer.step()
        if schedule is not None:
            schedule.step()
        if each_epoch is not None:
            each_epoch(epoch + 1)
    return model


def conv_net(channels, seed, image_shape=(1, 8, 8), classes=10):
    """Conv2d(3×3, padding 1) → ReLU → MaxPool2d(2) → Linear, over images stored as rows."""
    rng = np.random.default_rng(seed)
    conv = nn.Conv2d(image_shape[0], channels, 3, padding=1, image_shape=image_shape,
                     init="he_uniform", rng=rng)
    pool = nn.MaxPool2d(2, image_shape=conv.output_shape)
    linear = nn.Linear(int(np.prod(pool.output_shape)), classes, rng=rng)
    return nn.Sequential(conv, nn.ReLU(), pool, nn.Flatten(), linear)


def _row(out, name, accuracy_, epochs, seconds):
    out(f"{name:<28} {100 * accuracy_:10.2f} %  {epochs:>6}  {seconds:6.1f}s")


def run_digits(out=print, mlp_settings=MLP_SETTINGS, conv_settings=CONV_SETTINGS):
    """Fit the three models on the digits; print a table; return their test accuracies."""
    X_train, X_test, y_train, y_test = digits_split()
    conv = dict(conv_settings)
    channels = conv.pop("channels")
    model = conv_net(channels, conv["seed"])
    out(f"scikit-learn's digits: 8×8 images, {len(X_train)} to train on, {len(X_test)} to test "
        "(train_test_split(test_size=0.3, stratify=y, random_state=0))")
    out("MLPClassifier, both: " + ", ".join(f"{k}={v}" for k, v in mlp_settings.items()))
    out(f"conv net: Conv2d(1→{channels}, 3×3, padding 1) → ReLU → MaxPool2d(2) → "
        f"Linear({model[-1].in_features}→10); Adam lr {conv['lr']:g} annealed (cosine), "
        f"batch {conv['batch_size']}\n")
    out(f"{'model':<28} {'test accuracy':>12}  {'epochs':>6}  {'fit':>7}")
    results = {}
    for name, estimator in (("scikit-learn", SklearnMLPClassifier), ("matrixflow", MLPClassifier)):
        started = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            mlp = estimator(**mlp_settings).fit(X_train, y_train)
        results[name] = mlp.score(X_test, y_test)
        _row(out, f"{name} MLPClassifier", results[name], mlp.n_iter_,
             time.perf_counter() - started)
    started = time.perf_counter()
    train(model, X_train, y_train, cosine=True, **conv)
    results["conv net"] = accuracy(model, X_test, y_test)
    _row(out, "matrixflow conv net", results["conv net"], conv["epochs"],
         time.perf_counter() - started)
    return results


def run_mnist(folder, out=print, settings=TINYNN_SETTINGS):
    """tinynn's MNIST MLP, 784 → 400 → 100 → 10, trained and tested; returns the accuracy."""
    data = load_mnist(folder)
    X_train, X_test = data.X_train / 255.0, data.X_test / 255.0
    out(f"MNIST from {folder}: {len(X_train)} training and {len(X_test)} test images; tinynn's "
        f"MLP 784 → 400 → 100 → 10, Adam {settings['lr']:g}, batch {settings['batch_size']}, "
        f"{settings['epochs']} epochs")
    rng = np.random.default_rng(settings["seed"])
    model = nn.Sequential(nn.Linear(X_train.shape[1], 400, rng=rng), nn.ReLU(),
                          nn.Linear(400, 100, rng=rng), nn.ReLU(), nn.Linear(100, 10, rng=rng))
    started = time.perf_counter()

    def report(epoch):
        out(f"epoch {epoch:>2}: test accuracy {100 * accuracy(model, X_test, data.y_test):.2f} % "
            f"({time.perf_counter() - started:.0f} s)")

    train(model, X_train, data.y_train, each_epoch=report, **settings)
    return accuracy(model, X_test, data.y_test)


def _positive(text):
    """argparse type of --epochs and --threads: an integer ≥ 1."""
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be an integer ≥ 1, got {text!r}")
    return number


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mnist", metavar="DIR", help="train tinynn's MLP on MNIST's IDX "
                        "files in DIR (train-images-idx3-ubyte[.gz] and the three others)")
    parser.add_argument("--epochs", type=_positive, default=TINYNN_SETTINGS["epochs"],
                        help="epochs on MNIST (tinynn's 20)")
    parser.add_argument("--threads", type=_positive, default=1, help="BLAS threads (default 1: "
                        "these matrices are small, and threads mostly contend)")
    args = parser.parse_args(argv)
    if args.mnist and not os.path.isdir(args.mnist):
        print(f"digits.py: --mnist {args.mnist}: no such directory (it should hold MNIST's "
              "four IDX files; nothing is downloaded)", file=sys.stderr)
        return 2
    with threadpool_limits(limits=args.threads, user_api="blas"):
        if args.mnist:
            try:
                run_mnist(args.mnist, settings={**TINYNN_SETTINGS, "epochs": args.epochs})
            except (OSError, ValueError) as exc:  # a file missing or unreadable: one line
                print(f"digits.py: {exc}", file=sys.stderr)
                return 2
        else:
            run_digits()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""examples/digits.py: the claims of issue 7 on scikit-learn's digits, and the MNIST path on a
small MNIST written here as IDX files."""

import importlib.util
from pathlib import Path

import pytest
from test_data import _fake_mnist
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("digits_example", ROOT / "examples" / "digits.py")
digits = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(digits)


def test_on_the_digits_the_mlp_matches_scikit_learn_and_the_conv_net_beats_it():
    printed = []
    with threadpool_limits(limits=1, user_api="blas"):  # as the example runs: small matrices
        results = digits.run_digits(out=printed.append)
    assert abs(results["matrixflow"] - results["scikit-learn"]) <= 0.01  # within 1 point
    assert results["matrixflow"] > 0.95
    assert results["conv net"] > results["matrixflow"]
    table = "\n".join(printed)
    for name in ("scikit-learn MLPClassifier", "matrixflow MLPClassifier", "matrixflow conv net"):
        assert name in table
    assert "hidden_layer_sizes=(100,), max_iter=500, random_state=0" in table


def test_the_mnist_path_trains_tinynns_network_on_idx_files(tmp_path, capsys):
    _fake_mnist(tmp_path, compress=True, train=64, test=32)
    assert digits.main(["--mnist", str(tmp_path), "--epochs", "2"]) == 0
    out = capsys.readouterr().out
    assert "64 training and 32 test images" in out and "784 → 400 → 100 → 10" in out
    assert "epoch  1: test accuracy" in out and "epoch  2: test accuracy" in out


def test_the_readme_shows_how_to_run_the_example():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "python examples/digits.py" in readme and "--mnist" in readme


def test_a_missing_mnist_folder_or_file_is_one_line_with_exit_status_2(tmp_path, capsys):
    missing = tmp_path / "nowhere"
    assert digits.main(["--mnist", str(missing)]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith(f"digits.py: --mnist {missing}: no such directory") and \
        "\n" not in error
    _fake_mnist(tmp_path, compress=False)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    assert digits.main(["--mnist", str(tmp_path)]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("digits.py: load_mnist: no t10k-labels-idx1-ubyte") and \
        "\n" not in error


@pytest.mark.parametrize("option", [["--epochs", "-3"], ["--epochs", "0"], ["--threads", "0"]])
def test_epochs_and_threads_must_be_positive(option, capsys):
    with pytest.raises(SystemExit) as exited:
        digits.main(option)
    assert exited.value.code == 2
    assert "must be an integer ≥ 1" in capsys.readouterr().err

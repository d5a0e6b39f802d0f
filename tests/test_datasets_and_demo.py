"""The shipped series, their windows, and `matrixflow demo` on them."""

import io

import numpy as np
import pytest
from matrixflow.models import datasets, demo

from matrixflow import cli


@pytest.mark.parametrize("loader, rows, first, last", [
    (datasets.load_sunspots, 309, ("1700", 5.0), ("2008", 2.9)),
    (datasets.load_co2, 526, ("1958-03", 316.1), ("2001-12", 371.02)),
    (datasets.load_nile, 100, ("1871", 1120.0), ("1970", 740.0)),
])
def test_the_series_are_complete_and_windows_line_up(loader, rows, first, last):
    data = loader(window=4, horizon=2)
    assert data.series.shape == (rows,) and len(data.times) == rows
    assert (data.times[0], data.series[0]) == first
    assert data.times[-1] == last[0] and data.series[-1] == pytest.approx(last[1])
    assert data.X.shape == (rows - 5, 4) and data.y.shape == (rows - 5,)
    np.testing.assert_array_equal(data.X[0], data.series[:4])
    assert data.y[0] == data.series[5]  # two steps after the window's last value
    assert data.target_times[0] == data.times[5]
    assert "public domain" in data.DESCR.lower()
    assert loader(window=4, sequences=True).X.shape == (rows - 4, 4, 1)


@pytest.mark.parametrize("window, horizon, words", [
    (2.5, 1, "window must be an integer ≥ 1, got 2.5"),
    ("3", 1, "window must be an integer ≥ 1, got '3'"),
    (True, 1, "window must be an integer ≥ 1, got True"),
    (0, 1, "window must be an integer ≥ 1, got 0"),
    (3, -1, "horizon must be an integer ≥ 1, got -1"),
])
def test_window_and_horizon_must_be_positive_integers(window, horizon, words):
    with pytest.raises(ValueError) as caught:
        datasets.load_sunspots(window=window, horizon=horizon)
    assert words in str(caught.value)


def test_windows_of_a_short_series_are_refused():
    with pytest.raises(ValueError, match="too short"):
        datasets.make_windows(np.arange(5.0), window=5)
    with pytest.raises(ValueError, match="unknown series"):
        datasets.load_series("rainfall")


def test_demo_beats_persistence_and_saves_its_plot(tmp_path):
    out = io.StringIO()
    png = tmp_path / "demo.png"
    results = demo.run(png, out=out)
    persistence = results.pop("persistence (next year = this year)")
    linear = results.pop("linear regression on the last 10 (AR)")
    assert len(results) == 4  # the MLP and each recurrent cell
    for r2, rmse in results.values():
        assert r2 > persistence[0] + 0.2 and rmse < persistence[1]
    # the baseline a network must beat to be worth it: least squares on the same inputs
    assert 0.8 < linear[0]
    for name, (r2, _) in results.items():
        assert r2 > linear[0], name
    text = out.getvalue()
    assert "MLPRegressor" in text and "RNNRegressor" in text and "persistence" in text
    assert "linear regression" in text
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def short_demo(monkeypatch):
    """The demo's command-line paths, with one cell trained briefly (the whole demo runs in
    the test above)."""
    monkeypatch.setattr(demo, "CELLS", ("rnn",))
    monkeypatch.setattr(demo, "MAX_ITER", 5)


def test_demo_command_runs(tmp_path, capsys, short_demo):
    assert cli.main(["demo", "--png", str(tmp_path / "d.png")]) == 0
    assert "test R²" in capsys.readouterr().out


def test_demo_given_a_folder_saves_its_plot_inside(tmp_path, capsys, short_demo):
    assert cli.main(["demo", "--png", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["matrixflow-demo.png"]
    assert f"Saved {tmp_path / 'matrixflow-demo.png'}" in capsys.readouterr().out


def test_demo_refuses_an_image_format_matplotlib_cannot_write_before_training(tmp_path, capsys,
                                                                            monkeypatch):
    monkeypatch.setattr(demo, "MLPRegressor", None)  # training would fail: it must not start
    assert cli.main(["demo", "--png", str(tmp_path / "plot.xyz")]) == 1
    error = capsys.readouterr().err
    assert "cannot write '.xyz' images" in error and ".png" in error
    assert error.startswith("matrixflow demo: matplotlib cannot")  # one prefix, not two
    assert not list(tmp_path.iterdir())

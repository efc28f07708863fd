"""Tests for adaviz.SweepPanel (and SweepPanel.for_model) without a browser: the figures'
data equal panel.sweep after control changes, and a selected cell shows that cell's run.

Grids are small (16 x 12 cells, 150 steps) to keep the suite fast; the panel's default is
64 x 64 x 500.
"""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

import adaviz

KW = {"steps": 150, "resolution": 16}


@pytest.fixture(scope="module")
def panel():
    return adaviz.SweepPanel("rosenbrock", **KW)


def heatmap_data(panel):
    fig = panel.figures["heatmap"]
    metric, grey, red = (fig.data[i] for i in range(3))
    return metric, grey, red


def check_figure_equals_sweep(panel, transpose=False):
    s = panel.sweep
    metric, grey, red = heatmap_data(panel)
    values = s.values.T if transpose else s.values
    diverged = s.diverged.T if transpose else s.diverged
    np.testing.assert_array_equal(np.asarray(metric.customdata, float), values)
    if s.metric in ("final_loss", "min_loss", "distance_to_minimum"):
        with np.errstate(divide="ignore", invalid="ignore"):
            expected = np.log10(values)
        np.testing.assert_allclose(np.asarray(metric.z, float), expected, rtol=1e-12)
    else:
        np.testing.assert_array_equal(np.asarray(metric.z, float), values)
    # the status layers, one entry per cell (rows along y)
    np.testing.assert_array_equal(~np.isnan(np.asarray(red.z, float)), diverged.ravel())
    no_value = np.isnan(values) & ~diverged
    np.testing.assert_array_equal(~np.isnan(np.asarray(grey.z, float)), no_value.ravel())
    at = np.asarray(red.z, float)[diverged.ravel()]
    diverged_at = s.diverged_at.T if transpose else s.diverged_at
    np.testing.assert_array_equal(at, diverged_at[diverged])


# ------------------------------------------------------------------------ the map
def test_default_axes_and_figure_equal_the_sweep(panel):
    s = panel.sweep
    assert s.shape == (16, 16)
    (y_name, ys), (x_name, xs) = s.axes
    assert (y_name, x_name) == ("rho", "epsilon")
    np.testing.assert_allclose(ys, np.linspace(0, 0.999, 16))
    np.testing.assert_allclose(xs, np.logspace(-10, -1, 16))
    metric, _, _ = heatmap_data(panel)
    np.testing.assert_array_equal(metric.x, xs)
    np.testing.assert_array_equal(metric.y, ys)
    fig = panel.figures["heatmap"]
    assert fig.layout.xaxis.type == "log" and fig.layout.yaxis.type == "linear"
    assert s.diverged.any() and not s.diverged.all()
    check_figure_equals_sweep(panel)
    independent = adaviz.sweep("rosenbrock", steps=150, rho=ys, epsilon=xs)
    np.testing.assert_array_equal(s.values, independent.values)


def test_sliders_resweep_and_the_figure_follows(panel):
    panel.controls["lr"].value = 0.5
    panel.controls["decay"].value = 0.01
    panel.controls["loss_scale"].value = 1.0  # loss x 10
    s = panel.sweep
    assert s.fixed["lr"] == 0.5 and s.fixed["decay"] == 0.01 and s.loss_scale == 10.0
    check_figure_equals_sweep(panel)
    (_, ys), (_, xs) = s.axes
    independent = adaviz.sweep(
        "rosenbrock", steps=150, rho=ys, epsilon=xs, lr=0.5, decay=0.01, loss_scale=10.0
    )
    np.testing.assert_array_equal(s.values, independent.values)
    np.testing.assert_array_equal(s.diverged, independent.diverged)


@pytest.mark.parametrize("metric", ["min_loss", "distance_to_minimum", "steps_to_converge"])
def test_metric_dropdown_switches_without_new_runs(panel, metric):
    before = adaviz.sweeps.trace_count()
    panel.controls["metric"].value = metric
    assert panel.sweep.metric == metric
    check_figure_equals_sweep(panel)
    assert adaviz.sweeps.trace_count() == before
    title = panel.figures["heatmap"].data[0].colorbar.title.text
    assert ("log scale" in title) == (metric != "steps_to_converge")


@pytest.mark.slow  # a new surface compiled; the view's rule: test_views
def test_negative_losses_are_coloured_linearly():
    """saddle is unbounded below: its final losses go negative, which a log colour scale
    cannot show (they would all take the lowest colour), so the colours are linear."""
    p = adaviz.SweepPanel("saddle", steps=60, resolution=6, precompile=False)
    s = p.sweep
    assert (s.values < 0).any()
    metric, _, _ = heatmap_data(p)
    z = np.asarray(metric.z, float)
    np.testing.assert_array_equal(z[np.isfinite(s.values)], s.values[np.isfinite(s.values)])
    assert "log scale" not in metric.colorbar.title.text
    p.controls["metric"].value = "min_loss"
    metric, _, _ = heatmap_data(p)
    assert (p.sweep.values < 0).any() and "log scale" not in metric.colorbar.title.text


def test_other_axes_are_transposed_onto_x_and_y():
    p = adaviz.SweepPanel("booth", x="rho", y="lr", steps=60, resolution=6, epsilon=1e-6)
    s = p.sweep
    assert [name for name, _ in s.axes] == ["lr", "rho"]  # rule order
    metric, _, _ = heatmap_data(p)
    np.testing.assert_array_equal(metric.x, s.axes[1][1])  # rho along x
    np.testing.assert_array_equal(metric.y, s.axes[0][1])  # lr along y
    check_figure_equals_sweep(p, transpose=False)  # rows of values already run along lr
    assert sorted(p.controls) == [
        "decay",
        "epsilon",
        "loss_scale",
        "metric",
        "noise",
        "open",
        "overlay",
        "reset",
        "seeds",
    ]


def test_first_step_overlay_is_lr_sqrt_eps_over_one_minus_rho(panel):
    panel.controls["overlay"].value = True
    contour = panel.figures["heatmap"].data[3]
    assert contour.visible
    s = panel.sweep
    (_, rho), (_, eps) = s.axes
    expected = np.log10(s.fixed["lr"] * np.sqrt(eps[None, :] / (1.0 - rho[:, None])))
    np.testing.assert_allclose(np.asarray(contour.z, float), expected, rtol=1e-12)
    panel.controls["overlay"].value = False
    assert not panel.figures["heatmap"].data[3].visible


# ------------------------------------------------------------------------ drill-down
def test_select_shows_that_cells_run(panel):
    panel.controls["metric"].value = "final_loss"
    i, j = 9, 4
    panel.select(i, j)
    s = panel.sweep
    cell = s.settings(i, j)
    t = panel.trajectory
    expected = adaviz.simulate("rosenbrock", steps=150, loss_scale=s.loss_scale, **cell)
    np.testing.assert_array_equal(t.positions, expected.positions)
    np.testing.assert_allclose(t.final_loss, s.values[i, j], rtol=1e-4)  # float32, N=1 vs grid
    (path,) = panel.figures["surface"].select_traces(selector={"name": "trajectory"})
    np.testing.assert_array_equal(np.asarray(path.x), expected.positions[:, 0, 0])
    np.testing.assert_array_equal(np.asarray(path.y), expected.positions[:, 0, 1])
    acc = panel.figures["accumulators"].data[0]  # E[g²] x
    np.testing.assert_allclose(np.asarray(acc.y)[1:], expected.accum_grad[1:, 0, 0], rtol=1e-6)
    steps = panel.figures["step_size"].data[0]  # Adadelta x
    np.testing.assert_allclose(np.asarray(steps.y), expected.step_size[:, 0, 0], rtol=1e-6)
    marker = panel.figures["heatmap"].data[4]
    assert list(marker.x) == [cell["epsilon"]] and list(marker.y) == [cell["rho"]]
    assert panel.selected == (i, j)
    assert f"selected ({i}, {j})" in panel._readout.value


def test_selection_follows_slider_changes(panel):
    panel.select(3, 12)
    panel.controls["lr"].value = 2.0
    cell = panel.sweep.settings(3, 12)
    assert cell["lr"] == 2.0
    expected = adaviz.simulate("rosenbrock", steps=150, loss_scale=panel.sweep.loss_scale, **cell)
    np.testing.assert_array_equal(panel.trajectory.positions, expected.positions)


def test_open_in_surface_panel_uses_the_cells_settings(panel):
    panel.select(5, 7)
    cell = panel.sweep.settings(5, 7)
    surface_panel = panel.open_surface_panel()
    assert isinstance(surface_panel, adaviz.SurfacePanel)
    for name, value in cell.items():
        assert surface_panel.hyperparameters[name] == pytest.approx(value, rel=1e-12)
    assert not panel.controls["open"].disabled


def test_widget_state_is_json_without_nan(panel):
    """NaN/inf are not JSON: jupyter_client warns about them in widget messages."""
    panel.controls["overlay"].value = True
    panel.controls["metric"].value = "steps_to_converge"  # mostly NaN values
    state = panel.figures["heatmap"].get_state()
    text = json.dumps(state["_widget_data"], allow_nan=False, default=lambda b: None)
    assert '"z"' in text
    panel.controls["overlay"].value = False
    panel.controls["metric"].value = "final_loss"


def test_to_html_writes_the_figures(panel, tmp_path):
    path = panel.to_html(tmp_path / "sweep.html", live=False, include_plotlyjs="cdn")
    text = path.read_text()
    assert "adaviz SweepPanel" in text and text.count("plotly-graph-div") == 4


# ------------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"x": "rho", "y": "rho"}, "x and y must be two different hyperparameters"),
        ({"x": "beta_1"}, "x must be one of lr, rho, epsilon, decay"),
        ({"lr": 100.0}, r"lr must be in \[0.0001, 10\] for the panel's slider"),
        ({"momentum": 0.9}, "'momentum' is not an Adadelta hyperparameter"),
        ({"rho": 0.9}, "rho is an axis of the map"),
        ({"rho": [0.5, 1.5]}, r"rho must be in \[0, 1\], got 1.5 at index 1"),
        ({"resolution": 1}, r"resolution must be an integer in \[2, 1024\]"),
        ({"metric": "loss"}, "metric must be one of"),
        ({"loss_scale": 1e5}, r"loss_scale must be in \[1e-3, 1e3\]"),
        ({"start": (1e9, 0.0)}, "start must lie within"),
    ],
)
def test_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        adaviz.SweepPanel("rosenbrock", steps=10, **{"resolution": 4, **kwargs})


def test_select_refuses_bad_cells(panel):
    fresh = adaviz.SweepPanel("booth", steps=20, resolution=4)
    with pytest.raises(ValueError, match="select a cell first"):
        fresh.open_surface_panel()
    with pytest.raises(ValueError, match=r"the rho index must be an integer in \[0, 3\]"):
        fresh.select(4, 0)


# ------------------------------------------------------------------------ live models
@pytest.mark.slow
def test_for_model_fills_the_map_and_ends_equal_to_the_sweep():
    data = adaviz.datasets.make("moons", n=64, seed=2)

    def build_model():
        return keras.Sequential(
            [keras.Input((2,)), keras.layers.Dense(6, activation="tanh"), keras.layers.Dense(1)]
        )

    p = adaviz.SweepPanel.for_model(build_model, data, resolution=2, epochs=1, batch_size=16)
    result = p.wait(timeout=600)
    assert result is not None and result.finished.all()
    metric = p.figures["heatmap"].data[0]
    np.testing.assert_array_equal(np.asarray(metric.customdata, float), result.values)
    np.testing.assert_array_equal(p.values, result.values)
    assert "4 / 4 cells trained" in p._status.value
    expected = adaviz.sweep_model(
        build_model,
        data,
        epochs=1,
        batch_size=16,
        progress=False,
        rho=result.axes[0][1],
        epsilon=result.axes[1][1],
    )
    np.testing.assert_array_equal(result.values, expected.values)
    assert tf.reduce_all(tf.math.is_finite(result.values)).numpy()


def test_background_compile_on_display_does_not_change_the_selected_run():
    from adaviz.panels.kit.warmup import WARMUP

    p = adaviz.SweepPanel("booth", steps=70, resolution=4, precompile=True)
    bundle = p._repr_mimebundle_()  # what IPython calls to display it
    assert "text/html" in bundle
    assert WARMUP.wait(timeout=600)
    p.select(1, 2)
    expected = adaviz.simulate("booth", steps=70, **p.sweep.settings(1, 2))
    np.testing.assert_array_equal(p.trajectory.positions, expected.positions)


def test_for_model_refuses_bad_input_before_training():
    data = adaviz.datasets.make("moons", n=32, seed=2)
    with pytest.raises(ValueError, match="build_model must return a Keras model"):
        adaviz.SweepPanel.for_model(lambda: None, data, resolution=2)
    with pytest.raises(ValueError, match="epochs must be an integer >= 1"):
        adaviz.SweepPanel.for_model(
            lambda: keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)]),
            data,
            resolution=2,
            epochs=0,
        )


def test_noise_and_seeds_sweep_the_mean_over_seeds_without_retracing():
    from adaviz.sweeps import metric as sweep_metric

    panel = adaviz.SweepPanel("himmelblau", steps=200, resolution=6, throttle=0, precompile=False)
    panel.controls["noise"].value = 1.0
    panel.controls["seeds"].value = 3
    s = panel.sweep
    assert (s.noise, s.seeds) == (1.0, 3)
    (rho_name, rhos), (eps_name, epsilons) = s.axes
    want = adaviz.sweep("himmelblau", steps=200, rho=rhos, epsilon=epsilons, noise=1.0, seeds=3)
    np.testing.assert_array_equal(s.values, want.values)
    assert "each cell the mean over 3 seeds" in panel._readout.value
    title = panel.figures["heatmap"].layout.title.text
    assert title.startswith("final loss: 36 cells × mean of 3 seeds of 200 steps"), title
    before = sweep_metric.trace_count()
    panel.controls["noise"].value = 0.1
    assert panel.sweep.noise == 0.1 and sweep_metric.trace_count() == before
    panel.close()

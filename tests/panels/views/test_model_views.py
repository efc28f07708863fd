"""The live-model views, given arrays: what each figure holds (no trainer, no widgets)."""

import numpy as np

from adaviz.panels.views.model.common import MAX_GHOSTS, MAX_POINTS, log_histogram, thin
from adaviz.panels.views.model.data import BoundaryView, FitView
from adaviz.panels.views.model.layers import LayerLinesView, StepSizeHistogramView
from adaviz.panels.views.model.loss import TrainingLossView


def test_loss_view_lines_thinned_for_the_browser():
    view = TrainingLossView(validation=True)
    step = np.arange(1, 5001)
    loss = 1.0 / step
    loss[10] = -1.0  # not drawable on a log axis: a gap
    view.update(step, loss, smoothed=2.0 / step, full_step=[100, 5000], full_loss=[0.5, 0.1],
                val_step=[100, 5000], val_loss=[0.6, 0.2])  # fmt: skip
    fig = view.figure
    batch = fig.data[view.BATCH]
    assert len(batch.x) <= MAX_POINTS + 1 and batch.x[0] == 1 and batch.x[-1] == 5000
    np.testing.assert_allclose(
        batch.y, np.where(loss > 0, loss, np.nan)[np.asarray(batch.x, int) - 1]
    )
    np.testing.assert_allclose(
        fig.data[view.SMOOTHED].y, 2.0 / np.asarray(fig.data[view.SMOOTHED].x)
    )
    np.testing.assert_allclose(fig.data[view.FULL].y, [0.5, 0.1])
    np.testing.assert_allclose(fig.data[view.VAL].x, [100, 5000])
    assert fig.layout.yaxis.type == "log"
    view.mark_nonfinite(1234)
    assert fig.layout.shapes[0].x0 == 1234
    view.mark_nonfinite(None)
    assert not fig.layout.shapes


def test_loss_view_ghosts():
    view = TrainingLossView()
    view.set_ghosts([("run a", [1, 2, 3], [3.0, 2.0, 1.0]), ("run b", [1, 2], [1.0, 0.5])])
    names = [t.name for t in view.figure.data[:MAX_GHOSTS]]
    assert names[:2] == ["run a", "run b"] and not any(names[2:])
    assert view.figure.data[0].visible and not view.figure.data[2].visible
    np.testing.assert_allclose(view.figure.data[1].y, [1.0, 0.5])


def test_layer_lines_one_colour_per_layer_one_dash_per_series():
    view = LayerLinesView(["a", "b"], [("E[g²]", "solid"), ("E[Δx²]", "dash")], title="t",
                          ytitle="y")  # fmt: skip
    step = np.arange(1, 11)
    grad = np.stack([step * 1.0, step * 2.0], axis=1)
    delta = np.stack([step * 3.0, step * 4.0], axis=1)
    view.update(step, grad, delta)
    data = view.figure.data
    assert [t.name for t in data] == ["a E[g²]", "a E[Δx²]", "b E[g²]", "b E[Δx²]"]
    assert data[0].line.color == data[1].line.color != data[2].line.color
    assert data[1].line.dash == "dash"
    np.testing.assert_allclose(data[2].y, step * 2.0)
    np.testing.assert_allclose(data[3].y, step * 4.0)


def test_step_size_histogram_counts_every_parameter():
    view = StepSizeHistogramView(["a", "b"])
    rng = np.random.default_rng(0)
    sizes = [10.0 ** rng.uniform(-4, -1, 50), 10.0 ** rng.uniform(-3, 0, 7)]
    view.update(sizes)
    for trace, values in zip(view.figure.data, sizes, strict=True):
        assert np.sum(trace.y[:-1]) == values.size
        assert trace.x[0] <= values.min() * (1 + 1e-9) and trace.x[-1] >= values.max() * (1 - 1e-9)
    edges, counts = log_histogram([np.array([0.0, -1.0])])
    assert edges is None and counts[0].sum() == 0


def test_boundary_and_fit_views():
    gx, gy = np.linspace(-1, 1, 4), np.linspace(-2, 2, 3)
    x = np.array([[0.0, 0.0], [0.5, 0.5]])
    view = BoundaryView(gx, gy, x, np.array([0, 1]), 2)
    p = np.linspace(0, 1, 12).reshape(3, 4)
    view.update(p)
    np.testing.assert_allclose(view.figure.data[0].z, p)
    assert [t.name for t in view.figure.data[1:]] == ["class 0", "class 1"]
    fit = FitView(np.linspace(0, 1, 5), np.array([[0.2], [0.4]]), np.array([1.0, 2.0]))
    fit.update(np.arange(5.0))
    np.testing.assert_allclose(fit.figure.data[1].y, np.arange(5.0))


def test_thin_keeps_the_last_point():
    s, v = thin(np.arange(10_001.0), np.arange(10_001.0), limit=100)
    assert len(s) <= 101 and s[0] == 0 and s[-1] == 10_000


def test_time_series_keep_their_axes_so_most_updates_are_redraw_free():
    from adaviz.panels.views.model.common import step_ceiling

    assert [step_ceiling(s) for s in (1, 10, 11, 150, 200, 201, 4999)] == [
        10, 10, 20, 200, 200, 500, 5000,
    ]  # fmt: skip
    view = LayerLinesView(["a"], [("", "solid")], title="t", ytitle="y")
    moves = []
    for n in (30, 35, 40, 45, 60):
        step = np.arange(1, n + 1)
        ratio = (1e-3 * (1 + 0.1 * np.sin(step)))[:, None]
        view.update(step, ratio)
        moves.append(view.axes.redraw_free)
        lo, hi = view.figure.layout.yaxis.range
        assert view.figure.layout.xaxis.range[1] >= n
        assert lo <= np.log10(ratio.min()) and np.log10(ratio.max()) <= hi
    # first draw and the step past 50 change the x range: full redraws; the rest move
    assert moves == [False, True, True, True, False]
    loss = TrainingLossView()
    loss.update(np.arange(1, 20), np.linspace(1, 0.5, 19))
    loss.set_ghosts([("old", np.arange(1, 400), np.linspace(5, 0.01, 399))])
    assert loss.figure.layout.xaxis.range[1] >= 399  # the ghost is inside the axes
    assert loss.figure.layout.yaxis.range[0] <= -2


def test_loss_view_without_summaries_draws_the_loss_plainly():
    view = TrainingLossView(summaries=False)
    batch = view.figure.data[view.BATCH]
    assert batch.name == "training loss" and batch.opacity is None
    for index in (view.SMOOTHED, view.FULL):
        assert view.figure.data[index].visible is False
        assert view.figure.data[index].showlegend is False

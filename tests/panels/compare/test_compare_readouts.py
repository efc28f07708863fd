"""ComparePanel's own views and readouts, given arrays (no engine, no panel)."""

from __future__ import annotations

import math

import numpy as np

from adaviz.panels.compare import readouts
from adaviz.panels.views import CompareStepSizeView, SensitivityView

NAMES, COLORS = ("adadelta", "sgd"), ("#1a1a1a", "#E69F00")


def test_sensitivity_view_draws_each_curve_and_its_star():
    view = SensitivityView(NAMES, COLORS)
    names = [t.name for t in view.figure.data]
    assert names == ["adadelta", "sgd", "adadelta chosen lr", "sgd chosen lr"]
    lrs = [np.logspace(-5, 1, 7)] * 2
    values = [np.arange(7.0) + 1, np.array([np.nan, 5, 4, 3, np.nan, np.nan, np.nan])]
    view.update(lrs, values, [(1e-5, 1.0), (1e-2, 3.0)], title="t", y_title="y", log_y=False)
    fig = view.figure
    np.testing.assert_array_equal(fig.data[0].x, lrs[0])
    np.testing.assert_array_equal(fig.data[1].y, values[1])
    assert (fig.data[3].x[0], fig.data[3].y[0]) == (1e-2, 3.0)
    assert fig.data[1].line.color == COLORS[1] and fig.data[3].marker.symbol == "star"
    assert fig.layout.title.text == "t" and fig.layout.yaxis.type == "linear"
    assert fig.layout.xaxis.type == "log"


def test_sensitivity_view_spans_the_lr_values_a_tune_tries_before_the_first_tune():
    lrs = np.logspace(-5, 1, 64)
    view = SensitivityView(NAMES, COLORS, lrs=lrs)
    # log axis range in decades: 1e-5 .. 10, a tenth of a decade wider each side
    np.testing.assert_allclose(view.figure.layout.xaxis.range, (-5.1, 1.1), rtol=1e-12)
    assert SensitivityView(NAMES, COLORS).figure.layout.xaxis.range is None


def test_step_size_view_draws_x_solid_and_y_dotted_per_optimizer():
    view = CompareStepSizeView(NAMES, COLORS)
    assert [t.name for t in view.figure.data] == ["adadelta x", "adadelta y", "sgd x", "sgd y"]
    steps = [np.arange(1.0, 4.0), np.arange(1.0, 3.0)]
    sizes = [
        (np.array([1.0, 2, 3]), np.array([4.0, 5, 6])),
        (np.array([7.0, 8]), np.array([9.0, 1])),
    ]
    view.update(steps, sizes)
    data = view.figure.data
    np.testing.assert_array_equal(data[1].y, [4.0, 5, 6])
    np.testing.assert_array_equal(data[2].x, [1.0, 2.0])
    np.testing.assert_array_equal(data[3].y, [9.0, 1.0])
    assert (data[0].line.dash, data[1].line.dash) == ("solid", "dot")
    assert data[2].line.color == COLORS[1]


def test_the_table_says_each_result_and_how_far_each_path_moved():
    rows = [
        ("adadelta", COLORS[0], "<b>library defaults</b>", readouts.result_text(-1, 0.25), 0.004),
        ("sgd", COLORS[1], "changed", readouts.result_text(3, math.nan), math.inf),
    ]
    text = readouts.table_html(rows, 300, 100.0, "a <note>")
    assert "final loss 0.25" in text and "diverged at step 3" in text
    assert "<td>4.00e-03</td>" in text and "<td>diverged</td>" in text
    assert "after 300 steps" in text and "loss × 100" in text and "a &lt;note&gt;" in text
    assert "<td>—</td>" in readouts.table_html([rows[0][:4] + (None,)], 10, 1.0, "")
    code = readouts.code_block_html({"sgd": "keras.optimizers.SGD(learning_rate=0.01)"})
    assert "sgd = keras.optimizers.SGD(learning_rate=0.01)" in code


def test_sensitivity_view_shows_a_tune_above_f_star_and_its_empty_state():
    view = SensitivityView(NAMES, COLORS)
    lrs = np.logspace(-5, 1, 4)
    curves = [(np.array([3.0, 2.0, 1.5, np.inf]), 1e-1), (np.full(4, np.inf), None)]
    view.show_tune(lrs, curves, 1.0, title="tuned")
    fig = view.figure
    np.testing.assert_array_equal(fig.data[0].y, [2.0, 1.0, 0.5, np.nan])  # above f* = 1
    assert np.isnan(fig.data[1].y).all() and np.isnan(fig.data[3].x[0])  # no star
    assert (fig.data[2].x[0], fig.data[2].y[0]) == (1e-1, 0.5)
    assert fig.layout.yaxis.type == "log" and fig.layout.title.text == "tuned"
    view.show_tune(lrs, curves[:1] * 2, float("nan"), title="no f*")
    np.testing.assert_array_equal(fig.data[0].y, [3.0, 2.0, 1.5, np.nan])
    assert fig.layout.yaxis.type == "linear" and fig.layout.yaxis.title.text.startswith(
        "objective ("
    )
    view.show_empty(gap=True)
    assert len(fig.data[0].x) == 0 and fig.layout.title.text.endswith("(press Tune)")
    assert fig.layout.yaxis.title.text == "objective − f*"

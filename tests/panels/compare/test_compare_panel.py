"""Tests for adaviz.ComparePanel, kernel side (no browser).

The figures are compared with what the engine computes for the same settings: the panel
runs each rule with ``loss_scale=[1, 10**k]`` for ``capacity(steps)`` steps in one call and shows the
first ``steps``; the expected arrays here come from the same public ``adaviz.simulate`` call
(so they are bit-equal), and the labels, readouts and tuning results are recomputed from
those arrays independently of the panel's code.
"""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest

import adaviz
from adaviz import engine
from adaviz.panels.compare import runs as compare_runs
from adaviz.panels.kit.style import RULE_COLORS as COLORS

RULES3 = ("adadelta", "sgd", "adam")


def trace(fig, name):
    """The trace called ``name`` (the first one)."""
    for t in fig.data:
        if t.name == name:
            return t
    raise AssertionError(f"no trace {name!r} in {[t.name for t in fig.data]}")


def engine_runs(panel, name):
    """The engine's runs for ``name`` at the panel's settings: (k = 0, current k), cut."""
    s = panel.surface
    t = adaviz.simulate(
        s,
        start=panel.start,
        steps=compare_runs.capacity(int(panel.controls["steps"].value)),
        optimizer=name,
        loss_scale=[1.0, panel.loss_scale],
        **panel.hyperparameters(name),
    )
    return t, int(panel.controls["steps"].value)


def valid(diverged_at, steps):
    k = int(diverged_at)
    return steps + 1 if k < 0 or k > steps else k


def assert_figures_are_the_engines(panel):
    figs = panel.figures
    s = panel.surface
    for name in panel.optimizers:
        t, steps = engine_runs(panel, name)
        run = 1
        n = valid(t.diverged_at[run], steps)
        path = trace(figs["surface"], name)
        np.testing.assert_array_equal(path.x, t.positions[:n, run, 0])
        np.testing.assert_array_equal(path.y, t.positions[:n, run, 1])
        loss = t.loss[:n, run].astype(np.float64) / panel.loss_scale - s.min_value
        loss = np.where(loss > 0, loss, np.nan)
        np.testing.assert_array_equal(trace(figs["loss"], name).y, loss)
        np.testing.assert_array_equal(trace(figs["loss"], name).x, np.arange(n))
        m = min(n, steps)
        for i, coord in enumerate("xy"):
            ss = t.step_size[:m, run, i]
            want = np.where(ss > 0, ss, np.nan)
            np.testing.assert_array_equal(trace(figs["step_size"], f"{name} {coord}").y, want)
        # the Trajectory the panel exposes is the run drawn, cut to the budget
        mine = panel.trajectories[name]
        assert mine.steps == steps and mine.n == 1 and mine.optimizer == name
        np.testing.assert_array_equal(mine.positions[:, 0], t.positions[: steps + 1, run])
        assert mine.loss_scale[0] == panel.loss_scale


def test_default_panel_compares_four_rules_with_library_defaults():
    panel = adaviz.ComparePanel()
    assert panel.optimizers == ("adadelta", "sgd", "momentum", "adam")
    assert set(panel.figures) == {"surface", "loss", "step_size", "sensitivity"}
    assert set(panel.trajectories) == set(panel.optimizers)
    assert panel.labels == dict.fromkeys(panel.optimizers, "library defaults")
    assert panel.hyperparameters("sgd") == {"lr": 0.01}
    assert panel.hyperparameters("adam") == {
        "lr": 0.001,
        "beta_1": 0.9,
        "beta_2": 0.999,
        "epsilon": 1e-7,
        "amsgrad": False,
    }
    assert_figures_are_the_engines(panel)
    # same start and budget for all; one colour per optimizer in every view
    starts = {tuple(t.positions[0, 0]) for t in panel.trajectories.values()}
    assert len(starts) == 1
    figs = panel.figures
    for name in panel.optimizers:
        color = COLORS[name]
        assert trace(figs["surface"], name).line.color == color
        assert trace(figs["loss"], name).line.color == color
        assert trace(figs["step_size"], f"{name} x").line.color == color
        assert trace(figs["sensitivity"], name).line.color == color
    assert len(set(COLORS.values())) == len(COLORS)
    # lr and epsilon sliders are logarithmic
    assert type(panel.controls["adam"]["lr"]).__name__ == "FloatLogSlider"
    assert type(panel.controls["adam"]["epsilon"]).__name__ == "FloatLogSlider"
    assert type(panel.controls["adam"]["beta_1"]).__name__ == "FloatSlider"


def test_control_changes_redraw_from_the_engine_and_never_retrace():
    panel = adaviz.ComparePanel("rosenbrock", RULES3, steps=300)
    before = engine.trace_count()
    panel.controls["adam"]["lr"].value = 0.05
    assert_figures_are_the_engines(panel)
    assert panel.labels == {
        "adadelta": "library defaults",
        "sgd": "library defaults",
        "adam": "changed by you",
    }
    panel.controls["adadelta"]["rho"].value = 0.9
    panel.controls["steps"].value = 700
    panel.controls["sgd"]["lr"].value = 1e-4
    assert_figures_are_the_engines(panel)
    assert panel.labels["adadelta"] == "changed by you"
    assert "rho = 0.9" in panel._table.value
    panel.controls["adadelta"]["rho"].value = 0.95  # back at the defaults: labelled so again
    assert panel.labels["adadelta"] == "library defaults"
    assert engine.trace_count() == before


def test_loss_scale_slider_scales_every_loss_and_reports_how_far_each_path_moved():
    panel = adaviz.ComparePanel("rosenbrock", RULES3, steps=1000)
    panel.controls["sgd"]["lr"].value = 1e-5
    assert panel.loss_scale == 1.0
    assert all(v == 0.0 for v in panel.moved.values())
    panel.controls["loss_scale"].value = 2.0
    assert panel.loss_scale == pytest.approx(100.0)
    assert_figures_are_the_engines(panel)
    for name in RULES3:
        t, steps = engine_runs(panel, name)
        a, b = t.positions[: steps + 1, 0], t.positions[: steps + 1, 1]
        want = np.nanmax(np.linalg.norm(a - b, axis=-1))
        assert panel.moved[name] == pytest.approx(want, rel=1e-6)
        ghost = trace(panel.figures["surface"], f"{name} at k = 0")
        assert ghost.visible and ghost.line.color == COLORS[name]
        np.testing.assert_array_equal(ghost.x, a[:, 0])
    # the paper's claim, seen in the readout: Adadelta barely moves, SGD's path does
    assert panel.moved["adadelta"] < 0.05 < 1.0 < panel.moved["sgd"]
    assert "path moved vs k = 0" in panel._table.value
    # the k = 0 ghosts follow a new budget and a new lr (sent with the paths)
    panel.controls["steps"].value = 600
    panel.controls["sgd"]["lr"].value = 2e-5
    assert_figures_are_the_engines(panel)
    for name in RULES3:
        t, steps = engine_runs(panel, name)
        ghost = trace(panel.figures["surface"], f"{name} at k = 0")
        np.testing.assert_array_equal(ghost.y, t.positions[: steps + 1, 0, 1])
    panel.controls["loss_scale"].value = 0.0
    assert all(not t.visible for t in panel.figures["surface"].data if "k = 0" in str(t.name))


@pytest.mark.slow
def test_a_new_surface_redraws_every_path_from_its_start():
    panel = adaviz.ComparePanel("rosenbrock", ("adadelta", "adam"), steps=200)
    panel.controls["surface"].value = "beale"
    beale = adaviz.surfaces.get("beale")
    assert panel.surface is beale and panel.start == tuple(beale.start)
    assert_figures_are_the_engines(panel)
    panel.set_start(1.0, -1.0)
    assert_figures_are_the_engines(panel)
    with pytest.raises(ValueError, match="start must lie inside the domain of 'beale'"):
        panel.set_start(100.0, 0.0)


@pytest.mark.slow
def test_a_surface_chosen_again_redraws_the_runs_it_kept():
    panel = adaviz.ComparePanel("rosenbrock", ("adadelta", "adam"), steps=300)
    first = panel.trajectories["adam"]
    panel.controls["surface"].value = "booth"
    assert_figures_are_the_engines(panel)
    assert not np.shares_memory(first.positions, panel.trajectories["adam"].positions)
    panel.controls["surface"].value = "rosenbrock"  # kept: drawn from the same run
    assert np.shares_memory(first.positions, panel.trajectories["adam"].positions)
    assert_figures_are_the_engines(panel)
    panel.controls["adam"]["lr"].value = 0.01  # a new setting: a new run
    assert not np.shares_memory(first.positions, panel.trajectories["adam"].positions)
    assert_figures_are_the_engines(panel)


@pytest.mark.slow
def test_a_surface_of_ones_own_joins_the_dropdown_under_its_name():
    bowl = adaviz.Surface(
        lambda x, y: x**2 + y**2, ((-1.0, 1.0), (-1.0, 1.0)), minima=[(0.0, 0.0)], name="bowl"
    )
    panel = adaviz.ComparePanel(bowl, ("sgd",), steps=50)
    select = panel.controls["surface"]
    assert select.value == "bowl" and panel.surface is bowl
    assert {"bowl", "rosenbrock"} <= {key for _, key in select.options}
    assert_figures_are_the_engines(panel)
    # a surface of one's own named like a built-in one is offered beside it
    own = adaviz.Surface(lambda x, y: x**2 + y**2, ((-2.0, 2.0), (-2.0, 2.0)), name="booth")
    panel = adaviz.ComparePanel(own, ("sgd",), steps=50)
    assert panel.controls["surface"].value == "booth (custom)" and panel.surface is own
    select.value = "booth"  # (the first panel) the built-in one
    assert panel.surface is own and adaviz.surfaces.get("booth") is not own


def independent_objective(t, steps, scale):
    """Mean of f over the last 10 % of the budget, surface units; inf when diverged."""
    w = math.ceil(0.1 * steps)
    f = t.loss[steps - w + 1 : steps + 1].astype(np.float64) / scale
    out = f.mean(axis=0)
    out[((t.diverged_at >= 0) & (t.diverged_at <= steps)) | ~np.isfinite(out)] = np.inf
    return out


@pytest.mark.slow
def test_tune_equals_separate_simulate_calls_and_picks_the_argmin_of_the_curve():
    panel = adaviz.ComparePanel("rosenbrock", RULES3, steps=400)
    panel.controls["loss_scale"].value = 1.0
    panel.controls["adam"]["beta_1"].value = 0.8  # tuning keeps the other settings
    result = panel.tune()
    s = panel.surface
    grid = np.logspace(-5, 1, 64)
    np.testing.assert_array_equal(compare_runs.LR_GRID, grid)
    for name in RULES3:
        values = dict(panel.hyperparameters(name))
        values["lr"] = grid
        # the panel's call: capacity(400) = 1,000 steps, of which the first 400 count
        runs = adaviz.simulate(
            s, start=s.start, steps=1000, optimizer=name, loss_scale=10.0, **values
        )
        scores = independent_objective(runs, 400, 10.0)
        best = grid[int(np.argmin(scores))]
        assert result[name]["lr"] == pytest.approx(best, rel=1e-12)
        assert panel.hyperparameters(name) == result[name]
        assert panel.labels[name] == f"tuned (lr = {adaviz.panels.kit.style.fmt(best)})"
        curve = trace(panel.figures["sensitivity"], name)
        want = np.where(np.isfinite(scores), scores - s.min_value, np.nan)
        want = np.where(want > 0, want, np.nan)
        np.testing.assert_array_equal(curve.x, grid)
        np.testing.assert_array_equal(curve.y, want)
        star = trace(panel.figures["sensitivity"], f"{name} chosen lr")
        assert star.x[0] == pytest.approx(best) and star.y[0] == np.nanmin(want)
    assert result["adam"]["beta_1"] == 0.8
    assert_figures_are_the_engines(panel)
    # moving a slider after tuning: "changed by you" again
    panel.controls["sgd"]["lr"].value = 1e-4
    assert panel.labels["sgd"] == "changed by you"
    assert panel.labels["adam"].startswith("tuned (lr = ")
    # another budget or surface: the tuned values say what they were tuned for
    panel.controls["steps"].value = 800
    assert panel.labels["adam"].startswith("tuned for 400 steps (lr = ")
    panel.controls["surface"].value = "booth"
    assert panel.labels["adam"].startswith("tuned for rosenbrock, 400 steps (lr = ")
    assert len(trace(panel.figures["sensitivity"], "adam").x) == 0  # rosenbrock's curve: gone


@pytest.mark.slow
def test_copy_as_code_builds_the_same_keras_optimizers():
    panel = adaviz.ComparePanel(
        "booth",
        ("adadelta", "nesterov", "rmsprop", "adam"),
        steps=100,
        hyperparameters={"rmsprop": {"centered": True, "momentum": 0.5}, "adam": {"lr": 0.02}},
    )
    assert panel.labels["rmsprop"] == "changed by you"
    for name, code in panel.code.items():
        opt = eval(code, {"keras": keras, "adaviz": adaviz})  # noqa: S307 - our own text
        config = opt.get_config()
        for hp, value in panel.hyperparameters(name).items():
            key = "learning_rate" if hp == "lr" else hp
            assert config[key] == pytest.approx(value), (name, hp)
    assert (
        panel.code["nesterov"].startswith("keras.optimizers.SGD(")
        and "nesterov=True" in (panel.code["nesterov"])
    )
    assert panel.code["adadelta"].startswith("adaviz.Adadelta(learning_rate=1.0")
    assert "keras.optimizers.Adam(learning_rate=0.02," in panel._code_box.value


def test_to_html_writes_every_view(tmp_path):
    panel = adaviz.ComparePanel("booth", ("adadelta", "sgd"), steps=50)
    path = panel.to_html(tmp_path / "compare.html", live=False, include_plotlyjs="cdn")
    text = path.read_text()
    assert "adadelta, sgd on booth" in text and "library defaults" in text
    assert "keras.optimizers.SGD(learning_rate=0.01)" in text
    assert text.count("plotly-graph-div") >= 4


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(optimizers=()), r"optimizers must name at least one of adadelta, sgd, "),
        (dict(optimizers=("adam", "lion")), r"optimizers must be among adadelta, .*'lion'"),
        (dict(optimizers=("adam", "adam")), r"each rule once, got 'adam' twice"),
        (dict(optimizers=("sgd",), hyperparameters={"sgd": {"beta_1": 0.9}}), r"belongs to adam"),
        (dict(optimizers=("adam",), hyperparameters={"sgd": {"lr": 1.0}}), r"not compared, 'sgd'"),
        (dict(hyperparameters={"adam": {"beta_2": 1.5}}), r"beta_2 must be in \[0, 1\), got 1.5"),
        (dict(hyperparameters={"sgd": {"lr": 100.0}}), r"lr must be in \[1e-05, 10\]"),
        (dict(loss_scale=0.0), r"loss_scale must be a finite number > 0, got 0.0"),
        (dict(loss_scale=np.inf), r"loss_scale must be a finite number > 0, got inf"),
        (dict(loss_scale=1e4), r"loss_scale must be in \[1e-3, 1e3\]"),
        (dict(steps=0), r"steps must be an integer in \[10, 5000\], got 0"),
        (dict(start=(9.0, 9.0)), r"start must lie inside the domain of 'rosenbrock'"),
        (dict(surface="nope"), r"unknown surface 'nope'"),
    ],
)
def test_bad_input_is_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        adaviz.ComparePanel(**kwargs)


def test_the_budget_picks_one_of_two_capacities():
    assert compare_runs.capacity(10) == compare_runs.capacity(1000) == 1000
    assert compare_runs.capacity(1001) == compare_runs.capacity(5000) == 5000
    panel = adaviz.ComparePanel("booth", ("adam",), steps=1000)
    panel.controls["steps"].value = 1001  # the other capacity (compiles once)
    assert_figures_are_the_engines(panel)
    assert panel.trajectories["adam"].steps == 1001


@pytest.mark.slow  # a precompile of every surface and step capacity
def test_after_precompile_surface_and_steps_changes_compile_nothing():
    panel = adaviz.ComparePanel("rosenbrock", ("adadelta", "momentum"), steps=300)
    assert panel.precompile(wait=True, timeout=600, surfaces=["himmelblau"])
    before = engine.trace_count()
    panel.controls["steps"].value = 3000
    panel.controls["surface"].value = "himmelblau"
    panel.controls["steps"].value = 200
    panel.controls["surface"].value = "rosenbrock"
    panel.tune()  # its Tune graphs were compiled too (both capacities)
    panel.controls["steps"].value = 4000
    panel.tune()
    assert engine.trace_count() == before
    panel.controls["surface"].value = "himmelblau"
    panel.tune()  # only the current surface's Tune graphs are prepared: one per rule
    assert engine.trace_count() - before == 2
    assert_figures_are_the_engines(panel)  # the background compile changed nothing drawn


def browser_echo(slider):
    """What the browser's slider sends back after the kernel sets it: the value at its
    nearest tick (``min + n * step``, in exponents for a log slider); a checkbox sends
    its bool back unchanged."""
    if type(slider).__name__ == "Checkbox":
        slider.value = bool(slider.value)
    elif type(slider).__name__ == "FloatLogSlider":
        n = round((math.log10(slider.value) - slider.min) / slider.step)
        slider.value = slider.base ** (slider.min + n * slider.step)
    else:
        n = round((slider.value - slider.min) / slider.step)
        slider.value = slider.min + n * slider.step


@pytest.mark.slow
def test_tuned_and_default_labels_survive_the_browser_echo_and_the_run_is_what_is_shown():
    panel = adaviz.ComparePanel("rosenbrock", RULES3, steps=300)
    for name in RULES3:
        for slider in panel.controls[name].values():
            browser_echo(slider)
    assert panel.labels == dict.fromkeys(RULES3, "library defaults")
    result = panel.tune()
    for name in RULES3:
        for slider in panel.controls[name].values():
            browser_echo(slider)
    for name in RULES3:
        assert panel.labels[name].startswith("tuned (lr = "), panel.labels[name]
        # the value the slider shows (after the echo) is the tuned value, and it is run
        assert panel.controls[name]["lr"].value == pytest.approx(result[name]["lr"], rel=1e-9)
        assert panel.trajectories[name].lr[0] == panel.controls[name]["lr"].value
    assert_figures_are_the_engines(panel)
    # one tick away is a change
    lr = panel.controls["sgd"]["lr"]
    lr.value = lr.base ** (math.log10(lr.value) + lr.step)
    assert panel.labels["sgd"] == "changed by you"


def visible_trace(fig, name):
    """The visible trace called ``name``."""
    found = [t for t in fig.data if t.name == name and t.visible is not False]
    assert len(found) == 1, f"{len(found)} visible traces {name!r}"
    return found[0]


def test_pin_keeps_every_path_and_loss_as_ghosts_and_clear_removes_them():
    panel = adaviz.ComparePanel("rosenbrock", RULES3, steps=300)
    controls = panel.controls
    assert controls["pin"].description == "pin" and controls["clear"].description == "clear"
    assert "adaviz-pin" in controls["pin"]._dom_classes
    assert "adaviz-clear" in controls["clear"]._dom_classes
    first = {name: engine_runs(panel, name)[0] for name in RULES3}  # the runs pinned
    controls["pin"].click()  # the button, as in the browser
    first_labels = panel.ghosts
    assert first_labels == [
        "ghost: adadelta, lr = 1",
        "ghost: sgd, lr = 0.01",
        "ghost: adam, lr = 1.00e-03",
    ]
    controls["adam"]["lr"].value = 0.05
    controls["sgd"]["lr"].value = 1e-4
    controls["loss_scale"].value = 1.0
    second = {name: engine_runs(panel, name)[0] for name in RULES3}
    labels = panel.pin()
    assert labels["adam"] == "ghost: adam, lr = 0.05, k = 1"
    assert labels["adadelta"] == "ghost: adadelta, lr = 1, k = 1"
    assert panel.ghosts[3:] == list(labels.values())
    assert_figures_are_the_engines(panel)  # pinning changed nothing drawn
    figs = panel.figures
    s = panel.surface
    for i, name in enumerate(RULES3):
        for pinned, scale, label in (
            (first[name], 1.0, first_labels[i]),
            (second[name], 10.0, labels[name]),
        ):
            n = valid(pinned.diverged_at[1], 300)  # run 1: the loss scale drawn
            ghost = visible_trace(figs["surface"], label)
            np.testing.assert_array_equal(ghost.x, pinned.positions[:n, 1, 0])
            np.testing.assert_array_equal(ghost.y, pinned.positions[:n, 1, 1])
            assert ghost.line.color == COLORS[name] and ghost.opacity < 1
            assert ghost.showlegend is False  # its label shows on hover
            loss = visible_trace(figs["loss"], label)
            want = pinned.loss[:n, 1].astype(np.float64) / scale - s.min_value
            np.testing.assert_array_equal(loss.y, np.where(want > 0, want, np.nan))
            np.testing.assert_array_equal(loss.x, np.arange(n))
    # the k = 0 ghosts are not pins: they stay while k != 0
    k0 = visible_trace(figs["surface"], "adam at k = 0")
    # a third pin replaces the oldest
    panel.pin()
    assert len(panel.ghosts) == 2 * len(RULES3) and panel.ghosts[:3] == list(labels.values())
    controls["clear"].click()
    assert panel.ghosts == []
    figs = panel.figures
    for fig in (figs["surface"], figs["loss"]):
        assert not [t.name for t in fig.data if str(t.name).startswith("ghost") and t.visible]
    np.testing.assert_array_equal(visible_trace(figs["surface"], "adam at k = 0").x, k0.x)
    # ghosts of another surface would mislead: a new surface clears them too
    panel.pin()
    controls["surface"].value = "booth"
    assert panel.ghosts == []
    for fig in (panel.figures["surface"], panel.figures["loss"]):
        assert not [t.name for t in fig.data if str(t.name).startswith("ghost") and t.visible]
    assert_figures_are_the_engines(panel)


def test_pins_stay_on_both_views_when_the_loss_scale_goes_back_to_zero():
    panel = adaviz.ComparePanel("rosenbrock", RULES3, steps=300)
    controls = panel.controls
    controls["loss_scale"].value = 1.0
    labels = panel.pin()
    controls["loss_scale"].value = 0.0  # the k = 0 ghosts go, the pins stay
    figs = panel.figures
    assert not [t.name for t in figs["surface"].data if "k = 0" in str(t.name) and t.visible]
    for name, label in labels.items():
        for fig in (figs["surface"], figs["loss"]):
            ghost = visible_trace(fig, label)
            assert len(ghost.x) > 1 and ghost.line.color == COLORS[name], name
    assert panel.ghosts == list(labels.values())
    assert_figures_are_the_engines(panel)


@pytest.mark.slow
def test_centered_and_amsgrad_are_checkboxes_that_labels_code_and_figures_follow():
    panel = adaviz.ComparePanel("rosenbrock", ("rmsprop", "adam"), steps=300)
    centered, amsgrad = panel.controls["rmsprop"]["centered"], panel.controls["adam"]["amsgrad"]
    assert type(centered).__name__ == type(amsgrad).__name__ == "Checkbox"
    assert centered.value is False and amsgrad.value is False
    assert "adaviz-adam-amsgrad" in amsgrad._dom_classes
    assert "adaviz-rmsprop-centered" in centered._dom_classes
    assert panel.labels == {"rmsprop": "library defaults", "adam": "library defaults"}
    before = engine.trace_count()
    plain = panel.trajectories["adam"].positions.copy()
    amsgrad.value = True
    centered.value = True
    assert panel.hyperparameters("adam")["amsgrad"] is True
    assert panel.hyperparameters("rmsprop")["centered"] is True
    assert panel.labels == {"rmsprop": "changed by you", "adam": "changed by you"}
    assert "amsgrad = True" in panel._table.value and "centered = True" in panel._table.value
    assert "amsgrad=True" in panel.code["adam"] and "centered=True" in panel.code["rmsprop"]
    assert "amsgrad=True" in panel._code_box.value
    assert_figures_are_the_engines(panel)
    assert engine.trace_count() == before  # a flag is a value: ticking it never retraces
    # the flag reaches the engine: the paths are adaviz.simulate's with the flag given
    # explicitly (the panel's call: 1,000 steps, loss scales [1, 1], of which run 1 is drawn)
    s = panel.surface
    for name, flag in (("adam", {"amsgrad": True}), ("rmsprop", {"centered": True})):
        want = adaviz.simulate(
            s, start=s.start, steps=1000, optimizer=name, loss_scale=[1.0, 1.0], **flag
        )
        path = trace(panel.figures["surface"], name)
        np.testing.assert_array_equal(path.x, want.positions[:301, 1, 0])
        np.testing.assert_array_equal(path.y, want.positions[:301, 1, 1])
    assert not np.array_equal(panel.trajectories["adam"].positions, plain)
    # the copied code builds a Keras optimizer with the flag set
    opt = eval(panel.code["adam"], {"keras": keras, "adaviz": adaviz})  # noqa: S307
    assert opt.get_config()["amsgrad"] is True
    # tuning keeps the flags; the tuned label follows them (unticking: changed by you)
    result = panel.tune()
    assert result["adam"]["amsgrad"] is True and result["rmsprop"]["centered"] is True
    assert panel.labels["adam"].startswith("tuned (lr = ")
    amsgrad.value = False
    assert panel.labels["adam"] == "changed by you"
    amsgrad.value = True
    assert panel.labels["adam"].startswith("tuned (lr = ")
    # reset goes back to the library defaults, the box unticked
    panel._hp["adam"].reset.click()
    assert amsgrad.value is False and panel.labels["adam"] == "library defaults"
    # set from the constructor
    other = adaviz.ComparePanel(
        "booth", ("adam",), steps=50, hyperparameters={"adam": {"amsgrad": True}}
    )
    assert other.controls["adam"]["amsgrad"].value is True
    assert other.labels["adam"] == "changed by you"
    with pytest.raises(ValueError, match="amsgrad"):
        adaviz.ComparePanel("booth", ("adam",), hyperparameters={"adam": {"amsgrad": 0.5}})


def test_setting_a_slider_twice_in_one_cell_keeps_the_second_value():
    panel = adaviz.ComparePanel("rosenbrock", ("adadelta", "adam"), steps=300)
    lr = panel.controls["adam"]["lr"]
    lr.value = 0.01
    lr.value = 0.02
    assert lr.value == 0.02
    assert panel.hyperparameters("adam")["lr"] == 0.02
    assert panel.trajectories["adam"].lr[0] == pytest.approx(0.02)
    assert_figures_are_the_engines(panel)


def test_shown_steps_are_the_engine_run_for_that_many_steps():
    """The panel runs its capacity's step count and shows the first `steps`: exactly what
    simulate(steps=...) returns, divergence flags included."""
    kwargs = dict(lr=10.0, rho=0.5, epsilon=0.1)
    full = adaviz.simulate("beale", steps=500, **kwargs)
    k = int(full.diverged_at[0])
    assert 2 < k < 400
    for steps in (k - 1, k, k + 3):
        cut = compare_runs.cut(full, steps)
        want = adaviz.simulate("beale", steps=steps, **kwargs)
        assert cut.steps == steps
        assert int(cut.diverged_at[0]) == int(want.diverged_at[0])
        np.testing.assert_array_equal(cut.positions, want.positions)
        np.testing.assert_array_equal(cut.accum_grad, want.accum_grad)
        np.testing.assert_array_equal(cut.step_size, want.step_size)
    assert int(compare_runs.cut(full, k - 1).diverged_at[0]) == -1


def test_momentum_default_label_says_its_09_is_a_convention_not_keras_default():
    from adaviz import _math
    from adaviz.panels.compare import controls

    for name in ("momentum", "nesterov"):
        short, detail = controls.label(name, dict(_math.rule(name).defaults))
        assert short == "library defaults"
        assert "momentum 0.9 is the conventional choice adaviz makes" in detail
        assert "Keras's SGD defaults to momentum=0" in detail
    short, detail = controls.label("sgd", dict(_math.rule("sgd").defaults))
    assert detail == "<b>library defaults</b> (Keras 3's)"
    assert "momentum" not in controls.label("rmsprop", dict(_math.rule("rmsprop").defaults))[1]


@pytest.mark.slow
def test_noise_and_seed_are_shared_by_every_rule_and_never_retrace():
    panel = adaviz.ComparePanel("ill_conditioned", RULES3, steps=300, precompile=False)
    panel.controls["noise"].value = 1.0
    panel.controls["seed"].value = 3
    assert panel.noise == (1.0, 3)
    before = engine.trace_count()
    panel.controls["noise"].value = 0.1
    panel.flush()
    assert engine.trace_count() == before  # new noise values never retrace
    noise_of = {}
    for name, run in panel.trajectories.items():
        want = adaviz.simulate(
            "ill_conditioned", steps=run.steps, optimizer=name, noise=0.1, seed=3,
            **panel.hyperparameters(name),
        )  # fmt: skip
        np.testing.assert_array_equal(run.positions[:, 0], want.positions[:, 0])
        noise_of[name] = run.grads[:, 0] - run.true_grads[:, 0]
    # the same noise sequence for every rule (up to float32 rounding of grad + noise)
    first = noise_of[RULES3[0]]
    for name in RULES3[1:]:
        np.testing.assert_allclose(noise_of[name], first, rtol=0, atol=1e-3)
    assert np.abs(first).max() > 0.05
    # a tune made with noise says so once the noise changes
    panel.tune()
    assert all(label.startswith("tuned (") for label in panel.labels.values())
    panel.controls["noise"].value = 0.0
    assert all("noise σ = 0.1, seed 3" in label for label in panel.labels.values())
    panel.close()

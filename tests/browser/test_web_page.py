"""The live SurfacePanel page (adaviz/web/page.py + page.js) in Chromium, opened from disk
with every network request refused.

Moving a slider must redraw all four views with the page engine's new run, clicking the
contour must move the start, the settings must travel in the URL fragment (an invalid
fragment falls back to the defaults with a visible note), and the console must stay free of
errors. Without Chromium or Playwright the tests skip with the reason, except under
``CI=true``.
"""

from __future__ import annotations

import browser_harness as bh
import numpy as np
import pytest

import adaviz
from adaviz.panels.kit.controls import NOISE_VALUES
from adaviz.web import page as web_page

pytestmark = pytest.mark.browser


PANEL = "#adaviz-panel"
VIEWS = ("surface", "accumulators", "step_size", "loss")
TIMEOUT = 30_000  # ms


@pytest.fixture(scope="module")
def page_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("live") / "surface.html"
    state = web_page.surface_state("rosenbrock", rho=0.95, epsilon=1e-6, steps=300)
    path.write_text(web_page.surface_page(state), encoding="utf-8")
    return path


def draws(page):
    return int(page.eval_on_selector(PANEL, "panel => panel.dataset.draws"))


def wait_draws(page, count):
    page.wait_for_function(
        f"Number(document.querySelector('{PANEL}').dataset.draws) >= {count}", timeout=TIMEOUT
    )


def view_data(page):
    """Each view's traces as drawn: name -> (x, y) lists (the contour's z left out)."""
    return page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('.adaviz-figure')].map((d) =>
          [d.dataset.view, d.data.filter((t) => t.type !== 'contour').map((t) =>
            [t.name, Array.from(t.x), Array.from(t.y)])]))"""
    )


def trace(data, view, name):
    for trace_name, x, y in data[view]:
        if trace_name == name:
            return x, y
    raise AssertionError(f"no trace {name!r} in view {view}: {[t[0] for t in data[view]]}")


def engine_path(page, surface, **options):
    """``[x, y]`` of the page engine's own ``adaviz.simulate`` run."""
    return page.evaluate(
        """([surface, options]) => {
          const p = adaviz.simulate(surface, options).positions;
          return [Array.from(p.filter((_, i) => i % 2 === 0)),
                  Array.from(p.filter((_, i) => i % 2 === 1))];
        }""",
        [surface, options],
    )


def open_page(page, path, fragment=""):
    page.goto(path.as_uri() + fragment)
    wait_draws(page, 1)


def test_slider_redraws_every_view_offline(offline, page_file):
    open_page(offline, page_file)
    for view in VIEWS:  # each figure is a drawn plotly div
        assert offline.locator(f".adaviz-figure-{view.replace('_', '-')} .main-svg").count() > 0
    before = view_data(offline)
    x0, y0 = trace(before, "surface", "trajectory")
    assert len(x0) == 301  # every step drawn
    # the path drawn is the page engine's run of the panel's settings (tests/test_web_engine.py
    # holds that engine to adaviz.simulate)
    assert [x0, y0] == engine_path(offline, "rosenbrock", steps=300, rho=0.95, epsilon=1e-6)

    count = draws(offline)
    slider = offline.locator("input[name=rho]")
    box = slider.bounding_box()
    offline.mouse.move(box["x"] + box["width"] * 0.95, box["y"] + box["height"] / 2)
    offline.mouse.down()
    offline.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] / 2, steps=8)
    offline.mouse.up()
    wait_draws(offline, count + 1)
    offline.wait_for_timeout(0)
    rho = float(offline.eval_on_selector("input[name=rho]", "input => input.value"))
    assert rho < 0.9
    after = view_data(offline)
    changed = {
        "surface": trace(after, "surface", "trajectory") != trace(before, "surface", "trajectory"),
        "accumulators": trace(after, "accumulators", "E[g²] x")
        != trace(before, "accumulators", "E[g²] x"),
        "step_size": trace(after, "step_size", "step size x")
        != trace(before, "step_size", "step size x"),
        "loss": trace(after, "loss", "loss") != trace(before, "loss", "loss"),
    }
    assert all(changed.values()), changed
    # each view moved its traces without a redraw (the Jupyter figures' move), not by plotly's
    # full Plotly.update
    moves = offline.evaluate("() => adaviz.plotlyMove.moves")
    assert moves["update"] == 0 and moves["direct"] >= 4, moves
    assert list(trace(after, "surface", "trajectory")) == engine_path(
        offline, "rosenbrock", steps=300, rho=rho, epsilon=1e-6
    )
    assert f"rho={rho:g}"[:8] in offline.url
    assert not offline.adaviz_errors, offline.adaviz_errors


def test_controls_are_named_as_in_the_panel(offline, page_file):
    open_page(offline, page_file)
    names = offline.evaluate(
        "() => [...document.querySelectorAll('input[name], select[name], button[name]')]"
        ".map((e) => e.name)"
    )
    assert set(names) == {
        "surface",
        "lr",
        "rho",
        "epsilon",
        "decay",
        "noise",
        "seed",
        "steps",
        "preset",
        "step",
        "play",
        "reset",
        "pin",
        "clear",
    }
    # the sliders' ranges and log scales are the panel's
    lr = offline.eval_on_selector(
        "input[name=lr]", "e => [Number(e.min), Number(e.max), e.dataset.scale]"
    )
    assert lr == [-4, 1, "log10"]
    # the noise slider runs over the panel's values (0 = off, then log-spaced)
    noise = offline.eval_on_selector(
        "input[name=noise]",
        "e => [Number(e.min), Number(e.max), e.dataset.scale, JSON.parse(e.dataset.values)]",
    )
    assert noise == [0, len(NOISE_VALUES) - 1, "index", list(NOISE_VALUES)]
    options = offline.eval_on_selector(
        "select[name=surface]", "s => [...s.options].map(o => o.value)"
    )
    assert options == adaviz.surfaces.names()
    readouts = offline.inner_text(".adaviz-readouts")
    for words in ("first step", "final loss", "distance", "converge"):
        assert words in readouts
    assert not offline.adaviz_errors, offline.adaviz_errors


def test_click_sets_the_start_and_surface_switches(offline, page_file):
    open_page(offline, page_file)
    count = draws(offline)
    plot = offline.locator(".adaviz-figure-surface .nsewdrag").first
    box = plot.bounding_box()
    offline.mouse.click(box["x"] + box["width"] * 0.75, box["y"] + box["height"] * 0.75)
    wait_draws(offline, count + 1)
    x, y = trace(view_data(offline), "surface", "trajectory")
    assert 0.5 < x[0] < 1.5 and -0.5 < y[0] < 0.5, (x[0], y[0])  # rosenbrock: [-2, 2] x [-1, 3]

    count = draws(offline)
    offline.select_option("select[name=surface]", "booth")
    wait_draws(offline, count + 1)
    x, y = trace(view_data(offline), "surface", "trajectory")
    assert (x[0], y[0]) == adaviz.surfaces.get("booth").start
    assert "surface=booth" in offline.url
    assert not offline.adaviz_errors, offline.adaviz_errors


def test_fragment_carries_the_settings(offline, page_file):
    open_page(
        offline,
        page_file,
        "#surface=booth&lr=0.5&rho=0.9&epsilon=1e-4&decay=0&steps=40&x=2&y=-3"
        "&noise=0.1&seed=4294967295",
    )
    x, y = trace(view_data(offline), "surface", "trajectory")
    assert len(x) == 41 and (x[0], y[0]) == (2.0, -3.0)
    reference = adaviz.simulate(
        "booth", start=(2, -3), steps=40, lr=0.5, rho=0.9, epsilon=1e-4, dtype="float64",
        noise=0.1, seed=2**32 - 1,
    )  # fmt: skip
    assert x[-1] == pytest.approx(reference.positions[-1, 0, 0], rel=1e-9)
    assert y[-1] == pytest.approx(reference.positions[-1, 0, 1], rel=1e-9)
    assert offline.inner_text(".adaviz-note") == ""
    assert "gradient noise σ = 0.1 (seed 4294967295)" in offline.inner_text(".adaviz-readouts")
    assert not offline.adaviz_errors, offline.adaviz_errors


def test_noise_slider_and_seed_redraw_the_noisy_run(offline, page_file):
    """The noise slider and the seed box run simulate's noise: the drawn path, accumulators
    and loss are ``adaviz.simulate(..., noise=, seed=, dtype="float64")``'s."""
    open_page(offline, page_file)
    count = draws(offline)
    index = NOISE_VALUES.index(1.0)
    offline.eval_on_selector(
        "input[name=noise]", f"e => {{ e.value = {index}; e.dispatchEvent(new Event('input')); }}"
    )
    wait_draws(offline, count + 1)
    count = draws(offline)
    offline.fill("input[name=seed]", "12")
    offline.dispatch_event("input[name=seed]", "change")
    wait_draws(offline, count + 1)
    assert offline.inner_text(".adaviz-noise .adaviz-readout") == "1"
    data = view_data(offline)
    run = adaviz.simulate("rosenbrock", steps=300, rho=0.95, epsilon=1e-6, noise=1.0, seed=12,
                          dtype="float64")  # fmt: skip
    for view, name, want in (
        ("surface", "trajectory", run.positions[:, 0, 0]),
        ("accumulators", "E[g²] y", run.accum_grad[:, 0, 1]),
        ("loss", "loss", run.loss[:, 0] - adaviz.surfaces.get("rosenbrock").min_value),
    ):
        np.testing.assert_allclose(trace(data, view, name)[1 if view != "surface" else 0], want,
                                   rtol=1e-9, atol=1e-12, err_msg=f"{view} {name}")  # fmt: skip
    noise_free = engine_path(offline, "rosenbrock", steps=300, rho=0.95, epsilon=1e-6)
    assert list(trace(data, "surface", "trajectory")) != noise_free
    assert "noise=1&seed=12" in offline.url
    # a seed the box cannot hold is refused: the box shows the last seed run
    offline.fill("input[name=seed]", "-3")
    offline.dispatch_event("input[name=seed]", "change")
    assert offline.eval_on_selector("input[name=seed]", "e => e.value") == "12"
    assert not offline.adaviz_errors, offline.adaviz_errors


@pytest.mark.parametrize(
    "fragment",
    [
        "#rho=7",
        "#surface=nowhere",
        "#lr=abc&rho=0.9",
        "#x=100&y=0",
        "#steps=0",
        "#noise=0.5&seed=1",
    ],
)
def test_invalid_fragment_falls_back_with_a_note(offline, page_file, fragment):
    open_page(offline, page_file, fragment)
    note = offline.inner_text(".adaviz-note")
    assert "ignored" in note and "defaults" in note
    x, _ = trace(view_data(offline), "surface", "trajectory")
    assert len(x) == 301  # the page's own settings
    assert not offline.adaviz_errors, offline.adaviz_errors


def test_scrub_moves_the_marker(offline, page_file):
    open_page(offline, page_file)
    offline.eval_on_selector(
        "input[name=step]", "e => { e.value = 120; e.dispatchEvent(new Event('input')); }"
    )
    data = view_data(offline)
    px, py = trace(data, "surface", "trajectory")
    assert trace(data, "surface", "step marker") == ([px[120]], [py[120]])
    assert "step 120" in offline.inner_text(".adaviz-cursor")
    assert not offline.adaviz_errors, offline.adaviz_errors


def test_page_without_javascript_says_so(playwright, page_file):
    browser = playwright.chromium.launch(
        executable_path=bh.find_chromium(), headless=True, args=bh.CHROMIUM_ARGS
    )
    try:
        context = browser.new_context(java_script_enabled=False)
        context.route(
            "**/*",
            lambda route: (
                route.continue_() if route.request.url.startswith("file:") else route.abort()
            ),
        )
        page = context.new_page()
        page.goto(page_file.as_uri())
        assert "JavaScript" in page.inner_text("body")
    finally:
        browser.close()


def test_line_views_keep_their_y_range_as_the_jupyter_views_do(offline, page_file):
    """The page's line views fit their y ranges as the Jupyter panels' (lines.fit_range):
    kept while the data stays inside and fills them, else refitted on a coarse grid."""
    from adaviz.panels.views.lines import fit_range

    open_page(offline, page_file)
    cases = [
        ([[3e-4, 2e-2, 5e-1]], True, None),
        ([[6.0e-4, 0.2]], True, None),  # 10^-3.22: the quarter-decade margin decides
        ([[3e-4, 2e-2, 5e-1]], True, [-4.0, 0.5]),  # kept
        ([[3e-4, 2e-2, 5e-1]], True, [-9.0, 0.5]),  # too wide: refitted
        ([[1e-7, 1e3], [2e-9, float("nan")]], True, [-4.0, 0.5]),  # outside: refitted
        ([[0.0, 1.3, 7.2]], False, None),
        ([[0.0, 1.3, 7.2]], False, [-1.0, 8.0]),  # kept
        ([[0.0, 1.3, 7.2]], False, [-100.0, 100.0]),  # too empty: refitted
        ([[5.0, 5.0]], False, None),
        ([[float("nan"), -1.0]], True, [-2.0, 1.0]),  # nothing positive: the range stays
    ]
    page_ranges = offline.evaluate(
        """(cases) => cases.map(([ys, log, current]) =>
          adaviz.fitRange(ys.map((y) => ({ y: y.map((v) => (v === null ? NaN : v)) })), log,
                          current))""",
        [[[[None if v != v else v for v in y] for y in ys], log, cur] for ys, log, cur in cases],
    )
    for (ys, log, current), got in zip(cases, page_ranges, strict=True):
        assert got == pytest.approx(fit_range([np.asarray(y) for y in ys], log, current)), ys


def test_sizes_and_bad_input(tmp_path):
    state = web_page.surface_state("booth")
    inline = web_page.surface_page(state)
    cdn = web_page.surface_page(state, plotly="cdn")
    assert inline.count("Plotly") > 0 and len(inline.encode()) <= 5.5e6
    assert len(cdn.encode()) <= 300e3 and "cdn.plot.ly" in cdn
    with pytest.raises(ValueError, match="plotly must be one of"):
        web_page.surface_page(state, plotly="local")
    with pytest.raises(ValueError, match="rho must be in"):
        web_page.surface_state("booth", rho=1.5)
    with pytest.raises(ValueError, match="start must lie inside the domain of"):
        web_page.surface_state("booth", start=(50, 0))
    with pytest.raises(ValueError, match="custom surface .* cannot run: give its JavaScript"):
        web_page.surface_state(bowl())
    wrong = dict(BOWL_JS, f_y="6 * y + 0.001 * x")
    with pytest.raises(ValueError, match=r"f_y = .* largest difference 0\.004 at \(x, y\) = "):
        web_page.surface_state(bowl(), javascript=wrong)
    with pytest.raises(ValueError, match=r"only Math\.<name> is allowed"):
        web_page.surface_state(bowl(), javascript=dict(BOWL_JS, f="window.alert(1)"))
    with pytest.raises(ValueError, match="keys"):
        web_page.surface_state(bowl(), javascript={"f": "x"})
    with pytest.raises(ValueError, match=r"noise must be 0 or in \[0.001, 100\] .*got 500.0"):
        web_page.surface_state("booth", noise=500)
    with pytest.raises(ValueError, match=r"seed must be an integer in \[0, 4294967295\], got -1"):
        web_page.compare_state("booth", seed=-1)
    with pytest.raises(ValueError, match=r"seeds must be an integer in \[1, 16\], got 17"):
        web_page.sweep_state("booth", seeds=17)


BOWL_JS = {"f": "x ** 2 + 3 * y ** 2", "f_x": "2 * x", "f_y": "6 * y", "f_xx": "2", "f_yy": "6"}


def bowl():
    return adaviz.Surface(
        lambda x, y: x**2 + 3.0 * y**2,
        domain=((-4, 4), (-4, 4)),
        minima=[(0, 0)],
        start=(3.0, -2.0),
        name="my bowl",
    )


def test_divergence_is_labelled_where_the_path_ends(offline, tmp_path):
    """On saddle Adadelta diverges: a label "last point before divergence (step N)" is
    drawn where the path leaves the surface (its last point is off it), inside the figure,
    as in Jupyter; the legend keeps "end" and, below the plot, fits inside the figure."""
    path = tmp_path / "saddle.html"
    path.write_text(web_page.surface_page(web_page.surface_state("saddle", steps=300)))
    open_page(offline, path)
    boxes = offline.evaluate(
        """() => {
          const gd = document.querySelector('.adaviz-figure-surface');  // the plotly div
          const r = (e) => { const b = e.getBoundingClientRect(); return [b.left, b.top, b.right, b.bottom]; };
          const trace = (name) => gd.querySelector('.trace' + gd._fullData.find((d) => d.name === name).uid);
          const data = (name) => gd.data.find((d) => d.name === name);
          return { svg: r(gd.querySelector('.main-svg')), legend: r(gd.querySelector('.legend')),
                   plot: r(gd.querySelector('.nsewdrag')),
                   names: [...gd.querySelectorAll('.legendtext')].map((e) => e.textContent),
                   label: r(trace('end label').querySelector('.textpoint text')),
                   text: trace('end label').textContent,
                   at: [data('end label').x[0], data('end label').y[0]],
                   end: [data('end').x[0], data('end').y[0]],
                   n: data('trajectory').x.length, domain: [gd.layout.xaxis.range, gd.layout.yaxis.range] };
        }"""
    )
    assert boxes["text"] == f"last point beforedivergence (step {boxes['n'] - 1})"
    assert "end" in boxes["names"] and "step marker" not in boxes["names"]  # as in Jupyter
    assert not any("divergence" in name for name in boxes["names"])
    # the last point is off the surface: the label sits on the edge, toward that point
    (xmin, xmax), (ymin, ymax) = boxes["domain"]
    (x, y), (ex, ey) = boxes["at"], boxes["end"]
    assert not (xmin <= ex <= xmax and ymin <= ey <= ymax)
    assert (x, y) == (min(max(ex, xmin), xmax), min(max(ey, ymin), ymax))
    svg, label, plot = boxes["svg"], boxes["label"], boxes["plot"]
    assert svg[0] <= label[0] < label[2] <= svg[2] and svg[1] <= label[1] < label[3] <= svg[3]
    assert label[0] < plot[2] and plot[0] < label[2] and label[1] < plot[3] and plot[1] < label[3]
    assert plot[3] < boxes["legend"][1] < boxes["legend"][3] <= svg[3]
    assert not offline.adaviz_errors, offline.adaviz_errors


def test_custom_surface_runs_from_its_javascript(offline, tmp_path):
    surface = bowl()
    path = tmp_path / "bowl.html"
    state = web_page.surface_state(surface, javascript=BOWL_JS, steps=200, epsilon=1e-4)
    path.write_text(web_page.surface_page(state), encoding="utf-8")
    open_page(offline, path)
    x, y = trace(view_data(offline), "surface", "trajectory")
    reference = adaviz.simulate(surface, steps=200, epsilon=1e-4, dtype="float64")
    assert x == pytest.approx(reference.positions[:, 0, 0].tolist(), rel=1e-9, abs=1e-12)
    assert y == pytest.approx(reference.positions[:, 0, 1].tolist(), rel=1e-9, abs=1e-12)
    newton = offline.evaluate(
        "() => Array.from(document.querySelector('#adaviz-panel').adaviz_panel"
        ".trajectory.newton_step_size.slice(0, 2))"
    )
    assert newton == [0.5, 1 / 6]
    assert offline.eval_on_selector("select[name=surface]", "s => s.value") == "my bowl"
    assert not offline.adaviz_errors, offline.adaviz_errors


def test_play_runs_to_the_end(offline, page_file):
    open_page(offline, page_file)
    offline.click("button[name=play]")
    offline.wait_for_function(
        "document.querySelector('input[name=step]').value === '300'", timeout=TIMEOUT
    )
    data = view_data(offline)
    px, py = trace(data, "surface", "trajectory")
    assert trace(data, "surface", "step marker") == ([px[300]], [py[300]])
    assert "play" in offline.inner_text("button[name=play]")  # stopped at the end
    assert not offline.adaviz_errors, offline.adaviz_errors


# ---------------------------------------------------------------------------- ComparePanel
@pytest.fixture(scope="module")
def compare_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("live") / "compare.html"
    state = web_page.compare_state(
        "booth",
        ("adadelta", "sgd", "rmsprop", "adam"),
        steps=200,
        hyperparameters={"adam": {"lr": 0.05, "amsgrad": True}, "rmsprop": {"centered": True}},
    )
    path.write_text(web_page.compare_page(state), encoding="utf-8")
    return path


def test_compare_page_runs_each_rule_and_tunes(offline, compare_file):
    open_page(offline, compare_file)
    names = offline.evaluate("() => [...document.querySelectorAll('[name]')].map((e) => e.name)")
    for name in ("surface", "steps", "loss_scale", "tune", "adam.lr", "adam.amsgrad"):
        assert name in names
    assert "rmsprop.centered" in names and "sgd.rho" not in names
    data = view_data(offline)
    assert [t[0] for t in data["surface"]][:4] == ["adadelta", "sgd", "rmsprop", "adam"]
    # each rule's path is the page engine's run of the panel's settings
    for rule, options in (("adam", {"lr": 0.05, "amsgrad": True}), ("sgd", {})):
        path = engine_path(offline, "booth", steps=200, optimizer=rule, **options)
        assert list(trace(data, "surface", rule)) == path
    count = draws(offline)
    offline.eval_on_selector(
        "input[name='adam.lr']", "e => { e.value = -1; e.dispatchEvent(new Event('input')); }"
    )
    wait_draws(offline, count + 1)
    after = view_data(offline)
    assert list(trace(after, "surface", "adam")) == engine_path(
        offline, "booth", steps=200, optimizer="adam", lr=0.1, amsgrad=True
    )
    assert trace(after, "loss", "adam") != trace(data, "loss", "adam")
    # before any Tune, the empty sensitivity view spans the lr values Tune tries
    lr_range = offline.evaluate(
        "() => document.querySelector('.adaviz-figure-sensitivity').layout.xaxis.range"
    )
    np.testing.assert_allclose(lr_range, (-5.1, 1.1), rtol=1e-12)
    count = draws(offline)
    offline.click("button[name=tune]")
    wait_draws(offline, count + 1)
    tuned = view_data(offline)
    assert all(len(trace(tuned, "sensitivity", rule)[1]) == 64 for rule in ("adam", "sgd"))
    assert "tuned" in offline.inner_text(".adaviz-readouts")
    # the star marks the lr Tune chose, at the lowest objective on its curve, and stays
    # there when the lr slider moves on (as the Jupyter panel's star)
    lrs, scores = trace(tuned, "sensitivity", "adam")
    best = min((s, i) for i, s in enumerate(scores) if s is not None)[1]
    star = trace(tuned, "sensitivity", "adam chosen lr")
    assert star == ([lrs[best]], [scores[best]])
    slider = offline.eval_on_selector("input[name='adam.lr']", "e => Number(e.value)")
    assert abs(10**slider - lrs[best]) <= 1e-9 * lrs[best]
    count = draws(offline)
    offline.eval_on_selector(
        "input[name='adam.lr']", "e => { e.value = -3; e.dispatchEvent(new Event('input')); }"
    )
    wait_draws(offline, count + 1)
    assert trace(view_data(offline), "sensitivity", "adam chosen lr") == star
    assert not offline.adaviz_errors, offline.adaviz_errors


@pytest.mark.parametrize(("surface", "axis"), [("six_hump_camel", "log"), ("saddle", "linear")])
def test_compare_page_sensitivity_is_the_jupyter_view(offline, tmp_path, surface, axis):
    """After Tune the sensitivity view draws the objective (the mean loss over the budget's
    last 10 %) as f − f* on a log axis when f* is known (six_hump_camel's is negative) and
    as it is on a linear axis when not (saddle), as the Jupyter panel does; its title says
    when the tune was made in another context."""
    from adaviz.panels.compare.runs import LR_GRID, tune_window

    state = web_page.compare_state(surface, ("adadelta", "sgd"), steps=120)
    path = tmp_path / "compare.html"
    path.write_text(web_page.compare_page(state), encoding="utf-8")
    open_page(offline, path)
    count = draws(offline)
    offline.click("button[name=tune]")
    wait_draws(offline, count + 1)
    layout = "document.querySelector('.adaviz-figure-sensitivity').layout"
    assert offline.evaluate(f"() => {layout}.yaxis.type") == axis
    title = offline.evaluate(f"() => {layout}.title.text")
    assert title == "tuning: mean loss over the last 12 of 120 steps vs lr (star: chosen)"
    lrs, ys = trace(view_data(offline), "sensitivity", "adadelta")
    f_star = adaviz.surfaces.get(surface).min_value
    checked = 0
    for i in (0, 31, 63):  # the oracle: float64 runs in Python, the objective from their loss
        values = {**state["hyperparameters"]["adadelta"], "lr": float(LR_GRID[i])}
        run = adaviz.simulate(
            surface, start=state["start"], steps=120, optimizer="adadelta", dtype="float64",
            **values,
        )  # fmt: skip
        objective = float(np.mean(run.loss[-tune_window(120) :, 0]))
        expected = objective - f_star if axis == "log" else objective
        if run.diverged[0] or (axis == "log" and expected <= 0):
            assert ys[i] is None
            continue
        np.testing.assert_allclose(ys[i], expected, rtol=1e-9, atol=1e-12)
        assert lrs[i] == pytest.approx(LR_GRID[i], rel=1e-15)
        checked += 1
    assert checked
    offline.eval_on_selector(
        "input[name=steps]", "e => { e.value = 100; e.dispatchEvent(new Event('input')); }"
    )
    wait_draws(offline, count + 2)
    assert offline.evaluate(f"() => {layout}.title.text").endswith("(tuned for 120 steps)")
    assert not offline.adaviz_errors, offline.adaviz_errors


def test_compare_page_loss_scale_ghosts_moved_readout_and_code(offline, tmp_path):
    """At k != 0 each rule's path at k = 0 is a dashed ghost, the table says how far each
    path moved from it (the largest distance over the run, as the Jupyter panel's readout),
    and the copy-as-code block is the Jupyter panel's Keras 3 constructors for the values
    run now."""
    from adaviz.panels.kit.code import constructor

    rules = ("adadelta", "sgd", "adam")
    hyper = {"adam": {"lr": 0.05, "amsgrad": True}, "sgd": {"lr": 0.02}}
    state = web_page.compare_state(
        "booth", rules, steps=60, loss_scale_exponent=1, hyperparameters=hyper
    )
    path = tmp_path / "compare.html"
    path.write_text(web_page.compare_page(state), encoding="utf-8")
    open_page(offline, path)
    data = view_data(offline)
    panel = "document.querySelector('#adaviz-panel').adaviz_panel"
    moved = offline.evaluate(f"() => {panel}.moved")
    dashes = offline.evaluate(
        "() => Object.fromEntries(document.querySelector('.adaviz-figure-surface').data"
        ".map((t) => [t.name, t.line && t.line.dash]))"
    )
    for rule in rules:
        values = state["hyperparameters"][rule]
        options = {k: v for k, v in values.items()}
        both = adaviz.simulate(
            "booth", start=state["start"], steps=60, optimizer=rule,
            loss_scale=[1.0, 10.0], dtype="float64", **options,
        )  # fmt: skip
        ghost = trace(data, "surface", f"{rule} at k = 0")
        np.testing.assert_allclose(np.transpose(ghost), both.positions[:, 0], rtol=1e-9)
        assert dashes[f"{rule} at k = 0"] == "dash"
        # the oracle's distance, from float64 runs at both scales: sgd diverges at k = 1
        if both.diverged[0] != both.diverged[1]:
            assert moved[rule] == float("inf") and rule == "sgd"
            continue
        largest = np.max(np.linalg.norm(both.positions[:, 0] - both.positions[:, 1], axis=-1))
        assert moved[rule] == pytest.approx(largest, rel=1e-9, abs=1e-12)
    assert sorted(rule for rule in moved if moved[rule] < float("inf")) == ["adadelta", "adam"]
    table = offline.inner_text(".adaviz-readouts")
    assert "path moved vs k = 0 (loss × 10)" in table and "diverged" in table
    code = offline.inner_text(".adaviz-code")
    expected = {rule: constructor(rule, state["hyperparameters"][rule]) for rule in rules}
    assert code == "import keras, adaviz\n" + "\n".join(f"{r} = {c}" for r, c in expected.items())
    # a slider moves: the k = 0 ghost follows (moved like the paths, without a redraw) and
    # so does the code; back at k = 0 the ghosts go and the readout says "—"
    count = draws(offline)
    offline.eval_on_selector(
        "input[name='adam.epsilon']", "e => { e.value = -5; e.dispatchEvent(new Event('input')); }"
    )
    wait_draws(offline, count + 1)
    ghost = trace(view_data(offline), "surface", "adam at k = 0")
    assert list(ghost) == engine_path(
        offline, "booth", steps=60, optimizer="adam", lr=0.05, amsgrad=True, epsilon=1e-5
    )
    assert offline.evaluate("() => adaviz.plotlyMove.moves.update") == 0
    count = draws(offline)
    offline.eval_on_selector(
        "input[name=loss_scale]", "e => { e.value = 0; e.dispatchEvent(new Event('input')); }"
    )
    wait_draws(offline, count + 1)
    adam = dict(state["hyperparameters"]["adam"], epsilon=1e-5)
    assert f"adam = {constructor('adam', adam)}" in offline.inner_text(".adaviz-code")
    names = [t[0] for t in view_data(offline)["surface"]]
    assert not any(name.endswith("at k = 0") for name in names), names
    assert offline.evaluate(f"() => {panel}.moved") == {}
    assert not offline.adaviz_errors, offline.adaviz_errors


def test_compare_panel_to_html_is_live(tmp_path):
    panel = adaviz.ComparePanel(
        "booth", ("sgd", "adam"), steps=50, precompile=False, noise=0.1, seed=5
    )
    try:
        panel.controls["adam"]["lr"].value = 0.01
        text = panel.to_html(tmp_path / "compare.html").read_text()
        assert "window.adaviz.comparePanel(" in text
        assert '"adam": {"lr": 0.01' in text
        assert '"noise": 0.1,' in text and '"seed": 5,' in text
        assert panel.to_html(tmp_path / "picture.html", live=False).stat().st_size > 0
    finally:
        panel.close()


# ------------------------------------------------------------------------------ SweepPanel
def test_sweep_page_maps_resweeps_and_drills_down(offline, tmp_path):
    rho = np.linspace(0.5, 0.99, 8)
    epsilon = np.logspace(-6, -2, 8)
    panel = adaviz.SweepPanel("booth", steps=40, rho=rho, epsilon=epsilon, precompile=False)
    try:
        panel.controls["seeds"].value = 3  # (the map runs one seed until the noise is on)
        path = panel.to_html(tmp_path / "sweep.html")  # live by default
    finally:
        panel.close()
    open_page(offline, path)
    names = offline.evaluate("() => [...document.querySelectorAll('[name]')].map((e) => e.name)")
    assert set(names) == {"metric", "overlay", "lr", "decay", "loss_scale", "noise", "seeds"}
    assert offline.eval_on_selector("input[name=seeds]", "e => e.value") == "3"
    heatmap = offline.evaluate("() => document.querySelector('.adaviz-figure-heatmap').data[0].z")
    # the page's map is adaviz.sweep's (float64), rho along y, epsilon along x
    reference = adaviz.sweep("booth", steps=40, rho=rho, epsilon=epsilon, dtype="float64")
    np.testing.assert_allclose(
        np.asarray(heatmap, float), np.log10(reference.metrics["final_loss"]), rtol=1e-9, atol=1e-9
    )
    count = draws(offline)
    offline.eval_on_selector(
        "input[name=lr]", "e => { e.value = -1; e.dispatchEvent(new Event('input')); }"
    )
    wait_draws(offline, count + 1)
    moved = offline.evaluate("() => document.querySelector('.adaviz-figure-heatmap').data[0].z")
    assert moved != heatmap
    count = draws(offline)
    offline.evaluate("() => document.querySelector('#adaviz-panel').adaviz_panel.select(3, 5)")
    wait_draws(offline, count + 1)
    x, y = trace(view_data(offline), "surface", "trajectory")
    run = adaviz.simulate(
        "booth", steps=40, rho=rho[3], epsilon=epsilon[5], lr=0.1, dtype="float64"
    )
    assert x[-1] == pytest.approx(run.positions[-1, 0, 0], rel=1e-9)
    # with noise, every cell is the mean over the 3 seeds, as adaviz.sweep's; the selected
    # cell's path is seed 0's
    count = draws(offline)
    offline.eval_on_selector(
        "input[name=noise]",
        f"e => {{ e.value = {NOISE_VALUES.index(1.0)}; e.dispatchEvent(new Event('input')); }}",
    )
    wait_draws(offline, count + 1)
    noisy = offline.evaluate("() => document.querySelector('.adaviz-figure-heatmap').data[0].z")
    reference = adaviz.sweep("booth", steps=40, rho=rho, epsilon=epsilon, lr=0.1, noise=1.0,
                             seeds=3, dtype="float64")  # fmt: skip
    np.testing.assert_allclose(
        np.asarray(noisy, float), np.log10(reference.metrics["final_loss"]), rtol=1e-9, atol=1e-9
    )
    assert "mean over 3 seeds" in offline.inner_text(".adaviz-noise-note")
    x, y = trace(view_data(offline), "surface", "trajectory")
    run = adaviz.simulate("booth", steps=40, rho=rho[3], epsilon=epsilon[5], lr=0.1, noise=1.0,
                          seed=0, dtype="float64")  # fmt: skip
    assert x[-1] == pytest.approx(run.positions[-1, 0, 0], rel=1e-9)
    assert "noise=1&seeds=3" in offline.url
    assert not offline.adaviz_errors, offline.adaviz_errors


def test_sweep_page_colours_negative_losses_linearly(offline, tmp_path):
    """saddle's final losses go negative: the page's map shows them on a linear colour
    scale, as the Jupyter panel does, equal to adaviz.sweep's float64 values."""
    rho, epsilon = np.linspace(0.5, 0.99, 6), np.logspace(-8, -2, 6)
    panel = adaviz.SweepPanel("saddle", steps=60, rho=rho, epsilon=epsilon, precompile=False)
    try:
        path = panel.to_html(tmp_path / "sweep.html")
    finally:
        panel.close()
    open_page(offline, path)
    heatmap = "document.querySelector('.adaviz-figure-heatmap').data[0]"
    z = np.asarray(offline.evaluate(f"() => {heatmap}.z"), float)
    reference = adaviz.sweep("saddle", steps=60, rho=rho, epsilon=epsilon, dtype="float64")
    values = reference.metrics["final_loss"]
    assert (values < 0).any()
    np.testing.assert_allclose(z, values, rtol=1e-9, atol=1e-12)
    assert "log10" not in offline.evaluate(f"() => {heatmap}.colorbar.title.text")
    assert not offline.adaviz_errors, offline.adaviz_errors


def test_page_output_is_live_in_an_iframe(offline, tmp_path):
    panel = adaviz.SurfacePanel("booth", steps=60, precompile=False)
    try:
        output = panel.page(include_plotlyjs=True)
        with pytest.raises(ValueError, match="include_plotlyjs must be True or 'cdn'"):
            panel.page(include_plotlyjs=False)
    finally:
        panel.close()
    path = tmp_path / "notebook.html"
    path.write_text(f"<!doctype html><title>notebook</title>{output.data}", encoding="utf-8")
    offline.goto(path.as_uri())
    frame = offline.frame_locator("iframe.adaviz-live-page")
    frame.locator(".adaviz-figure-surface .main-svg").first.wait_for(timeout=TIMEOUT)
    assert frame.locator("input[name=rho]").count() == 1
    assert not offline.adaviz_errors, offline.adaviz_errors


def test_compare_fragment_carries_the_settings(offline, compare_file):
    open_page(
        offline,
        compare_file,
        "#surface=booth&steps=50&loss_scale=0&noise=1&seed=3&adam.lr=0.01&adam.amsgrad=false",
    )
    x, y = trace(view_data(offline), "surface", "adam")
    assert [x, y] == engine_path(
        offline, "booth", steps=50, optimizer="adam", lr=0.01, noise=1.0, seed=3
    )
    # every rule follows the same noise: SGD's path is its own run with that noise
    assert list(trace(view_data(offline), "surface", "sgd")) == engine_path(
        offline, "booth", steps=50, optimizer="sgd", noise=1.0, seed=3
    )
    assert offline.eval_on_selector("input[name='adam.amsgrad']", "e => e.checked") is False
    assert "adam.lr=0.01" in offline.url and "noise=1&seed=3" in offline.url
    offline.goto("about:blank")  # a new fragment alone would not reload the page
    open_page(offline, compare_file, "#adam.rho=0.5")
    assert "ignored" in offline.inner_text(".adaviz-note")
    assert not offline.adaviz_errors, offline.adaviz_errors


def test_sweep_fragment_carries_the_settings(offline, tmp_path):
    state = web_page.sweep_state(
        "booth", x_values=np.logspace(-6, -2, 6), y_values=np.linspace(0.5, 0.99, 6), steps=30
    )
    path = tmp_path / "sweep.html"
    path.write_text(web_page.sweep_page(state), encoding="utf-8")
    open_page(offline, path, "#metric=min_loss&overlay=true&lr=0.5")
    assert offline.eval_on_selector("select[name=metric]", "e => e.value") == "min_loss"
    assert offline.eval_on_selector("input[name=overlay]", "e => e.checked") is True
    reference = adaviz.sweep(
        "booth",
        steps=30,
        lr=0.5,
        rho=state["y_values"],
        epsilon=state["x_values"],
        dtype="float64",
    )
    heatmap = offline.evaluate("() => document.querySelector('.adaviz-figure-heatmap').data[0].z")
    np.testing.assert_allclose(
        np.asarray(heatmap, float), np.log10(reference.metrics["min_loss"]), rtol=1e-9
    )
    assert "lr=0.5" in offline.url
    offline.goto("about:blank")
    open_page(offline, path, "#metric=nope")
    assert "ignored" in offline.inner_text(".adaviz-note")
    assert not offline.adaviz_errors, offline.adaviz_errors

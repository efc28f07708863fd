"""The ModelPanel's replay page (adaviz/web/replay.py + replay.js) in Chromium, opened from
disk with every network request refused.

A short real training run (a small Keras MLP on the moons, three redraws after the start)
is written with ``panel.to_html``. Every view must draw; dragging the scrub slider must put
the loss, accumulator and update-ratio markers, the step-size histograms and the decision
boundary at the values the panel recorded at that step (``panel.snapshots``, which
tests/panels/model/test_model_replay.py holds to the model's own outputs); Play must run to
the last snapshot; the console must stay free of errors.
"""

from __future__ import annotations

import browser_harness as bh
import numpy as np
import pytest
from test_web_page import wait_draws

import adaviz

pytestmark = pytest.mark.browser


PANEL = "#adaviz-panel"
VIEWS = ("loss", "boundary", "accumulators", "step_sizes", "update_ratio")
TIMEOUT = 30_000  # ms


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """``(path, snapshots, layer names)`` of a replay of steps 0, 3, 7 and 12."""
    panel = adaviz.ModelPanel(seed=0, n=160, batch_size=16)
    for n in (3, 4, 5):
        panel.step(n)
    path = panel.to_html(tmp_path_factory.mktemp("replay") / "replay.html")
    snapshots, names = panel.snapshots, list(panel.layer_names)
    panel.close()
    return path, snapshots, names


def drawn(page):
    """What the views show now: each view's traces (name -> x, y) and the contour's z."""
    return page.evaluate(
        """() => {
          const out = {};
          for (const div of document.querySelectorAll('.adaviz-figure')) {
            out[div.dataset.view] = Object.fromEntries(div._fullData.map((t) => [t.name,
              {x: t.x ? Array.from(t.x) : null, y: t.y ? Array.from(t.y) : null,
               z: t.z ? Array.from(t.z, (row) => Array.from(row)) : null}]));
          }
          return out;
        }"""
    )


def wait_shown(page, index=None):
    """Wait until the views have drawn the slider's snapshot (or ``index``); return it."""
    want = "Number(root.querySelector('input[name=snapshot]').value)" if index is None else index
    page.wait_for_function(
        f"(() => {{ const root = document.querySelector('{PANEL}');"
        f" return root.adaviz_panel && root.adaviz_panel.shown === {want}; }})()",
        timeout=TIMEOUT,
    )
    return page.eval_on_selector(PANEL, "root => root.adaviz_panel.shown")


def check_snapshot(views, snapshots, names, i):
    """The views show snapshot ``i`` as recorded."""
    step = float(snapshots["step"][i])
    loss = views["loss"]["snapshot"]
    assert loss["x"] == [step] * 3
    want = [snapshots[k][i] for k in ("loss", "loss_smoothed", "full_loss")]
    np.testing.assert_allclose(loss["y"], want, rtol=1e-12)
    accumulators = views["accumulators"]["snapshot"]
    want = np.concatenate([snapshots["accum_grad_rms"][i], snapshots["accum_delta_rms"][i]])
    np.testing.assert_allclose(accumulators["y"], want, rtol=1e-12)
    assert accumulators["x"] == [step] * len(want)
    ratio = views["update_ratio"]["snapshot"]
    np.testing.assert_allclose(ratio["y"], snapshots["update_ratio"][i], rtol=1e-12)
    for layer, name in enumerate(names):
        histogram = views["step_sizes"][name]
        np.testing.assert_allclose(histogram["x"], snapshots["step_size_edges"][i], rtol=1e-12)
        np.testing.assert_array_equal(histogram["y"][:-1], snapshots["step_size_counts"][i][layer])
    contour = next(t for t in views["boundary"].values() if t["z"] is not None)
    # P(class 1) is stored to 1/254 in the page (adaviz/web/replay.py)
    np.testing.assert_allclose(contour["z"], snapshots["prediction"][i], atol=0.5 / 254 + 1e-6)


def test_scrubbing_shows_the_recorded_snapshots_offline(offline, recorded):  # noqa: F811
    path, snapshots, names = recorded
    offline.goto(path.as_uri())
    wait_draws(offline, 1)
    for view in VIEWS:  # each view is a drawn plotly div
        assert offline.locator(f".adaviz-figure-{view.replace('_', '-')} .main-svg").count() > 0
    note = offline.inner_text(".adaviz-note")
    assert note.startswith("Training needs the notebook (a Python kernel)")
    assert "the run recorded up to step 12." in note
    assert list(snapshots["step"]) == [0, 3, 7, 12]
    last = wait_shown(offline, 3)  # it opens at the last snapshot, as the panel was
    check_snapshot(drawn(offline), snapshots, names, last)
    before = drawn(offline)

    bh.drag(offline, "input[name=snapshot]", -400)  # to the start: the model untrained
    assert wait_shown(offline) == 0
    start = drawn(offline)
    assert start["loss"]["snapshot"]["y"] == []  # no loss before the first step
    assert start["step_sizes"][names[0]]["y"] == []
    contour = next(t for t in start["boundary"].values() if t["z"] is not None)
    np.testing.assert_allclose(contour["z"], snapshots["prediction"][0], atol=0.5 / 254 + 1e-6)

    bh.drag(offline, "input[name=snapshot]", 30)  # from the middle, a little to the right
    i = wait_shown(offline)
    assert 0 < i < 3, i
    middle = drawn(offline)
    check_snapshot(middle, snapshots, names, i)
    for view in VIEWS:  # every view changed from the last snapshot's
        assert middle[view] != before[view], view
    assert f"step {snapshots['step'][i]}" in offline.inner_text(".adaviz-readouts")
    title = offline.eval_on_selector(".adaviz-figure-step-sizes", "d => d.layout.title.text")
    assert title.endswith(f", step {snapshots['step'][i]}")  # not the panel's "last step"

    offline.click("button[name=play]")  # plays on to the last snapshot
    assert wait_shown(offline, 3) == 3
    check_snapshot(drawn(offline), snapshots, names, 3)
    assert offline.adaviz_errors == []
    assert offline.adaviz_refused == []  # nothing asked for the network

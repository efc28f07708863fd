"""A slider set twice in one cell keeps the second value in JupyterLab (ComparePanel).

Reported: ``lr.value = 0.01; lr.value = 0.02`` in one cell left the kernel at 0.01, the
FloatLogSlider's echo from the browser suspected. The browser does echo: when a kernel
update moves a ``FloatLogSlider`` (``continuous_update``), noUiSlider fires its "update"
event and the view sends the value at the nearest tick back to the kernel, unless that is
exactly the value the kernel set. Both echoes arrive after the cell, in order: a first
value between ticks comes back for one round trip (the panel redraws it once), then the
second's echo, which stays. This test runs the two sets in a real JupyterLab + Chromium
once the panel is drawn, logs every value the kernel's slider takes afterwards, and checks
that the last one is the second value (at its tick) and that the panel drew that run.
"""

from __future__ import annotations

import json
import math
import re
import time

import browser_harness as bh
import pytest
import test_browser

pytestmark = pytest.mark.browser


PANEL = ".adaviz-compare-panel"
NAME = "echo_twice.ipynb"
CELLS = [
    """import adaviz, ipywidgets as widgets
panel = adaviz.ComparePanel("rosenbrock", ("adadelta", "adam"), steps=300, precompile=False)
lr = panel.controls["adam"]["lr"]
log = widgets.HTML("values:")
log.add_class("echo-log")
lr.observe(lambda change: setattr(log, "value", log.value + f" {change['new']!r}"), names="value")
display(panel, log)""",
    "lr.value = {first!r}\nlr.value = {second!r}",
    """print("FINAL", repr(lr.value), repr(float(panel.trajectories["adam"].lr[0])))""",
]


def notebook(cells):
    return {
        "cells": [
            {
                "cell_type": "code",
                "metadata": {},
                "source": src,
                "outputs": [],
                "execution_count": None,
            }
            for src in cells
        ],
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def run_cell(page, server, i):
    cell = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell").nth(i)
    cell.scroll_into_view_if_needed()
    cell.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Shift+Enter")
    prompt = cell.locator(".jp-InputPrompt")
    deadline = time.monotonic() + bh.KERNEL_RUN_TIMEOUT
    while time.monotonic() < deadline and not re.search(r"\[\d+\]", prompt.text_content() or ""):
        page.wait_for_timeout(200)
    bh.wait_kernels_idle(server)


def logged(page):
    return page.locator(".echo-log").first.inner_text()


# (0.01, 0.02): the first on a tick of the slider (1/21 decade), so its echo is the value
# the kernel set and the browser does not send it; 0.011 is between ticks, so its echo is
# another value, sent while the second set is still on its way
@pytest.mark.parametrize("first, second", [(0.01, 0.02), (0.011, 0.02), (0.02, 0.011)])
def test_a_slider_set_twice_in_one_cell_keeps_the_second_value(page, tmp_path, first, second):
    root = tmp_path / "root"
    root.mkdir()
    cells = [CELLS[0], CELLS[1].format(first=first, second=second), CELLS[2]]
    (root / NAME).write_text(json.dumps(notebook(cells)))
    with bh.jupyter_lab(root, tmp_path / "lab") as server:
        with test_browser.screenshot_on_failure(page, "lab-echo-twice", server):
            bh.open_lab_notebook(page, server, NAME)
            run_cell(page, server, 0)
            assert bh.wait_plots_rendered(page, PANEL, 4) >= 4
            page.locator(f"{PANEL} .adaviz-adam-lr .noUi-handle").first.wait_for()
            page.wait_for_timeout(1000)
            run_cell(page, server, 1)
            # the browser's echoes reach the kernel after the cell: wait until the log of
            # the values the kernel's slider took stays put for 3 s
            text, still = logged(page), time.monotonic()
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and time.monotonic() - still < 3.0:
                page.wait_for_timeout(250)
                now = logged(page)
                if now != text:
                    text, still = now, time.monotonic()
            bh.wait_kernels_idle(server)
            run_cell(page, server, 2)
            out = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output").last
            final = re.search(r"FINAL (\S+) (\S+)", out.inner_text())
            readout = page.locator(f"{PANEL} .adaviz-adam-lr .widget-readout").first.inner_text()
            print(f"\nkernel's slider values after the cell: {text}")
            print(
                f"final kernel value {final.group(1)}, run drawn with lr {final.group(2)}; browser readout {readout}"
            )
            values = [float(v) for v in text.split()[1:]]
            assert values[:2] == [first, second], values
            value, drawn = float(final.group(1)), float(final.group(2))
            # the second value, at most half a tick (1/42 decade) away: the browser's echo
            assert abs(math.log10(value / second)) <= 0.5 / 21 + 1e-9, values
            assert drawn == pytest.approx(value, rel=1e-6)
            assert not page.adaviz_errors, f"JavaScript errors: {page.adaviz_errors}"

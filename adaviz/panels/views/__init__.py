"""Views: one small class per plotly figure, built once and updated in place from arrays.

A view knows nothing of the engine, the trainer or the controls: a controller (a panel)
computes arrays and calls ``view.update(...)``. Each view starts on a plain
``go.Figure`` (the first drawing becomes the widget's initial state) and turns it into
the shared :class:`adaviz.panels.kit.widget.FigureWidget` with ``view.attach(css_class)``;
``view.figure`` is whichever it is now.

Where only the traces' x/y change and the axis ranges still fit, a view sends a
redraw-free ``Plotly.animate`` (:func:`adaviz.panels.kit.widget.moving`), which the browser
applies in a few milliseconds; otherwise one ``batch_update`` (a full redraw). Every
``update(...)`` has an ``updating(...)`` twin, a context manager that prepares the same
change and sends it when the block ends: a controller enters several views' ``updating``
in a ``contextlib.ExitStack`` so their messages leave back to back (the last entered
is sent first). ``view.redraw_free`` says how the last update went.

* :class:`ContourView` (``contour.py``): a loss surface as a banded image, one or several
  paths (one colour each), start/end/minima markers, a playback marker, ghost paths and
  click-to-set-start.
* :class:`AccumulatorView`, :class:`StepSizeView`, :class:`LossView`: lines against step
  on axes kept fixed between updates (:class:`LineView` in ``lines.py``; the first two
  are a :class:`~adaviz.panels.views.lines.CoordinatePairView`: two quantities per coordinate).
* :class:`CompareStepSizeView` (``step_size_compare.py``): several optimizers' realized step
  sizes; :class:`SensitivityView` (``sensitivity.py``): a tuning objective against lr.
* :class:`HeatmapView` (``heatmap.py``): a metric over two hyperparameter axes, diverged
  and no-value cells in their own colours, an overlay and the selected cell.
"""

from adaviz.panels.views.accumulators import AccumulatorView
from adaviz.panels.views.contour import Background, ContourView, background
from adaviz.panels.views.heatmap import HeatmapView
from adaviz.panels.views.lines import LineView
from adaviz.panels.views.loss import LossView
from adaviz.panels.views.sensitivity import SensitivityView
from adaviz.panels.views.step_size import StepSizeView
from adaviz.panels.views.step_size_compare import CompareStepSizeView

__all__ = [
    "AccumulatorView",
    "Background",
    "CompareStepSizeView",
    "ContourView",
    "HeatmapView",
    "LineView",
    "LossView",
    "SensitivityView",
    "StepSizeView",
    "background",
]

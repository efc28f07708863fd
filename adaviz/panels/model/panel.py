"""ModelPanel: watch Adadelta's accumulators and step sizes while a real network trains.

Display ``adaviz.ModelPanel()`` as the last expression of a cell: a small Keras 3 MLP on
a generated 2D dataset ("moons" by default, see :mod:`adaviz.datasets`), or your own
uncompiled Keras model and ``(x, y)`` arrays. The panel is one ``ipywidgets.VBox`` with
Play / Pause / Step / Reset, a speed choice, the shared hyperparameter sliders and
presets (:mod:`adaviz.panels.kit.controls`), batch size, a continue/restart choice, and
plotly ``FigureWidget`` views (:mod:`adaviz.panels.model.views`).

A controller: controls -> :class:`adaviz.training.Trainer` -> views.
    The trainer (widget-free) runs one compiled step per batch (diagnostics in-graph,
    :mod:`adaviz.diagnostics`), keeps the whole run in bounded memory and stops at the
    first non-finite step. The step right before each redraw is a "probe" that also
    records every parameter's effective step size, for the histogram.

    Play trains in slices in the background (:mod:`adaviz.panels.model.play`); views are
    redrawn at most ``refresh_hz`` times per second whatever the step rate, each figure in
    one ``batch_update()``. The speed choice (10, 100 or 1,000 steps per second, or as
    fast as possible) lets a class watch the accumulators grow. If a step goes
    non-finite, Play pauses and the readout says at which step and what to try.

Modes:
    ``"continue"``: a new lr/rho/epsilon/decay or batch size applies from the next step;
    weights and accumulators are kept. ``"restart"``: the current run is kept as a ghost
    loss curve, weights, optimizer state and batch order go back to their seeded start,
    and training restarts with the new settings, so the same settings reproduce the same
    run exactly (while playing, once the controls rest for ``RESTART_DEBOUNCE`` seconds:
    one drag, one restart). The Reset button restarts with the current settings.

Pages: ``to_html(path)`` and ``page()`` write a replay of the run recorded so far (the page
trains nothing; its slider scrubs through :attr:`ModelPanel.snapshots`, see
:mod:`adaviz.web.replay`); ``to_html(path, live=False)`` writes a picture of the views.

Stable CSS classes: ``adaviz-model-panel`` (root) and ``adaviz-<control>`` for each
control (``adaviz-play``, ``adaviz-pause``, ``adaviz-step``, ``adaviz-reset``,
``adaviz-lr``, ..., ``adaviz-batch-size``, ``adaviz-mode``, ``adaviz-speed``),
``adaviz-figure-<view>`` for each figure and ``adaviz-readouts``.
"""

from __future__ import annotations

import threading
import time

import numpy as np

from adaviz import training
from adaviz._validate import check_int, check_real, check_widths
from adaviz.panels.kit.base import Panel, text_line
from adaviz.panels.kit.controls import DEFAULTS, check_adadelta_values
from adaviz.panels.kit.schedule import Coalescer, running_loop
from adaviz.panels.model import readouts
from adaviz.panels.model.boundary import Boundary
from adaviz.panels.model.controls import MODES, layout, make_controls, wire
from adaviz.panels.model.play import Player, check_speed
from adaviz.panels.model.snapshots import Snapshots
from adaviz.panels.model.views import panel_views
from adaviz.web import replay

#: in restart mode while playing, a restart waits until the controls rest this long.
RESTART_DEBOUNCE = 0.25


class ModelPanel(Panel):
    """Train a Keras 3 model live with Adadelta and watch its accumulators and step sizes.

    Args:
        model: an uncompiled Keras 3 model, or ``None`` for a small MLP (tanh hidden
            layers ``hidden``, a linear output layer) built for ``data``.
        data: a built-in dataset name (see ``adaviz.datasets.names()``: "moons",
            "circles", "spiral", "xor", "regression") or ``(x, y)`` arrays. With your
            own arrays and no model, ``y`` holding 1-D integer labels 0..k-1 (k <= 10)
            is taken as classification, anything else as regression.
        loss: a Keras loss (name, ``keras.losses.Loss`` or callable). Default: for the
            built-in MLP, cross-entropy on logits (binary for two classes, sparse
            categorical with one output per class for more) or mean squared error
            (regression); for your own model see :func:`adaviz.training.infer_loss`.
        n, noise: size and noise of a built-in dataset.
        seed: seeds the dataset, the MLP's initial weights, the validation split and the
            batch order; "restart" returns to exactly this start.
        validation_split: fraction of the data held out for a validation loss (0: none).
        validation_data: ``(x_val, y_val)`` instead of a split.
        batch_size: samples per step, 1 to the number of training samples.
        mode: "continue" or "restart" (see the module docstring).
        hidden: hidden-layer widths of the built-in MLP.
        history_size: rows kept in the history: the whole run, older steps thinned (see
            :class:`adaviz.training.ThinnedHistory`).
        refresh_hz: maximum redraws per second while playing (fewer when a redraw takes
            more than a tenth of the time between two).
        speed: steps per second while playing, one of 10, 100, 1000, or ``None`` / 0
            (as fast as possible).
        lr, rho, epsilon, decay: starting hyperparameters (default: Keras 2 / TF 1.x tf.keras,
            lr 1.0, rho 0.95, epsilon 1e-7, decay 0); ``learning_rate`` is an alias of lr.
        static_fallback: put the replay page in the display data (front ends without widgets).

    Raises:
        ValueError: unknown dataset name, data without samples, x and y of different
            lengths, non-numeric or non-finite data, a model whose output does not fit
            ``y`` or the loss, batch size < 1 or larger than the training data, an
            unknown mode or speed, or a hyperparameter the optimizer (or its slider)
            refuses. All before training.
    """

    _export_title = "adaviz ModelPanel"

    def __init__(
        self,
        model=None,
        data="moons",
        *,
        loss=None,
        n=400,
        noise=None,
        seed=0,
        validation_split=0.0,
        validation_data=None,
        batch_size=32,
        mode="continue",
        hidden=(16, 16),
        history_size=5000,
        refresh_hz=10.0,
        speed=None,
        lr=None,
        rho=None,
        epsilon=None,
        decay=None,
        learning_rate=None,
        static_fallback=True,
    ):
        # -- validate everything before building anything ------------------------------
        hyper = check_adadelta_values(lr, rho, epsilon, decay, learning_rate)
        if mode not in MODES:
            raise ValueError(f"mode must be one of {list(MODES)}, got {mode!r}")
        speed = check_speed(speed)
        seed = check_int("seed", seed, 0)
        check_int("history_size", history_size, 10)
        refresh_hz = check_real("refresh_hz", refresh_hz, 0, 60, open_low=True)
        if model is not None:
            training.check_model(model, "model")
        x, y, info = training.load_data(data, n=n, noise=noise, seed=seed)
        self.dataset = data if info is not None else None
        x, y, x_val, y_val = training.split_validation(
            x, y, validation_split, validation_data, seed
        )
        self.batch_size_max = len(x)
        batch_size = check_int("batch_size", batch_size, 1, len(x))
        if model is None:
            hidden = check_widths("hidden", hidden)
            classes = info.n_classes if info is not None else training.class_count(y)
            outputs = classes if classes > 2 else (int(np.prod(y.shape[1:])) or 1)
            model = training.default_model(x.shape[1], hidden, seed, outputs)
            if loss is None:
                loss = training.default_loss(classes)
        loss, y, y_val, pred = training.prepare(model, loss, x, y, x_val, y_val)
        values = dict(DEFAULTS, **hyper)
        self._shell(static_fallback=static_fallback)

        # -- the trainer and the panel's state -----------------------------------------
        self._trainer = training.Trainer(
            model, loss, x, y, x_val=x_val, y_val=y_val, batch_size=batch_size, seed=seed,
            history_size=history_size, **values,
        )  # fmt: skip
        self._x, self._y, self._x_val, self._y_val = x, y, x_val, y_val
        self.task, self.n_classes = training.task_of(loss, pred)
        self.layer_names = self._trainer.layer_names
        self._lock = threading.RLock()  # one redraw at a time (a training thread redraws)
        self._player = Player(self._trainer, self.refresh, 1.0 / refresh_hz, speed)
        self._refresh_count = 0
        self._readout_line = readouts.ReadoutLine()
        debounce = dict(interval=RESTART_DEBOUNCE, mode="debounce")
        self._restart_later = Coalescer(self._apply_change, **debounce)

        # -- controls ------------------------------------------------------------------
        self._hp, self._controls = make_controls(values, batch_size, len(x), mode, speed)
        self._batch, self._mode = self._controls["batch_size"], self._controls["mode"]
        wire(self._controls, self._hp, self, self._changed, self._player.set_speed)
        self._readouts = self._message = text_line("adaviz-readouts", width=None)

        # -- views ---------------------------------------------------------------------
        self._boundary = Boundary(x, y, self.task, self.n_classes)
        points = self._boundary.points
        self._predict = self._trainer.predictor(points) if points is not None else None
        self._snapshots = Snapshots(len(self.layer_names), self._boundary.shape)
        self._views = panel_views(self.layer_names, self._boundary, x_val is not None)
        rows = layout(self._controls, self._hp, self._readouts, self._views.widgets())
        self._build(rows, css_class="adaviz-model-panel", width="980px")
        self.refresh()

    # ==================================================================================
    # public API
    # ==================================================================================
    @property
    def controls(self):
        """The control widgets: play, pause, step, reset, lr, rho, epsilon, decay, preset,
        batch_size, mode, speed (and reset_settings)."""
        return self._controls

    def _figure_widgets(self):
        """loss, accumulators, step_sizes, update_ratio, and boundary (2D
        classification) or fit (1D regression)."""
        return self._views.figures

    @property
    def readouts(self):
        """The numbers shown in the readouts, as a dict: ``step``, ``loss`` (last batch),
        ``full_loss`` (all training data), ``val_loss``, ``lr_t``, ``steps_per_second``
        (while playing), ``nonfinite_step`` (None while finite), ``text`` (the HTML)."""
        return dict(self._readout_line.values, text=self._readouts.value)

    @property
    def trainer(self):
        """The widget-free :class:`adaviz.training.Trainer` the panel drives."""
        return self._trainer

    @property
    def model(self):
        """The Keras model being trained."""
        return self._trainer.model

    @property
    def optimizer(self):
        """The :class:`adaviz.Adadelta` training it."""
        return self._trainer.optimizer

    @property
    def loss(self):
        """The loss function."""
        return self._trainer.loss

    @property
    def data(self):
        """``(x, y, x_val, y_val)`` as used for training (``x_val``/``y_val`` may be None)."""
        return self._x, self._y, self._x_val, self._y_val

    @property
    def steps(self):
        """Number of steps taken in the current run."""
        return self._trainer.steps

    @property
    def playing(self):
        """Whether training is running in the background."""
        return self._player.playing

    @property
    def hyperparameters(self):
        """The current lr, rho, epsilon, decay as floats."""
        return self._hp.values()

    @property
    def ghosts(self):
        """Labels of the earlier runs shown as ghost loss curves, oldest first."""
        return self._views.kept

    @property
    def nonfinite_step(self):
        """The step at which the current run went non-finite, or ``None``."""
        return self._trainer.nonfinite_step

    @property
    def step_sizes(self):
        """Per layer (``layer_names`` order), the effective step size of every parameter in
        the last probe step (the last step of :meth:`step`, or the step before the last
        redraw while playing): ``lr_t·√(E[Δx²]_{t-1}+ε)/√(E[g²]_t+ε)``. Zeros before
        the first step."""
        return self._trainer.step_sizes()

    @property
    def snapshots(self):
        """What the views showed at the redraws of the current run, for the replay page
        (:meth:`to_html`), in bounded memory (see :mod:`adaviz.panels.model.snapshots`)."""
        with self._lock:
            return self._snapshots.arrays()

    @property
    def history(self):
        """The current run, whole, in bounded memory (keys as
        :attr:`adaviz.training.Trainer.history`; the full-data and validation losses are
        computed at each redraw)."""
        return self._trainer.history

    def step(self, n=1):
        """Train ``n`` steps now (pauses a running play first), then redraw once."""
        n = check_int("n", n, 1)
        self.pause()
        self._trainer.run(n)
        self.refresh()
        return self

    def play(self):
        """Train in the background until :meth:`pause` (asyncio task or thread).

        Returns:
            The task or thread, or ``None`` when the run has gone non-finite (restart it).
        """
        if self._trainer.nonfinite_step is not None and not self._player.playing:
            self.refresh()
            return None
        return self._player.start()

    def pause(self):
        """Stop background training after the current slice (waits for a thread)."""
        self._player.stop()
        return self

    def reset(self):
        """Start the run again: fresh (seeded) weights, optimizer state and batch order.

        The current run becomes a ghost loss curve; the hyperparameters are kept.
        """
        with self._lock:
            self._archive_run()
            self._trainer.restart()
        self.refresh()
        return self

    def set_values(self, **hyperparameters):
        """Set several of lr/rho/epsilon/decay at once (one change)."""
        self._hp.set_values(**hyperparameters)
        return self

    def evaluate(self, which="train"):
        """The mean loss of the current model on the training ("train") or "val" data."""
        return self._trainer.evaluate(which)

    def refresh(self, force=True):
        """Redraw every view from the current state (in place, one batch_update each).

        Args:
            force: redraw even if the last redraw was less than ``1 / refresh_hz`` ago.

        Returns:
            Whether it redrew.
        """
        now = time.perf_counter()
        player = self._player
        if not force and now - player.last_refresh < player.refresh_interval:
            return False
        player.last_refresh = now
        with self._lock:
            self._draw_views(now)
        return True

    # ==================================================================================
    # changes: controls -> trainer
    # ==================================================================================
    def _changed(self):
        """A setting moved: apply it now, or (restarting while playing on an event loop)
        once the controls have rested, so one drag makes one restart and one ghost."""
        if self._mode.value == "restart" and self._player.playing and running_loop():
            self._restart_later.request()
            return
        self._restart_later.cancel()
        self._apply_change()

    def _apply_change(self):
        restart = self._mode.value == "restart"
        with self._lock:
            if restart:
                self._archive_run()  # labelled with the settings it ran with
            self._trainer.set_hyperparameters(**self._hp.values())
            self._trainer.set_batch_size(int(self._batch.value))
            if restart:
                self._trainer.restart()
        if restart or not self._player.playing:
            self.refresh()
        else:
            self._readouts.value = self._readout_html(None)

    def _archive_run(self):
        label = readouts.run_label(self._trainer.changes)
        self._views.keep_run(label, self._trainer.history)
        self._snapshots.clear()

    # ==================================================================================
    # views
    # ==================================================================================
    def _draw_views(self, now):
        """Pull the trainer's state and update every figure (the caller holds the lock)."""
        trainer = self._trainer
        out = None if self._predict is None else self._predict()
        prediction = self._boundary.drawn(out, training.from_logits(trainer.loss))
        h = self._views.show_trainer(trainer, prediction)
        self._snapshots.record(h, self._views.step_size.histogram, prediction)
        self._player.measure(now, trainer.steps)
        self._readouts.value = self._readout_html(h)
        self._refresh_count += 1
        self._player.draw_seconds = time.perf_counter() - now

    def _readout_html(self, history):
        rate = self._player.rate if self._player.playing else None
        return self._readout_line.html(self._trainer, history, self._hp.values(), rate)

    # -- export hooks (adaviz.panels.kit.base.Panel) ---------------------------------------
    def _export_columns(self):
        figs = self._views.widgets()
        return [figs[0::2], figs[1::2]]  # the widget's two columns

    def _export_header(self):
        return f"<p>{self._readouts.value}</p>"

    _live_page_height = 1300  # the replay page's iframe in a notebook (page())

    def _live_page(self, plotly):
        """A replay of the run recorded so far (:mod:`adaviz.web.replay`)."""
        with self._lock:
            return replay.replay_page(replay.model_state(self), plotly=plotly)

    def _on_close(self):  # no training after close
        if "_player" in vars(self):  # (not when the constructor failed before it)
            self.pause()

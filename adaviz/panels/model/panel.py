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

    Play runs an asyncio task on the kernel's event loop (Jupyter, JupyterLab and Voila
    run one), yielding every ``YIELD_EVERY`` seconds so sliders and buttons respond while
    it trains; without a running loop (a script) it runs a background thread. Views are
    redrawn at most ``refresh_hz`` times per second whatever the step rate (and less
    often if redrawing would take more than ``DRAW_BUDGET`` of the time), each figure in
    one ``batch_update()``, between two slices of training: a redraw never waits behind
    queued training, and training never queues redraws. The speed choice (10, 100 or
    1,000 steps per second, or as fast as possible) lets a class watch the accumulators
    grow. If a step goes non-finite, Play pauses and the readout says at which step and
    what to try.

Modes:
    ``"continue"``: a new lr/rho/epsilon/decay or batch size applies from the next step;
    weights and accumulators are kept. ``"restart"``: the current run is kept as a ghost
    loss curve, weights, optimizer state and batch order go back to their seeded start,
    and training restarts with the new settings, so the same settings reproduce the same
    run exactly (while playing, once the controls rest for ``RESTART_DEBOUNCE`` seconds:
    one drag, one restart). The Reset button restarts with the current settings.

Stable CSS classes: ``adaviz-model-panel`` (root) and ``adaviz-<control>`` for each
control (``adaviz-play``, ``adaviz-pause``, ``adaviz-step``, ``adaviz-reset``,
``adaviz-lr``, ..., ``adaviz-batch-size``, ``adaviz-mode``, ``adaviz-speed``),
``adaviz-figure-<view>`` for each figure and ``adaviz-readouts``.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time

import ipywidgets as widgets
import numpy as np

from adaviz import training
from adaviz._math import decayed_lr
from adaviz._validate import check_int, check_real, lr_alias
from adaviz.panels.kit.controls import DEFAULTS, HyperparameterControls, check_in_slider_range
from adaviz.panels.kit.export import StaticExport
from adaviz.panels.kit.schedule import Coalescer, running_loop
from adaviz.panels.kit.style import fmt
from adaviz.panels.model.views import MAX_GHOSTS, MAX_POINTS, ModelViews, thin

MODES = ("continue", "restart")
#: the speed choices: label -> steps per second (0: as fast as possible; a Dropdown
#: value of None would mean "nothing selected").
SPEEDS = {
    "10 steps/s": 10,
    "100 steps/s": 100,
    "1,000 steps/s": 1000,
    "as fast as possible": 0,
}
#: time between two yields to the event loop while playing, in seconds.
YIELD_EVERY = 0.02
#: decision-boundary grid resolution (points per axis).
GRID = 50
#: in restart mode while playing, a restart waits until the controls rest this long.
RESTART_DEBOUNCE = 0.25
#: while playing, redraws may take at most this fraction of the time (fewer redraws
#: per second on a slow machine, so training keeps most of the CPU).
DRAW_BUDGET = 0.1


class ModelPanel(StaticExport, widgets.VBox):
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
            more than a tenth of the time between two, see ``DRAW_BUDGET``).
        speed: steps per second while playing, one of 10, 100, 1000, or ``None`` / 0
            (as fast as possible).
        lr, rho, epsilon, decay: starting hyperparameters (default: legacy tf.keras,
            lr 1.0, rho 0.95, epsilon 1e-7, decay 0); ``learning_rate`` is an alias of lr.
        static_fallback: add a static HTML snapshot to the panel's display data.

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
        import keras

        # -- validate everything before building anything ------------------------------
        lr = lr_alias(lr, learning_rate)
        hyper = {"lr": lr, "rho": rho, "epsilon": epsilon, "decay": decay}
        hyper = {k: check_in_slider_range(k, v) for k, v in hyper.items() if v is not None}
        if mode not in MODES:
            raise ValueError(f"mode must be one of {list(MODES)}, got {mode!r}")
        if speed is None:
            speed = 0
        if isinstance(speed, bool) or speed not in SPEEDS.values():
            raise ValueError(
                f"speed must be one of 10, 100, 1000 (steps per second) or None "
                f"(as fast as possible), got {speed!r}"
            )
        seed = check_int("seed", seed, 0)
        check_int("history_size", history_size, 10)
        refresh_hz = check_real("refresh_hz", refresh_hz, 0, 60, open_low=True)
        if model is not None and not isinstance(model, keras.Model):
            raise ValueError(
                f"model must be a Keras 3 keras.Model (uncompiled is fine) or None, "
                f"got {type(model).__module__}.{type(model).__name__}"
            )
        x, y, info = training.load_data(data, n=n, noise=noise, seed=seed)
        self.dataset = data if info is not None else None
        x, y, x_val, y_val = training.split_validation(
            x, y, validation_split, validation_data, seed
        )
        self.batch_size_max = len(x)
        batch_size = check_int("batch_size", batch_size, 1, len(x))
        if model is None:
            hidden = tuple(check_int("hidden width", h, 1) for h in hidden)
            classes = info.n_classes if info is not None else training.class_count(y)
            outputs = classes if classes > 2 else (int(np.prod(y.shape[1:])) or 1)
            model = training.default_model(x.shape[1], hidden, seed, outputs)
            if loss is None:
                loss = training.default_loss(classes)
        loss, y, y_val, pred = training.prepare(model, loss, x, y, x_val, y_val)
        values = dict(DEFAULTS, **hyper)

        # -- the trainer and the panel's state -----------------------------------------
        self._trainer = training.Trainer(
            model, loss, x, y, x_val=x_val, y_val=y_val, batch_size=batch_size, seed=seed,
            history_size=history_size, **values,
        )  # fmt: skip
        self._x, self._y, self._x_val, self._y_val = x, y, x_val, y_val
        self.task, self.n_classes = training.task_of(loss, pred)
        self.layer_names = self._trainer.layer_names
        self._refresh_interval = 1.0 / refresh_hz
        self._lock = threading.RLock()  # one redraw at a time (a training thread redraws)
        self._playing = False
        self._runner = None  # asyncio task or thread
        self._generation = 0  # bumped by every play(), so a stale loop stops
        self._refresh_count = 0
        self._last_refresh = -math.inf
        self._draw_seconds = 0.0  # duration of the last redraw
        self._ghosts = []
        self._rate = None  # steps per second while playing, measured between redraws
        self._rate_mark = None  # (time, steps) at the last redraw while playing
        self._readout_values = {}
        self._speed = speed
        self._credit = 0.0  # steps the speed allows now (speed-limited play)
        self._credit_time = time.perf_counter()
        self._restart_later = Coalescer(
            self._apply_change, interval=RESTART_DEBOUNCE, mode="debounce"
        )

        # -- controls ------------------------------------------------------------------
        self._hp = HyperparameterControls(initial=values, on_change=self._changed)
        self._hp.reset.description = "default settings"
        self._hp.reset.tooltip = "Back to the starting hyperparameters"
        button = dict(layout=widgets.Layout(width="90px"))
        play = widgets.Button(description="play", icon="play", **button)
        pause = widgets.Button(description="pause", icon="pause", **button)
        step = widgets.Button(description="step", icon="step-forward", **button)
        reset = widgets.Button(
            description="reset", icon="refresh", tooltip="Fresh weights and state (same seed)",
            **button,
        )  # fmt: skip
        style = {"description_width": "initial"}
        self._batch = widgets.IntSlider(
            value=batch_size, min=1, max=len(x), step=1, description="batch size",
            continuous_update=False, style=style, layout=widgets.Layout(width="330px"),
        )  # fmt: skip
        self._mode = widgets.ToggleButtons(
            options=list(MODES),
            value=mode,
            description="on change",
            tooltips=[
                "new settings apply from the next step, state kept",
                "new settings restart from fresh weights and state (same seed)",
            ],
            style={"description_width": "initial", "button_width": "80px"},
        )
        self._speed_choice = widgets.Dropdown(
            options=list(SPEEDS.items()), value=speed, description="speed", style=style,
            layout=widgets.Layout(width="330px"),
        )  # fmt: skip
        play.on_click(lambda _: self.play())
        pause.on_click(lambda _: self.pause())
        step.on_click(lambda _: self.step(1))
        reset.on_click(lambda _: self.reset())
        self._batch.observe(lambda _: self._changed(), names="value")
        self._speed_choice.observe(self._speed_changed, names="value")
        self._controls = {
            "play": play,
            "pause": pause,
            "step": step,
            "reset": reset,
            "lr": self._hp.lr,
            "rho": self._hp.rho,
            "epsilon": self._hp.epsilon,
            "decay": self._hp.decay,
            "preset": self._hp.preset,
            "batch_size": self._batch,
            "mode": self._mode,
            "speed": self._speed_choice,
            "reset_settings": self._hp.reset,
        }
        for name, control in self._controls.items():
            control.add_class(f"adaviz-{name.replace('_', '-')}")
        self._readouts = widgets.HTML()
        self._readouts.add_class("adaviz-readouts")

        # -- views ---------------------------------------------------------------------
        grid = self._make_grid()
        self._grid = grid
        self._predict = self._trainer.predictor(grid[2]) if grid is not None else None
        self._views = ModelViews(
            self.layer_names,
            validation=x_val is not None,
            boundary=self._boundary_spec(),
            fit=self._fit_spec(),
            loss_title="loss (log scale)",
        )
        for name, fig in self._views.figures.items():
            fig.add_class(f"adaviz-figure-{name.replace('_', '-')}")
        self._static_fallback = bool(static_fallback)
        figs = self._views.widgets()
        rows = [widgets.HBox(figs[i : i + 2]) for i in range(0, len(figs), 2)]
        buttons = widgets.HBox([play, pause, step, reset])
        left = widgets.VBox([buttons, self._speed_choice, self._batch, self._mode, self._readouts])
        super().__init__(
            [widgets.HBox([left, self._hp.widget()]), *rows], layout=widgets.Layout(width="980px")
        )
        self.add_class("adaviz-model-panel")
        self.refresh()

    # ==================================================================================
    # public API
    # ==================================================================================
    @property
    def controls(self):
        """The control widgets: play, pause, step, reset, lr, rho, epsilon, decay, preset,
        batch_size, mode, speed (and reset_settings)."""
        return self._controls

    @property
    def figures(self):
        """The ``FigureWidget``s: loss, accumulators, step_sizes, update_ratio, and
        boundary (2D classification) or fit (1D regression)."""
        return self._views.figures

    @property
    def readouts(self):
        """The numbers shown in the readouts, as a dict: ``step``, ``loss`` (last batch),
        ``full_loss`` (all training data), ``val_loss``, ``lr_t``, ``steps_per_second``
        (while playing), ``nonfinite_step`` (None while finite), ``text`` (the HTML)."""
        return dict(self._readout_values, text=self._readouts.value)

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
        return self._playing

    @property
    def hyperparameters(self):
        """The current lr, rho, epsilon, decay as floats."""
        return self._hp.values()

    @property
    def ghosts(self):
        """Labels of the earlier runs shown as ghost loss curves, oldest first."""
        return [label for label, _, _ in self._ghosts]

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
    def history(self):
        """The current run, whole, in bounded memory: see
        :attr:`adaviz.training.Trainer.history` for the keys (``step``, ``loss``,
        ``loss_smoothed``, ``lr``, ``rho``, ..., ``accum_grad_rms``, ``full_loss``,
        ``val_loss``, ``nonfinite_step``). The full-data and validation losses are
        computed at each redraw."""
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
        if self._playing:
            return self._runner
        if self._trainer.nonfinite_step is not None:
            self.refresh()
            return None
        self._playing = True
        self._generation += 1
        self._credit, self._credit_time = 0.0, time.perf_counter()
        self._rate_mark = None
        loop = running_loop()
        if loop is not None:
            self._runner = loop.create_task(self._run_async(self._generation))
        else:
            self._runner = threading.Thread(
                target=self._run_thread, args=(self._generation,), daemon=True
            )
            self._runner.start()
        return self._runner

    def pause(self):
        """Stop background training after the current slice (waits for a thread)."""
        self._playing = False
        runner, self._runner = self._runner, None
        if isinstance(runner, threading.Thread) and runner is not threading.current_thread():
            runner.join()
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
        if not force and now - self._last_refresh < self._refresh_interval:
            return False
        self._last_refresh = now
        with self._lock:
            self._redraw(now)
        return True

    # ==================================================================================
    # changes: controls -> trainer
    # ==================================================================================
    def _changed(self):
        """A setting moved: apply it now, or (restarting while playing on an event loop)
        once the controls have rested, so one drag makes one restart and one ghost."""
        if self._mode.value == "restart" and self._playing and running_loop() is not None:
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
        if restart or not self._playing:
            self.refresh()
        else:
            self._readouts.value = self._readout_html(None)

    def _speed_changed(self, change):
        self._speed = change["new"]
        self._credit, self._credit_time = 0.0, time.perf_counter()

    def _run_label(self):
        parts = []
        for key, name, digits in (
            ("lr", "lr", 3),
            ("rho", "ρ", 3),
            ("epsilon", "ε", 2),
            ("decay", "decay", 3),
            ("batch_size", "batch", 3),
        ):
            values = []
            for _, s in self._trainer.changes:
                text = fmt(s[key], digits) if key != "batch_size" else str(s[key])
                if not values or values[-1] != text:
                    values.append(text)
            if key == "decay" and values == ["0"]:
                continue
            parts.append(f"{name} {'→'.join(values)}")
        return ", ".join(parts)

    def _archive_run(self):
        history = self._trainer.history
        if len(history["loss"]) < 2:  # a ghost needs a curve, not a point
            return
        steps, loss = thin(history["step"].astype(np.float64), history["loss"], limit=MAX_POINTS)
        self._ghosts.append((self._run_label(), steps, loss))
        self._ghosts = self._ghosts[-MAX_GHOSTS:]
        self._views.set_ghosts(self._ghosts)

    # ==================================================================================
    # play loop
    # ==================================================================================
    def _redraw_interval(self):
        return max(self._refresh_interval, self._draw_seconds / DRAW_BUDGET)

    def _live(self, generation):
        return self._playing and self._generation == generation

    def _play_slice(self):
        """Train one slice (as many steps as the speed allows, at most ``YIELD_EVERY``
        seconds), redraw if due; returns the seconds to wait before the next slice."""
        now = time.perf_counter()
        budget = 10**9
        if self._speed:
            cap = max(1.0, 0.25 * self._speed)  # no burst after a stall
            self._credit = min(self._credit + self._speed * (now - self._credit_time), cap)
            self._credit_time = now
            if self._credit < 1.0:
                return min((1.0 - self._credit) / self._speed, self._refresh_interval)
            budget = int(self._credit)
        due = now - self._last_refresh >= self._redraw_interval()
        # when a redraw is due, one probe step (records the step sizes), then the redraw
        taken = self._trainer.run(1 if due else budget, seconds=YIELD_EVERY, probe=due)
        self._credit -= taken
        if self._trainer.nonfinite_step is not None:
            self._playing = False  # Play pauses; _stopped redraws and says why
            return 0.0
        if due:
            self.refresh()
        return 0.0

    def _stopped(self, generation):
        if self._generation == generation:
            self._playing = False
            self.refresh()

    async def _run_async(self, generation):
        try:
            while self._live(generation):
                await asyncio.sleep(self._play_slice())
        finally:
            self._stopped(generation)

    def _run_thread(self, generation):
        try:
            while self._live(generation):
                time.sleep(self._play_slice())
        finally:
            self._stopped(generation)

    # ==================================================================================
    # views
    # ==================================================================================
    def _redraw(self, now):
        """Pull the trainer's state and update every figure (the caller holds the lock)."""
        trainer = self._trainer
        trainer.record_evaluation()
        h = trainer.history
        steps = trainer.steps
        sizes = trainer.step_sizes()
        self._views.show(
            h,
            step_sizes=sizes if steps else [np.zeros(0) for _ in sizes],
            prediction=self._prediction() if self._grid is not None else None,
        )
        self._views.loss.mark_nonfinite(trainer.nonfinite_step)
        if self._playing:
            if self._rate_mark is not None and now > self._rate_mark[0]:
                self._rate = (steps - self._rate_mark[1]) / (now - self._rate_mark[0])
            self._rate_mark = (now, steps)
        self._readouts.value = self._readout_html(h)
        self._refresh_count += 1
        self._draw_seconds = time.perf_counter() - now

    def _make_grid(self):
        if self._x.shape[1] == 2 and self.task == "classification":
            lo = self._x.min(axis=0)
            hi = self._x.max(axis=0)
            pad = 0.1 * (hi - lo) + 1e-6
            gx = np.linspace(lo[0] - pad[0], hi[0] + pad[0], GRID, dtype=np.float32)
            gy = np.linspace(lo[1] - pad[1], hi[1] + pad[1], GRID, dtype=np.float32)
            xx, yy = np.meshgrid(gx, gy)
            return gx, gy, np.stack([xx.ravel(), yy.ravel()], axis=1)
        if self._x.shape[1] == 1 and self.task == "regression" and self._y.ndim <= 2:
            lo, hi = float(self._x.min()), float(self._x.max())
            pad = 0.05 * (hi - lo) + 1e-6
            gx = np.linspace(lo - pad, hi + pad, 200, dtype=np.float32)
            return gx, None, gx[:, None]
        return None

    def _boundary_spec(self):
        if self._grid is None or self._grid[1] is None:
            return None
        labels = self._y.reshape(len(self._y), -1)[:, 0] if self.n_classes <= 2 else self._y
        return self._grid[0], self._grid[1], self._x, labels, self.n_classes

    def _fit_spec(self):
        if self._grid is None or self._grid[1] is not None:
            return None
        return self._grid[0], self._x, self._y.reshape(len(self._y), -1)[:, 0]

    def _prediction(self):
        out = self._predict()
        gx, gy, _ = self._grid
        if gy is None:
            return out.reshape(len(gx), -1)[:, 0]
        if self.n_classes > 2:
            return np.argmax(out.reshape(len(gx) * len(gy), -1), axis=1).reshape(len(gy), len(gx))
        out = out.reshape(len(gy), len(gx))
        if training.from_logits(self._trainer.loss):
            out = 1.0 / (1.0 + np.exp(-out))
        return np.clip(out, 0.0, 1.0)

    def _readout_html(self, history):
        """The readouts' HTML; their numbers are kept for :attr:`readouts`."""
        v = self._hp.values()
        count = self._trainer.steps
        values = {"step": count, "loss": None, "full_loss": None, "val_loss": None}
        if history is not None and len(history["loss"]):
            values["loss"] = float(history["loss"][-1])
            if len(history["full_loss"]):
                values["full_loss"] = float(history["full_loss"][-1])
            if history.get("val_loss") is not None and len(history["val_loss"]):
                values["val_loss"] = float(history["val_loss"][-1])
        elif self._readout_values:  # between redraws while playing: keep the last numbers
            for key in ("loss", "full_loss", "val_loss"):
                values[key] = self._readout_values.get(key)
        values["lr_t"] = float(decayed_lr(v["lr"], v["decay"], count))
        values["steps_per_second"] = self._rate if self._playing else None
        values["nonfinite_step"] = self._trainer.nonfinite_step
        self._readout_values = values
        parts = [f"<b>step</b> {count}"]
        for key, label in (("loss", "loss"), ("full_loss", "all data"), ("val_loss", "val")):
            if values[key] is not None:
                parts.append(f"<b>{label}</b> {fmt(values[key], 4)}")
        parts.append(f"<b>lr<sub>t</sub></b> {fmt(values['lr_t'])}")
        if values["steps_per_second"]:
            parts.append(f"{values['steps_per_second']:,.0f} steps/s")
        text = " · ".join(parts)
        bad = values["nonfinite_step"]
        if bad is not None:
            text += (
                f'<br><b style="color:#cc0000">Stopped: the loss or the weights are not '
                f"finite (inf/NaN) from step {bad}.</b> Try a lower lr (or a larger ε), "
                "then press reset (or choose “restart”)."
            )
        return text

    # -- static export (adaviz.panels.kit.export.StaticExport) -----------------------------
    def _export_columns(self):
        figs = self._views.widgets()
        return [figs[0::2], figs[1::2]]  # the widget's two columns

    def _export_header(self):
        return f"<p>{self._readouts.value}</p>"

    def _on_close(self):
        """(``close()``, :mod:`adaviz.panels.kit.lifecycle`) no training after close."""
        if "_runner" in vars(self):  # (not when the constructor failed before it)
            self.pause()

"""ModelPanel: watch Adadelta's accumulators and step sizes while a real network trains.

Display ``adaviz.ModelPanel()`` as the last expression of a cell: a small Keras 3 MLP on
a generated 2D dataset ("moons" by default, see :mod:`adaviz.datasets`), or your own
uncompiled Keras model and ``(x, y)`` arrays. The panel is one ``ipywidgets.VBox`` with
Play / Pause / Step / Reset, the shared hyperparameter sliders and presets
(:mod:`adaviz.panels._controls`), batch size, a continue/restart choice, and plotly
``FigureWidget`` views (see :mod:`adaviz.panels._model_views`).

How training runs:
    One compiled ``tf.function`` takes a whole training step: it draws the next batch
    (a seeded, per-epoch shuffle held in TensorFlow variables), computes the loss and
    gradients, applies :class:`adaviz.Adadelta` (TensorFlow's fused kernel), and reduces
    the diagnostics to one row of per-layer scalars that it writes into a fixed-size ring
    buffer variable. Python does nothing per step but call it, so the diagnostics cost
    little (``benchmarks/bench_model_panel.py``). New hyperparameter values are assigned
    to the optimizer's variables: no retracing. The batch size is part of the graph
    (static shapes run faster), so each new batch size is traced once, then reused.

    The step right before each redraw is a "probe" variant of the same step that also
    stores every parameter's effective step size ``lr_t·√(E[Δx²]_{t-1}+ε)/√(E[g²]_t+ε)``
    (computed with :func:`adaviz._math.adadelta_step` from the state before the update),
    for the step-size histogram.

    Play runs an asyncio task on the kernel's event loop (Jupyter, JupyterLab and Voila
    run one), yielding every few milliseconds so sliders and buttons respond while it
    trains; without a running loop (a script) it runs a background thread. Views are
    redrawn at most ``refresh_hz`` times per second whatever the step rate (and less
    often if redrawing would take more than 10 % of the time), each figure in one
    ``batch_update()``.

Modes:
    ``"continue"``: a new lr/rho/epsilon/decay or batch size applies from the next step;
    weights and accumulators are kept. ``"restart"``: the current run is kept as a ghost
    loss curve, weights, optimizer state and batch order go back to their seeded start,
    and training restarts with the new settings, so the same settings reproduce the same
    run exactly. The Reset button restarts with the current settings in either mode.

Stable CSS classes: ``adaviz-model-panel`` (root) and ``adaviz-<control>`` for each
control (``adaviz-play``, ``adaviz-pause``, ``adaviz-step``, ``adaviz-reset``,
``adaviz-lr``, ..., ``adaviz-batch-size``, ``adaviz-mode``), ``adaviz-figure-<view>`` for
each figure and ``adaviz-readouts``.
"""

from __future__ import annotations

import asyncio
import math
import numbers
import threading
import time

import ipywidgets as widgets
import numpy as np

from adaviz import datasets as datasets_module
from adaviz._math import adadelta_step, decayed_lr
from adaviz._tf import import_tensorflow
from adaviz.optimizer import _tf_variable
from adaviz.panels import _figures as F
from adaviz.panels._controls import DEFAULTS, HyperparameterControls, check_in_slider_range
from adaviz.panels._model_views import MAX_GHOSTS, MAX_POINTS, ModelViews, thin

tf = import_tensorflow()
import keras  # noqa: E402  (after the quiet TensorFlow import)

MODES = ("continue", "restart")
#: time between two yields to the event loop while playing, in seconds.
YIELD_EVERY = 0.02
#: decision-boundary grid resolution (points per axis).
GRID = 50
#: in restart mode while playing, a restart waits until the controls rest this long.
RESTART_DEBOUNCE = 0.25
#: while playing, redraws may take at most this fraction of the time (fewer redraws
#: per second on a slow machine, so training keeps most of the CPU).
DRAW_BUDGET = 0.1


# ======================================================================================
# input checks (all run before anything is built)
# ======================================================================================
def _check_int(name, value, low, high=None):
    ok = isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))
    if ok:
        value = int(value)
        ok = value >= low and (high is None or value <= high)
    if not ok:
        allowed = f"an integer >= {low}" if high is None else f"an integer in [{low}, {high}]"
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    return value


def _numeric_array(name, value):
    """``value`` as a finite float32 numpy array with a sample axis."""
    try:
        arr = np.asarray(value)
    except Exception as exc:  # ragged lists and other oddities
        raise ValueError(
            f"{name} must be a numeric array, got {type(value).__name__} ({exc})"
        ) from None
    if arr.dtype.kind not in "biuf":
        raise ValueError(
            f"{name} must hold numbers (int/float/bool), got an array of dtype {arr.dtype}"
        )
    if arr.ndim == 0:
        raise ValueError(f"{name} must have one entry per sample, got a scalar {arr!r}")
    arr = arr.astype(np.float32)
    if not np.all(np.isfinite(arr)):
        bad = int(np.flatnonzero(~np.isfinite(arr.reshape(-1)))[0])
        raise ValueError(
            f"{name} must be finite, got {float(arr.reshape(-1)[bad])!r} at flat index {bad}"
        )
    return arr


def _check_xy(x, y, what="data"):
    x = _numeric_array(f"x ({what})", x)
    y = _numeric_array(f"y ({what})", y)
    if len(x) != len(y):
        raise ValueError(
            f"x and y ({what}) must have the same number of samples, "
            f"got len(x)={len(x)} and len(y)={len(y)}"
        )
    if x.ndim == 1:
        x = x[:, None]
    return x, y


def _loss_name(loss):
    return getattr(loss, "name", None) or getattr(loss, "__name__", None) or type(loss).__name__


def _is_sparse(loss):
    return "sparse" in _loss_name(loss).lower() or "sparse" in type(loss).__name__.lower()


def _from_logits(loss):
    return bool(getattr(loss, "from_logits", False))


def _resolve_loss(loss):
    if isinstance(loss, str):
        try:
            return keras.losses.get(loss)
        except (ValueError, TypeError) as exc:
            raise ValueError(
                f"loss must be a Keras loss name (e.g. 'mse', 'binary_crossentropy'), "
                f"a keras.losses.Loss or a callable, got {loss!r} ({exc})"
            ) from None
    if callable(loss):
        return loss
    raise ValueError(
        f"loss must be a Keras loss name, a keras.losses.Loss or a callable, got {loss!r}"
    )


def _output_activation(model):
    layer = model.layers[-1] if getattr(model, "layers", None) else None
    return getattr(getattr(layer, "activation", None), "__name__", None)


def _infer_loss(model, y, out_dim):
    """A loss for a user model given without one (documented in :class:`ModelPanel`)."""
    integer = bool(np.all(y == np.round(y)))
    activation = _output_activation(model)
    if integer and y.ndim == 1 and out_dim == 1 and set(np.unique(y)) <= {0.0, 1.0}:
        return keras.losses.BinaryCrossentropy(from_logits=activation != "sigmoid")
    if integer and y.ndim == 1 and out_dim > 1 and y.min() >= 0:
        return keras.losses.SparseCategoricalCrossentropy(from_logits=activation != "softmax")
    return keras.losses.MeanSquaredError()


def _class_count(y):
    """Number of classes when ``y`` looks like class labels (1-D, integers 0..k-1 with
    k <= 10), else 0 (regression targets)."""
    if y.ndim != 1:
        return 0
    labels = np.unique(y)
    if labels.size > 10 or np.any(labels != np.round(labels)) or labels.min() < 0:
        return 0
    if labels.size == 1 or labels.max() >= 10:
        return 0
    return max(int(labels.max()) + 1, 2)


def _default_model(input_dim, hidden, seed, outputs=1):
    init = keras.initializers.GlorotUniform
    layers = [keras.Input((input_dim,), name="x")]
    for i, units in enumerate(hidden):
        layers.append(
            keras.layers.Dense(
                units,
                activation="tanh",
                name=f"dense_{i + 1}",
                kernel_initializer=init(seed=seed + i),
            )
        )
    layers.append(
        keras.layers.Dense(outputs, name="output", kernel_initializer=init(seed=seed + len(hidden)))
    )
    return keras.Sequential(layers, name="adaviz_mlp")


def _layer_groups(model):
    """``[(layer name, [variables])]`` for the layers with trainable weights."""
    groups, seen = [], set()
    for layer in model.layers:
        variables = [v for v in layer.trainable_variables if id(v) not in seen]
        if variables:
            groups.append((layer.name, variables))
            seen.update(id(v) for v in variables)
    rest = [v for v in model.trainable_variables if id(v) not in seen]
    if rest:
        groups.append(("other", rest))
    return groups


# ======================================================================================
# the panel
# ======================================================================================
class ModelPanel(widgets.VBox):
    """Train a Keras 3 model live with Adadelta and watch its accumulators and step sizes.

    Args:
        model: an uncompiled Keras 3 model, or ``None`` for a small MLP (tanh hidden
            layers ``hidden``, a linear output layer) built for ``data``.
        data: a built-in dataset name (see ``adaviz.datasets.names()``: "moons",
            "circles", "spiral", "xor", "regression") or ``(x, y)`` arrays. With your
            own arrays and no model, ``y`` holding 1-D integer labels 0..k-1 (k <= 10)
            is taken as classification, anything else as regression.
        loss: a Keras loss (name, ``keras.losses.Loss`` or callable). Default: for the
            built-in MLP, binary cross-entropy on logits (two classes; one output),
            sparse categorical cross-entropy on logits (more classes; one output per
            class) or mean squared error (regression); for your own model, binary
            cross-entropy for
            0/1 labels and a one-unit output, sparse categorical cross-entropy for
            integer labels and a multi-unit output (``from_logits`` unless the last
            layer's activation is sigmoid/softmax), mean squared error otherwise.
        n, noise: size and noise of a built-in dataset.
        seed: seeds the dataset, the MLP's initial weights, the validation split and the
            batch order; "restart" returns to exactly this start.
        validation_split: fraction of the data held out for a validation loss (0: none).
        validation_data: ``(x_val, y_val)`` instead of a split.
        batch_size: samples per step, 1 to the number of training samples.
        mode: "continue" or "restart" (see the module docstring).
        hidden: hidden-layer widths of the built-in MLP.
        history_size: steps kept in the history ring buffers (older steps are dropped).
        refresh_hz: maximum redraws per second while playing (fewer when a redraw takes
            more than a tenth of the time between two, see ``DRAW_BUDGET``).
        lr, rho, epsilon, decay: starting hyperparameters (default: legacy tf.keras,
            lr 1.0, rho 0.95, epsilon 1e-7, decay 0); ``learning_rate`` is an alias of lr.
        static_fallback: add a static HTML snapshot to the panel's display data.

    Raises:
        ValueError: unknown dataset name, x and y of different lengths, non-numeric or
            non-finite data, a model whose output does not fit ``y`` or the loss,
            batch size < 1 or larger than the training data, an unknown mode, or a
            hyperparameter the optimizer (or its slider) refuses. All before training.
    """

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
        lr=None,
        rho=None,
        epsilon=None,
        decay=None,
        learning_rate=None,
        static_fallback=True,
    ):
        from adaviz.optimizer import Adadelta

        # -- validate everything before building anything ------------------------------
        if learning_rate is not None:
            if lr is not None:
                raise ValueError(
                    f"give lr or learning_rate, not both (got lr={lr!r}, "
                    f"learning_rate={learning_rate!r})"
                )
            lr = learning_rate
        hyper = {"lr": lr, "rho": rho, "epsilon": epsilon, "decay": decay}
        for name, value in hyper.items():
            if value is not None:
                hyper[name] = check_in_slider_range(name, value)
        if mode not in MODES:
            raise ValueError(f"mode must be one of {list(MODES)}, got {mode!r}")
        seed = _check_int("seed", seed, 0)
        history_size = _check_int("history_size", history_size, 10)
        if not (isinstance(refresh_hz, numbers.Real) and 0 < refresh_hz <= 60):
            raise ValueError(f"refresh_hz must be a number in (0, 60], got {refresh_hz!r}")
        if model is not None and not isinstance(model, keras.Model):
            raise ValueError(
                f"model must be a Keras 3 keras.Model (uncompiled is fine) or None, "
                f"got {type(model).__module__}.{type(model).__name__}"
            )

        self.dataset = None
        if isinstance(data, str):
            self.dataset = data
            info = datasets_module.info(data)  # ValueError listing the valid names
            x, y = datasets_module.make(data, n, noise=noise, seed=seed)
        elif isinstance(data, (tuple, list)) and len(data) == 2:
            info = None
            x, y = _check_xy(*data)
        else:
            raise ValueError(
                f"data must be a dataset name ({', '.join(datasets_module.names())}) or an "
                f"(x, y) pair of arrays, got {type(data).__name__}"
            )
        x, y, x_val, y_val = self._split(x, y, validation_split, validation_data, seed)
        self.batch_size_max = len(x)
        batch_size = _check_int("batch_size", batch_size, 1, len(x))

        if model is None:
            hidden = tuple(_check_int("hidden width", h, 1) for h in hidden)
            classes = info.n_classes if info is not None else _class_count(y)
            outputs = classes if classes > 2 else (int(np.prod(y.shape[1:])) or 1)
            model = _default_model(x.shape[1], hidden, seed, outputs)
            if loss is None:
                if classes > 2:
                    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
                elif classes == 2:
                    loss = keras.losses.BinaryCrossentropy(from_logits=True)
                else:
                    loss = keras.losses.MeanSquaredError()
        pred = self._call_model(model, x[: min(len(x), 8)])
        out_dim = int(np.prod(pred.shape[1:])) if pred.ndim > 1 else 1
        loss = _infer_loss(model, y, out_dim) if loss is None else _resolve_loss(loss)
        y = self._fit_targets(model, loss, pred, x, y, "data")
        if y_val is not None:
            y_val = self._fit_targets(model, loss, pred, x_val, y_val, "validation data")
        if not model.trainable_variables:
            raise ValueError(f"model {model.name!r} has no trainable variables to train")

        values = dict(DEFAULTS)
        values.update({k: v for k, v in hyper.items() if v is not None})
        optimizer = Adadelta(
            lr=values["lr"], rho=values["rho"], epsilon=values["epsilon"], decay=values["decay"]
        )

        # -- state ---------------------------------------------------------------------
        self._model = model
        self._loss = loss
        self._optimizer = optimizer
        self._seed = seed
        self._x, self._y, self._x_val, self._y_val = x, y, x_val, y_val
        self._history_size = history_size
        self._refresh_interval = 1.0 / float(refresh_hz)
        self._lock = threading.RLock()
        self._playing = False
        self._runner = None  # asyncio task or thread
        self._generation = 0  # bumped by every play(), so a stale loop stops
        self._pending_restart = None  # a debounced restart (asyncio TimerHandle)
        self._traces = 0  # tf.function traces of the training step (should stay at 2)
        self._refresh_count = 0
        self._last_refresh = -math.inf
        self._draw_seconds = 0.0  # duration of the last redraw
        self._ghosts = []
        self._changes = []  # [(first step, settings dict)] of the current run
        self._val = ([], [])  # validation (steps, losses), bounded
        self._rate = None  # measured steps per second while playing

        self.task, self.n_classes = self._task(loss, pred, y)
        groups = _layer_groups(model)
        self.layer_names = [name for name, _ in groups]
        self._build_state(groups, batch_size)
        self._initial_weights = [v.numpy().copy() for v in model.variables]

        # -- controls ------------------------------------------------------------------
        self._hp = HyperparameterControls(initial=values, on_change=self._hyper_changed)
        self._hp.reset.description = "default settings"
        self._hp.reset.tooltip = "Back to the starting hyperparameters"
        button = dict(layout=widgets.Layout(width="90px"))
        self._play = widgets.Button(description="play", icon="play", **button)
        self._pause = widgets.Button(description="pause", icon="pause", **button)
        self._step_button = widgets.Button(description="step", icon="step-forward", **button)
        self._reset = widgets.Button(
            description="reset",
            icon="refresh",
            tooltip="Fresh weights and state (same seed)",
            **button,
        )
        style = {"description_width": "initial"}
        self._batch = widgets.IntSlider(
            value=batch_size,
            min=1,
            max=len(x),
            step=1,
            description="batch size",
            continuous_update=False,
            style=style,
            layout=widgets.Layout(width="330px"),
        )
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
        self._play.on_click(lambda _: self.play())
        self._pause.on_click(lambda _: self.pause())
        self._step_button.on_click(lambda _: self._step_clicked())
        self._reset.on_click(lambda _: self.reset())
        self._batch.observe(self._batch_changed, names="value")
        self._controls = {
            "play": self._play,
            "pause": self._pause,
            "step": self._step_button,
            "reset": self._reset,
            "lr": self._hp.lr,
            "rho": self._hp.rho,
            "epsilon": self._hp.epsilon,
            "decay": self._hp.decay,
            "preset": self._hp.preset,
            "batch_size": self._batch,
            "mode": self._mode,
            "reset_settings": self._hp.reset,
        }
        for name, control in self._controls.items():
            control.add_class(f"adaviz-{name.replace('_', '-')}")
        self._readouts = widgets.HTML()
        self._readouts.add_class("adaviz-readouts")

        # -- views ---------------------------------------------------------------------
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
        controls_box = widgets.HBox(
            [
                widgets.VBox(
                    [
                        widgets.HBox([self._play, self._pause, self._step_button, self._reset]),
                        self._batch,
                        self._mode,
                        self._readouts,
                    ]
                ),
                self._hp.widget(),
            ]
        )
        super().__init__([controls_box, *rows], layout=widgets.Layout(width="980px"))
        self.add_class("adaviz-model-panel")
        self._changes = [(0, self._settings())]
        self.refresh()

    # ==================================================================================
    # public API
    # ==================================================================================
    @property
    def controls(self):
        """The control widgets: play, pause, step, reset, lr, rho, epsilon, decay, preset,
        batch_size, mode (and reset_settings)."""
        return self._controls

    @property
    def figures(self):
        """The ``FigureWidget``s: loss, accumulators, step_sizes, update_ratio, and
        boundary (2D classification) or fit (1D regression)."""
        return self._views.figures

    @property
    def model(self):
        """The Keras model being trained."""
        return self._model

    @property
    def optimizer(self):
        """The :class:`adaviz.Adadelta` training it."""
        return self._optimizer

    @property
    def loss(self):
        """The loss function."""
        return self._loss

    @property
    def data(self):
        """``(x, y, x_val, y_val)`` as used for training (``x_val``/``y_val`` may be None)."""
        return self._x, self._y, self._x_val, self._y_val

    @property
    def steps(self):
        """Number of steps taken in the current run."""
        return int(self._count.numpy())

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
    def step_sizes(self):
        """Per layer (``layer_names`` order), the effective step size of every parameter in
        the last probe step (the last step of :meth:`step`, or the step before the last
        redraw while playing): ``lr_t·√(E[Δx²]_{t-1}+ε)/√(E[g²]_t+ε)``. Zeros before
        the first step."""
        with self._lock:
            return [a.numpy() for a in self._read_step_sizes()]

    @property
    def history(self):
        """The current run's recorded steps (the last ``history_size`` of them).

        A dict of numpy arrays: ``step`` (1-based step numbers), ``loss`` (the batch
        loss before the update), ``lr`` (the decayed ``lr_t`` used), ``rho``,
        ``epsilon``, ``decay``, ``batch_size``; per layer (columns in
        ``panel.layer_names`` order, shape ``(steps, layers)``): ``accum_grad_rms`` and
        ``accum_delta_rms`` (the RMS over the layer's parameters of E[g²] and E[Δx²]
        after the step, i.e. ``sqrt(mean(A²))``) and ``update_ratio`` (‖Δw‖/‖w‖ with
        ``w`` before the step); ``val_step``/``val_loss`` (validation loss, computed at
        each redraw, when a split is given).
        """
        with self._lock:
            count = int(self._count.numpy())
            buf = self._buffer.numpy()
        cap = self._history_size
        if count <= cap:
            rows = buf[:count]
        else:
            start = count % cap
            rows = np.concatenate([buf[start:], buf[:start]])
        steps = np.arange(count - len(rows) + 1, count + 1, dtype=np.int64)
        nl = len(self.layer_names)
        out = {
            "step": steps,
            "loss": rows[:, 0].astype(np.float64),
            "accum_grad_rms": rows[:, 1 : 1 + nl].astype(np.float64),
            "accum_delta_rms": rows[:, 1 + nl : 1 + 2 * nl].astype(np.float64),
            "update_ratio": rows[:, 1 + 2 * nl : 1 + 3 * nl].astype(np.float64),
        }
        out.update(self._settings_per_step(steps))
        if self._x_val is not None:
            out["val_step"] = np.asarray(self._val[0], dtype=np.int64)
            out["val_loss"] = np.asarray(self._val[1], dtype=np.float64)
        return out

    def step(self, n=1):
        """Train ``n`` steps now (pauses a running play first), then redraw once."""
        n = _check_int("n", n, 1)
        self.pause()
        with self._lock:
            train, probe = self._steppers()
            for _ in range(n - 1):
                train()
            probe()
        self.refresh()
        return self

    def play(self):
        """Train in the background until :meth:`pause` (asyncio task or thread)."""
        if self._playing:
            return self._runner
        self._playing = True
        self._generation += 1
        loop = F.running_loop()
        if loop is not None:
            self._runner = loop.create_task(self._run_async(self._generation))
        else:
            self._runner = threading.Thread(
                target=self._run_thread, args=(self._generation,), daemon=True
            )
            self._runner.start()
        return self._runner

    def pause(self):
        """Stop background training after the current step (waits for a thread)."""
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
            self._restore_start()
        self.refresh(force=True)
        return self

    def set_values(self, **hyperparameters):
        """Set several of lr/rho/epsilon/decay at once (one change)."""
        for name, value in hyperparameters.items():
            if name not in self._hp.sliders:
                raise ValueError(
                    f"unknown hyperparameter {name!r}; allowed: lr, rho, epsilon, decay"
                )
            check_in_slider_range(name, value)
        self._hp.set_values(**hyperparameters)
        return self

    def evaluate(self, which="train"):
        """The mean loss of the current model on the training ("train") or "val" data."""
        if which not in ("train", "val"):
            raise ValueError(f"which must be 'train' or 'val', got {which!r}")
        if which == "val" and self._x_val is None:
            raise ValueError("there is no validation data: pass validation_split or data")
        with self._lock:
            fn = self._train_loss_fn if which == "train" else self._val_loss_fn
            return float(fn().numpy())

    def refresh(self, force=True):
        """Redraw every view from the current state (in place, one batch_update each)."""
        now = time.perf_counter()
        if not force and now - self._last_refresh < self._refresh_interval:
            return False
        self._last_refresh = now
        with self._lock:  # one redraw at a time (a training thread redraws too)
            self._redraw(now)
        return True

    def _redraw(self, now):
        """Pull the state and update every figure (the caller holds the lock)."""
        count = int(self._count.numpy())
        if (
            self._x_val is not None
            and count > 0
            and (not self._val[0] or self._val[0][-1] != count)
        ):
            self._val[0].append(count)
            self._val[1].append(float(self._val_loss_fn().numpy()))
            if len(self._val[0]) > self._history_size:
                del self._val[0][0], self._val[1][0]
        history = self.history
        step_sizes = [a.numpy() for a in self._read_step_sizes()]
        prediction = self._prediction() if self._grid is not None else None
        self._views.update(
            step=history["step"],
            loss=history["loss"],
            accum_grad_rms=history["accum_grad_rms"],
            accum_delta_rms=history["accum_delta_rms"],
            update_ratio=history["update_ratio"],
            val_step=history.get("val_step"),
            val_loss=history.get("val_loss"),
            step_sizes=step_sizes if count else [np.zeros(0) for _ in step_sizes],
            prediction=prediction,
        )
        self._readouts.value = self._readout_html(history)
        self._refresh_count += 1
        self._draw_seconds = time.perf_counter() - now

    def to_html(self, path, *, include_plotlyjs=True):
        """Write a standalone HTML page of the current views and readouts to ``path``.

        Args:
            path: file to write.
            include_plotlyjs: ``True`` embeds plotly.js (works offline), ``"cdn"`` links it.

        Returns:
            The path written, as a ``pathlib.Path``.
        """
        from pathlib import Path

        path = Path(path)
        path.write_text(self._html(include_plotlyjs, full=True), encoding="utf-8")
        return path

    def _html(self, include_plotlyjs, full):
        figs = self._views.widgets()
        return F.figures_html(
            [figs[0::2], figs[1::2]],  # the widget's two columns
            title="adaviz ModelPanel",
            header_html=f"<p>{self._readouts.value}</p>",
            include_plotlyjs=include_plotlyjs,
            full=full,
        )

    def _repr_mimebundle_(self, **kwargs):
        data = super()._repr_mimebundle_(**kwargs)
        if self._static_fallback and isinstance(data, dict):
            try:
                data = dict(data)
                data["text/html"] = self._html("cdn", full=False)
            except Exception:  # the live widget matters more than the fallback
                pass
        return data

    # ==================================================================================
    # validation helpers
    # ==================================================================================
    @staticmethod
    def _split(x, y, validation_split, validation_data, seed):
        if validation_data is not None:
            if validation_split:
                raise ValueError(
                    "give validation_split or validation_data, not both "
                    f"(got validation_split={validation_split!r})"
                )
            if not (isinstance(validation_data, (tuple, list)) and len(validation_data) == 2):
                raise ValueError(
                    "validation_data must be an (x_val, y_val) pair of arrays, "
                    f"got {type(validation_data).__name__}"
                )
            x_val, y_val = _check_xy(*validation_data, what="validation data")
            if x_val.shape[1:] != x.shape[1:]:
                raise ValueError(
                    f"x_val must have samples of shape {x.shape[1:]} like x, got {x_val.shape[1:]}"
                )
            return x, y, x_val, y_val
        split = validation_split if validation_split is not None else 0.0
        if (
            isinstance(split, (bool, np.bool_))
            or not isinstance(split, numbers.Real)
            or not 0.0 <= split < 1.0
        ):
            raise ValueError(f"validation_split must be a number in [0, 1), got {split!r}")
        if split == 0:
            return x, y, None, None
        n_val = int(round(len(x) * split))
        if n_val < 1 or n_val >= len(x):
            raise ValueError(
                f"validation_split={split!r} of {len(x)} samples leaves {n_val} for "
                "validation; at least one sample must go to each side"
            )
        order = np.random.default_rng(seed).permutation(len(x))
        train, val = order[n_val:], order[:n_val]
        return x[train], y[train], x[val], y[val]

    @staticmethod
    def _call_model(model, x):
        try:
            pred = model(x, training=False)
        except Exception as exc:
            raise ValueError(
                f"model {model.name!r} cannot be called on x with samples of shape "
                f"{x.shape[1:]}: {type(exc).__name__}: {exc}"
            ) from None
        pred = np.asarray(keras.ops.convert_to_numpy(pred))
        if pred.ndim == 0 or pred.shape[0] != len(x):
            raise ValueError(
                f"model {model.name!r} must return one output per sample, got an output of "
                f"shape {pred.shape} for {len(x)} samples"
            )
        return pred

    @staticmethod
    def _fit_targets(model, loss, pred, x, y, what):
        """Check that the model's output fits ``y`` and the loss; reshape ``y`` to it."""
        out_shape = pred.shape[1:]
        if _is_sparse(loss):
            if pred.ndim != 2 or out_shape[0] < 2:
                raise ValueError(
                    f"model output of shape {pred.shape} does not fit the sparse loss "
                    f"{_loss_name(loss)!r}: it needs one score per class, shape (n, classes)"
                )
            if y.ndim > 2 or (y.ndim == 2 and y.shape[1] != 1):
                raise ValueError(
                    f"y ({what}) must hold one class index per sample for the sparse loss, "
                    f"got shape {y.shape}"
                )
            y = y.reshape(-1)
            if np.any(y != np.round(y)) or y.min() < 0 or y.max() >= out_shape[0]:
                raise ValueError(
                    f"y ({what}) must hold class indices 0..{out_shape[0] - 1} for a model "
                    f"with {out_shape[0]} outputs, got values in [{y.min():g}, {y.max():g}]"
                )
        else:
            if int(np.prod(y.shape[1:])) != int(np.prod(out_shape)):
                raise ValueError(
                    f"model output of shape (n, {', '.join(map(str, out_shape))}) does not "
                    f"fit y ({what}) of shape {y.shape}: each sample needs "
                    f"{int(np.prod(y.shape[1:]))} output value(s)"
                )
            y = y.reshape((len(y),) + tuple(out_shape))
        k = min(len(x), 8)
        try:
            value = keras.ops.convert_to_numpy(loss(y[:k], model(x[:k], training=False)))
            value = float(np.mean(value))
        except Exception as exc:
            raise ValueError(
                f"loss {_loss_name(loss)!r} cannot compare y ({what}) of shape {y.shape} with "
                f"the model output of shape {pred.shape}: {type(exc).__name__}: {exc}"
            ) from None
        if not math.isfinite(value):
            raise ValueError(
                f"loss {_loss_name(loss)!r} is {value} on the first samples of {what}: "
                "check that y fits the loss (e.g. labels 0/1 for binary cross-entropy)"
            )
        return y

    @staticmethod
    def _task(loss, pred, y):
        name = _loss_name(loss).lower() + type(loss).__name__.lower()
        if "crossentropy" in name or "hinge" in name:
            return "classification", (pred.shape[1] if _is_sparse(loss) else 2)
        return "regression", 0

    # ==================================================================================
    # the compiled step and its state
    # ==================================================================================
    def _build_state(self, groups, batch_size):
        model, opt = self._model, self._optimizer
        tvars = model.trainable_variables
        opt.build(tvars)
        n, cap, nl = len(self._x), self._history_size, len(groups)
        self._X = tf.constant(self._x)
        self._Y = tf.constant(self._y)
        self._perm = tf.Variable(self._permutation(0), trainable=False, name="batch_order")
        self._pos = tf.Variable(0, dtype=tf.int32, trainable=False, name="batch_position")
        self._epoch = tf.Variable(0, dtype=tf.int32, trainable=False, name="epoch")
        self._bs = batch_size  # a Python int: static batch shapes, one trace per size
        self._count = tf.Variable(0, dtype=tf.int64, trainable=False, name="steps")
        self._buffer = tf.Variable(
            tf.zeros([cap, 1 + 3 * nl], tf.float32), trainable=False, name="history"
        )
        index = {id(v): i for i, v in enumerate(tvars)}
        self._group_index = [[index[id(v)] for v in vs] for _, vs in groups]
        self._tvars = tvars
        matrix = np.zeros((nl, len(tvars)), np.float32)  # layer x variable membership
        for j, idx in enumerate(self._group_index):
            matrix[j, idx] = 1.0
        self._layer_matrix = tf.constant(matrix)
        sizes = [[sum(int(np.prod(tvars[i].shape)) for i in idx)] for idx in self._group_index]
        self._layer_sizes = tf.constant(sizes, tf.float32)  # [layers, 1]
        self._step_size_vars = [
            tf.Variable(tf.zeros(v.shape, v.dtype), trainable=False, name="step_size")
            for v in tvars
        ]
        self._step_size_groups = [
            [self._step_size_vars[i] for i in idx] for idx in self._group_index
        ]
        self._read_step_sizes = tf.function(
            lambda: [
                tf.concat([tf.reshape(s, [-1]) for s in group], axis=0)
                for group in self._step_size_groups
            ]
        )
        self._n = n
        self._compiled = {}  # batch size -> (train step, probe step), see _steppers
        self._train_loss_fn = tf.function(lambda: self._mean_loss(self._X, self._Y))
        if self._x_val is not None:
            self._X_val = tf.constant(self._x_val)
            self._Y_val = tf.constant(self._y_val)
            self._val_loss_fn = tf.function(lambda: self._mean_loss(self._X_val, self._Y_val))
        self._grid = self._make_grid()
        if self._grid is not None:
            self._grid_tensor = tf.constant(self._grid[2])
            self._predict_fn = tf.function(lambda: self._model(self._grid_tensor, training=False))

    def _steppers(self):
        """The compiled (train, probe) steps for the current batch size.

        Argument-free concrete functions, one pair per batch size: a ``tf.function``
        looks its signature up on every call (about 0.1 ms here, noticeable next to a
        sub-millisecond step); its concrete function is called directly.
        """
        pair = self._compiled.get(self._bs)
        if pair is None:
            bs = self._bs

            def train():
                return self._step_graph(bs, probe=False)

            def probe():
                return self._step_graph(bs, probe=True)

            pair = self._compiled[bs] = (
                tf.function(train).get_concrete_function(),
                tf.function(probe).get_concrete_function(),
            )
        return pair

    def _permutation(self, epoch):
        """The seeded batch order of ``epoch`` (stateless: the same for a restart)."""
        noise = tf.random.stateless_uniform([len(self._x)], seed=[self._seed, epoch])
        return tf.cast(tf.argsort(noise), tf.int32)

    def _mean_loss(self, x, y):
        value = tf.reduce_mean(self._loss(y, self._model(x, training=False)))
        return tf.cast(value, tf.float32)

    def _next_batch(self, bs):
        """The next ``bs`` samples of the seeded per-epoch order (reshuffled when fewer
        than ``bs`` are left in the epoch)."""
        if self._pos + bs > self._n:
            self._epoch.assign_add(1)
            self._perm.assign(self._permutation(self._epoch.read_value()))
            self._pos.assign(0)
        start = self._pos.read_value()
        idx = tf.slice(self._perm, [start], [bs])  # static shape [bs]
        self._pos.assign(start + bs)
        return tf.gather(self._X, idx), tf.gather(self._Y, idx)

    def _step_graph(self, bs, probe):
        """One training step with its diagnostics, traced into a graph."""
        self._traces += 1  # Python side effect: runs once per trace
        model, opt, tvars = self._model, self._optimizer, self._tvars
        xb, yb = self._next_batch(bs)
        with tf.GradientTape() as tape:
            pred = model(xb, training=True)
            loss = tf.reduce_mean(self._loss(yb, pred))
            if model.losses:
                loss = loss + tf.add_n(model.losses)
        grads = tape.gradient(loss, tvars)
        raw = [_tf_variable(v) for v in tvars]
        before = [tf.identity(v) for v in raw]
        if probe:
            lr_t = decayed_lr(opt.lr, opt.decay, tf.cast(_tf_variable(opt.iterations), tf.float64))
            slots = [[_tf_variable(s) for s in opt.accumulators(v)] for v in tvars]
            for var, grad, (a, d), out in zip(raw, grads, slots, self._step_size_vars, strict=True):
                dt = var.dtype
                step = adadelta_step(
                    a.read_value(),
                    d.read_value(),
                    tf.cast(grad, dt),
                    tf.cast(lr_t, dt),
                    tf.cast(opt.rho, dt),
                    tf.cast(opt.epsilon, dt),
                )
                out.assign(step.step_size)
        opt.apply(grads, tvars)
        # Per variable, one reduction of [A, D, w_new - w_old, w_old]**2; then one matmul
        # sums them per layer. Few ops: the diagnostics must stay cheap next to the step.
        sums = []
        for v, old in zip(tvars, before, strict=True):
            a, d = (tf.cast(_tf_variable(s), tf.float32) for s in opt.accumulators(v))
            old = tf.cast(old, tf.float32)
            new = tf.cast(_tf_variable(v), tf.float32)
            stacked = tf.stack([a, d, new - old, old])
            sums.append(tf.reduce_sum(tf.square(stacked), axis=list(range(1, stacked.shape.rank))))
        per_layer = tf.matmul(self._layer_matrix, tf.stack(sums))  # [layers, 4]
        rms = tf.sqrt(per_layer[:, :2] / self._layer_sizes)  # RMS of A and of D
        ratio = tf.math.divide_no_nan(tf.sqrt(per_layer[:, 2]), tf.sqrt(per_layer[:, 3]))
        row = tf.concat([[tf.cast(loss, tf.float32)], rms[:, 0], rms[:, 1], ratio], axis=0)
        slot = tf.cast(self._count % self._history_size, tf.int32)
        self._buffer.scatter_update(tf.IndexedSlices(row[None], slot[None]))
        self._count.assign_add(1)

    def _restore_start(self):
        """Weights, optimizer state, batch order and history back to the seeded start."""
        for var, value in zip(self._model.variables, self._initial_weights, strict=True):
            var.assign(value)
        opt = self._optimizer
        for v in self._tvars:
            for slot in opt.accumulators(v):
                slot.assign(tf.zeros(slot.shape, slot.dtype))
        opt.iterations.assign(0)
        for s in self._step_size_vars:
            s.assign(tf.zeros(s.shape, s.dtype))
        self._perm.assign(self._permutation(0))
        self._pos.assign(0)
        self._epoch.assign(0)
        self._count.assign(0)
        self._buffer.assign(tf.zeros_like(self._buffer))
        self._val = ([], [])
        self._changes = [(0, self._settings())]

    # ==================================================================================
    # hyperparameters, modes, ghosts
    # ==================================================================================
    def _settings(self):
        values = self._hp.values() if hasattr(self, "_hp") else {}
        values["batch_size"] = int(self._bs)
        return values

    def _settings_per_step(self, steps):
        """Per recorded step, the settings in effect (from the change log)."""
        starts = np.array([first for first, _ in self._changes], dtype=np.int64)
        which = np.searchsorted(starts, steps - 1, side="right") - 1
        which = np.clip(which, 0, len(self._changes) - 1)
        out = {}
        for key in ("rho", "epsilon", "decay", "batch_size"):
            col = np.array([s[key] for _, s in self._changes])
            out[key] = col[which] if len(steps) else col[:0]
        lr = np.array([s["lr"] for _, s in self._changes])[which] if len(steps) else np.zeros(0)
        out["lr"] = decayed_lr(lr, out["decay"], steps - 1.0)
        out["batch_size"] = out["batch_size"].astype(np.int64)
        return out

    def _log_change(self):
        count = int(self._count.numpy())
        settings = self._settings()
        if self._changes and self._changes[-1][0] == count:
            self._changes[-1] = (count, settings)
        else:
            self._changes.append((count, settings))
        # keep the log bounded: drop changes that precede the history window entirely
        first_kept = count - self._history_size
        while len(self._changes) > 1 and self._changes[1][0] <= first_kept:
            del self._changes[0]

    def _apply_to_optimizer(self):
        values = self._hp.values()
        opt = self._optimizer
        opt.lr = values["lr"]
        opt.rho = values["rho"]
        opt.epsilon = values["epsilon"]
        opt.decay = values["decay"]

    def _hyper_changed(self):
        self._changed()

    def _batch_changed(self, change):
        self._changed()

    def _changed(self):
        """A setting moved: apply it now, or (restarting while playing on an event loop)
        once the slider has rested for ``RESTART_DEBOUNCE`` seconds, so one drag makes one
        restart and one ghost rather than dozens."""
        loop = F.running_loop()
        if self._mode.value == "restart" and self._playing and loop is not None:
            if self._pending_restart is not None:
                self._pending_restart.cancel()
            self._pending_restart = loop.call_later(RESTART_DEBOUNCE, self._apply_change)
            return
        self._apply_change()

    def _apply_change(self):
        self._pending_restart = None
        with self._lock:
            self._apply_to_optimizer()
            self._bs = int(self._batch.value)
            if self._mode.value == "restart":
                self._archive_run()
                self._restore_start()
            else:
                self._log_change()
        self._after_change()

    def _after_change(self):
        if self._mode.value == "restart" or not self._playing:
            self.refresh(force=True)
        else:
            self._readouts.value = self._readout_html(None)

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
            for _, s in self._changes:
                text = F.fmt(s[key], digits) if key != "batch_size" else str(s[key])
                if not values or values[-1] != text:
                    values.append(text)
            if key == "decay" and values == ["0"]:
                continue
            parts.append(f"{name} {'→'.join(values)}")
        return ", ".join(parts)

    def _archive_run(self):
        history = self.history
        if len(history["loss"]) < 2:  # a ghost needs a curve, not a point
            return
        steps, loss = thin(history["step"].astype(np.float64), history["loss"], limit=MAX_POINTS)
        self._ghosts.append((self._run_label(), steps, loss))
        self._ghosts = self._ghosts[-MAX_GHOSTS:]
        self._views.set_ghosts(self._ghosts)

    # ==================================================================================
    # play loop
    # ==================================================================================
    def _step_clicked(self):
        self.step(1)

    def _redraw_interval(self):
        return max(self._refresh_interval, self._draw_seconds / DRAW_BUDGET)

    def _live(self, generation):
        return self._playing and self._generation == generation

    def _train_for(self, seconds, generation):
        """Run steps for about ``seconds`` (the last one a probe if a redraw is due)."""
        end = time.perf_counter() + seconds
        n, due = 0, False
        with self._lock:
            train = self._steppers()[0]
            while self._live(generation):
                due = time.perf_counter() - self._last_refresh >= self._redraw_interval()
                if due:
                    self._steppers()[1]()
                    n += 1
                    break
                train()
                n += 1
                if time.perf_counter() >= end:
                    break
        return n, due

    def _play_chunk(self, generation):
        t0 = time.perf_counter()
        n, due = self._train_for(YIELD_EVERY, generation)
        self._measure(n, time.perf_counter() - t0)
        if due:
            self.refresh(force=True)

    def _stopped(self, generation):
        if self._generation == generation:
            self._playing = False
            self.refresh(force=True)

    async def _run_async(self, generation):
        try:
            while self._live(generation):
                self._play_chunk(generation)
                await asyncio.sleep(0)
        finally:
            self._stopped(generation)

    def _run_thread(self, generation):
        try:
            while self._live(generation):
                self._play_chunk(generation)
                time.sleep(0)
        finally:
            self._stopped(generation)

    def _measure(self, n, seconds):
        if n and seconds > 0:
            rate = n / seconds
            self._rate = rate if self._rate is None else 0.8 * self._rate + 0.2 * rate

    # ==================================================================================
    # views
    # ==================================================================================
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
        out = np.asarray(self._predict_fn().numpy(), dtype=np.float64)
        gx, gy, _ = self._grid
        if gy is None:
            return out.reshape(len(gx), -1)[:, 0]
        if self.n_classes > 2:
            return np.argmax(out.reshape(len(gx) * len(gy), -1), axis=1).reshape(len(gy), len(gx))
        out = out.reshape(len(gy), len(gx))
        if _from_logits(self._loss):
            out = 1.0 / (1.0 + np.exp(-out))
        return np.clip(out, 0.0, 1.0)

    def _readout_html(self, history):
        v = self._hp.values()
        count = int(self._count.numpy())
        parts = [f"<b>step</b> {count}"]
        if history is not None and len(history["loss"]):
            parts.append(f"<b>loss</b> {F.fmt(history['loss'][-1], 4)}")
            if history.get("val_loss") is not None and len(history["val_loss"]):
                parts.append(f"<b>val</b> {F.fmt(history['val_loss'][-1], 4)}")
        lr_t = decayed_lr(v["lr"], v["decay"], count)
        parts.append(f"<b>lr<sub>t</sub></b> {F.fmt(lr_t)}")
        if self._playing and self._rate:
            parts.append(f"{self._rate:,.0f} steps/s")
        return " · ".join(parts)

"""What SurfacePanel runs and draws: the engine call, the arrays cut at divergence, the
readout values and labels."""

from __future__ import annotations

import html
import math

import numpy as np

from adaviz import _math
from adaviz.panels.kit.arrays import floats, step_axis
from adaviz.panels.kit.style import fmt
from adaviz.panels.kit.warmup import WARMUP
from adaviz.panels.surface.controls import STEPS_RANGE
from adaviz.panels.surface.formula import formula_html
from adaviz.panels.views.contour import divergence_label

#: the capacity of the engine graph the panel runs (every step count of the slider fits):
#: one compiled graph per surface.
CAPACITY = STEPS_RANGE[1]


def run(surface, start, steps, hyperparameters, noise=0.0, seed=0):
    """The engine's run of Adadelta on ``surface``, in the panel's one graph per surface
    (waiting only while the background warm-up compiles that graph), with gradient noise
    of standard deviation ``noise`` drawn from ``seed``."""
    from adaviz import engine

    v = hyperparameters
    return WARMUP.run(
        surface,
        ("adadelta", CAPACITY),
        lambda: engine.simulate(
            surface,
            start=start,
            steps=steps,
            capacity=CAPACITY,
            lr=v["lr"],
            rho=v["rho"],
            epsilon=v["epsilon"],
            decay=v["decay"],
            noise=noise,
            seed=seed,
        ),
    )


def compile_job(surface):
    """The warm-up job that compiles the panel's graph for ``surface``."""

    def job():
        from adaviz import engine

        engine.simulate(surface, steps=1, capacity=CAPACITY, lr=1.0, rho=0.95, epsilon=1e-7)

    return job


def arrays(traj, surface):
    """The arrays the views draw of run 0 of ``traj``, cut at its divergence step (1-D
    float, contiguous), with ``n`` (valid positions) and ``diverged_at`` (None or a step)."""
    k = int(traj.diverged_at[0])
    n = traj.steps + 1 if k < 0 else k  # number of valid positions
    m = min(n, traj.steps)  # number of steps drawn in the step-size view
    pos = traj.positions[:n, 0]
    loss = traj.loss[:n, 0]
    f_star = surface.min_value
    gap = math.isfinite(f_star)
    return {
        "n": n,
        "diverged_at": None if k < 0 else k,
        "steps": step_axis(n),
        "step_numbers": step_axis(m + 1)[1:],
        "px": floats(pos[:, 0]),
        "py": floats(pos[:, 1]),
        "loss": floats(loss - loss.dtype.type(f_star) if gap else loss),
        "loss_gap": gap,
        "loss_log": gap or bool(np.all(loss > 0)),
        "accum_grad": [floats(traj.accum_grad[:n, 0, i]) for i in (0, 1)],
        "accum_delta": [floats(traj.accum_delta[:n, 0, i]) for i in (0, 1)],
        "step_size": [floats(traj.step_size[:m, 0, i]) for i in (0, 1)],
        "newton": [floats(traj.newton_step_size[:m, 0, i]) for i in (0, 1)],
    }


def loss_axis(surface, drawn):
    """The loss view's y axis for ``drawn``: ``(title, log)``."""
    if drawn["loss_gap"]:
        title = f"loss − f* (f* = {fmt(surface.min_value, 4)})"
    else:
        title = "loss (no known minimum)"
    return title, drawn["loss_log"]


def end_label(drawn):
    """The text beside the path's last point: where the run diverged, or nothing."""
    if drawn["diverged_at"] is None:
        return ""
    return divergence_label(drawn["n"] - 1)


def outcome(traj, drawn, surface, hyperparameters, tol, noisy=False):
    """The readout values of run 0 (see ``SurfacePanel.readouts``) and the first step's
    displacement per coordinate. With noise (``noisy``), converged means within ``tol``
    over the last tenth of the steps: passing through is not converging."""
    v = hyperparameters
    if drawn["n"] >= 2:  # the displacement of step 1 per coordinate
        first = np.abs(traj.positions[1, 0] - traj.positions[0, 0]).astype(np.float64)
    else:
        first = np.full(2, np.nan)
    diverged = drawn["diverged_at"]
    values = {
        "first_step": (float(first[0]), float(first[1])),
        "first_step_formula": (
            float(_math.first_step(v["lr"], v["rho"], v["epsilon"])) if v["rho"] < 1.0 else math.inf
        ),
        "diverged_at": diverged,
        "final_loss": float(traj.final_loss[0]) if diverged is None else float("nan"),
        "distance_to_minimum": float("nan"),
        "steps_to_converge": None,
    }
    if surface.minima and diverged is None:
        values["distance_to_minimum"] = float(traj.distance_to_minimum()[0])
        reached = int(traj.steps_to_tolerance(tol)[0])
        if noisy and not traj.converged(tol)[0]:
            reached = -1
        values["steps_to_converge"] = None if reached < 0 else reached
    return values, first


def noise_html(noise, seed):
    """The readout line that says the path follows noisy gradients ('' without noise)."""
    if noise <= 0:
        return ""
    return (
        f"gradient noise σ = {noise:g} (seed {seed}): the path follows noisy gradients; "
        "<i>converged</i> means within the tolerance over the last 10 % of the steps"
    )


def cursor_text(traj, drawn, k, last):
    """The playback label at step ``k`` (``last``: the step count the path was run for)."""
    text = (
        f"step {k}: x = {fmt(drawn['px'][k], 4)}, y = {fmt(drawn['py'][k], 4)}, "
        f"loss = {fmt(traj.loss[k, 0], 4)}"
    )
    if k < last:
        text += " (path ends here)"
    return text


def ghost_label(hyperparameters):
    """The legend label of a pinned path: the settings it was run with."""
    v = hyperparameters
    label = f"ghost: lr={fmt(v['lr'])}, ρ={fmt(v['rho'])}, ε={fmt(v['epsilon'], 2)}"
    return label + (f", decay={fmt(v['decay'])}" if v["decay"] else "")


def title_html(surface):
    """The panel's title: the surface's name, formula (MathML) and lesson."""
    return (
        f"<b style='font-size:15px'>Adadelta on {html.escape(surface.name)}</b>"
        + (f"&nbsp; {formula_html(surface.formula)}" if surface.formula else "")
        + (f"<br><i>{html.escape(surface.lesson)}</i>" if surface.lesson else "")
    )

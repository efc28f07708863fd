"""ModelPanel's text: the readouts line and the label of a run kept as a ghost."""

from __future__ import annotations

from adaviz._math import decayed_lr
from adaviz.panels.kit.style import fmt


class ReadoutLine:
    """The readouts' numbers last shown (``ModelPanel.readouts``) and their HTML."""

    def __init__(self):
        self.values = {}

    def html(self, trainer, history, hyperparameters, rate):
        """The readouts' HTML now (see :func:`readout_values`); the numbers are kept."""
        self.values = readout_values(trainer, history, hyperparameters, rate, self.values)
        return readout_html(self.values)


def readout_values(trainer, history, hyperparameters, rate, last):
    """The numbers of the readouts (see ``ModelPanel.readouts``). ``history`` None (between
    redraws while playing) keeps the ``last`` losses."""
    v = hyperparameters
    count = trainer.steps
    values = {"step": count, "loss": None, "full_loss": None, "val_loss": None}
    if history is not None and len(history["loss"]):
        values["loss"] = float(history["loss"][-1])
        if len(history["full_loss"]):
            values["full_loss"] = float(history["full_loss"][-1])
        if history.get("val_loss") is not None and len(history["val_loss"]):
            values["val_loss"] = float(history["val_loss"][-1])
    elif last:
        for key in ("loss", "full_loss", "val_loss"):
            values[key] = last.get(key)
    values["lr_t"] = float(decayed_lr(v["lr"], v["decay"], count))
    values["steps_per_second"] = rate
    values["nonfinite_step"] = trainer.nonfinite_step
    return values


def readout_html(values):
    """The readouts line of ``values``, with what to try when the run went non-finite."""
    parts = [f"<b>step</b> {values['step']}"]
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


def run_label(changes):
    """The label of a run from its settings over time (``Trainer.changes``), e.g.
    "lr 1→0.5, ρ 0.95, ε 1.00e-07, batch 32"."""
    parts = []
    for key, name, digits in (
        ("lr", "lr", 3),
        ("rho", "ρ", 3),
        ("epsilon", "ε", 2),
        ("decay", "decay", 3),
        ("batch_size", "batch", 3),
    ):
        values = []
        for _, s in changes:
            text = fmt(s[key], digits) if key != "batch_size" else str(s[key])
            if not values or values[-1] != text:
                values.append(text)
        if key == "decay" and values == ["0"]:
            continue
        parts.append(f"{name} {'→'.join(values)}")
    return ", ".join(parts)

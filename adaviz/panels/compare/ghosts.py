"""The ghosts of a comparison of update rules: each rule's path at loss scale 1 while the
loss is scaled, and the pins (every path and loss curve kept as faint ghosts).

Ghost slots of the contour view: the k = 0 ghosts first (slot ``i`` for rule ``i``), then
per pin one per rule; of the loss view: per pin one per rule. Every ghost of rule ``i``
is drawn in its colour: dashed (k = 0), then one dash per pin.
"""

from __future__ import annotations

import numpy as np

#: pins kept as ghosts (each: every optimizer's path and loss); a new pin replaces the oldest.
PINS = 2
#: the dash of the k = 0 ghosts, and of each pin's ghosts.
K0_DASH, PIN_DASHES = "dash", ("dot", "dashdot")


def slots(n):
    """``(contour ghost slots, loss ghost slots)`` for ``n`` rules."""
    return n * (1 + PINS), n * PINS


class Ghosts:
    """The k = 0 ghosts and the pins of a ContourView and a LossView (see the module)."""

    def __init__(self, contour, loss_view, names, colors):
        self.contour, self.loss_view = contour, loss_view
        self.names = tuple(names)
        self._k0 = {}  # name -> the (x, y) of its k = 0 ghost drawn
        self._pins = [None] * PINS  # per pin: {name: ghost label}, None = free
        self._next = 0
        n = len(self.names)
        for i, color in enumerate(colors):  # every ghost of run i in its colour
            contour.figure.data[contour.ghost_index(i)].line.update(color=color, dash=K0_DASH)
            for pin, dash in enumerate(PIN_DASHES[:PINS]):
                slot = n * pin + i
                contour.figure.data[contour.ghost_index(n + slot)].line.update(
                    color=color, dash=dash
                )
                loss_view.figure.data[n + slot].line.update(color=color, dash=dash)

    @property
    def labels(self):
        """Labels of the pinned ghost paths, oldest pin first (one per rule and pin)."""
        order = [(self._next + i) % PINS for i in range(PINS)]
        return [label for p in order if self._pins[p] for label in self._pins[p].values()]

    def k0_changes(self, paths):
        """``{slot: (x, y, label)}`` of the k = 0 ghosts of ``paths`` (one ``(x, y)`` per
        rule) that are not drawn yet, for ``ContourView.update(ghosts=...)``."""
        changed = {}
        for i, (name, (x, y)) in enumerate(zip(self.names, paths, strict=True)):
            old = self._k0.get(name)
            if old is not None and np.array_equal(old[0], x) and np.array_equal(old[1], y):
                continue
            changed[i] = (x, y, f"{name} at k = 0")
            self._k0[name] = (x, y)
        return changed

    def hide_k0(self):
        """Hide the k = 0 ghosts (k is 0 again); the pins stay."""
        if self._k0:
            self.contour.hide_ghosts(range(len(self.names)))
            self._k0 = {}

    def forget(self):
        """Forget every ghost before another surface is drawn; True when pins were shown
        (the caller then hides the ghosts of both views with its update)."""
        pinned = any(self._pins)
        if pinned:  # ghosts of another surface would mislead
            self._pins = [None] * PINS
            self._next = 0
            self._k0 = {}
        return pinned

    def pin(self, paths, steps, losses, labels):
        """Keep ``paths`` (per rule ``(x, y)``) and their loss curves (``steps``,
        ``losses``) as ghosts labelled ``labels`` (per rule), in the oldest pin's slots.
        Returns ``{name: label}``."""
        pin = self._next
        self._next = (pin + 1) % PINS
        n = len(self.names)
        contour, loss_view = self.contour, self.loss_view
        # one message per figure; the ghosts' labels show on hover, not in the legend
        # (a dozen more entries would squeeze the contour)
        with contour.figure.batch_update(), loss_view.figure.batch_update():
            for i, label in enumerate(labels):
                slot = n * pin + i
                contour.show_ghost(n + slot, *paths[i], label)
                contour.figure.data[contour.ghost_index(n + slot)].showlegend = False
                loss_view.show_ghost(slot, steps[i], losses[i], label)
        self._pins[pin] = dict(zip(self.names, labels, strict=True))
        return dict(self._pins[pin])

    def clear(self):
        """Remove every pinned ghost (the k = 0 ghosts stay)."""
        self._pins = [None] * PINS
        self._next = 0
        k0 = dict(self._k0)
        contour = self.contour
        contour.hide_ghosts()  # every slot; the k = 0 ghosts come back
        self._k0 = {}
        if k0:
            with contour.figure.batch_update():
                for slot, (x, y, label) in self.k0_changes([k0[n] for n in self.names]).items():
                    contour.show_ghost(slot, x, y, label)
        self.loss_view.hide_ghosts()

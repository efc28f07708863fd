"""ModelPanel's play loop: training in slices in the background, views redrawn between two
slices at most ``refresh_hz`` times per second, at the speed chosen.

In a kernel the loop is an asyncio task on its event loop (Jupyter, JupyterLab and Voila
run one), yielding every :data:`YIELD_EVERY` seconds so sliders and buttons respond while
it trains; without a running loop (a script) it is a background thread. A redraw never
waits behind queued training, and training never queues redraws.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time

from adaviz.panels.kit.schedule import running_loop

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
#: while playing, redraws may take at most this fraction of the time (fewer redraws
#: per second on a slow machine, so training keeps most of the CPU).
DRAW_BUDGET = 0.1


def check_speed(speed):
    """Validate a speed: one of 10, 100, 1000 steps per second, or None / 0 (as fast as
    possible); returns it as an int."""
    if speed is None:
        speed = 0
    if isinstance(speed, bool) or speed not in SPEEDS.values():
        raise ValueError(
            f"speed must be one of 10, 100, 1000 (steps per second) or None "
            f"(as fast as possible), got {speed!r}"
        )
    return speed


class Player:
    """Plays a :class:`adaviz.training.Trainer` in slices and calls ``redraw()`` when a
    redraw is due (the caller notes when it redrew in :attr:`last_refresh` and how long
    that took in :attr:`draw_seconds`).

    Args:
        trainer: the trainer to step.
        redraw: called when the views are due, and once when the loop stops.
        refresh_interval: the shortest time between two redraws, in seconds.
        speed: steps per second (0: as fast as possible).
    """

    def __init__(self, trainer, redraw, refresh_interval, speed):
        self.trainer = trainer
        self.redraw = redraw
        self.refresh_interval = refresh_interval
        self.playing = False
        self.runner = None  # asyncio task or thread
        self.generation = 0  # bumped by every start(), so a stale loop stops
        self.last_refresh = -math.inf
        self.draw_seconds = 0.0  # duration of the last redraw
        self.rate = None  # steps per second while playing, measured between redraws
        self._rate_mark = None  # (time, steps) at the last redraw while playing
        self.set_speed(speed)

    def set_speed(self, speed):
        """Play at ``speed`` steps per second from now (0: as fast as possible)."""
        self.speed = speed
        self._credit, self._credit_time = 0.0, time.perf_counter()

    def start(self):
        """Train in the background until :meth:`stop`; returns the task or thread."""
        if self.playing:
            return self.runner
        self.playing = True
        self.generation += 1
        self.set_speed(self.speed)
        self._rate_mark = None
        loop = running_loop()
        if loop is not None:
            self.runner = loop.create_task(self._run_async(self.generation))
        else:
            self.runner = threading.Thread(
                target=self._run_thread, args=(self.generation,), daemon=True
            )
            self.runner.start()
        return self.runner

    def stop(self):
        """Stop after the current slice (waits for a thread)."""
        self.playing = False
        runner, self.runner = self.runner, None
        if isinstance(runner, threading.Thread) and runner is not threading.current_thread():
            runner.join()

    def measure(self, now, steps):
        """Note a redraw at ``now`` after ``steps`` steps: the step rate while playing."""
        if self.playing:
            if self._rate_mark is not None and now > self._rate_mark[0]:
                self.rate = (steps - self._rate_mark[1]) / (now - self._rate_mark[0])
            self._rate_mark = (now, steps)

    def _live(self, generation):
        return self.playing and self.generation == generation

    def _slice(self):
        """Train one slice (as many steps as the speed allows, at most ``YIELD_EVERY``
        seconds), redraw if due; returns the seconds to wait before the next slice."""
        now = time.perf_counter()
        budget = 10**9
        if self.speed:
            cap = max(1.0, 0.25 * self.speed)  # no burst after a stall
            self._credit = min(self._credit + self.speed * (now - self._credit_time), cap)
            self._credit_time = now
            if self._credit < 1.0:
                return min((1.0 - self._credit) / self.speed, self.refresh_interval)
            budget = int(self._credit)
        interval = max(self.refresh_interval, self.draw_seconds / DRAW_BUDGET)
        due = now - self.last_refresh >= interval
        # when a redraw is due, one probe step (records the step sizes), then the redraw
        taken = self.trainer.run(1 if due else budget, seconds=YIELD_EVERY, probe=due)
        self._credit -= taken
        if self.trainer.nonfinite_step is not None:
            self.playing = False  # the loop ends; _stopped redraws and the readout says why
            return 0.0
        if due:
            self.redraw()
        return 0.0

    def _stopped(self, generation):
        if self.generation == generation:
            self.playing = False
            self.redraw()

    async def _run_async(self, generation):
        try:
            while self._live(generation):
                await asyncio.sleep(self._slice())
        finally:
            self._stopped(generation)

    def _run_thread(self, generation):
        try:
            while self._live(generation):
                time.sleep(self._slice())
        finally:
            self._stopped(generation)

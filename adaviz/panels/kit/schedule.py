"""Throttle, debounce and coalescing of redraws: one implementation for every panel.

A panel does not redraw on every slider message. It tells a :class:`Coalescer` that
something changed (``request()``); the coalescer calls the panel's draw function
(no arguments; it reads the latest values itself) at most once per ``interval``, so a
burst of 100 slider values costs a handful of draws, each with the values current at
that moment, and none is lost: after the last request of a burst, one more draw always
follows. ::

    from adaviz.panels.kit.schedule import Coalescer

    redraw = Coalescer(self._draw, interval=0.04)          # throttle (leading + trailing)
    restart = Coalescer(self._restart, interval=0.3, mode="debounce")
    slider.observe(lambda _: redraw.request(), names="value")
    redraw.flush()        # draw a pending change now (e.g. before reading the figures)

Modes:
    ``"throttle"``: the first request after a quiet ``interval`` runs at once (leading
    edge); requests within ``interval`` of the last run mark the coalescer pending and
    one run is scheduled at ``last run + interval`` (trailing edge).
    ``"debounce"``: every request (re)starts a timer of ``interval``; the callback runs
    once the requests have rested that long.

Where the timer comes from:
    ``timer`` is any object with ``call_later(delay, fn) -> handle`` (``handle.cancel()``)
    and, for throttling, ``clock`` any ``() -> seconds``. By default the timer is the
    running asyncio loop (a Jupyter kernel's) found at request time, and the clock
    ``time.monotonic``. With no running loop (a script, pytest) or ``interval == 0``
    every request runs synchronously, so code that sets a control and then reads the
    panel sees the result. Tests pass a :class:`ManualClock` as both ``clock`` and
    ``timer`` and move time with ``advance(seconds)``.

Re-entrancy and errors:
    A request made while the callback runs (the callback moved a widget that observes
    itself) marks the coalescer pending and is served after the run, never recursively.
    An exception raised by a scheduled (loop) run goes to ``on_error(exc)`` (by default it
    is re-raised into the loop's handler); a synchronous run raises to the caller. Either
    way the coalescer stays usable.

Everything here runs on one thread (the kernel's); call ``request`` from that thread.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time

__all__ = ["Coalescer", "ManualClock", "running_loop"]


def running_loop():
    """The running asyncio event loop (the kernel's), or None in a plain script."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class Coalescer:
    """Run ``callback()`` after ``request()``s, at most once per ``interval`` seconds.

    Args:
        callback: called with no arguments; it reads the current state itself.
        interval: seconds; 0 runs every request at once.
        mode: ``"throttle"`` (leading and trailing edge) or ``"debounce"`` (trailing).
        clock: ``() -> seconds``, default ``time.monotonic``.
        timer: an object with ``call_later(delay, fn)``; default the running asyncio
            loop at request time (None: run synchronously).
        on_error: called with the exception of a scheduled run (default: re-raise).

    Raises:
        ValueError: ``interval`` is not a number >= 0 or ``mode`` is unknown.
    """

    MODES = ("throttle", "debounce")

    def __init__(
        self, callback, *, interval, mode="throttle", clock=None, timer=None, on_error=None
    ):
        if (
            isinstance(interval, bool)
            or not isinstance(interval, (int, float))
            or not interval >= 0
            or interval == float("inf")
        ):
            raise ValueError(f"interval must be a finite number of seconds >= 0, got {interval!r}")
        if mode not in self.MODES:
            raise ValueError(f"mode must be one of {', '.join(self.MODES)}, got {mode!r}")
        self._callback = callback
        self.interval = float(interval)
        self.mode = mode
        self._clock = clock if clock is not None else time.monotonic
        self._timer = timer
        self._on_error = on_error
        self._pending = False
        self._running = False
        self._handle = None
        self._last_run = -float("inf")
        #: how many times the callback has run (tests and benchmarks read it).
        self.runs = 0

    @property
    def pending(self):
        """Whether a requested run has not happened yet."""
        return self._pending

    @property
    def running(self):
        """Whether the callback is running now (its own widget changes can be ignored)."""
        return self._running

    def request(self):
        """Something changed: run now, or make sure one run follows (see the module doc)."""
        self._pending = True
        if self._running:
            return  # served right after the current run
        timer = self._timer if self._timer is not None else running_loop()
        if timer is None or self.interval == 0:
            self._run()
            return
        if self.mode == "debounce":
            self._cancel_handle()
            self._handle = timer.call_later(self.interval, self._scheduled)
            return
        if self._handle is not None:
            return  # a trailing run with the latest values is already scheduled
        wait = self.interval - (self._clock() - self._last_run)
        if wait <= 0:
            self._run()
        else:
            self._handle = timer.call_later(wait, self._scheduled)

    def flush(self):
        """Run a pending request now (a no-op when nothing is pending or while running)."""
        self._cancel_handle()
        if self._pending and not self._running:
            self._run()

    def cancel(self):
        """Forget a pending request without running it."""
        self._cancel_handle()
        self._pending = False

    # -- internals ------------------------------------------------------------------
    def _cancel_handle(self):
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _run(self):
        self._cancel_handle()
        self._running = True
        try:
            # requests made by the callback itself are served once, right after it
            for _ in range(100):
                self._pending = False
                self.runs += 1
                self._callback()
                if not self._pending:
                    break
        finally:
            self._running = False
            self._last_run = self._clock()

    def _scheduled(self):
        self._handle = None
        if not self._pending or self._running:
            return
        try:
            self._run()
        except Exception as exc:  # noqa: BLE001 - handed to on_error
            if self._on_error is None:
                raise
            self._on_error(exc)


class ManualClock:
    """A fake clock and timer for tests: time moves only with :meth:`advance`.

    Use one instance as both ``clock`` and ``timer`` of a :class:`Coalescer`.
    """

    class _Handle:
        def __init__(self):
            self.cancelled = False

        def cancel(self):
            self.cancelled = True

    def __init__(self, now=0.0):
        self.now = float(now)
        self._queue = []
        self._order = itertools.count()

    def __call__(self):
        return self.now

    def call_later(self, delay, fn):
        """Schedule ``fn()`` at ``now + delay``; returns a handle with ``cancel()``."""
        handle = self._Handle()
        heapq.heappush(
            self._queue, (self.now + max(float(delay), 0.0), next(self._order), fn, handle)
        )
        return handle

    @property
    def scheduled(self):
        """Number of timers not yet run or cancelled."""
        return sum(not h.cancelled for *_, h in self._queue)

    def advance(self, seconds):
        """Move time forward by ``seconds``, running every timer that falls due, in order."""
        end = self.now + float(seconds)
        while self._queue and self._queue[0][0] <= end:
            when, _, fn, handle = heapq.heappop(self._queue)
            self.now = max(self.now, when)
            if not handle.cancelled:
                fn()
        self.now = end

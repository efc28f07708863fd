"""Compile engine graphs (and render surface backgrounds) before the user asks for them.

The engine compiles one XLA graph per surface and step count the first time it runs them
(hundreds of ms). A panel lists what it may need as jobs and hands them to the process-wide
:data:`WARMUP`, which runs them in one daemon thread, in order; the panel keeps calling
the engine as usual, through :meth:`Warmup.run`::

    from adaviz.panels.kit.warmup import WARMUP

    job = lambda: adaviz.simulate(surface, steps=500)          # compiles on first call
    WARMUP.start([(surface, ("adadelta", 500), job)])          # in the background
    traj = WARMUP.run(surface, ("adadelta", 500), lambda: adaviz.simulate(surface, ...))
    bg = WARMUP.background(surface, grid_size)                 # cached contour image

Guarantees:
    * One lock per surface: a draw that needs a graph the thread is compiling at that
      moment waits for that one compile instead of compiling it twice; any other draw
      runs at once. The thread never touches widgets, so the kernel's event loop keeps
      running (TensorFlow releases the GIL while XLA compiles), and the thread runs at a
      lower priority.
    * Results do not depend on who compiled: a job only calls the same engine function,
      which caches its compiled graph on the surface.
    * A failing job is dropped silently (the panel runs it again on use and shows the error).
    * Nothing here keeps a surface alive: what is kept for a surface (its lock, done keys,
      background images) is forgotten once the surface is garbage-collected (a re-run cell
      that builds its own ``adaviz.Surface`` makes a new one each time).
"""

from __future__ import annotations

import os
import threading
import weakref

__all__ = ["WARMUP", "Warmup", "in_kernel"]


class Warmup:
    """A queue of compile jobs run in one daemon thread, and a cache of backgrounds."""

    def __init__(self):
        self._guard = threading.Lock()
        self._locks = {}
        self._done = set()
        self._backgrounds = {}
        self._queue = []
        self._thread = None
        self._tracked = set()  # ids of the surfaces with a finalizer
        self._gone = []  # ids of surfaces collected since (appended by their finalizers)

    def _track(self, surface):
        """Call with the guard held: forget ``surface``'s entries once it is collected."""
        while self._gone:  # (a finalizer only appends: it may run while the guard is held)
            gone = self._gone.pop()
            self._tracked.discard(gone)
            self._locks.pop(gone, None)
            self._done = {entry for entry in self._done if entry[0] != gone}
            for key in [key for key in self._backgrounds if key[0] == gone]:
                del self._backgrounds[key]
        key = id(surface)
        if key not in self._tracked:
            try:
                weakref.finalize(surface, self._gone.append, key)
            except TypeError:  # not weak-referenceable: kept, as its id must stay unique
                self._locks.setdefault(("keep", key), surface)
            self._tracked.add(key)
        return key

    def lock(self, surface):
        """The lock held while a graph of ``surface`` is being compiled or run."""
        with self._guard:
            return self._locks.setdefault(self._track(surface), threading.Lock())

    def done(self, surface, key):
        """Whether job ``key`` of ``surface`` has run (in the thread or through :meth:`run`)."""
        with self._guard:
            return (self._track(surface), key) in self._done

    def run(self, surface, key, fn):
        """``fn()`` under the surface's lock (the draw path); marks ``key`` done."""
        with self.lock(surface):
            result = fn()
            with self._guard:
                self._done.add((self._track(surface), key))
        return result

    def background(self, surface, grid_size):
        """The contour view's :class:`~adaviz.panels.views.Background` of ``surface`` (cached)."""
        from adaviz.panels.views import background

        with self._guard:
            key = (self._track(surface), grid_size)
            image = self._backgrounds.get(key)
        if image is None:
            image = background(surface, grid_size)
            with self._guard:
                image = self._backgrounds.setdefault(key, image)
        return image

    def start(self, jobs, backgrounds=()):
        """Queue ``(surface, key, fn)`` jobs and ``(surface, grid_size)`` backgrounds, and
        run them in the daemon thread (returns at once; jobs already done are skipped)."""
        with self._guard:
            self._queue.extend(("job", *job) for job in jobs)
            self._queue.extend(("background", *bg) for bg in backgrounds)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._work, name="adaviz-warmup", daemon=True
                )
                self._thread.start()

    def wait(self, timeout=None):
        """Wait for the thread; True when everything queued has run."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return thread is None or not thread.is_alive()

    def _work(self):
        # a lower priority for this thread (Linux: per-thread nice), so the kernel's own
        # thread, the server and the browser on the same machine come first
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
        except (AttributeError, OSError):  # pragma: no cover - other systems
            pass
        while True:
            with self._guard:
                if not self._queue:
                    return
                kind, surface, *rest = self._queue.pop(0)
            try:
                if kind == "background":
                    self.background(surface, rest[0])
                elif not self.done(surface, rest[0]):
                    self.run(surface, rest[0], rest[1])
            except Exception:  # noqa: BLE001, S110 - run again (and reported) on use
                pass


#: The process-wide warm-up queue every panel shares.
WARMUP = Warmup()


def in_kernel():
    """Whether this runs inside a Jupyter kernel (where panels warm up on display)."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None

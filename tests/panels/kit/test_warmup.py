"""The background warm-up queue (adaviz.panels.kit.warmup): jobs run once, off the calling
thread, in order; a draw of a surface waits only for that surface's running job."""

from __future__ import annotations

import gc
import threading
import weakref

import pytest

from adaviz.panels.kit.warmup import Warmup


class Thing:
    """Stands in for a surface (the queue only needs identity)."""


def test_jobs_run_once_in_a_background_thread_in_order():
    w = Warmup()
    a, b = Thing(), Thing()
    ran = []

    def job(name):
        return lambda: ran.append((name, threading.current_thread().name))

    w.run(a, "k1", job("draw"))  # the draw path marks its key done
    w.start([(a, "k1", job("a1")), (a, "k2", job("a2")), (b, "k1", job("b1"))])
    w.start([(b, "k1", job("b1 again")), (b, "bad", lambda: 1 / 0), (b, "k2", job("b2"))])
    assert w.wait(timeout=60)
    assert [name for name, _ in ran] == ["draw", "a2", "b1", "b2"]  # done jobs are skipped
    assert ran[0][1] == threading.current_thread().name
    assert all(thread == "adaviz-warmup" for _, thread in ran[1:])
    assert w.done(a, "k2") and w.done(b, "k2") and not w.done(b, "bad")


def test_a_draw_waits_for_the_running_job_of_its_surface_only():
    w = Warmup()
    slow, other = Thing(), Thing()
    started, release = threading.Event(), threading.Event()
    order = []

    def slow_job():
        started.set()
        release.wait(30)
        order.append("compiled")

    w.start([(slow, "k", slow_job)])
    assert started.wait(30)
    w.run(other, "k", lambda: order.append("other surface drawn"))  # not blocked
    releaser = threading.Timer(0.05, release.set)
    releaser.start()
    w.run(slow, "k", lambda: order.append("slow surface drawn"))  # waits for the compile
    assert w.wait(timeout=30)
    assert order == ["other surface drawn", "compiled", "slow surface drawn"]


@pytest.fixture
def young_heap():
    """The objects made before the test moved out of the collector's sight (gc.freeze), so
    a ``gc.collect()`` looks at the test's own objects only: with TensorFlow and the rest
    of the suite in the heap, each full collection would take most of a second."""
    gc.freeze()
    yield
    gc.unfreeze()


def test_nothing_is_kept_for_a_surface_once_it_is_gone(young_heap):
    """A re-run cell that builds its own Surface makes a new one each time: the queue's
    locks, done keys and backgrounds must not keep the old ones (nor grow)."""
    import adaviz

    w = Warmup()
    kept = Thing()
    w.run(kept, "k", lambda: None)
    for _ in range(20):
        thing = Thing()
        w.run(thing, "k", lambda: None)
        assert w.done(thing, "k")
        ref = weakref.ref(thing)
        del thing
        gc.collect()
        assert ref() is None
    surface = adaviz.Surface(lambda x, y: x * x + y * y, ((-1.0, 1.0), (-1.0, 1.0)), name="bowl")
    image = w.background(surface, 12)
    assert w.background(surface, 12) is image  # cached while the surface lives
    ref = weakref.ref(surface)
    del surface
    gc.collect()
    assert ref() is None
    w.done(kept, "k")  # (entries of collected surfaces are dropped on the next call)
    assert len(w._locks) == 1 and w._done == {(id(kept), "k")} and not w._backgrounds

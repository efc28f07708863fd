"""The redraw scheduler (adaviz.panels.kit.schedule) with a fake clock: bursts coalesce to the
last value, no redraw is lost, debounce waits for rest, re-entrant requests, errors."""

from __future__ import annotations

import asyncio

import pytest

from adaviz.panels.kit.schedule import Coalescer, ManualClock


class Recorder:
    """A draw callback that records the value it sees (the latest, as a panel would)."""

    def __init__(self):
        self.value = None
        self.drawn = []

    def __call__(self):
        self.drawn.append(self.value)


def make(mode="throttle", interval=0.05):
    clock = ManualClock()
    rec = Recorder()
    return clock, rec, Coalescer(rec, interval=interval, mode=mode, clock=clock, timer=clock)


def test_burst_coalesces_to_the_last_value():
    clock, rec, c = make()
    for v in range(100):  # 100 values arriving together
        rec.value = v
        c.request()
    assert rec.drawn == [0]  # leading edge: the first change draws at once
    assert c.pending and clock.scheduled == 1
    clock.advance(0.049)
    assert rec.drawn == [0]
    clock.advance(0.002)
    assert rec.drawn == [0, 99]  # one trailing draw with the last value
    assert not c.pending and clock.scheduled == 0
    clock.advance(1.0)
    assert rec.drawn == [0, 99]  # nothing more


def test_no_redraw_is_lost_in_a_steady_stream():
    clock, rec, c = make(interval=0.05)
    for step in range(200):  # a change every 10 ms for 2 s
        rec.value = step
        c.request()
        clock.advance(0.01)
    clock.advance(0.1)
    assert rec.drawn[-1] == 199  # the last value is always drawn
    assert rec.drawn == sorted(rec.drawn)
    # about one draw per interval, never more
    assert 30 <= len(rec.drawn) <= 45, len(rec.drawn)
    assert not c.pending


def test_quiet_period_draws_at_once_and_flush_draws_now():
    clock, rec, c = make()
    rec.value = "a"
    c.request()
    clock.advance(1.0)
    rec.value = "b"
    c.request()  # quiet for longer than the interval: at once
    assert rec.drawn == ["a", "b"]
    rec.value = "c"
    c.request()
    assert rec.drawn == ["a", "b"] and c.pending
    c.flush()  # e.g. before Python reads the figures
    assert rec.drawn == ["a", "b", "c"] and not c.pending
    clock.advance(1.0)
    assert rec.drawn == ["a", "b", "c"]  # the cancelled timer does not draw again
    c.flush()
    assert rec.drawn == ["a", "b", "c"]  # nothing pending: no-op


def test_debounce_waits_until_requests_rest():
    clock, rec, c = make(mode="debounce", interval=0.3)
    for v in range(10):
        rec.value = v
        c.request()
        clock.advance(0.1)
    assert rec.drawn == []
    clock.advance(0.25)
    assert rec.drawn == [9]
    assert c.runs == 1


def test_request_from_inside_the_callback_is_served_after_it():
    clock = ManualClock()
    calls = []

    def draw():
        calls.append(len(calls))
        if len(calls) == 1:
            c.request()  # the draw moved a widget that observes itself

    c = Coalescer(draw, interval=0.05, clock=clock, timer=clock)
    c.request()
    assert calls == [0, 1]  # not recursive, not lost
    assert not c.pending and not c.running


def test_synchronous_without_loop_or_interval():
    rec = Recorder()
    c = Coalescer(rec, interval=0.05)  # no running loop here: every request draws
    for v in range(3):
        rec.value = v
        c.request()
    assert rec.drawn == [0, 1, 2]
    clock = ManualClock()
    rec2 = Recorder()
    c0 = Coalescer(rec2, interval=0, clock=clock, timer=clock)
    c0.request()
    c0.request()
    assert len(rec2.drawn) == 2 and clock.scheduled == 0


def test_on_a_real_event_loop():
    rec = Recorder()

    async def scenario():
        c = Coalescer(rec, interval=0.02)
        for v in range(50):
            rec.value = v
            c.request()
        assert rec.drawn == [0]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10.0
        while c.pending and loop.time() < deadline:
            await asyncio.sleep(0.005)
        return c

    c = asyncio.run(scenario())
    assert rec.drawn == [0, 49] and not c.pending


def test_errors_of_scheduled_runs_go_to_on_error_and_the_coalescer_survives():
    clock = ManualClock()
    errors, calls = [], []

    def draw():
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("boom")

    c = Coalescer(draw, interval=0.05, clock=clock, timer=clock, on_error=errors.append)
    c.request()
    c.request()
    clock.advance(0.1)
    assert [str(e) for e in errors] == ["boom"]
    c.request()
    assert len(calls) == 3 and not c.pending
    with pytest.raises(RuntimeError, match="boom"):
        calls.clear()
        calls.append(1)
        Coalescer(draw, interval=0).request()  # a synchronous run raises to the caller


def test_cancel_and_bad_arguments():
    clock, rec, c = make()
    c.request()
    c.request()
    c.cancel()
    clock.advance(1.0)
    assert rec.drawn == [None] and not c.pending
    with pytest.raises(
        ValueError, match="interval must be a finite number of seconds >= 0, got -1"
    ):
        Coalescer(rec, interval=-1)
    with pytest.raises(ValueError, match="mode must be one of throttle, debounce, got 'x'"):
        Coalescer(rec, interval=0.1, mode="x")

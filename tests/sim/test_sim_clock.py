"""sim.clock: virtual time jumps from event to event; ties fire in a deterministic order."""

from __future__ import annotations

import asyncio

import pytest

from sim.clock import ClockError, LoopClock, Priority, VirtualClock


def test_events_fire_in_time_order_and_now_follows_them() -> None:
    clock = VirtualClock()
    seen: list[tuple[str, float]] = []
    clock.schedule(5.0, lambda: seen.append(("b", clock.now)))
    clock.schedule(1.5, lambda: seen.append(("a", clock.now)))
    clock.run()
    assert seen == [("a", 1.5), ("b", 5.0)]
    assert clock.now == 5.0


def test_ties_fire_by_priority_then_in_scheduling_order() -> None:
    clock = VirtualClock()
    seen: list[str] = []
    clock.schedule(2.0, lambda: seen.append("normal-1"))
    clock.schedule(2.0, lambda: seen.append("report"), Priority.REPORT)
    clock.schedule(2.0, lambda: seen.append("normal-2"))
    clock.schedule(2.0, lambda: seen.append("engine"), Priority.ENGINE)
    clock.run()
    assert seen == ["engine", "normal-1", "normal-2", "report"]


def test_a_cancelled_timer_never_fires_and_run_until_stops_at_the_limit() -> None:
    clock = VirtualClock()
    seen: list[str] = []
    timer = clock.schedule(1.0, lambda: seen.append("cancelled"))
    clock.schedule(3.0, lambda: seen.append("late"))
    timer.cancel()
    clock.run(until=2.0)
    assert seen == []
    assert clock.now == 2.0
    assert clock.peek() == 3.0


def test_callbacks_may_schedule_more_work_at_the_same_instant() -> None:
    clock = VirtualClock()
    seen: list[float] = []
    clock.schedule(1.0, lambda: clock.schedule(clock.now, lambda: seen.append(clock.now)))
    clock.run()
    assert seen == [1.0]


@pytest.mark.parametrize("at", [0.5, float("nan")])
def test_scheduling_in_the_past_is_refused(at: float) -> None:
    clock = VirtualClock(start=1.0)
    with pytest.raises(ClockError, match="cannot schedule"):
        clock.schedule(at, lambda: None)


async def test_the_loop_clock_runs_the_same_callbacks_on_wall_time() -> None:
    loop = asyncio.get_running_loop()
    clock = LoopClock(loop)
    fired = asyncio.Event()
    cancelled: list[str] = []
    clock.schedule(clock.now + 0.01, fired.set)
    clock.schedule(clock.now + 0.005, lambda: cancelled.append("x")).cancel()
    await asyncio.wait_for(fired.wait(), timeout=5.0)
    assert cancelled == []

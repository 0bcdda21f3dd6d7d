"""The pure pacing schedule: absolute grid, slots, catch-up and send timing stats (issue 3)."""

from __future__ import annotations

import random

import numpy as np
import pytest

from telephony.media.pacing import (
    PacingScheduler,
    SendTimingStats,
    SlotPlanner,
    TickGrid,
    summarize,
)


def test_ticks_fall_on_the_absolute_grid_with_slots_spread_across_the_interval() -> None:
    grid = TickGrid(origin=100.0, interval=0.02, slots=4)
    assert grid.due(0, 0) == 100.0
    assert grid.due(0, 1) == pytest.approx(100.005)
    assert grid.due(3, 2) == pytest.approx(100.07)
    assert grid.latest_tick(0, 99.99) == -1
    assert grid.latest_tick(2, grid.due(3, 2)) == 3
    assert grid.latest_tick(2, 100.089) == 3


def test_a_tick_is_due_exactly_at_its_due_time_despite_float_rounding() -> None:
    grid = TickGrid(origin=0.1, interval=0.02, slots=7)
    for tick in range(0, 5000, 37):
        for slot in range(7):
            due = grid.due(tick, slot)
            assert grid.latest_tick(slot, due) == tick
            assert grid.latest_tick(slot, np.nextafter(due, -1.0)) == tick - 1


def test_every_tick_of_every_slot_runs_once_in_due_order() -> None:
    scheduler = PacingScheduler(TickGrid(origin=0.0, interval=0.02, slots=3), max_catch_up=100)
    seen = []
    for now in (0.0, 0.011, 0.05, 0.05, 0.13):
        seen += scheduler.pop_due(now)
    assert [(d.slot, d.tick) for d in seen[:4]] == [(0, 0), (1, 0), (2, 0), (0, 1)]
    assert [d.due for d in seen] == sorted(d.due for d in seen)
    pairs = [(d.slot, d.tick) for d in seen]
    assert len(pairs) == len(set(pairs))
    grid = scheduler.grid
    expected = [(s, t) for s in range(3) for t in range(7) if grid.due(t, s) <= 0.13]
    assert sorted(pairs) == sorted(expected)


def test_next_due_is_the_earliest_pending_tick() -> None:
    scheduler = PacingScheduler(TickGrid(origin=1.0, interval=0.02, slots=2))
    assert scheduler.next_due() == 1.0
    scheduler.pop_due(1.0)
    assert scheduler.next_due() == pytest.approx(1.01)
    scheduler.pop_due(1.015)
    assert scheduler.next_due() == pytest.approx(1.02)


def test_no_drift_over_a_ten_minute_call_with_late_and_irregular_wakeups() -> None:
    grid = TickGrid(origin=5.0, interval=0.02, slots=5)
    scheduler = PacingScheduler(grid, max_catch_up=3)
    rng = random.Random(4)
    now = 5.0
    ran = []
    while now < 5.0 + 600.0:
        # The process wakes up late by up to 3 ms, as a loaded asyncio loop does.
        due = scheduler.next_due()
        assert due is not None
        now = due + rng.uniform(0.0, 0.003)
        ran += [d for d in scheduler.pop_due(now) if d.slot == 2]
    ticks = [d.tick for d in ran]
    assert ticks == list(range(len(ticks)))
    assert len(ticks) in (30000, 30001)
    # Tick 30 000 is due exactly 600 s after tick 0: errors never accumulate.
    assert grid.due(30000, 2) - grid.due(0, 2) == pytest.approx(600.0, abs=1e-9)
    assert all(d.due == grid.due(d.tick, 2) for d in ran)
    assert all(d.skipped == 0 for d in ran)


def test_after_a_long_stall_old_ticks_are_skipped_and_reported() -> None:
    scheduler = PacingScheduler(TickGrid(origin=0.0, interval=0.02, slots=1), max_catch_up=3)
    scheduler.pop_due(0.0)
    due = scheduler.pop_due(0.2)  # ticks 1..10 are due; only the last 3 are sent
    assert [d.tick for d in due] == [8, 9, 10]
    assert [d.skipped for d in due] == [7, 0, 0]
    assert [d.tick for d in scheduler.pop_due(0.22)] == [11]


def test_invalid_grids_are_refused() -> None:
    with pytest.raises(ValueError, match="interval"):
        TickGrid(origin=0.0, interval=0.0)
    with pytest.raises(ValueError, match="slot"):
        TickGrid(origin=0.0, slots=0)


def test_sessions_go_to_the_least_loaded_slot() -> None:
    planner = SlotPlanner(3)
    assert [planner.assign() for _ in range(4)] == [0, 1, 2, 0]
    planner.release(1)
    assert planner.assign() == 1
    assert planner.loads() == (2, 1, 1)
    planner.release(2)
    with pytest.raises(ValueError, match="slot 2"):
        planner.release(2)


def test_send_timing_stats_report_grid_and_interval_errors() -> None:
    stats = SendTimingStats(capacity=4)
    for tick, late in [(0, 0.001), (1, 0.003), (2, 0.0), (4, 0.002), (5, 0.0025)]:
        stats.record(tick, due=tick * 0.02, sent_at=tick * 0.02 + late)
    assert stats.packets == 5
    # The window keeps the last 4 packets, oldest first.
    np.testing.assert_allclose(stats.grid_errors(), [0.003, 0.0, 0.002, 0.0025], atol=1e-6)
    # Interval errors only between consecutive ticks (2→4 is not a 20 ms interval).
    np.testing.assert_allclose(stats.interval_errors(), [-0.003, 0.0005], atol=1e-6)
    summary = summarize([stats])
    assert summary.packets == 4
    assert summary.interval_error_p99_ms == pytest.approx(2.975, abs=0.01)
    assert summary.grid_error_p50_ms == pytest.approx(2.25)


def test_a_summary_of_nothing_is_empty_not_an_error() -> None:
    summary = summarize([])
    assert summary.packets == 0
    assert np.isnan(summary.grid_error_p99_ms)


def test_inactive_slots_never_come_due_and_start_after_now_when_activated() -> None:
    grid = TickGrid(origin=0.0, interval=0.02, slots=2)
    scheduler = PacingScheduler(grid, initially_active=False)
    assert scheduler.next_due() is None
    assert scheduler.pop_due(10.0) == []
    scheduler.activate(1, now=10.0)
    # Nothing to catch up from the idle time: the first tick is the next one after now.
    assert scheduler.next_due() == pytest.approx(10.01)
    due = scheduler.pop_due(10.04)
    assert [(d.slot, d.skipped) for d in due] == [(1, 0), (1, 0)]
    scheduler.deactivate(1)
    assert scheduler.next_due() is None
    scheduler.activate(1, now=9.0)  # a clock can never send a slot back to old ticks
    assert scheduler.next_tick(1) == due[-1].tick + 1

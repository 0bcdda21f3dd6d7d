"""The timerfd-based absolute wake-up the media engine paces with (issue 3)."""

from __future__ import annotations

import asyncio
import sys
import time

import pytest

from telephony.media.timer import MonotonicTimer

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="timerfd is Linux")


async def test_sleep_until_never_returns_before_the_deadline() -> None:
    timer = MonotonicTimer(asyncio.get_running_loop())
    try:
        for _ in range(20):
            when = time.monotonic() + 0.003
            await timer.sleep_until(when)
            assert time.monotonic() >= when
    finally:
        timer.close()


async def test_a_deadline_in_the_past_returns_at_once() -> None:
    timer = MonotonicTimer(asyncio.get_running_loop())
    try:
        await asyncio.wait_for(timer.sleep_until(time.monotonic() - 1.0), timeout=1.0)
    finally:
        timer.close()


async def test_a_cancelled_sleep_leaves_the_timer_usable() -> None:
    timer = MonotonicTimer(asyncio.get_running_loop())
    try:
        task = asyncio.create_task(timer.sleep_until(time.monotonic() + 10.0))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        when = time.monotonic() + 0.002
        await asyncio.wait_for(timer.sleep_until(when), timeout=2.0)
        assert time.monotonic() >= when
    finally:
        timer.close()


async def test_only_one_waiter_at_a_time() -> None:
    timer = MonotonicTimer(asyncio.get_running_loop())
    try:
        first = asyncio.create_task(timer.sleep_until(time.monotonic() + 0.05))
        await asyncio.sleep(0)
        with pytest.raises(RuntimeError, match="one waiter"):
            await timer.sleep_until(time.monotonic() + 0.05)
        await first
    finally:
        timer.close()


async def test_a_pending_sleep_can_be_brought_forward() -> None:
    timer = MonotonicTimer(asyncio.get_running_loop())
    try:
        started = time.monotonic()
        sleeper = asyncio.create_task(timer.sleep_until(started + 30.0))
        await asyncio.sleep(0.01)
        soon = time.monotonic() + 0.005
        timer.wake_by(soon)
        timer.wake_by(started + 60.0)  # later than the pending wake-up: no effect
        await asyncio.wait_for(sleeper, timeout=5.0)
        assert time.monotonic() >= soon
    finally:
        timer.close()

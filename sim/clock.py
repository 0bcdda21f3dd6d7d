"""The simulator's clock: a tiny SimPy-like event heap on virtual time, and a wall-clock twin.

Drivers only use ``now`` and ``schedule(at, callback)``, so the same driver code runs on
virtual time (``VirtualClock``: jump from event to event) or on an asyncio loop's clock
(``LoopClock``). The heap holds ``(time, priority, seq, callback)``: ``seq`` increases with
every schedule, so events at the same time and priority fire in the order they were scheduled
and a run is reproducible (SimPy does the same).
"""

from __future__ import annotations

import asyncio
import heapq
import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import Protocol


class Priority(IntEnum):
    """Order of events scheduled for the same instant; smaller fires first.

    The engine's own timers go first so that, for example, a ring timeout at t is handled
    before a caller who would answer at exactly t: the ACD's deadline is authoritative.
    """

    ENGINE = 0
    NORMAL = 1
    REPORT = 2  # interval boundaries read the state after everything at that instant


class ClockError(RuntimeError):
    """Scheduling in the past, or at a time that is not a number."""


class Clock(Protocol):
    @property
    def now(self) -> float: ...

    def schedule(
        self, at: float, callback: Callable[[], None], priority: Priority = Priority.NORMAL
    ) -> Timer: ...


@dataclass(slots=True)
class Timer:
    """A scheduled callback; ``cancel()`` makes it a no-op (it stays in the heap until due)."""

    at: float
    callback: Callable[[], None] | None

    def cancel(self) -> None:
        self.callback = None

    @property
    def cancelled(self) -> bool:
        return self.callback is None


class VirtualClock:
    """Discrete-event time: ``run`` pops the earliest timer, sets ``now`` to it, calls it."""

    __slots__ = ("_heap", "_now", "_seq")

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._heap: list[tuple[float, int, int, Timer]] = []
        self._seq = 0

    @property
    def now(self) -> float:
        return self._now

    def schedule(
        self, at: float, callback: Callable[[], None], priority: Priority = Priority.NORMAL
    ) -> Timer:
        if not at >= self._now:  # also refuses NaN
            raise ClockError(f"cannot schedule at {at!r}: it is already {self._now!r}")
        timer = Timer(at, callback)
        self._seq += 1
        heapq.heappush(self._heap, (at, priority, self._seq, timer))
        return timer

    def call_later(
        self, delay: float, callback: Callable[[], None], priority: Priority = Priority.NORMAL
    ) -> Timer:
        return self.schedule(self._now + delay, callback, priority)

    def peek(self) -> float:
        """Time of the next live timer, or +inf when nothing is scheduled."""
        heap = self._heap
        while heap and heap[0][3].callback is None:
            heapq.heappop(heap)
        return heap[0][0] if heap else math.inf

    def step(self) -> bool:
        """Run the next live timer; False when none is left."""
        heap = self._heap
        while heap:
            at, _, _, timer = heapq.heappop(heap)
            callback = timer.callback
            if callback is None:
                continue
            timer.callback = None
            self._now = at
            callback()
            return True
        return False

    def run(self, until: float = math.inf) -> None:
        """Run every timer due at or before ``until``; ``now`` ends at ``until`` if finite."""
        heap = self._heap
        pop = heapq.heappop
        while heap and heap[0][0] <= until:
            at, _, _, timer = pop(heap)
            callback = timer.callback
            if callback is None:
                continue
            timer.callback = None
            self._now = at
            callback()
        if until != math.inf and until > self._now:
            self._now = until

    def __len__(self) -> int:
        """Timers still in the heap, cancelled ones included (for memory checks)."""
        return len(self._heap)


class LoopClock:
    """The same interface on an asyncio loop's monotonic clock, for live runs."""

    __slots__ = ("_loop",)

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    @property
    def now(self) -> float:
        return self._loop.time()

    def schedule(
        self, at: float, callback: Callable[[], None], priority: Priority = Priority.NORMAL
    ) -> Timer:
        # asyncio orders equal deadlines by insertion; priority is a virtual-time refinement.
        timer = Timer(at, callback)

        def fire() -> None:
            cb = timer.callback
            if cb is not None:
                timer.callback = None
                cb()

        self._loop.call_at(at, fire)
        return timer

"""Runs a sans-IO core's timers on the asyncio loop's clock.

The ACD, the IVR runner and the SIP transaction layer expose ``next_deadline()`` and take
``now`` in ``advance(now)``; this adapter is the only place that waits for those deadlines in
production (the simulator uses its own virtual clock instead).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from typing import Generic, Protocol, TypeVar

A = TypeVar("A")
A_co = TypeVar("A_co", covariant=True)


class TimedCore(Protocol[A_co]):
    def next_deadline(self) -> float | None: ...

    def advance(self, now: float) -> Iterable[A_co]: ...


class DeadlineDriver(Generic[A]):
    """Keeps exactly one loop timer armed at the core's earliest deadline.

    Call :meth:`rearm` after every command given to the core, since a command may add or
    remove deadlines. Actions produced when a deadline fires go to ``perform``. The core's
    times are on ``clock`` (wall-clock epoch seconds by default, so records and 15-minute
    reporting intervals line up with the calendar); the loop only supplies the waiting.
    """

    def __init__(
        self,
        core: TimedCore[A],
        perform: Callable[[list[A]], None],
        loop: asyncio.AbstractEventLoop,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._core = core
        self._perform = perform
        self._loop = loop
        self._clock = clock
        self._handle: asyncio.TimerHandle | None = None
        self._armed_for: float | None = None

    def now(self) -> float:
        return self._clock()

    def rearm(self) -> None:
        deadline = self._core.next_deadline()
        if deadline == self._armed_for:
            return
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self._armed_for = deadline
        if deadline is not None:
            delay = max(0.0, deadline - self._clock())
            self._handle = self._loop.call_later(delay, self._fire)

    def _fire(self) -> None:
        self._handle = None
        self._armed_for = None
        actions = list(self._core.advance(self._clock()))
        if actions:
            self._perform(actions)
        self.rearm()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._handle = None
        self._armed_for = None

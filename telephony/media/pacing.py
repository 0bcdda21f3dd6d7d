"""Pure pacing logic for the media engine: the absolute tick grid, slots and send timing stats.

Rules (PERFORMANCE.md, measured on this project's machine):

* Tick k of slot s is due at ``origin + k·interval + s·interval/slots`` on the monotonic clock.
  Due times are always computed from the grid, never by adding a sleep to the last wake-up, so
  a 10-minute call does not drift by even one sample.
* Calls are spread over ``slots`` sub-ticks (about 100 calls each at full load): one burst of
  every call at once breaks a 2 ms jitter target at 250–500 calls even with idle CPU.
* After a stall (the host took the CPU away) a slot catches up at most ``max_catch_up`` ticks;
  older ticks are skipped, and the sessions' RTP timestamps jump with the wall clock so the peer
  sees a short loss rather than audio that lags forever.

Nothing here reads a clock or touches asyncio; the engine passes ``now`` in.
"""

from __future__ import annotations

import array
import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

TICK_INTERVAL: Final = 0.020  # RFC 3551 §4.5: G.711 default packetization interval, 20 ms
DEFAULT_SLOTS: Final = 10  # 2 ms apart; ~100 calls per slot at 1 000 calls
DEFAULT_MAX_CATCH_UP: Final = 3  # up to 60 ms late is sent as a burst, beyond that skipped
# Send times kept per session: 5 s of 20 ms packets in 3 KB (PERFORMANCE.md counts about
# 5 KB of media state per call; bench/ asks for a longer window).
DEFAULT_TIMING_WINDOW: Final = 250


@dataclass(frozen=True, slots=True)
class TickGrid:
    """The absolute schedule: where every tick of every slot falls on the monotonic clock."""

    origin: float
    interval: float = TICK_INTERVAL
    slots: int = DEFAULT_SLOTS

    def __post_init__(self) -> None:
        if self.interval <= 0:
            raise ValueError("tick interval must be positive")
        if self.slots < 1:
            raise ValueError("there must be at least one slot")

    def slot_offset(self, slot: int) -> float:
        return slot * self.interval / self.slots

    def due(self, tick: int, slot: int) -> float:
        return self.origin + tick * self.interval + self.slot_offset(slot)

    def latest_tick(self, slot: int, now: float) -> int:
        """The last tick of ``slot`` due at or before ``now`` (-1 before the first)."""
        tick = math.floor((now - self.origin - self.slot_offset(slot)) / self.interval)
        # The division can round either way at an exact due time; settle it on ``due`` itself
        # so that "due at or before now" means the same thing here and in ``next_due``.
        while self.due(tick + 1, slot) <= now:
            tick += 1
        while tick >= 0 and self.due(tick, slot) > now:
            tick -= 1
        return max(tick, -1)


@dataclass(frozen=True, slots=True)
class DueTick:
    slot: int
    tick: int
    due: float
    # Ticks of this slot skipped just before this one because the engine fell too far behind.
    skipped: int = 0


class PacingScheduler:
    """Which (slot, tick) pairs are due at a given time, in due order, each exactly once."""

    def __init__(
        self,
        grid: TickGrid,
        *,
        max_catch_up: int = DEFAULT_MAX_CATCH_UP,
        initially_active: bool = True,
    ) -> None:
        if max_catch_up < 1:
            raise ValueError("max_catch_up must be at least 1")
        self.grid = grid
        self._max_catch_up = max_catch_up
        self._next = [0] * grid.slots
        # An inactive slot (no sessions) never comes due, so an idle engine does not wake
        # 500 times a second for nothing.
        self._active = [initially_active] * grid.slots

    def activate(self, slot: int, now: float) -> None:
        """Start ticking ``slot`` from its first tick due after ``now`` (nothing to catch up)."""
        if not self._active[slot]:
            self._active[slot] = True
            self._next[slot] = max(self._next[slot], self.grid.latest_tick(slot, now) + 1)

    def deactivate(self, slot: int) -> None:
        self._active[slot] = False

    def next_due(self) -> float | None:
        """When the engine must wake next; None while every slot is inactive."""
        dues = [
            self.grid.due(tick, slot)
            for slot, tick in enumerate(self._next)
            if self._active[slot]
        ]
        return min(dues) if dues else None

    def next_tick(self, slot: int) -> int:
        return self._next[slot]

    def pop_due(self, now: float) -> list[DueTick]:
        due: list[DueTick] = []
        for slot in range(self.grid.slots):
            if not self._active[slot]:
                continue
            first = self._next[slot]
            if self.grid.due(first, slot) > now:
                continue  # the usual case on a wake-up: another slot is the one due
            last = self.grid.latest_tick(slot, now)
            skipped = 0
            if last - first + 1 > self._max_catch_up:
                skipped = last - first + 1 - self._max_catch_up
                first += skipped
            for tick in range(first, last + 1):
                due.append(
                    DueTick(slot, tick, self.grid.due(tick, slot), skipped if tick == first else 0)
                )
            self._next[slot] = last + 1
        due.sort(key=lambda d: (d.due, d.slot))
        return due


class SlotPlanner:
    """Assigns each new session to the least-loaded slot (ties: the lowest slot)."""

    def __init__(self, slots: int) -> None:
        self._load = [0] * slots

    def assign(self) -> int:
        slot = min(range(len(self._load)), key=lambda s: (self._load[s], s))
        self._load[slot] += 1
        return slot

    def release(self, slot: int) -> None:
        if self._load[slot] <= 0:
            raise ValueError(f"slot {slot} has no session to release")
        self._load[slot] -= 1

    def loads(self) -> tuple[int, ...]:
        return tuple(self._load)


@dataclass(frozen=True, slots=True)
class TimingSummary:
    """Percentiles of send timing in milliseconds, for bench/ to print."""

    packets: int
    grid_error_p50_ms: float
    grid_error_p99_ms: float
    interval_error_p50_ms: float
    interval_error_p99_ms: float


class SendTimingStats:
    """A window of (tick, actual send time - grid due time) for one session's packets.

    The grid error says how late each packet left; the interval error is how far the gap
    between consecutive packets strayed from 20 ms (the figure issue 3's benchmark reports).
    Recording is on the per-packet path, so it writes into compact ``array`` buffers (a
    numpy scalar store costs several times more); numpy only runs when a summary is asked for.
    """

    __slots__ = ("_count", "_errors", "_ticks", "capacity")

    def __init__(self, capacity: int = DEFAULT_TIMING_WINDOW) -> None:
        if capacity < 2:
            raise ValueError("timing window needs room for at least two packets")
        self.capacity = capacity
        self._ticks = array.array("q", bytes(8 * capacity))
        self._errors = array.array("f", bytes(4 * capacity))
        self._count = 0

    def reset(self) -> None:
        """Forget the window (e.g. after a benchmark's warm-up)."""
        self._count = 0

    def record(self, tick: int, due: float, sent_at: float) -> None:
        i = self._count % self.capacity
        self._ticks[i] = tick
        self._errors[i] = sent_at - due
        self._count += 1

    @property
    def packets(self) -> int:
        return self._count

    def _window(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        ticks = np.frombuffer(self._ticks, dtype=np.int64)
        errors = np.frombuffer(self._errors, dtype=np.float32).astype(np.float64)
        if self._count <= self.capacity:
            return ticks[: self._count].copy(), errors[: self._count]
        start = self._count % self.capacity
        order = np.r_[start : self.capacity, 0:start]
        return ticks[order], errors[order]

    def grid_errors(self) -> npt.NDArray[np.float64]:
        """Seconds each packet in the window left after its grid time (chronological)."""
        return self._window()[1]

    def interval_errors(self) -> npt.NDArray[np.float64]:
        """Seconds by which each gap between packets of consecutive ticks differed from 20 ms."""
        ticks, errors = self._window()
        consecutive = np.diff(ticks) == 1
        result: npt.NDArray[np.float64] = np.diff(errors)[consecutive]
        return result


def summarize(stats: list[SendTimingStats]) -> TimingSummary:
    """Pool several sessions' windows (absolute errors) into one summary."""
    grid = np.concatenate([s.grid_errors() for s in stats] or [np.zeros(0)])
    interval = np.abs(np.concatenate([s.interval_errors() for s in stats] or [np.zeros(0)]))

    def pct(values: npt.NDArray[np.float64], q: float) -> float:
        return float(np.percentile(values, q)) * 1000.0 if values.size else math.nan

    return TimingSummary(
        packets=int(grid.size),
        grid_error_p50_ms=pct(grid, 50),
        grid_error_p99_ms=pct(grid, 99),
        interval_error_p50_ms=pct(interval, 50),
        interval_error_p99_ms=pct(interval, 99),
    )

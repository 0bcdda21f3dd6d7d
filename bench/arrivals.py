"""What a benchmark caller measures about the RTP stream it hears: intervals, loss, order.

Pure: the load generator passes each packet's sequence number and kernel arrival time in.
The interval error is (arrival gap - 20 ms) between packets with consecutive sequence numbers;
a gap across a lost packet is not an interval and is counted as loss instead, so loss and
jitter stay separate figures.
"""

from __future__ import annotations

import array
import math
from dataclasses import dataclass

import numpy as np

PACKET_INTERVAL_NS = 20_000_000  # RFC 3551 §4.5: G.711 at 20 ms per packet
_SEQ_MOD = 1 << 16  # RFC 3550 §5.1: 16-bit sequence numbers wrap
_SEQ_HALF = 1 << 15


class StreamStats:
    """One caller's received stream while the window is open."""

    __slots__ = ("_first_ext", "_last_ext", "_last_ns", "_last_seq", "received", "reordered")

    def __init__(self) -> None:
        self._last_seq: int | None = None
        self._last_ns = 0
        self._first_ext = 0
        self._last_ext = 0
        self.received = 0
        self.reordered = 0

    def record(
        self,
        seq: int,
        arrival_ns: int,
        intervals: array.array[float],
        when: array.array[int] | None = None,
    ) -> None:
        """Account one packet; appends its interval error (ms) to ``intervals`` if it has one
        (and its arrival time to ``when``, for a time series of lateness)."""
        self.received += 1
        if self._last_seq is None:
            self._last_seq, self._last_ns = seq, arrival_ns
            self._first_ext = self._last_ext = seq
            return
        step = (seq - self._last_seq) % _SEQ_MOD
        if step == 0 or step >= _SEQ_HALF:
            self.reordered += 1  # late or duplicate: neither an interval nor a new maximum
            return
        if step == 1:
            intervals.append((arrival_ns - self._last_ns - PACKET_INTERVAL_NS) / 1e6)
            if when is not None:
                when.append(arrival_ns)
        self._last_ext += step
        self._last_seq, self._last_ns = seq, arrival_ns

    @property
    def expected(self) -> int:
        return self._last_ext - self._first_ext + 1 if self._last_seq is not None else 0

    @property
    def lost(self) -> int:
        return max(0, self.expected - (self.received - self.reordered))


@dataclass(frozen=True, slots=True)
class IntervalSummary:
    """p50/p99 of |interval error| in ms, and the loss over every stream."""

    intervals: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    received: int
    lost: int

    @property
    def loss_percent(self) -> float:
        total = self.received + self.lost
        return 100.0 * self.lost / total if total else math.nan


def late_per_second(
    intervals: array.array[float], when: array.array[int], threshold_ms: float
) -> list[int]:
    """How many intervals erred by more than ``threshold_ms``, per second from the first."""
    if not when:
        return []
    errors = np.abs(np.frombuffer(intervals, dtype=np.float64))
    times = np.frombuffer(when, dtype=np.int64)
    seconds = (times - times.min()) // 1_000_000_000
    late = np.bincount(seconds[errors > threshold_ms], minlength=int(seconds.max()) + 1)
    return [int(count) for count in late]


def in_seconds(
    intervals: array.array[float], when: array.array[int], seconds: set[int]
) -> array.array[float]:
    """The interval errors that fell in the given seconds (counted from the first arrival)."""
    chosen: array.array[float] = array.array("d")
    if not when or not seconds:
        return chosen
    errors = np.frombuffer(intervals, dtype=np.float64)
    times = np.frombuffer(when, dtype=np.int64)
    second = (times - times.min()) // 1_000_000_000
    chosen.frombytes(errors[np.isin(second, sorted(seconds))].tobytes())
    return chosen


def summarize(intervals: array.array[float], streams: list[StreamStats]) -> IntervalSummary:
    errors = np.abs(np.frombuffer(intervals, dtype=np.float64)) if intervals else np.zeros(0)

    def pct(q: float) -> float:
        return float(np.percentile(errors, q)) if errors.size else math.nan

    return IntervalSummary(
        intervals=int(errors.size),
        p50_ms=pct(50),
        p99_ms=pct(99),
        max_ms=float(errors.max()) if errors.size else math.nan,
        received=sum(s.received for s in streams),
        lost=sum(s.lost for s in streams),
    )

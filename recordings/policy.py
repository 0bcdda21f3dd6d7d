"""Recording and retention policies: which calls are recorded (all, a percentage, per queue,
optionally from the IVR on) and how long each queue's recordings are kept (issue 6).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

SECONDS_PER_DAY = 86_400.0
# 003 has no period; 180 days covers a quarter's QA (SPEC-R1 quality star) plus disputes.
DEFAULT_RETENTION_DAYS = 180.0


class Phase(enum.Enum):
    """Where a call is when recording is asked for."""

    IVR = "ivr"
    AGENT = "agent"


def _check_percent(name: str, percent: float) -> None:
    if not 0.0 <= percent <= 100.0:
        raise ValueError(f"recording percent for {name!r} must be 0..100, not {percent}")


@dataclass(frozen=True, slots=True)
class RecordingPolicy:
    """Record ``percent`` of a queue's calls (100 = all, 0 = none); ``record_ivr`` starts at
    the voice menu instead of at the agent."""

    default_percent: float = 100.0
    percent_by_queue: Mapping[str, float] = field(default_factory=dict)
    record_ivr: bool = False

    def __post_init__(self) -> None:
        _check_percent("default", self.default_percent)
        for queue, percent in self.percent_by_queue.items():
            _check_percent(queue, percent)

    def percent_for(self, queue: str | None) -> float:
        if queue is None:
            return self.default_percent
        return self.percent_by_queue.get(queue, self.default_percent)

    def should_record(self, queue: str | None, draw: float) -> bool:
        """``draw`` is uniform in [0, 1) from the caller's seeded random source."""
        return draw * 100.0 < self.percent_for(queue)

    def starts_in(self, phase: Phase) -> bool:
        return phase is Phase.AGENT or self.record_ivr


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """Keep recordings ``days`` after the call (None: keep forever), per queue."""

    default_days: float | None = DEFAULT_RETENTION_DAYS
    days_by_queue: Mapping[str, float | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for queue, days in {"default": self.default_days, **self.days_by_queue}.items():
            if days is not None and days <= 0:
                raise ValueError(f"retention for {queue!r} must be positive days, not {days}")

    def days_for(self, queue: str | None) -> float | None:
        if queue is not None and queue in self.days_by_queue:
            return self.days_by_queue[queue]
        return self.default_days

    def expired(self, queue: str | None, started_at: float, now: float) -> bool:
        days = self.days_for(queue)
        return days is not None and now - started_at >= days * SECONDS_PER_DAY

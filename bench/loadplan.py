"""The load generator's plans (what bench.call_bench asks for) and its per-call record.

Plans cross a process boundary as one JSON line; ``parse_plan`` turns it back into a frozen
plan. A set-up step passes when every call was answered and hung up cleanly and the answers
kept pace with the offered rate (``KEEP_PACE``): a service that answers every call but falls
further behind with each one has not sustained that rate.
"""

from __future__ import annotations

import asyncio
import enum
import math
import socket
from dataclasses import dataclass, field
from typing import Any, Final

from bench.arrivals import StreamStats
from bench.sipwire import Dialog

# A step passes if the answers came at no less than this share of the offered rate.
KEEP_PACE: Final = 0.9
# Added to a plan's own duration: the load generator gives up (and says so) after it.
DEADLINE_MARGIN: Final = 60.0


class CallPhase(enum.Enum):
    INVITING = "inviting"
    ANSWERED = "answered"
    BYE_SENT = "bye-sent"
    ENDED = "ended"
    FAILED = "failed"


@dataclass(slots=True, eq=False)
class Call:
    """One benchmark caller: its dialog, RTP socket and what happened to it."""

    index: int
    dialog: Dialog
    rtp: socket.socket
    phase: CallPhase = CallPhase.INVITING
    invited_at: float = 0.0
    answered_at: float | None = None
    to_tag: str | None = None
    remote_uri: str | None = None
    remote_rtp: tuple[str, int] | None = None
    payload_type: int = 0
    bye_status: int | None = None
    failure: str | None = None
    ended_by_service: bool = False
    stream: StreamStats = field(default_factory=StreamStats)
    any_response: asyncio.Event = field(default_factory=asyncio.Event)
    provisional: asyncio.Event = field(default_factory=asyncio.Event)
    final: asyncio.Event = field(default_factory=asyncio.Event)
    done: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass(frozen=True, slots=True)
class HoldPlan:
    """N concurrent calls, each hearing the service for ``seconds`` after a warm-up."""

    target: tuple[str, int]
    service_pid: int
    calls: int
    seconds: float
    ramp_rate: float = 50.0
    warm_up: float = 2.0
    setup_timeout: float = 10.0
    teardown_rate: float = 200.0
    caller_audio: bool = True
    stats_signals: bool = False
    stats_path: str | None = None

    @property
    def deadline(self) -> float:
        ramp = self.calls / self.ramp_rate + self.setup_timeout
        teardown = self.calls / self.teardown_rate
        return ramp + self.warm_up + self.seconds + teardown + DEADLINE_MARGIN


@dataclass(frozen=True, slots=True)
class SetupPlan:
    """Steps of short calls at each offered rate, stopping at the first step that fails."""

    target: tuple[str, int]
    service_pid: int
    rates: tuple[float, ...]
    step_seconds: float = 2.0
    hold: float = 0.5
    pause: float = 1.0
    setup_timeout: float = 5.0
    caller_audio: bool = True

    @property
    def deadline(self) -> float:
        per_step = self.step_seconds + self.setup_timeout + self.hold + 8.0 + self.pause
        return len(self.rates) * per_step + DEADLINE_MARGIN


def plan_to_json(plan: HoldPlan | SetupPlan) -> dict[str, Any]:
    kind = "hold" if isinstance(plan, HoldPlan) else "setup"
    fields = {name: getattr(plan, name) for name in plan.__dataclass_fields__}
    return {"kind": kind, **fields}


def parse_plan(data: dict[str, Any]) -> HoldPlan | SetupPlan:
    kind = data.pop("kind", None)
    host, port = data.pop("target")
    target = (str(host), int(port))
    if kind == "hold":
        return HoldPlan(target=target, **data)
    if kind == "setup":
        rates = tuple(float(r) for r in data.pop("rates"))
        return SetupPlan(target=target, rates=rates, **data)
    raise ValueError(f"unknown plan kind {kind!r}: expected 'hold' or 'setup'")


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = min(len(ordered) - 1, max(0, math.ceil(q / 100.0 * len(ordered)) - 1))
    return ordered[rank]


def setup_step_result(rate: float, calls: list[Call], started: float) -> dict[str, Any]:
    """The figures of one set-up step, and whether it passed."""
    answered = [c.answered_at for c in calls if c.answered_at is not None]
    latencies = [
        (c.answered_at - c.invited_at) * 1000.0 for c in calls if c.answered_at is not None
    ]
    failures: dict[str, int] = {}
    for call in calls:
        if call.failure is not None:
            failures[call.failure] = failures.get(call.failure, 0) + 1
    span = max(answered) - min(answered) if len(answered) > 1 else 0.0
    achieved = (len(answered) - 1) / span if span > 0 else 0.0
    failed = sum(failures.values())
    unanswered = [c for c in calls if c.answered_at is None]
    return {
        # Of the calls never answered: how many the service at least acknowledged (100/180).
        "unanswered_with_provisional": sum(1 for c in unanswered if c.provisional.is_set()),
        "offered_rate": rate,
        "calls": len(calls),
        "answered": len(answered),
        "failed": failed,
        "failures": failures,
        "achieved_rate": achieved,
        "setup_p50_ms": _percentile(latencies, 50),
        "setup_p99_ms": _percentile(latencies, 99),
        "passed": failed == 0 and achieved >= KEEP_PACE * rate,
        "offered_seconds": (len(calls) - 1) / rate,
        "first_invite_after": min((c.invited_at for c in calls), default=started) - started,
    }

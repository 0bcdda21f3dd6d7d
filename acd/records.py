"""Per-call records and per-agent time, rebuilt from the ACD's event log.

``RecordBuilder.feed(events)`` turns the engine's events (live, or read back from the database
with ``acd.events.event_from_dict``) into one frozen ``CallRecord`` per call once the call is
over *and* every agent who handled it has finished wrap-up. A record holds what SPEC-Q1 asks
for: when the call entered the queue, every offer (agent, ring start, ring end, outcome), the
answer, abandon, transfers, holds, the end and who ended it — so "answered within 10 s" is exact
per call. ``AgentTimeTracker`` turns agent state changes into seconds per state per interval
(occupancy). Memory stays flat: finished calls are handed over and forgotten.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from acd.config import DEFAULT_SERVICE_LEVEL_SECONDS, DEFAULT_SHORT_ABANDON_SECONDS, QueueConfig
from acd.events import (
    AcdEvent,
    AgentStateChanged,
    CallAbandoned,
    CallAnswered,
    CallbackOutcome,
    CallbackRequested,
    CallbackResult,
    CallEnded,
    CallOverflowed,
    CallQueued,
    CallTransferred,
    HoldEnded,
    OfferEnded,
    OfferOutcome,
    OfferStarted,
    Party,
    SurveyAnswered,
    TalkEnded,
    WrapupEnded,
    WrapupSubmitted,
)
from acd.states import AgentState


class CallOutcome(StrEnum):
    """The one terminal outcome of a call."""

    ANSWERED = "answered"  # an agent talked to the caller (inbound or by callback)
    ABANDONED = "abandoned"
    OVERFLOWED = "overflowed"  # left the ACD for an outside target
    CALLBACK_FAILED = "callback_failed"


@dataclass(frozen=True, slots=True)
class Offer:
    agent_id: str
    ring_start: float
    ring_end: float
    outcome: OfferOutcome


@dataclass(frozen=True, slots=True)
class Handling:
    """One agent's part of a call: talk (hold excluded), hold and wrap-up seconds."""

    agent_id: str
    answered_at: float
    talk_seconds: float
    hold_seconds: float
    wrapup_seconds: float
    ended_by: Party | None

    @property
    def handle_seconds(self) -> float:
        return self.talk_seconds + self.hold_seconds + self.wrapup_seconds


@dataclass(frozen=True, slots=True)
class CallRecord:
    call_id: str
    queue: str  # the queue the caller first entered (metrics are counted there)
    final_queue: str
    caller: str
    queued_at: float
    offers: tuple[Offer, ...]
    answered_at: float | None  # first answer
    agent_id: str | None  # first answering agent
    abandoned_at: float | None
    overflowed_to: str | None
    transfers: int
    handlings: tuple[Handling, ...]
    ended_at: float
    ended_by: Party | None
    agent_hung_up_first: bool  # SPEC-Q7: an agent BYE first, recorded as such
    callback_number: str | None
    callback_outcome: CallbackOutcome | None
    call_type: str | None  # from the last submitted wrap-up
    resolved: bool | None  # ditto: resolved on first contact
    survey_score: int | None
    satisfied: bool | None
    outcome: CallOutcome
    service_level_seconds: float
    short_abandon_seconds: float

    @property
    def wait(self) -> float:
        """Seconds from entering the queue to the first answer, or to giving up."""
        end = self.answered_at if self.answered_at is not None else self.ended_at
        return end - self.queued_at

    @property
    def by_callback(self) -> bool:
        return self.callback_number is not None

    @property
    def answered_within_service_level(self) -> bool:
        """SPEC-Q1, exact per call: answered while waiting at most the threshold."""
        return (self.answered_at is not None and not self.by_callback
                and self.answered_at - self.queued_at <= self.service_level_seconds)

    @property
    def short_abandon(self) -> bool:
        return (self.outcome is CallOutcome.ABANDONED and not self.by_callback
                and self.wait <= self.short_abandon_seconds)

    @property
    def handle_seconds(self) -> float:
        return sum(h.handle_seconds for h in self.handlings)


class _OpenHandling:
    __slots__ = ("agent_id", "answered_at", "ended_by", "hold", "talk_end", "wrapup")

    def __init__(self, agent_id: str, at: float) -> None:
        self.agent_id = agent_id
        self.answered_at = at
        self.hold = 0.0
        self.talk_end: float | None = None
        self.ended_by: Party | None = None
        self.wrapup: float | None = None  # None until WrapupEnded

    def freeze(self) -> Handling:
        talk_end = self.talk_end if self.talk_end is not None else self.answered_at
        return Handling(self.agent_id, self.answered_at,
                        max(0.0, talk_end - self.answered_at - self.hold), self.hold,
                        self.wrapup or 0.0, self.ended_by)


class _OpenCall:
    __slots__ = ("abandoned_at", "agent_hung_up_first", "agent_id", "answered_at", "call_id",
                 "call_type", "callback_number", "callback_outcome", "caller", "ended_at",
                 "ended_by", "final_queue", "handlings", "offers", "outcome", "overflowed_to",
                 "queue", "queued_at", "resolved", "ringing", "satisfied", "score", "transfers")

    def __init__(self, ev: CallQueued) -> None:
        self.call_id = ev.call_id
        self.queue = ev.queue
        self.final_queue = ev.queue
        self.caller = ev.caller
        self.queued_at = ev.at
        self.offers: list[Offer] = []
        self.ringing: dict[str, float] = {}
        self.answered_at: float | None = None
        self.agent_id: str | None = None
        self.abandoned_at: float | None = None
        self.overflowed_to: str | None = None
        self.transfers = 0
        self.handlings: list[_OpenHandling] = []
        self.ended_at: float | None = None
        self.ended_by: Party | None = None
        self.agent_hung_up_first = False
        self.callback_number: str | None = None
        self.callback_outcome: CallbackOutcome | None = None
        self.call_type: str | None = None
        self.resolved: bool | None = None
        self.score: int | None = None
        self.satisfied: bool | None = None
        self.outcome: CallOutcome | None = None

    def handling(self, agent_id: str) -> _OpenHandling | None:
        for h in reversed(self.handlings):
            if h.agent_id == agent_id:
                return h
        return None


class RecordBuilder:
    """Feeds on ACD events; yields each call's record when the call and its wrap-ups end."""

    def __init__(self, queues: Iterable[QueueConfig] = ()) -> None:
        self._open: dict[str, _OpenCall] = {}
        self._thresholds = {q.name: (q.service_level_seconds, q.short_abandon_seconds)
                            for q in queues}

    @property
    def open_calls(self) -> int:
        return len(self._open)

    def feed(self, events: Iterable[AcdEvent]) -> Iterator[CallRecord]:
        apply = _APPLY
        opened = self._open
        for ev in events:
            fn = apply.get(type(ev))
            if fn is None:
                if type(ev) is CallQueued:
                    assert isinstance(ev, CallQueued)
                    opened[ev.call_id] = _OpenCall(ev)
                continue  # agent-only events, or an unknown kind
            call_id: str = ev.call_id  # type: ignore[union-attr]
            c = opened.get(call_id)
            if c is None:
                continue  # a call that entered before we started listening
            fn(c, ev)
            if c.outcome is not None and all(h.wrapup is not None for h in c.handlings):
                del opened[call_id]
                yield self._freeze(c)

    def _freeze(self, c: _OpenCall) -> CallRecord:
        assert c.outcome is not None and c.ended_at is not None
        sl, short = self._thresholds.get(
            c.queue, (DEFAULT_SERVICE_LEVEL_SECONDS, DEFAULT_SHORT_ABANDON_SECONDS))
        return CallRecord(
            c.call_id, c.queue, c.final_queue, c.caller, c.queued_at, tuple(c.offers),
            c.answered_at, c.agent_id, c.abandoned_at, c.overflowed_to, c.transfers,
            tuple(h.freeze() for h in c.handlings), c.ended_at, c.ended_by,
            c.agent_hung_up_first, c.callback_number, c.callback_outcome, c.call_type,
            c.resolved, c.score, c.satisfied, c.outcome, sl, short)


def _offer_started(c: _OpenCall, ev: OfferStarted) -> None:
    c.ringing[ev.agent_id] = ev.at


def _offer_ended(c: _OpenCall, ev: OfferEnded) -> None:
    start = c.ringing.pop(ev.agent_id, ev.at)
    c.offers.append(Offer(ev.agent_id, start, ev.at, ev.outcome))


def _answered(c: _OpenCall, ev: CallAnswered) -> None:
    if c.answered_at is None:
        c.answered_at = ev.at
        c.agent_id = ev.agent_id
    c.handlings.append(_OpenHandling(ev.agent_id, ev.at))


def _hold_ended(c: _OpenCall, ev: HoldEnded) -> None:
    h = c.handling(ev.agent_id)
    if h is not None:
        h.hold += ev.duration


def _talk_ended(c: _OpenCall, ev: TalkEnded) -> None:
    h = c.handling(ev.agent_id)
    if h is None:  # a callback that never reached the caller: the agent still wraps up
        h = _OpenHandling(ev.agent_id, ev.at)
        c.handlings.append(h)
    h.talk_end = ev.at
    h.ended_by = ev.ended_by
    if ev.ended_by is Party.AGENT:
        c.agent_hung_up_first = True


def _wrapup_ended(c: _OpenCall, ev: WrapupEnded) -> None:
    h = c.handling(ev.agent_id)
    if h is not None:
        h.wrapup = ev.duration


def _wrapup_submitted(c: _OpenCall, ev: WrapupSubmitted) -> None:
    c.call_type = ev.call_type
    c.resolved = ev.resolved


def _transferred(c: _OpenCall, ev: CallTransferred) -> None:
    c.transfers += 1
    if ev.to_queue is not None:
        c.final_queue = ev.to_queue


def _overflowed(c: _OpenCall, ev: CallOverflowed) -> None:
    if ev.left_acd:
        c.overflowed_to = ev.target
        c.ended_at = ev.at
        c.outcome = CallOutcome.OVERFLOWED
    else:
        c.final_queue = ev.target


def _abandoned(c: _OpenCall, ev: CallAbandoned) -> None:
    c.abandoned_at = ev.at
    c.ended_at = ev.at
    c.ended_by = Party.CALLER
    c.outcome = CallOutcome.ABANDONED


def _ended(c: _OpenCall, ev: CallEnded) -> None:
    c.ended_at = ev.at
    c.ended_by = ev.ended_by
    c.outcome = CallOutcome.ANSWERED


def _callback_requested(c: _OpenCall, ev: CallbackRequested) -> None:
    c.callback_number = ev.number


def _callback_result(c: _OpenCall, ev: CallbackResult) -> None:
    c.callback_outcome = ev.outcome
    if ev.outcome is not CallbackOutcome.ANSWERED:
        c.ended_at = ev.at
        c.ended_by = Party.SYSTEM
        c.outcome = CallOutcome.CALLBACK_FAILED


def _survey(c: _OpenCall, ev: SurveyAnswered) -> None:
    c.score = ev.score
    c.satisfied = ev.satisfied


# One handler per event type that changes a call's record (a dict lookup, not an isinstance
# chain: records are built for every simulated call too).
_APPLY: dict[type, Callable[[_OpenCall, Any], None]] = {
    OfferStarted: _offer_started,
    OfferEnded: _offer_ended,
    CallAnswered: _answered,
    HoldEnded: _hold_ended,
    TalkEnded: _talk_ended,
    WrapupEnded: _wrapup_ended,
    WrapupSubmitted: _wrapup_submitted,
    CallTransferred: _transferred,
    CallOverflowed: _overflowed,
    CallAbandoned: _abandoned,
    CallEnded: _ended,
    CallbackRequested: _callback_requested,
    CallbackResult: _callback_result,
    SurveyAnswered: _survey,
}


# Occupancy counts these as working on calls, out of all staffed states (SPEC-Q2, see
# acd.metrics): ringing is time available for calls, not time handling them.
BUSY_FOR_OCCUPANCY = frozenset({AgentState.TALKING, AgentState.ON_HOLD, AgentState.WRAPUP})


class AgentTimeTracker:
    """Seconds each agent spent in each state, split into fixed intervals."""

    def __init__(self, bucket_seconds: float, *, utc_offset: float = 0.0) -> None:
        if bucket_seconds <= 0:
            raise ValueError("bucket_seconds must be positive")
        self._size = bucket_seconds
        self._offset = utc_offset
        self._since: dict[str, tuple[AgentState, float]] = {}
        self.seconds: dict[tuple[str, float], dict[AgentState, float]] = {}

    def feed(self, events: Iterable[AcdEvent]) -> None:
        for ev in events:
            if type(ev) is AgentStateChanged:
                assert isinstance(ev, AgentStateChanged)
                self._close(ev.agent_id, ev.at)
                self._since[ev.agent_id] = (ev.new, ev.at)

    def close(self, now: float) -> None:
        """Count time up to ``now`` for agents still in a state (end of a report period)."""
        for agent_id in list(self._since):
            self._close(agent_id, now)
            state, _ = self._since[agent_id]
            self._since[agent_id] = (state, now)

    def _close(self, agent_id: str, now: float) -> None:
        prev = self._since.get(agent_id)
        if prev is None:
            return
        state, start = prev
        size, off = self._size, self._offset
        while start < now:
            bucket = ((start + off) // size) * size - off
            end = min(now, bucket + size)
            per = self.seconds.setdefault((agent_id, bucket), {})
            per[state] = per.get(state, 0.0) + (end - start)
            start = end

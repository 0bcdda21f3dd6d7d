"""Typed, frozen events of the ACD's append-only log (in the spirit of Asterisk's queue_log).

Every state change of a call or an agent is one event. The engine appends them to an outbox
(``AcdEngine.drain_events``); the database layer persists them, the web layer pushes them, and
``acd.records`` rebuilds per-call records from them. Each event carries ``at``, the engine time
at which it happened. ``event_to_dict`` gives a JSON-ready form with a ``type`` key.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import Enum, StrEnum
from typing import Any

from acd.config import SkillLevel
from acd.states import AgentState


class Party(StrEnum):
    CALLER = "caller"
    AGENT = "agent"
    SYSTEM = "system"
    TRANSFER = "transfer"  # the agent's part ended by handing the call on, not by hanging up


class OfferOutcome(StrEnum):
    ANSWERED = "answered"
    TIMEOUT = "timeout"  # no answer within the queue's ring timeout
    DECLINED = "declined"
    BUSY = "busy"
    UNREACHABLE = "unreachable"
    CALLER_ABANDONED = "caller_abandoned"
    CANCELLED = "cancelled"  # another agent answered (ring all), or the agent logged out


# Outcomes that count as a miss towards SPEC's "N consecutive misses → not ready".
MISSED_OUTCOMES = frozenset(
    {OfferOutcome.TIMEOUT, OfferOutcome.DECLINED, OfferOutcome.BUSY, OfferOutcome.UNREACHABLE}
)


class CallbackOutcome(StrEnum):
    ANSWERED = "answered"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class CallQueued:
    at: float
    call_id: str
    queue: str
    caller: str
    skill: str | None
    min_level: SkillLevel
    priority: int
    menu_path: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class OfferStarted:
    at: float
    call_id: str
    agent_id: str
    queue: str
    callback: bool  # the agent is rung to place a callback


@dataclass(frozen=True, slots=True)
class OfferEnded:
    at: float
    call_id: str
    agent_id: str
    outcome: OfferOutcome


@dataclass(frozen=True, slots=True)
class CallAnswered:
    """The caller is talking to an agent. ``wait`` runs from entering the first queue."""

    at: float
    call_id: str
    agent_id: str
    queue: str
    wait: float
    late: bool  # answered after the queue's service-level threshold (SPEC-Q1 → P4)
    first: bool  # the call's first answer (later ones follow a transfer)


@dataclass(frozen=True, slots=True)
class CallAbandoned:
    at: float
    call_id: str
    queue: str
    wait: float


@dataclass(frozen=True, slots=True)
class CallOverflowed:
    at: float
    call_id: str
    queue: str
    target: str
    left_acd: bool  # the target is not one of the engine's queues


@dataclass(frozen=True, slots=True)
class CallTransferred:
    at: float
    call_id: str
    from_agent: str
    to_queue: str | None
    to_agent: str | None
    attended: bool
    to_senior: bool  # a junior handing to a senior: the caller heard P9 first


@dataclass(frozen=True, slots=True)
class TransferFailed:
    at: float
    call_id: str
    from_agent: str
    to_agent: str | None


@dataclass(frozen=True, slots=True)
class TalkEnded:
    """The conversation with one agent is over; the agent goes to wrap-up."""

    at: float
    call_id: str
    agent_id: str
    ended_by: Party  # AGENT here is SPEC-Q7's "agent BYE first", recorded as such


@dataclass(frozen=True, slots=True)
class CallEnded:
    """Terminal: the caller's leg is gone (after the closing/survey flow, or a hang-up)."""

    at: float
    call_id: str
    ended_by: Party


@dataclass(frozen=True, slots=True)
class HoldStarted:
    at: float
    call_id: str
    agent_id: str
    reason: str  # SPEC-Q5: a hold needs a stated reason


@dataclass(frozen=True, slots=True)
class HoldEnded:
    at: float
    call_id: str
    agent_id: str
    duration: float


@dataclass(frozen=True, slots=True)
class AgentStateChanged:
    at: float
    agent_id: str
    old: AgentState
    new: AgentState
    reason: str | None  # the not-ready reason, when ``new`` is NOT_READY


@dataclass(frozen=True, slots=True)
class AgentAutoPaused:
    """Supervisor-visible: the agent missed N offers in a row and was set not ready."""

    at: float
    agent_id: str
    misses: int


@dataclass(frozen=True, slots=True)
class WrapupSubmitted:
    at: float
    agent_id: str
    call_id: str
    call_type: str
    summary: str
    resolved: bool  # resolved on first contact (SPEC-Q2 一次问题处理率)


@dataclass(frozen=True, slots=True)
class WrapupEnded:
    at: float
    agent_id: str
    call_id: str
    duration: float
    submitted: bool  # False: the wrap-up time ran out


@dataclass(frozen=True, slots=True)
class CallbackOffered:
    at: float
    call_id: str


@dataclass(frozen=True, slots=True)
class CallbackRequested:
    at: float
    call_id: str
    number: str


@dataclass(frozen=True, slots=True)
class CallbackPlaced:
    at: float
    call_id: str
    agent_id: str
    number: str


@dataclass(frozen=True, slots=True)
class CallbackResult:
    at: float
    call_id: str
    agent_id: str
    outcome: CallbackOutcome


@dataclass(frozen=True, slots=True)
class SurveyAnswered:
    at: float
    call_id: str
    agent_id: str | None
    score: int
    satisfied: bool  # SPEC-Q2 满意率 counts these


AcdEvent = (
    CallQueued | OfferStarted | OfferEnded | CallAnswered | CallAbandoned | CallOverflowed
    | CallTransferred | TransferFailed | TalkEnded | CallEnded | HoldStarted | HoldEnded
    | AgentStateChanged | AgentAutoPaused | WrapupSubmitted | WrapupEnded | CallbackOffered
    | CallbackRequested | CallbackPlaced | CallbackResult | SurveyAnswered
)

EVENT_TYPES: dict[str, type[Any]] = {
    cls.__name__: cls
    for cls in (
        CallQueued, OfferStarted, OfferEnded, CallAnswered, CallAbandoned, CallOverflowed,
        CallTransferred, TransferFailed, TalkEnded, CallEnded, HoldStarted, HoldEnded,
        AgentStateChanged, AgentAutoPaused, WrapupSubmitted, WrapupEnded, CallbackOffered,
        CallbackRequested, CallbackPlaced, CallbackResult, SurveyAnswered,
    )
}


def event_to_dict(event: AcdEvent) -> dict[str, Any]:
    """JSON-ready: enums become their values, tuples lists, plus ``type`` = the class name."""
    out: dict[str, Any] = {"type": type(event).__name__}
    for f in fields(event):
        value = getattr(event, f.name)
        if isinstance(value, Enum):
            value = value.value
        elif isinstance(value, tuple):
            value = list(value)
        out[f.name] = value
    return out


def event_from_dict(data: dict[str, Any]) -> AcdEvent:
    """Inverse of ``event_to_dict`` (for rebuilding records from a stored log)."""
    cls = EVENT_TYPES.get(str(data.get("type")))
    if cls is None:
        raise ValueError(f"unknown ACD event type {data.get('type')!r}")
    kwargs: dict[str, Any] = {}
    for f in fields(cls):
        if f.name not in data:
            raise ValueError(f"{cls.__name__} lacks field {f.name!r}")
        value = data[f.name]
        kwargs[f.name] = _revive(cls.__name__, f.name, value)
    event: AcdEvent = cls(**kwargs)
    return event


_ENUM_FIELDS: dict[tuple[str, str], type[Enum]] = {
    ("CallQueued", "min_level"): SkillLevel,
    ("OfferEnded", "outcome"): OfferOutcome,
    ("TalkEnded", "ended_by"): Party,
    ("CallEnded", "ended_by"): Party,
    ("AgentStateChanged", "old"): AgentState,
    ("AgentStateChanged", "new"): AgentState,
    ("CallbackResult", "outcome"): CallbackOutcome,
}


def _revive(type_name: str, field_name: str, value: Any) -> Any:
    enum = _ENUM_FIELDS.get((type_name, field_name))
    if enum is not None:
        return enum(value)
    if isinstance(value, list):
        return tuple(value)
    return value

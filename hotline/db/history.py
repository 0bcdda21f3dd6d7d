"""Reading the ACD's history back as the ACD's own types: per-call records (``acd.records``)
and agent state changes, so that reports and the live figures after a restart are computed
by ``acd.metrics`` from exactly what was logged."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from acd.config import QueueConfig
from acd.events import EVENT_TYPES, AcdEvent, AgentStateChanged, event_from_dict
from acd.records import CallRecord, RecordBuilder
from hotline.db.store import EventStore, LoggedEvent

# How far back ``load_agent_states`` looks for each agent's state at the start of a range:
# a working agent's last state change is always within a day (shifts, breaks, logouts).
AGENT_STATE_LOOKBACK_SECONDS = 86400.0


def acd_events(logged: Iterable[LoggedEvent]) -> list[AcdEvent]:
    """The ACD events among ``logged``, revived; other features' events are skipped."""
    return [event_from_dict(event.as_dict()) for event in logged if event.event in EVENT_TYPES]


async def load_call_records(
    store: EventStore,
    start: float,
    end: float,
    *,
    queue: str | None = None,
    queues: Sequence[QueueConfig] = (),
) -> list[CallRecord]:
    """Records of the calls that entered ``queue`` (or any queue) in ``[start, end)`` and
    are over, wrap-ups included; calls still in progress are left out.

    ``queues`` gives each queue's service-level and short-abandon thresholds; a queue not
    listed gets the ACD's defaults (10 s and 5 s).
    """
    logged = await store.load_call_events(start, end, queue=queue)
    return list(RecordBuilder(queues).feed(acd_events(logged)))


async def load_agent_states(
    store: EventStore,
    start: float,
    end: float,
    *,
    lookback: float = AGENT_STATE_LOOKBACK_SECONDS,
) -> list[AgentStateChanged]:
    """Agent state changes up to ``end``, from ``lookback`` seconds before ``start`` so that
    each agent's state at ``start`` is known (feed them to ``acd.records.AgentTimeTracker``)."""
    logged = await store.load_events(start - lookback, end, types=(AgentStateChanged.__name__,))
    return [event for event in acd_events(logged) if isinstance(event, AgentStateChanged)]

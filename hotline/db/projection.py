"""Keeping the call-record tables (calls, legs, wrap-ups, survey answers, callbacks) up to
date from the events as they are logged, in the same transaction as the log rows.

One handler per event type, in one table (``HANDLERS``); an event type without a handler is
logged but changes no record (agent state changes, for example, live in the log alone). The
handlers read the encoded JSON form, not the dataclass, so the records can be rebuilt from
the stored log with the very same code (``EventStore.rebuild_records``). Field names follow
``acd/events.py``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.db.codec import EncodedEvent
from hotline.db.models import CallbackRow, CallRow, LegRow, SurveyAnswerRow, WrapupRow

# calls.outcome values written here (the ACD's vocabulary lives in acd/events.py).
OUTCOME_ANSWERED = "answered"
OUTCOME_ABANDONED = "abandoned"
OUTCOME_OVERFLOWED = "overflowed"
OUTCOME_CALLBACK = "callback"

# callbacks.status values, in the order a callback goes through them.
CALLBACK_REQUESTED = "requested"
CALLBACK_PLACED = "placed"
CALLBACK_DONE = "done"

Handler = Callable[[AsyncSession, EncodedEvent], Awaitable[None]]


def _text(data: Mapping[str, Any], name: str) -> str | None:
    value = data.get(name)
    return None if value is None else str(value)


def _number(data: Mapping[str, Any], name: str) -> float | None:
    value = data.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


async def _call(session: AsyncSession, event: EncodedEvent) -> CallRow | None:
    """The call's record, created on the first event that names the call."""
    if event.call_id is None:
        return None
    row = await session.get(CallRow, event.call_id)
    if row is None:
        row = CallRow(
            call_id=event.call_id,
            queue=event.queue,
            started_at=event.at,
            hold_seconds=0.0,
            holds=0,
            transfers=0,
        )
        session.add(row)
        # Flushed now so that child rows inserted next always find their parent.
        await session.flush()
    return row


async def _latest_leg(
    session: AsyncSession,
    call_id: str,
    agent_id: str,
    *,
    open_ring: bool = False,
    talking: bool = False,
) -> LegRow | None:
    query = select(LegRow).where(LegRow.call_id == call_id, LegRow.agent_id == agent_id)
    if open_ring:
        query = query.where(LegRow.ring_ended_at.is_(None))
    if talking:
        query = query.where(LegRow.answered_at.is_not(None), LegRow.ended_at.is_(None))
    result = await session.execute(query.order_by(LegRow.id.desc()).limit(1))
    return result.scalar_one_or_none()


async def _call_queued(session: AsyncSession, event: EncodedEvent) -> None:
    call = await _call(session, event)
    if call is None:
        return
    # A transfer to another queue queues the call again; the record keeps the first queue,
    # because SPEC-Q1's wait runs from the first time the caller asked for an agent.
    if call.entered_queue_at is None:
        call.entered_queue_at = event.at
        call.queue = event.queue
    if call.caller is None:
        call.caller = _text(event.data, "caller")


async def _offer_started(session: AsyncSession, event: EncodedEvent) -> None:
    call = await _call(session, event)
    if call is None or event.agent_id is None:
        return
    session.add(LegRow(call_id=call.call_id, agent_id=event.agent_id, offered_at=event.at))


async def _offer_ended(session: AsyncSession, event: EncodedEvent) -> None:
    if event.call_id is None or event.agent_id is None:
        return
    leg = await _latest_leg(session, event.call_id, event.agent_id, open_ring=True)
    if leg is None:
        return
    leg.ring_ended_at = event.at
    leg.outcome = _text(event.data, "outcome")


async def _call_answered(session: AsyncSession, event: EncodedEvent) -> None:
    call = await _call(session, event)
    if call is None or event.agent_id is None:
        return
    if call.answered_at is None:
        call.answered_at = event.at
        call.agent_id = event.agent_id
        call.outcome = OUTCOME_ANSWERED
    leg = await _latest_leg(session, call.call_id, event.agent_id)
    if leg is None:
        # Answered without a recorded offer (an attended transfer straight to an agent).
        leg = LegRow(call_id=call.call_id, agent_id=event.agent_id, offered_at=event.at)
        session.add(leg)
    if leg.ring_ended_at is None:
        leg.ring_ended_at = event.at
        leg.outcome = OUTCOME_ANSWERED
    leg.answered_at = event.at


async def _call_abandoned(session: AsyncSession, event: EncodedEvent) -> None:
    call = await _call(session, event)
    if call is not None and call.answered_at is None:
        call.abandoned_at = event.at
        call.outcome = OUTCOME_ABANDONED


async def _call_overflowed(session: AsyncSession, event: EncodedEvent) -> None:
    call = await _call(session, event)
    if call is not None and call.answered_at is None and event.data.get("left_acd"):
        call.outcome = OUTCOME_OVERFLOWED


async def _call_transferred(session: AsyncSession, event: EncodedEvent) -> None:
    call = await _call(session, event)
    if call is not None:
        call.transfers += 1


async def _talk_ended(session: AsyncSession, event: EncodedEvent) -> None:
    if event.call_id is None or event.agent_id is None:
        return
    leg = await _latest_leg(session, event.call_id, event.agent_id, talking=True)
    if leg is not None:
        leg.ended_at = event.at
        leg.ended_by = _text(event.data, "ended_by")


def _close_hold(call: CallRow, at: float) -> None:
    if call.hold_started_at is not None:
        call.hold_seconds += max(0.0, at - call.hold_started_at)
        call.hold_started_at = None


async def _call_ended(session: AsyncSession, event: EncodedEvent) -> None:
    call = await _call(session, event)
    if call is None:
        return
    _close_hold(call, event.at)
    call.ended_at = event.at
    call.ended_by = _text(event.data, "ended_by")


async def _hold_started(session: AsyncSession, event: EncodedEvent) -> None:
    call = await _call(session, event)
    if call is not None:
        call.holds += 1
        call.hold_started_at = event.at


async def _hold_ended(session: AsyncSession, event: EncodedEvent) -> None:
    call = await _call(session, event)
    if call is None:
        return
    duration = _number(event.data, "duration")
    if duration is not None and call.hold_started_at is not None:
        # The ACD measured the hold; its figure is the one the agent desktop showed.
        call.hold_seconds += duration
        call.hold_started_at = None
    else:
        _close_hold(call, event.at)


async def _open_wrapup(session: AsyncSession, event: EncodedEvent) -> WrapupRow | None:
    """The agent's wrap-up of the call that has not ended yet, created when first seen."""
    call = await _call(session, event)
    if call is None or event.agent_id is None:
        return None
    result = await session.execute(
        select(WrapupRow)
        .where(
            WrapupRow.call_id == call.call_id,
            WrapupRow.agent_id == event.agent_id,
            WrapupRow.ended_at.is_(None),
        )
        .order_by(WrapupRow.id.desc())
        .limit(1)
    )
    row = result.scalar_one_or_none()
    if row is None:
        row = WrapupRow(call_id=call.call_id, agent_id=event.agent_id)
        session.add(row)
    return row


async def _wrapup_submitted(session: AsyncSession, event: EncodedEvent) -> None:
    row = await _open_wrapup(session, event)
    if row is None:
        return
    row.call_type = _text(event.data, "call_type")
    row.summary = _text(event.data, "summary")
    resolved = event.data.get("resolved")
    row.resolved_first_contact = resolved if isinstance(resolved, bool) else None
    row.submitted_at = event.at


async def _wrapup_ended(session: AsyncSession, event: EncodedEvent) -> None:
    row = await _open_wrapup(session, event)
    if row is None:
        return
    row.ended_at = event.at
    row.seconds = _number(event.data, "duration")


async def _survey_answered(session: AsyncSession, event: EncodedEvent) -> None:
    call = await _call(session, event)
    if call is None:
        return
    score = event.data.get("score")
    session.add(
        SurveyAnswerRow(
            call_id=call.call_id,
            agent_id=event.agent_id,
            score=score if isinstance(score, int) and not isinstance(score, bool) else None,
            satisfied=bool(event.data.get("satisfied")),
            answered_at=event.at,
        )
    )


async def _latest_callback(session: AsyncSession, call_id: str) -> CallbackRow | None:
    result = await session.execute(
        select(CallbackRow)
        .where(CallbackRow.call_id == call_id)
        .order_by(CallbackRow.id.desc())
        .limit(1)
    )
    return result.scalar_one_or_none()


async def _callback_requested(session: AsyncSession, event: EncodedEvent) -> None:
    call = await _call(session, event)
    if call is None:
        return
    if call.answered_at is None:
        call.outcome = OUTCOME_CALLBACK
    session.add(
        CallbackRow(
            call_id=call.call_id,
            number=_text(event.data, "number"),
            queue=call.queue,
            requested_at=event.at,
            status=CALLBACK_REQUESTED,
        )
    )


async def _callback_placed(session: AsyncSession, event: EncodedEvent) -> None:
    if event.call_id is None:
        return
    row = await _latest_callback(session, event.call_id)
    if row is not None:
        row.status = CALLBACK_PLACED
        row.agent_id = event.agent_id


async def _callback_result(session: AsyncSession, event: EncodedEvent) -> None:
    if event.call_id is None:
        return
    row = await _latest_callback(session, event.call_id)
    if row is not None:
        row.status = CALLBACK_DONE
        row.agent_id = event.agent_id or row.agent_id
        row.outcome = _text(event.data, "outcome")
        row.completed_at = event.at


HANDLERS: dict[str, Handler] = {
    "CallQueued": _call_queued,
    "OfferStarted": _offer_started,
    "OfferEnded": _offer_ended,
    "CallAnswered": _call_answered,
    "CallAbandoned": _call_abandoned,
    "CallOverflowed": _call_overflowed,
    "CallTransferred": _call_transferred,
    "TalkEnded": _talk_ended,
    "CallEnded": _call_ended,
    "HoldStarted": _hold_started,
    "HoldEnded": _hold_ended,
    "WrapupSubmitted": _wrapup_submitted,
    "WrapupEnded": _wrapup_ended,
    "SurveyAnswered": _survey_answered,
    "CallbackRequested": _callback_requested,
    "CallbackPlaced": _callback_placed,
    "CallbackResult": _callback_result,
}


async def project(session: AsyncSession, event: EncodedEvent) -> None:
    """Apply one logged event to the call records (no-op for types without a handler)."""
    handler = HANDLERS.get(event.event)
    if handler is not None:
        await handler(session, event)

"""The event store: appends typed events to the event log and the call records in one
transaction, acknowledging each event only after its commit; and reads them back.

Writes go through one writer task per store that commits whatever has queued up since its
last commit in a single transaction (group commit): under load one fsync covers many events,
and every caller of ``append`` still returns only once its own events are durable (issue 5:
"an event that was acknowledged is never lost"). If a batch fails, each request in it is
retried alone, so one bad event fails only its own caller.

The log is append-only: this module never updates or deletes an ``event_log`` row, and the
database refuses it anyway (triggers from migration 0001).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.db.codec import EncodedEvent, encode_event
from hotline.db.engine import Database
from hotline.db.models import (
    CallbackRow,
    CallRow,
    EventLogRow,
    LegRow,
    SurveyAnswerRow,
    WrapupRow,
)
from hotline.db.projection import project
from hotline.db.records import (
    StoredCall,
    StoredCallback,
    StoredOffer,
    StoredSurveyAnswer,
    StoredWrapup,
)

log = logging.getLogger(__name__)

# Most events one transaction takes. Bounds the time a commit holds SQLite's write lock and
# the work lost to a retry; a busy hour of the hotline is a few events per second, so a batch
# this large only forms after a database stall.
MAX_BATCH_EVENTS = 500

# Rows per SELECT when reading calls' children (SQLite's bound-parameter limit is 32766;
# PostgreSQL's 65535); far below both.
READ_CHUNK = 500


class StoreClosedError(RuntimeError):
    """An event was given to a store that is closed; it was not written."""


@dataclass(frozen=True, slots=True)
class LoggedEvent:
    """One row of the event log as read back."""

    id: int
    at: float
    event: str
    call_id: str | None
    queue: str | None
    agent_id: str | None
    data: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        """The event's fields plus ``type`` (the form ``acd.events.event_from_dict`` reads)."""
        return {"type": self.event, **self.data}


@dataclass(slots=True)
class _Request:
    events: list[EncodedEvent]
    done: asyncio.Future[list[int]] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class EventStore:
    """Durable event log plus call records on one ``Database``.

    Use as ``async with EventStore(database) as store:``; ``close()`` writes what is already
    queued before it returns. The store does not own the database (close that separately).
    """

    def __init__(self, database: Database, *, max_batch_events: int = MAX_BATCH_EVENTS) -> None:
        self._database = database
        self._max_batch = max_batch_events
        self._queue: asyncio.Queue[_Request | None] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self._closed = False

    async def __aenter__(self) -> EventStore:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- writing ---------------------------------------------------------------------------

    async def append(self, events: Iterable[object]) -> list[int]:
        """Log ``events`` (in order) and update the call records; return their log ids.

        Returns only after the transaction holding them has committed. Raises
        ``EventEncodingError`` before writing anything if an event cannot be logged.
        """
        encoded = [encode_event(event) for event in events]
        if not encoded:
            return []
        return await self._enqueue(encoded)

    def submit(self, event: object) -> asyncio.Future[list[int]]:
        """``append`` for synchronous emitters (a ``Notifier`` handler): queue ``event`` now,
        the future resolves after its commit. Encoding errors raise here, at once."""
        encoded = [encode_event(event)]
        request = self._request(encoded)
        return request.done

    async def _enqueue(self, encoded: list[EncodedEvent]) -> list[int]:
        return await self._request(encoded).done

    def _request(self, encoded: list[EncodedEvent]) -> _Request:
        if self._closed:
            raise StoreClosedError("the event store is closed; the event was not written")
        request = _Request(encoded)
        self._queue.put_nowait(request)
        # A writer that died (cancelled with its loop, or a bug) is replaced, so queued
        # requests are never left without anyone to commit them.
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(
                self._write_loop(), name="hotline-event-store-writer"
            )
        return request

    async def close(self) -> None:
        """Stop accepting events, write everything already queued, stop the writer."""
        if self._closed:
            return
        self._closed = True
        if self._writer is not None and not self._writer.done():
            self._queue.put_nowait(None)
            await self._writer

    async def _write_loop(self) -> None:
        while True:
            first = await self._queue.get()
            if first is None:
                return
            batch = [first]
            size = len(first.events)
            stop = False
            while size < self._max_batch and not self._queue.empty():
                more = self._queue.get_nowait()
                if more is None:
                    stop = True
                    break
                batch.append(more)
                size += len(more.events)
            await self._write_batch(batch)
            if stop:
                return

    async def _write_batch(self, batch: list[_Request]) -> None:
        try:
            ids = await self._commit([event for request in batch for event in request.events])
        except Exception as error:
            if len(batch) == 1:
                log.error("event store: write failed: %s", error)
                _settle(batch[0], error=error)
                return
            # Isolate the bad request: every other caller's events still get written.
            for request in batch:
                await self._write_batch([request])
            return
        offset = 0
        for request in batch:
            count = len(request.events)
            _settle(request, ids=ids[offset : offset + count])
            offset += count

    async def _commit(self, events: Sequence[EncodedEvent]) -> list[int]:
        async with self._database.sessions() as session, session.begin():
            ids = await _insert_log_rows(session, events)
            for event in events:
                await project(session, event)
        return ids

    async def rebuild_records(self) -> int:
        """Recompute every call record from the event log (after a projection fix); the log
        itself is only read. Returns the number of events replayed."""
        replayed = 0
        async with self._database.sessions() as session, session.begin():
            for table in (CallbackRow, SurveyAnswerRow, WrapupRow, LegRow, CallRow):
                await session.execute(delete(table))
            rows = await session.stream_scalars(select(EventLogRow).order_by(EventLogRow.id))
            async for row in rows:
                await project(session, _encoded(row))
                replayed += 1
        return replayed

    # -- reading ---------------------------------------------------------------------------

    async def load_events(
        self,
        start: float,
        end: float,
        *,
        queue: str | None = None,
        call_id: str | None = None,
        types: Collection[str] | None = None,
    ) -> list[LoggedEvent]:
        """Logged events with ``start <= at < end`` in log order, optionally only those
        carrying ``queue`` or ``call_id``, or of the given type names."""
        query = select(EventLogRow).where(EventLogRow.at >= start, EventLogRow.at < end)
        if types is not None:
            query = query.where(EventLogRow.event.in_(list(types)))
        if queue is not None:
            query = query.where(EventLogRow.queue == queue)
        if call_id is not None:
            query = query.where(EventLogRow.call_id == call_id)
        async with self._database.sessions() as session:
            rows = (await session.scalars(query.order_by(EventLogRow.id))).all()
        return [_logged(row) for row in rows]

    async def load_call_events(
        self, start: float, end: float, *, queue: str | None = None
    ) -> list[LoggedEvent]:
        """Every logged event of the calls that asked for an agent in ``[start, end)`` (in
        ``queue``, the first queue they entered, if given), however late the event: a call
        queued at 09:59 and answered at 10:01 belongs to the 09:45 interval whole."""
        calls = _calls_in(start, end, queue).with_only_columns(CallRow.call_id)
        query = (
            select(EventLogRow)
            .where(EventLogRow.call_id.in_(calls.scalar_subquery()))
            .order_by(EventLogRow.id)
        )
        async with self._database.sessions() as session:
            rows = (await session.scalars(query)).all()
        return [_logged(row) for row in rows]

    async def load_calls(
        self, start: float, end: float, *, queue: str | None = None
    ) -> list[StoredCall]:
        """The records of calls that asked for an agent in ``[start, end)`` (optionally in
        ``queue``), ordered by the time they did."""
        async with self._database.sessions() as session:
            calls = (
                await session.scalars(
                    _calls_in(start, end, queue).order_by(CallRow.entered_queue_at, CallRow.call_id)
                )
            ).all()
            ids = [call.call_id for call in calls]
            legs = await _children(session, LegRow, ids, LegRow.offered_at)
            wrapups = await _children(session, WrapupRow, ids, WrapupRow.id)
            answers = await _children(session, SurveyAnswerRow, ids, SurveyAnswerRow.answered_at)
            callbacks = await _children(session, CallbackRow, ids, CallbackRow.requested_at)
        return [
            _stored_call(
                call,
                legs.get(call.call_id, []),
                wrapups.get(call.call_id, []),
                answers.get(call.call_id, []),
                callbacks.get(call.call_id, []),
            )
            for call in calls
        ]

    async def queue_names(self) -> list[str]:
        """Every queue a call has entered, as recorded."""
        async with self._database.sessions() as session:
            names = await session.scalars(
                select(CallRow.queue).where(CallRow.queue.is_not(None)).distinct()
            )
            return sorted(name for name in names if name is not None)

    async def count_events(self) -> int:
        async with self._database.sessions() as session:
            return int((await session.scalar(select(func.count(EventLogRow.id)))) or 0)


def _settle(
    request: _Request, *, ids: list[int] | None = None, error: BaseException | None = None
) -> None:
    if request.done.done():
        return  # the caller was cancelled; its events are written all the same
    if error is not None:
        request.done.set_exception(error)
    else:
        request.done.set_result(ids or [])


async def _insert_log_rows(session: AsyncSession, events: Sequence[EncodedEvent]) -> list[int]:
    statement = insert(EventLogRow).returning(EventLogRow.id, sort_by_parameter_order=True)
    result = await session.execute(
        statement,
        [
            {
                "at": event.at,
                "call_id": event.call_id,
                "queue": event.queue,
                "agent_id": event.agent_id,
                "event": event.event,
                "data": event.data,
            }
            for event in events
        ],
    )
    return [int(row_id) for row_id in result.scalars().all()]


def _encoded(row: EventLogRow) -> EncodedEvent:
    return EncodedEvent(
        event=row.event,
        at=row.at,
        call_id=row.call_id,
        queue=row.queue,
        agent_id=row.agent_id,
        data=row.data,
    )


def _logged(row: EventLogRow) -> LoggedEvent:
    return LoggedEvent(
        id=row.id,
        at=row.at,
        event=row.event,
        call_id=row.call_id,
        queue=row.queue,
        agent_id=row.agent_id,
        data=dict(row.data),
    )


def _calls_in(start: float, end: float, queue: str | None) -> Any:
    query = select(CallRow).where(CallRow.entered_queue_at >= start, CallRow.entered_queue_at < end)
    if queue is not None:
        query = query.where(CallRow.queue == queue)
    return query


async def _children(
    session: AsyncSession, model: Any, call_ids: list[str], order: Any
) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for offset in range(0, len(call_ids), READ_CHUNK):
        chunk = call_ids[offset : offset + READ_CHUNK]
        rows = await session.scalars(
            select(model).where(model.call_id.in_(chunk)).order_by(order, model.id)
        )
        for row in rows:
            out.setdefault(row.call_id, []).append(row)
    return out


def _stored_call(
    call: CallRow,
    legs: list[LegRow],
    wrapups: list[WrapupRow],
    answers: list[SurveyAnswerRow],
    callbacks: list[CallbackRow],
) -> StoredCall:
    return StoredCall(
        call_id=call.call_id,
        queue=call.queue,
        caller=call.caller,
        started_at=call.started_at,
        entered_queue_at=call.entered_queue_at,
        answered_at=call.answered_at,
        agent_id=call.agent_id,
        abandoned_at=call.abandoned_at,
        ended_at=call.ended_at,
        ended_by=call.ended_by,
        outcome=call.outcome,
        hold_seconds=call.hold_seconds,
        holds=call.holds,
        transfers=call.transfers,
        offers=tuple(
            StoredOffer(
                agent_id=leg.agent_id,
                offered_at=leg.offered_at,
                ring_ended_at=leg.ring_ended_at,
                outcome=leg.outcome,
                answered_at=leg.answered_at,
                ended_at=leg.ended_at,
                ended_by=leg.ended_by,
            )
            for leg in legs
        ),
        wrapups=tuple(
            StoredWrapup(
                agent_id=w.agent_id,
                call_type=w.call_type,
                summary=w.summary,
                resolved_first_contact=w.resolved_first_contact,
                submitted_at=w.submitted_at,
                ended_at=w.ended_at,
                seconds=w.seconds,
            )
            for w in wrapups
        ),
        survey=tuple(
            StoredSurveyAnswer(
                agent_id=a.agent_id,
                score=a.score,
                satisfied=a.satisfied,
                answered_at=a.answered_at,
            )
            for a in answers
        ),
        callbacks=tuple(
            StoredCallback(
                number=c.number,
                requested_at=c.requested_at,
                status=c.status,
                agent_id=c.agent_id,
                completed_at=c.completed_at,
                outcome=c.outcome,
            )
            for c in callbacks
        ),
    )

"""The call pop: what an agent sees the moment their phone rings — who calls, the menu keys
they pressed, how long they have waited, their earlier contacts and open complaints.

``CallDirectory`` remembers, from the ACD's own events, each live call's first queue entry
(``CallQueued``: caller, menu path) and answer (``CallAnswered``: wait, late); the earlier
contacts come from the call records in the database.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from acd.events import (
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallQueued,
    CallTransferred,
    OfferStarted,
)
from agent_desktop.desk_services import ComplaintService
from hotline.accounts.errors import NotFound
from hotline.db.models import CallRow, WrapupRow
from hotline.notifier import Notifier

# Earlier contacts shown in the pop: enough to see a pattern of repeat calls.
EARLIER_CONTACTS = 5
# Calls the directory remembers after they end (a late wrap-up still finds its pop).
ENDED_KEPT = 200
# A hard bound on remembered calls, whatever events are lost: far above the calls a centre
# has in progress at once, so only forgotten leftovers are ever evicted (oldest first).
MAX_REMEMBERED = 20_000


@dataclass(slots=True)
class LiveInfo:
    call_id: str
    caller: str
    queue: str
    menu_path: tuple[str, ...]
    queued_at: float
    answered_at: float | None = None
    wait: float | None = None
    late: bool = False
    agent_id: str | None = None
    offered_to: str | None = None
    transferred_from: str | None = None
    to_senior: bool = False


class CallDirectory:
    def __init__(
        self,
        notifier: Notifier,
        sessions: async_sessionmaker[AsyncSession],
        complaints: ComplaintService,
        clock: Callable[[], float],
    ) -> None:
        self._calls: dict[str, LiveInfo] = {}
        self._ended: list[str] = []
        self._sessions = sessions
        self._complaints = complaints
        self._clock = clock
        notifier.subscribe(CallQueued, self._queued)
        notifier.subscribe(OfferStarted, self._offered)
        notifier.subscribe(CallAnswered, self._answered)
        notifier.subscribe(CallTransferred, self._transferred)
        notifier.subscribe(CallEnded, self._call_ended)
        notifier.subscribe(CallAbandoned, self._call_ended)  # abandons have no CallEnded

    # --- events -----------------------------------------------------------------------------

    def _queued(self, event: CallQueued) -> None:
        if event.call_id not in self._calls:  # keep the first entry: the wait runs from there
            self._calls[event.call_id] = LiveInfo(
                event.call_id, event.caller, event.queue, event.menu_path, event.at
            )
            while len(self._calls) > MAX_REMEMBERED:
                del self._calls[next(iter(self._calls))]
        else:
            self._calls[event.call_id].queue = event.queue

    def _offered(self, event: OfferStarted) -> None:
        info = self._calls.get(event.call_id)
        if info is not None:
            info.offered_to = event.agent_id

    def _answered(self, event: CallAnswered) -> None:
        info = self._calls.get(event.call_id)
        if info is not None:
            info.answered_at = event.at
            info.wait = event.wait
            info.late = event.late
            info.agent_id = event.agent_id

    def _transferred(self, event: CallTransferred) -> None:
        info = self._calls.get(event.call_id)
        if info is not None:
            info.transferred_from = event.from_agent
            info.to_senior = event.to_senior

    def _call_ended(self, event: CallEnded | CallAbandoned) -> None:
        self._ended.append(event.call_id)
        while len(self._ended) > ENDED_KEPT:
            self._calls.pop(self._ended.pop(0), None)

    # --- queries ----------------------------------------------------------------------------

    def live(self, call_id: str) -> LiveInfo:
        info = self._calls.get(call_id)
        if info is None:
            raise NotFound(f"no live call {call_id}")
        return info

    async def pop(self, call_id: str) -> dict[str, Any]:
        info = self.live(call_id)
        now = self._clock()
        waited = info.wait if info.wait is not None else now - info.queued_at
        return {
            "call_id": call_id,
            "caller": info.caller,
            "queue": info.queue,
            "menu_path": list(info.menu_path),
            "queued_at": info.queued_at,
            "waited": round(waited, 1),
            "answered": info.answered_at is not None,
            "late": info.late,
            "agent_id": info.agent_id,
            "transferred_from": info.transferred_from,
            "to_senior": info.to_senior,
            "earlier_contacts": await self.earlier_contacts(info.caller, call_id),
            "open_complaints": await self._complaints.open_for_caller(info.caller),
        }

    async def earlier_contacts(self, caller: str, except_call: str) -> list[dict[str, Any]]:
        async with self._sessions() as session:
            calls = (
                await session.scalars(
                    select(CallRow)
                    .where(CallRow.caller == caller, CallRow.call_id != except_call)
                    .order_by(CallRow.started_at.desc())
                    .limit(EARLIER_CONTACTS)
                )
            ).all()
            ids = [c.call_id for c in calls]
            wraps = (
                (
                    await session.scalars(
                        select(WrapupRow).where(WrapupRow.call_id.in_(ids)).order_by(WrapupRow.id)
                    )
                ).all()
                if ids
                else []
            )
        last_wrap = {w.call_id: w for w in wraps}
        out = []
        for c in calls:
            w = last_wrap.get(c.call_id)
            out.append(
                {
                    "call_id": c.call_id,
                    "at": c.started_at,
                    "queue": c.queue,
                    "agent_id": c.agent_id,
                    "outcome": c.outcome,
                    "call_type": None if w is None else w.call_type,
                    "summary": None if w is None else w.summary,
                    "resolved": None if w is None else w.resolved_first_contact,
                }
            )
        return out

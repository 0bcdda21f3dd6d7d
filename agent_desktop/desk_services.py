"""The desktop's database services: complaints / work orders, callback tasks and shift handover.

Each method authorises the principal, does one transaction, publishes a typed event
(``agent_desktop.desk_events``) and returns plain dicts ready for JSON. Domain errors only
(``hotline.accounts.errors``, ``ComplaintStateError``); ``agent_desktop.errors`` maps them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent_desktop import complaints as rules
from agent_desktop.desk_events import (
    CallbackTaskChanged,
    ComplaintEscalated,
    ComplaintRegistered,
    ComplaintUpdated,
    HandoverChanged,
)
from agent_desktop.models import (
    CallbackTaskRow,
    ComplaintActionRow,
    ComplaintRow,
    HandoverNoteRow,
)
from hotline.accounts.errors import Conflict, NotFound, PermissionDenied
from hotline.accounts.permissions import Principal, Role, mask_complaint_fields

Publish = Callable[[object], None]
Sessions = async_sessionmaker[AsyncSession]

# The complainant's identity (SPEC-R4): masked for everyone but handlers and the owner.
IDENTITY_FIELDS = frozenset({"caller_number", "caller_name"})
SUPERVISING = frozenset({Role.TEAM_LEAD, Role.SUPERVISOR, Role.ADMIN})
MAX_TEXT = 4000
LIST_LIMIT = 200


class CallbackStatus:
    OPEN = "open"
    DONE = "done"


CALLBACK_OUTCOMES = ("reached", "no_answer", "busy", "wrong_number")


def _text(value: str, name: str, *, required: bool = True) -> str:
    value = value.strip()
    if required and not value:
        raise Conflict(f"{name} must not be empty")
    if len(value) > MAX_TEXT:
        raise Conflict(f"{name} is longer than {MAX_TEXT} characters")
    return value


class ComplaintService:
    def __init__(
        self,
        sessions: Sessions,
        calendar: rules.WorkingCalendar,
        clock: Callable[[], float],
        publish: Publish,
    ) -> None:
        self._sessions = sessions
        self.calendar = calendar
        self._clock = clock
        self._publish = publish

    # --- views ------------------------------------------------------------------------------

    def _view(self, row: ComplaintRow, principal: Principal | None, now: float) -> dict[str, Any]:
        record: dict[str, Any] = {
            "id": row.id,
            "reference": rules.reference(row.id, row.registered_at, self.calendar),
            "call_id": row.call_id,
            "caller_number": row.caller_number,
            "caller_name": row.caller_name,
            "kind": row.kind,
            "klass": row.klass,
            "description": row.description,
            "owner": row.owner_number,
            "team": row.team,
            "status": row.status,
            "registered_at": row.registered_at,
            "due_at": row.due_at,
            "escalated_at": row.escalated_at,
            "replied_at": row.replied_at,
            "closed_at": row.closed_at,
            "result": row.result,
            "urgency": rules.urgency(rules.ComplaintStatus(row.status), row.due_at, now).value,
        }
        if principal is None or principal.agent_number == row.owner_number:
            return record  # the owner heard the caller on the line; hiding it protects nothing
        return mask_complaint_fields(record, principal, IDENTITY_FIELDS)

    def _may_see(self, principal: Principal, row: ComplaintRow) -> bool:
        return (
            principal.complaint_handler
            or principal.role in SUPERVISING
            or principal.agent_number == row.owner_number
        )

    # --- commands ---------------------------------------------------------------------------

    async def register(
        self,
        principal: Principal,
        *,
        call_id: str | None,
        caller_number: str,
        caller_name: str,
        kind: rules.ComplaintKind,
        klass: rules.ComplaintClass,
        description: str,
    ) -> dict[str, Any]:
        """SPEC-C1: registered at first contact, owned by the agent who took it."""
        owner = principal.agent_number
        if owner is None:
            raise PermissionDenied("complaints are registered by the agent who takes the call")
        now = self._clock()
        due = rules.due_at(kind, klass, now, self.calendar)
        async with self._sessions() as session, session.begin():
            row = ComplaintRow(
                call_id=call_id or None,
                caller_number=caller_number.strip() or None,
                caller_name=caller_name.strip() or None,
                kind=kind.value,
                klass=klass.value,
                description=_text(description, "description"),
                owner_number=owner,
                team=min(principal.teams, default=None),
                status=rules.ComplaintStatus.OPEN.value,
                registered_at=now,
                due_at=due,
            )
            session.add(row)
            await session.flush()
            session.add(
                ComplaintActionRow(
                    complaint_id=row.id,
                    at=now,
                    actor=principal.username,
                    action="registered",
                    note="",
                )
            )
        self._publish(ComplaintRegistered(now, row.id, kind.value, klass.value, owner, due))
        return self._view(row, principal, now)

    async def act(
        self, principal: Principal, complaint_id: int, action: rules.ComplaintAction, note: str
    ) -> dict[str, Any]:
        """Log a callback (reached or not) or close with the result (SPEC-C3)."""
        now = self._clock()
        async with self._sessions() as session, session.begin():
            row = await session.get(ComplaintRow, complaint_id)
            if row is None:
                raise NotFound(f"no complaint {complaint_id}")
            if not (principal.complaint_handler or principal.agent_number == row.owner_number):
                raise PermissionDenied("only the owner or a complaint handler follows it up")
            status = rules.next_status(row.id, rules.ComplaintStatus(row.status), action)
            if action is rules.ComplaintAction.CLOSE:
                row.result = _text(note, "result")
                row.closed_at = now
            elif action is rules.ComplaintAction.CALLBACK_REACHED and row.replied_at is None:
                row.replied_at = now
            row.status = status.value
            session.add(
                ComplaintActionRow(
                    complaint_id=row.id,
                    at=now,
                    actor=principal.username,
                    action=action.value,
                    note=note.strip(),
                )
            )
        self._publish(ComplaintUpdated(now, complaint_id, action.value, status.value))
        return self._view(row, principal, now)

    async def escalate_overdue(self) -> list[int]:
        """SPEC-C2: open complaints past due go to supervisors, once each."""
        now = self._clock()
        async with self._sessions() as session, session.begin():
            rows = (
                await session.scalars(
                    select(ComplaintRow).where(
                        ComplaintRow.status == rules.ComplaintStatus.OPEN.value,
                        ComplaintRow.escalated_at.is_(None),
                        ComplaintRow.due_at <= now,
                    )
                )
            ).all()
            escalated = [
                row
                for row in rows
                if rules.needs_escalation(
                    rules.ComplaintStatus(row.status), row.due_at, row.escalated_at, now
                )
            ]
            for row in escalated:
                row.escalated_at = now
                session.add(
                    ComplaintActionRow(
                        complaint_id=row.id,
                        at=now,
                        actor="system",
                        action="escalated",
                        note="overdue",
                    )
                )
        for row in escalated:
            self._publish(ComplaintEscalated(now, row.id, row.owner_number, row.due_at))
        return [row.id for row in escalated]

    # --- queries ----------------------------------------------------------------------------

    async def listing(
        self, principal: Principal, *, open_only: bool = False
    ) -> list[dict[str, Any]]:
        now = self._clock()
        query = select(ComplaintRow).order_by(ComplaintRow.due_at).limit(LIST_LIMIT)
        if open_only:
            query = query.where(ComplaintRow.status != rules.ComplaintStatus.CLOSED.value)
        if not (principal.complaint_handler or principal.role in SUPERVISING):
            if principal.agent_number is None:
                raise PermissionDenied("complaint records are confidential (SPEC-R4)")
            query = query.where(ComplaintRow.owner_number == principal.agent_number)
        async with self._sessions() as session:
            rows = (await session.scalars(query)).all()
        return [self._view(row, principal, now) for row in rows]

    async def get(self, principal: Principal, complaint_id: int) -> dict[str, Any]:
        now = self._clock()
        async with self._sessions() as session:
            row = await session.get(ComplaintRow, complaint_id)
            if row is None or not self._may_see(principal, row):
                raise NotFound(f"no complaint {complaint_id}")
            actions = (
                await session.scalars(
                    select(ComplaintActionRow)
                    .where(ComplaintActionRow.complaint_id == complaint_id)
                    .order_by(ComplaintActionRow.id)
                )
            ).all()
        view = self._view(row, principal, now)
        view["actions"] = [
            {"at": a.at, "actor": a.actor, "action": a.action, "note": a.note} for a in actions
        ]
        return view

    async def open_for_caller(self, number: str) -> list[dict[str, Any]]:
        """For the call pop: this caller's complaints not yet closed (they are on the line)."""
        now = self._clock()
        async with self._sessions() as session:
            rows = (
                await session.scalars(
                    select(ComplaintRow)
                    .where(
                        ComplaintRow.caller_number == number,
                        ComplaintRow.status != rules.ComplaintStatus.CLOSED.value,
                    )
                    .order_by(ComplaintRow.registered_at)
                )
            ).all()
        return [self._view(row, None, now) for row in rows]


class CallbackTasks:
    """Call-backs owed to abandoned callers; supervisors create them, agents complete them."""

    def __init__(self, sessions: Sessions, clock: Callable[[], float], publish: Publish) -> None:
        self._sessions = sessions
        self._clock = clock
        self._publish = publish

    async def create(
        self,
        principal: Principal,
        *,
        call_id: str,
        number: str,
        queue: str | None,
        assigned_to: str | None,
    ) -> dict[str, Any]:
        if principal.role not in SUPERVISING:
            raise PermissionDenied("supervisors and team leads set callbacks")
        if not number.strip():
            raise Conflict("the caller's number is unknown: no callback possible")
        now = self._clock()
        async with self._sessions() as session, session.begin():
            existing = await session.scalar(
                select(CallbackTaskRow).where(
                    CallbackTaskRow.call_id == call_id,
                    CallbackTaskRow.status == CallbackStatus.OPEN,
                )
            )
            if existing is not None:
                raise Conflict(f"call {call_id} already has an open callback")
            row = CallbackTaskRow(
                call_id=call_id,
                number=number.strip(),
                queue=queue,
                created_by=principal.username,
                created_at=now,
                assigned_to=assigned_to or None,
                status=CallbackStatus.OPEN,
            )
            session.add(row)
            await session.flush()
        self._publish(CallbackTaskChanged(now, row.id, row.status, row.assigned_to))
        return _task_view(row)

    async def listing(self, principal: Principal) -> list[dict[str, Any]]:
        query = select(CallbackTaskRow).where(CallbackTaskRow.status == CallbackStatus.OPEN)
        if principal.role not in SUPERVISING:
            query = query.where(
                or_(
                    CallbackTaskRow.assigned_to.is_(None),
                    CallbackTaskRow.assigned_to == principal.agent_number,
                )
            )
        async with self._sessions() as session:
            rows = (await session.scalars(query.order_by(CallbackTaskRow.created_at))).all()
        return [_task_view(row) for row in rows]

    async def open_call_ids(self) -> set[str]:
        async with self._sessions() as session:
            ids = await session.scalars(select(CallbackTaskRow.call_id))
            return set(ids)

    async def complete(
        self, principal: Principal, task_id: int, outcome: str, note: str
    ) -> dict[str, Any]:
        if outcome not in CALLBACK_OUTCOMES:
            raise Conflict(f"outcome must be one of {list(CALLBACK_OUTCOMES)}")
        now = self._clock()
        async with self._sessions() as session, session.begin():
            row = await session.get(CallbackTaskRow, task_id)
            if row is None:
                raise NotFound(f"no callback task {task_id}")
            if row.status != CallbackStatus.OPEN:
                raise Conflict(f"callback task {task_id} is already done")
            if principal.role not in SUPERVISING and row.assigned_to not in (
                None,
                principal.agent_number,
            ):
                raise PermissionDenied("this callback is assigned to another agent")
            row.status = CallbackStatus.DONE
            row.outcome = outcome
            row.note = note.strip()
            row.done_at = now
            row.assigned_to = row.assigned_to or principal.agent_number
        self._publish(CallbackTaskChanged(now, row.id, row.status, row.assigned_to))
        return _task_view(row)


def _task_view(row: CallbackTaskRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "call_id": row.call_id,
        "number": row.number,
        "queue": row.queue,
        "created_by": row.created_by,
        "created_at": row.created_at,
        "assigned_to": row.assigned_to,
        "status": row.status,
        "outcome": row.outcome,
        "note": row.note,
        "done_at": row.done_at,
    }


class HandoverService:
    """SPEC-O2: the outgoing shift writes what the next one must know; the next one signs."""

    def __init__(self, sessions: Sessions, clock: Callable[[], float], publish: Publish) -> None:
        self._sessions = sessions
        self._clock = clock
        self._publish = publish

    async def post(
        self, principal: Principal, *, shift: str, body: str, open_items: Sequence[str]
    ) -> dict[str, Any]:
        if principal.role not in SUPERVISING:
            raise PermissionDenied("shift leaders write the handover")
        now = self._clock()
        items = [
            {"text": _text(item, "open item"), "done": False} for item in open_items if item.strip()
        ]
        async with self._sessions() as session, session.begin():
            row = HandoverNoteRow(
                author=principal.username,
                shift=_text(shift, "shift"),
                created_at=now,
                body=_text(body, "body"),
                open_items=items,
            )
            session.add(row)
            await session.flush()
        self._publish(HandoverChanged(now, row.id, False))
        return _note_view(row)

    async def acknowledge(self, principal: Principal, note_id: int) -> dict[str, Any]:
        if principal.role not in SUPERVISING:
            raise PermissionDenied("shift leaders acknowledge the handover")
        now = self._clock()
        async with self._sessions() as session, session.begin():
            row = await session.get(HandoverNoteRow, note_id)
            if row is None:
                raise NotFound(f"no handover note {note_id}")
            if row.author == principal.username:
                raise Conflict("the next shift acknowledges a handover, not its author")
            if row.acknowledged_by is not None:
                raise Conflict(f"already acknowledged by {row.acknowledged_by}")
            row.acknowledged_by = principal.username
            row.acknowledged_at = now
        self._publish(HandoverChanged(now, row.id, True))
        return _note_view(row)

    async def listing(self, principal: Principal, limit: int = 20) -> list[dict[str, Any]]:
        if principal.role not in SUPERVISING:
            raise PermissionDenied("shift handover is for shift leaders")
        async with self._sessions() as session:
            rows = (
                await session.scalars(
                    select(HandoverNoteRow)
                    .order_by(HandoverNoteRow.created_at.desc(), HandoverNoteRow.id.desc())
                    .limit(limit)
                )
            ).all()
        return [_note_view(row) for row in rows]


def _note_view(row: HandoverNoteRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "author": row.author,
        "shift": row.shift,
        "created_at": row.created_at,
        "body": row.body,
        "open_items": list(row.open_items or []),
        "acknowledged_by": row.acknowledged_by,
        "acknowledged_at": row.acknowledged_at,
    }

"""Who may list, hear, download and delete recordings: every operation is authorised by the
permission matrix and written to the audit log, allowed or not (SPEC-R2, R4).

Domain errors only (PermissionDenied, NotFound, ReasonRequired); ``agent_desktop/`` maps them
to HTTP and serves the returned file with ``recordings.ranges`` for seeking.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.accounts.audit import Actor, AuditAction, AuditLog, Outcome
from hotline.accounts.errors import NotFound, PermissionDenied, ReasonRequired
from hotline.accounts.permissions import (
    Permission,
    Principal,
    Scope,
    mask_phone_number,
    reaches,
    scope_of,
)
from recordings.metadata import Marker, RecordingState, sidecar_path
from recordings.models import Recording

# A reason must say something: "x" or "." is not a work reason (SPEC-R2).
MIN_REASON_LENGTH = 4
MAX_REASON_LENGTH = 500
MAX_LIST_LIMIT = 500
CONTENT_TYPES = {"wav": "audio/wav", "flac": "audio/flac"}

_OPERATIONS = {
    Permission.RECORDING_LISTEN: AuditAction.RECORDING_LISTEN,
    Permission.RECORDING_DOWNLOAD: AuditAction.RECORDING_DOWNLOAD,
    Permission.RECORDING_DELETE: AuditAction.RECORDING_DELETE,
}


@dataclass(frozen=True, slots=True)
class RecordingView:
    """A recording as a principal may see it (caller masked on complaint calls, R4)."""

    call_id: str
    queue: str | None
    agent_number: str | None
    team: str | None
    caller_number: str | None
    is_complaint: bool
    started_at: float
    duration_s: float | None
    state: str
    markers: tuple[Marker, ...]


@dataclass(frozen=True, slots=True)
class Playback:
    """What the web layer needs to stream a recording (with Range support) or offer it."""

    call_id: str
    path: Path
    size: int
    content_type: str
    sha256: str | None
    download_name: str


@dataclass(frozen=True, slots=True)
class ListFilter:
    since: float | None = None
    until: float | None = None
    agent_number: str | None = None
    queue: str | None = None
    limit: int = 100


def view_of(row: Recording, principal: Principal) -> RecordingView:
    caller = row.caller_number
    if row.is_complaint:
        caller = mask_phone_number(caller, principal)
    return RecordingView(
        call_id=row.call_id,
        queue=row.queue,
        agent_number=row.agent_number,
        team=row.team,
        caller_number=caller,
        is_complaint=row.is_complaint,
        started_at=row.started_at,
        duration_s=None if row.samples is None else row.samples / row.sample_rate,
        state=row.state,
        markers=tuple(Marker.from_json(item) for item in row.markers or ()),
    )


class RecordingAccess:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        audit: AuditLog,
        clock: Callable[[], float],
    ) -> None:
        self._sessions = sessions
        self._audit = audit
        self._clock = clock

    async def list(
        self, principal: Principal, filters: ListFilter | None = None
    ) -> list[RecordingView]:
        """Recordings within the principal's scope, newest first; the listing is audited."""
        filters = filters or ListFilter()
        scope = scope_of(principal.role, Permission.RECORDING_LIST)
        target = _describe(filters)
        if scope is Scope.NONE:
            await self._deny(principal, AuditAction.RECORDING_LIST, target, "role")
        query = _scoped(select(Recording), principal, scope, filters)
        async with self._sessions() as session:
            rows = (await session.execute(query)).scalars().all()
        views = [view_of(row, principal) for row in rows]
        await self._audit.append(
            Actor.of(principal),
            AuditAction.RECORDING_LIST,
            target,
            details={"returned": len(views)},
        )
        return views

    async def listen(self, principal: Principal, call_id: str, reason: str | None) -> Playback:
        """Open a recording for playback; needs a work reason (SPEC-R2)."""
        row = await self._authorise(principal, Permission.RECORDING_LISTEN, call_id, reason)
        return await asyncio.to_thread(_playback, row)

    async def download(self, principal: Principal, call_id: str, reason: str | None) -> Playback:
        row = await self._authorise(principal, Permission.RECORDING_DOWNLOAD, call_id, reason)
        return await asyncio.to_thread(_playback, row)

    async def delete(self, principal: Principal, call_id: str, reason: str | None) -> None:
        """Remove the audio and its sidecar; the row stays, marked deleted, for the audit trail."""
        await self._authorise(principal, Permission.RECORDING_DELETE, call_id, reason)
        await self.erase(call_id, now=self._clock())

    async def erase(self, call_id: str, *, now: float) -> None:
        """Delete a recording's files and mark its row; callers have authorised and audited."""
        async with self._sessions() as session, session.begin():
            row = (
                await session.execute(select(Recording).where(Recording.call_id == call_id))
            ).scalar_one_or_none()
            if row is None or row.state == RecordingState.DELETED.value:
                return
            path = Path(row.path)
            await asyncio.to_thread(_remove_files, path)
            row.state = RecordingState.DELETED.value
            row.deleted_at = now

    async def _authorise(
        self, principal: Principal, permission: Permission, call_id: str, reason: str | None
    ) -> Recording:
        action = _OPERATIONS[permission]
        target = f"recording:{call_id}"
        if scope_of(principal.role, permission) is Scope.NONE:
            await self._deny(principal, action, target, "role", reason)
        cleaned = (reason or "").strip()
        if len(cleaned) < MIN_REASON_LENGTH:
            await self._audit.append(
                Actor.of(principal), action, target, Outcome.DENIED, details={"why": "no reason"}
            )
            raise ReasonRequired(f"{permission.value} needs a work reason")
        cleaned = cleaned[:MAX_REASON_LENGTH]
        async with self._sessions() as session:
            row = (
                await session.execute(select(Recording).where(Recording.call_id == call_id))
            ).scalar_one_or_none()
        if row is None or row.state == RecordingState.DELETED.value:
            await self._audit.append(
                Actor.of(principal),
                action,
                target,
                Outcome.DENIED,
                reason=cleaned,
                details={"why": "not found"},
            )
            raise NotFound(f"no recording for call {call_id!r}")
        if not reaches(principal, permission, agent_number=row.agent_number, team=row.team):
            await self._deny(principal, action, target, "scope", cleaned)
        await self._audit.append(Actor.of(principal), action, target, reason=cleaned)
        return row

    async def _deny(
        self,
        principal: Principal,
        action: AuditAction,
        target: str,
        why: str,
        reason: str | None = None,
    ) -> None:
        await self._audit.append(
            Actor.of(principal), action, target, Outcome.DENIED, reason=reason, details={"why": why}
        )
        raise PermissionDenied(f"{principal.role.value} may not {action.value} {target}")


def _scoped(
    query: Select[Recording], principal: Principal, scope: Scope, filters: ListFilter
) -> Select[Recording]:
    query = query.where(Recording.state != RecordingState.DELETED.value)
    if scope is Scope.OWN:
        query = query.where(Recording.agent_number == (principal.agent_number or "\x00"))
    elif scope is Scope.TEAM:
        query = query.where(Recording.team.in_(sorted(principal.teams)))
    if filters.since is not None:
        query = query.where(Recording.started_at >= filters.since)
    if filters.until is not None:
        query = query.where(Recording.started_at < filters.until)
    if filters.agent_number is not None:
        query = query.where(Recording.agent_number == filters.agent_number)
    if filters.queue is not None:
        query = query.where(Recording.queue == filters.queue)
    limit = max(1, min(filters.limit, MAX_LIST_LIMIT))
    return query.order_by(Recording.started_at.desc(), Recording.id.desc()).limit(limit)


def _describe(filters: ListFilter) -> str:
    parts: dict[str, Any] = {
        "since": filters.since,
        "until": filters.until,
        "agent": filters.agent_number,
        "queue": filters.queue,
    }
    shown = ",".join(f"{key}={value}" for key, value in parts.items() if value is not None)
    return f"recordings:{shown or 'all'}"


def _playback(row: Recording) -> Playback:
    path = Path(row.path)
    try:
        size = os.stat(path).st_size
    except FileNotFoundError:
        raise NotFound(f"the audio of call {row.call_id!r} is missing on disk") from None
    return Playback(
        call_id=row.call_id,
        path=path,
        size=size,
        content_type=CONTENT_TYPES.get(row.format, "application/octet-stream"),
        sha256=row.sha256,
        download_name=path.name,
    )


def _remove_files(path: Path) -> None:
    for candidate in (path, sidecar_path(path)):
        candidate.unlink(missing_ok=True)

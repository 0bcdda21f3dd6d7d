"""The append-only, hash-chained audit log: append, read (admins only) and verify_chain.

Each row's hash is sha256 over the previous row's hash and the row's canonical JSON content,
so editing or deleting any row breaks every hash after it (SPEC-R2). Rows are numbered by a
consecutive ``seq``; a unique ``prev_hash`` stops two writers from forking the chain.
"""

from __future__ import annotations

import asyncio
import enum
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.accounts.errors import PermissionDenied
from hotline.accounts.models import AuditRecord
from hotline.accounts.permissions import Permission, Principal, Scope, scope_of

GENESIS_HASH = "0" * 64
# Appenders are serialised in the database (see _lock_chain); the unique seq and prev_hash
# are the backstop, and a writer that still loses a race retries on the new head.
APPEND_RETRIES = 5
# Any fixed 64-bit number: the PostgreSQL advisory lock that orders audit appends.
POSTGRES_AUDIT_LOCK_KEY = 0x48_4F_54_4C_41_55_44  # "HOTLAUD"
VERIFY_BATCH = 500
SYSTEM_ROLE = "system"


class AuditAction(enum.Enum):
    RECORDING_LIST = "recording.list"
    RECORDING_LISTEN = "recording.listen"
    RECORDING_DOWNLOAD = "recording.download"
    RECORDING_DELETE = "recording.delete"
    RECORDING_RETENTION_DELETE = "recording.retention_delete"
    AUDIT_READ = "audit.read"
    AUDIT_VERIFY = "audit.verify"
    LOGIN = "account.login"
    LOGIN_FAILED = "account.login_failed"
    LOGIN_LOCKED = "account.locked"
    LOGIN_REFUSED_CONCURRENT = "account.login_refused_concurrent"
    LOGOUT = "account.logout"
    PASSWORD_CHANGED = "account.password_changed"
    ACCOUNT_CREATED = "account.created"
    ACCOUNT_UNLOCKED = "account.unlocked"
    QA_SCORE = "qa.score"
    QA_DISPUTE = "qa.dispute"


class Outcome(enum.Enum):
    ALLOWED = "allowed"
    DENIED = "denied"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    seq: int
    at: float
    actor: str
    actor_role: str
    action: str
    target: str
    outcome: str
    ip: str | None
    reason: str | None
    details: Mapping[str, Any]
    prev_hash: str
    row_hash: str


@dataclass(frozen=True, slots=True)
class ChainVerification:
    ok: bool
    checked: int
    head_hash: str
    first_bad_seq: int | None = None
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: a person (from a Principal) or the system (a job such as retention)."""

    name: str
    role: str
    ip: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, principal: Principal) -> Actor:
        return cls(principal.username, principal.role.value, principal.ip)

    @classmethod
    def system(cls, job: str) -> Actor:
        return cls(f"system:{job}", SYSTEM_ROLE)


def row_content(
    *,
    seq: int,
    at: float,
    actor: str,
    actor_role: str,
    action: str,
    target: str,
    outcome: str,
    ip: str | None,
    reason: str | None,
    details: Mapping[str, Any],
) -> dict[str, Any]:
    return {
        "seq": seq,
        "at": at,
        "actor": actor,
        "actor_role": actor_role,
        "action": action,
        "target": target,
        "outcome": outcome,
        "ip": ip,
        "reason": reason,
        "details": dict(details),
    }


def chain_hash(prev_hash: str, content: Mapping[str, Any]) -> str:
    """sha256 over the previous hash and the canonical JSON of the row's content."""
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{prev_hash}\n{canonical}".encode()).hexdigest()


def _entry(row: AuditRecord) -> AuditEntry:
    return AuditEntry(
        seq=row.seq,
        at=row.at,
        actor=row.actor,
        actor_role=row.actor_role,
        action=row.action,
        target=row.target,
        outcome=row.outcome,
        ip=row.ip,
        reason=row.reason,
        details=dict(row.details or {}),
        prev_hash=row.prev_hash,
        row_hash=row.row_hash,
    )


class AuditLog:
    """Appends and checks the audit chain; each append commits in its own transaction."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], clock: Callable[[], float]
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._lock = asyncio.Lock()

    async def append(
        self,
        actor: Actor,
        action: AuditAction,
        target: str,
        outcome: Outcome = Outcome.ALLOWED,
        *,
        reason: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> AuditEntry:
        merged = {**actor.details, **(details or {})}
        async with self._lock:
            for attempt in range(APPEND_RETRIES):
                try:
                    return await self._append_once(actor, action, target, outcome, reason, merged)
                except (IntegrityError, OperationalError):
                    if attempt == APPEND_RETRIES - 1:
                        raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def _append_once(
        self,
        actor: Actor,
        action: AuditAction,
        target: str,
        outcome: Outcome,
        reason: str | None,
        details: Mapping[str, Any],
    ) -> AuditEntry:
        async with self._sessions() as session, session.begin():
            await _lock_chain(session)
            head = (
                await session.execute(select(AuditRecord).order_by(AuditRecord.seq.desc()).limit(1))
            ).scalar_one_or_none()
            seq = 1 if head is None else head.seq + 1
            prev_hash = GENESIS_HASH if head is None else head.row_hash
            content = row_content(
                seq=seq,
                at=float(self._clock()),
                actor=actor.name,
                actor_role=actor.role,
                action=action.value,
                target=target,
                outcome=outcome.value,
                ip=actor.ip,
                reason=reason,
                details=details,
            )
            row = AuditRecord(
                **content, prev_hash=prev_hash, row_hash=chain_hash(prev_hash, content)
            )
            session.add(row)
        return _entry(row)

    async def read(
        self, principal: Principal, *, after_seq: int = 0, limit: int = 100
    ) -> list[AuditEntry]:
        """Entries after ``after_seq`` in order; admins only, and the reading is itself audited."""
        await self._require(principal, Permission.AUDIT_READ, AuditAction.AUDIT_READ)
        async with self._sessions() as session:
            rows = (
                await session.execute(
                    select(AuditRecord)
                    .where(AuditRecord.seq > after_seq)
                    .order_by(AuditRecord.seq)
                    .limit(limit)
                )
            ).scalars()
            entries = [_entry(row) for row in rows]
        await self.append(
            Actor.of(principal),
            AuditAction.AUDIT_READ,
            f"audit_log:after={after_seq}",
            details={"returned": len(entries)},
        )
        return entries

    async def verify(self, principal: Principal) -> ChainVerification:
        """:meth:`verify_chain` on behalf of an admin, audited."""
        await self._require(principal, Permission.AUDIT_VERIFY, AuditAction.AUDIT_VERIFY)
        result = await self.verify_chain()
        await self.append(
            Actor.of(principal), AuditAction.AUDIT_VERIFY, "audit_log", details={"ok": result.ok}
        )
        return result

    async def verify_chain(self) -> ChainVerification:
        """Recompute every hash from the start; report the first row that does not fit."""
        prev_hash = GENESIS_HASH
        expected_seq = 1
        checked = 0
        async with self._sessions() as session:
            while True:
                rows = (
                    (
                        await session.execute(
                            select(AuditRecord)
                            .where(AuditRecord.seq >= expected_seq)
                            .order_by(AuditRecord.seq)
                            .limit(VERIFY_BATCH)
                        )
                    )
                    .scalars()
                    .all()
                )
                if not rows:
                    return ChainVerification(True, checked, prev_hash)
                for row in rows:
                    problem = _check_row(row, expected_seq, prev_hash)
                    if problem is not None:
                        return ChainVerification(False, checked, prev_hash, row.seq, problem)
                    prev_hash = row.row_hash
                    expected_seq += 1
                    checked += 1

    async def _require(
        self, principal: Principal, permission: Permission, action: AuditAction
    ) -> None:
        if scope_of(principal.role, permission) is Scope.ALL:
            return
        await self.append(Actor.of(principal), action, "audit_log", Outcome.DENIED)
        raise PermissionDenied(f"{principal.role.value} may not {permission.value}")


async def _lock_chain(session: AsyncSession) -> None:
    """Hold the chain's write lock until commit, so reading the head and appending is atomic
    across processes: two appenders never both build on the same head."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        await session.execute(
            text("SELECT pg_advisory_xact_lock(:key)"), {"key": POSTGRES_AUDIT_LOCK_KEY}
        )
    elif dialect == "sqlite":
        # A write statement as the transaction's first statement takes SQLite's write lock
        # (waiting up to busy_timeout) before our snapshot is read; it matches no row, so
        # the append-only trigger does not fire.
        await session.execute(text("UPDATE audit_log SET seq = seq WHERE 1 = 0"))


def _check_row(row: AuditRecord, expected_seq: int, prev_hash: str) -> str | None:
    if row.seq != expected_seq:
        return f"rows {expected_seq}..{row.seq - 1} are missing"
    if row.prev_hash != prev_hash:
        return f"row {row.seq} does not follow the row before it"
    content = row_content(
        seq=row.seq,
        at=row.at,
        actor=row.actor,
        actor_role=row.actor_role,
        action=row.action,
        target=row.target,
        outcome=row.outcome,
        ip=row.ip,
        reason=row.reason,
        details=row.details or {},
    )
    if chain_hash(prev_hash, content) != row.row_hash:
        return f"row {row.seq} was changed after it was written"
    return None

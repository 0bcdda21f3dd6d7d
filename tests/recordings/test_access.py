"""The whole permission matrix against the recording and audit operations (SPEC-R2, R4):
every role, every operation, every recording — allowed or refused as docs/permissions.md
says, and every attempt audited; tampering with the audit log is detected.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from recording_signals import FakeClock
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.accounts.audit import AuditAction, AuditLog
from hotline.accounts.errors import NotFound, PermissionDenied, ReasonRequired
from hotline.accounts.models import AuditRecord
from hotline.accounts.permissions import MASK, Principal, Role
from hotline.db.engine import Database
from recordings.access import ListFilter, RecordingAccess
from recordings.catalog import CallInfo, RecordingCatalog
from recordings.metadata import recording_path

# The documented matrix (docs/permissions.md), written out independently of the code:
# which of the three recordings each role reaches, per operation.
OWN, TEAM, OTHER = "own", "team", "other"
EXPECTED: dict[Role, dict[str, set[str]]] = {
    Role.AGENT: {"list": {OWN}, "listen": {OWN}, "download": set(), "delete": set()},
    Role.TEAM_LEAD: {
        "list": {OWN, TEAM},
        "listen": {OWN, TEAM},
        "download": set(),
        "delete": set(),
    },
    Role.QA: {"list": {OWN, TEAM}, "listen": {OWN, TEAM}, "download": {OWN, TEAM}, "delete": set()},
    Role.SUPERVISOR: {
        "list": {OWN, TEAM},
        "listen": {OWN, TEAM},
        "download": {OWN, TEAM},
        "delete": set(),
    },
    Role.ADMIN: {
        "list": {OWN, TEAM, OTHER},
        "listen": {OWN, TEAM, OTHER},
        "download": {OWN, TEAM, OTHER},
        "delete": {OWN, TEAM, OTHER},
    },
}
AUDIT_READERS = {Role.ADMIN}
CALLS = {
    OWN: ("c-own", "1042", "billing"),
    TEAM: ("c-team", "1043", "billing"),
    OTHER: ("c-other", "2001", "fraud"),
}
PRINCIPALS = {
    Role.AGENT: Principal(
        1, "agent1042", Role.AGENT, "1042", frozenset({"billing"}), ip="10.1.1.1"
    ),
    Role.TEAM_LEAD: Principal(
        2, "lead", Role.TEAM_LEAD, "1900", frozenset({"billing"}), ip="10.1.1.2"
    ),
    Role.QA: Principal(3, "qa", Role.QA, None, frozenset({"billing"}), ip="10.1.1.3"),
    Role.SUPERVISOR: Principal(
        4, "sup", Role.SUPERVISOR, None, frozenset({"billing"}), ip="10.1.1.4"
    ),
    Role.ADMIN: Principal(5, "admin", Role.ADMIN, None, frozenset(), ip="10.1.1.5"),
}
REASON = "QA review of billing complaint"


async def _setup(sessions: async_sessionmaker[AsyncSession], root: Path, clock: FakeClock) -> None:
    catalog = RecordingCatalog(sessions)
    for index, (call_id, agent, team) in enumerate(CALLS.values()):
        path = recording_path(root, call_id, clock.now)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"RIFF" + bytes(40) + bytes(800 * (index + 1)))
        await catalog.register(
            CallInfo(
                call_id,
                "q1",
                agent,
                team,
                caller_number=f"1380013800{index}",
                is_complaint=call_id == "c-team",
            ),
            path=path,
            started_at=clock.now + index,
            sample_rate=8000,
        )


async def _audit_rows(sessions: async_sessionmaker[AsyncSession]) -> list[AuditRecord]:
    async with sessions() as session:
        return list(
            (await session.execute(select(AuditRecord).order_by(AuditRecord.seq))).scalars()
        )


@pytest.mark.parametrize("role", list(Role))
async def test_permission_matrix_for_every_recording_and_audit_operation(
    role: Role,
    sessions: async_sessionmaker[AsyncSession],
    audit: AuditLog,
    clock: FakeClock,
    tmp_path: Path,
) -> None:
    await _setup(sessions, tmp_path, clock)
    access = RecordingAccess(sessions, audit, clock)
    principal = PRINCIPALS[role]
    expected = EXPECTED[role]
    attempts: list[tuple[str, str, str]] = []  # (action, target, outcome) in order

    listed = await access.list(principal)
    assert {view.call_id for view in listed} == {CALLS[k][0] for k in expected["list"]}
    attempts.append(("recording.list", "recordings:all", "allowed"))

    for operation in ("listen", "download", "delete"):
        for key, (call_id, _, _) in CALLS.items():
            method = getattr(access, operation)
            outcome = "allowed" if key in expected[operation] else "denied"
            if outcome == "allowed":
                result = await method(principal, call_id, REASON)
                if operation != "delete":
                    assert result.size == 44 + 800 * (list(CALLS).index(key) + 1)
                    assert result.path.exists()
                else:
                    assert not recording_path(tmp_path, call_id, clock.now).exists()
            else:
                with pytest.raises(PermissionDenied):
                    await method(principal, call_id, REASON)
            attempts.append((f"recording.{operation}", f"recording:{call_id}", outcome))

    if role in AUDIT_READERS:
        entries = await audit.read(principal)
        assert [(e.action, e.target, e.outcome) for e in entries] == attempts
        assert (await audit.verify(principal)).ok
        attempts += [
            ("audit.read", "audit_log:after=0", "allowed"),
            ("audit.verify", "audit_log", "allowed"),
        ]
    else:
        with pytest.raises(PermissionDenied):
            await audit.read(principal)
        with pytest.raises(PermissionDenied):
            await audit.verify(principal)
        attempts += [("audit.read", "audit_log", "denied"), ("audit.verify", "audit_log", "denied")]

    rows = await _audit_rows(sessions)
    assert [(row.action, row.target, row.outcome) for row in rows] == attempts
    for row in rows:
        assert row.actor == principal.username
        assert row.actor_role == role.value
        assert row.ip == principal.ip
        if row.outcome == "allowed" and row.action in {
            "recording.listen",
            "recording.download",
            "recording.delete",
        }:
            assert row.reason == REASON
    assert (await audit.verify_chain()).ok


async def test_listening_needs_a_reason_and_the_refusal_is_audited(
    sessions: async_sessionmaker[AsyncSession], audit: AuditLog, clock: FakeClock, tmp_path: Path
) -> None:
    await _setup(sessions, tmp_path, clock)
    access = RecordingAccess(sessions, audit, clock)
    for reason in (None, "", "   ", "x"):
        with pytest.raises(ReasonRequired):
            await access.listen(PRINCIPALS[Role.QA], "c-own", reason)
    with pytest.raises(NotFound):
        await access.listen(PRINCIPALS[Role.QA], "c-nope", REASON)
    rows = await _audit_rows(sessions)
    assert [row.outcome for row in rows] == ["denied"] * 5
    assert {row.action for row in rows} == {AuditAction.RECORDING_LISTEN.value}


async def test_complainants_number_is_masked_except_for_complaint_handlers(
    sessions: async_sessionmaker[AsyncSession], audit: AuditLog, clock: FakeClock, tmp_path: Path
) -> None:
    await _setup(sessions, tmp_path, clock)
    access = RecordingAccess(sessions, audit, clock)
    admin = PRINCIPALS[Role.ADMIN]
    views = {view.call_id: view for view in await access.list(admin)}
    assert views["c-team"].caller_number == MASK
    assert views["c-own"].caller_number == "13800138000"  # not a complaint call
    handler = Principal(9, "h", Role.QA, None, frozenset({"billing"}), complaint_handler=True)
    views = {view.call_id: view for view in await access.list(handler)}
    assert views["c-team"].caller_number == "13800138001"


async def test_list_filters_and_deleted_recordings_disappear(
    sessions: async_sessionmaker[AsyncSession], audit: AuditLog, clock: FakeClock, tmp_path: Path
) -> None:
    await _setup(sessions, tmp_path, clock)
    access = RecordingAccess(sessions, audit, clock)
    admin = PRINCIPALS[Role.ADMIN]
    only = await access.list(admin, ListFilter(agent_number="2001"))
    assert [view.call_id for view in only] == ["c-other"]
    await access.delete(admin, "c-other", "caller asked for erasure")
    assert [v.call_id for v in await access.list(admin)] == ["c-team", "c-own"]
    with pytest.raises(NotFound):
        await access.listen(admin, "c-other", REASON)


async def _drop_audit_triggers(database: Database) -> None:
    async with database.engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            await connection.execute(text("DROP TRIGGER audit_log_no_update"))
            await connection.execute(text("DROP TRIGGER audit_log_no_delete"))
        else:
            await connection.execute(text("DROP TRIGGER audit_log_no_update_delete ON audit_log"))


async def _three_entries(
    sessions: async_sessionmaker[AsyncSession], audit: AuditLog, clock: FakeClock, tmp_path: Path
) -> None:
    await _setup(sessions, tmp_path, clock)
    access = RecordingAccess(sessions, audit, clock)
    for call_id in ("c-own", "c-team", "c-other"):
        await access.listen(PRINCIPALS[Role.ADMIN], call_id, REASON)
        clock.advance(1)
    assert (await audit.verify_chain()).ok


async def test_audit_log_refuses_update_and_delete(
    database: Database, audit: AuditLog, clock: FakeClock, tmp_path: Path
) -> None:
    await _three_entries(database.sessions, audit, clock, tmp_path)
    for statement in (
        "UPDATE audit_log SET reason = 'x' WHERE seq = 2",
        "DELETE FROM audit_log WHERE seq = 2",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            async with database.engine.begin() as connection:
                await connection.execute(text(statement))


async def test_editing_an_audit_row_by_raw_sql_is_detected(
    database: Database, audit: AuditLog, clock: FakeClock, tmp_path: Path
) -> None:
    await _three_entries(database.sessions, audit, clock, tmp_path)
    await _drop_audit_triggers(database)
    async with database.engine.begin() as connection:
        await connection.execute(text("UPDATE audit_log SET reason = 'curiosity' WHERE seq = 2"))
    result = await audit.verify_chain()
    assert not result.ok
    assert result.first_bad_seq == 2
    assert result.checked == 1
    assert "changed" in (result.problem or "")


async def test_deleting_an_audit_row_is_detected(
    database: Database, audit: AuditLog, clock: FakeClock, tmp_path: Path
) -> None:
    await _three_entries(database.sessions, audit, clock, tmp_path)
    await _drop_audit_triggers(database)
    async with database.engine.begin() as connection:
        await connection.execute(text("DELETE FROM audit_log WHERE seq = 2"))
    result = await audit.verify_chain()
    assert not result.ok
    assert result.first_bad_seq == 3
    assert "missing" in (result.problem or "")


async def test_rewriting_a_row_with_a_fresh_hash_still_breaks_the_next_link(
    database: Database, audit: AuditLog, clock: FakeClock, tmp_path: Path
) -> None:
    from hotline.accounts.audit import chain_hash, row_content

    await _three_entries(database.sessions, audit, clock, tmp_path)
    await _drop_audit_triggers(database)
    rows = await _audit_rows(database.sessions)
    second = rows[1]
    content = row_content(
        seq=second.seq,
        at=second.at,
        actor=second.actor,
        actor_role=second.actor_role,
        action=second.action,
        target=second.target,
        outcome=second.outcome,
        ip=second.ip,
        reason="curiosity",
        details=second.details,
    )
    forged = chain_hash(second.prev_hash, content)
    async with database.engine.begin() as connection:
        await connection.execute(
            text("UPDATE audit_log SET reason = 'curiosity', row_hash = :h WHERE seq = 2"),
            {"h": forged},
        )
    result = await audit.verify_chain()
    assert not result.ok
    assert result.first_bad_seq == 3

"""The hash-chained audit log: two writers (two service processes) appending at once still
leave one unbroken chain; verify_chain reports the first bad row (SPEC-R2)."""

from __future__ import annotations

import asyncio
import itertools

from accounts_testkit import FakeClock
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.accounts.audit import GENESIS_HASH, Actor, AuditAction, AuditLog
from hotline.accounts.models import AuditRecord


async def test_two_writers_appending_concurrently_keep_one_chain(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    # Separate AuditLog objects have separate in-process locks, like two processes.
    first, second = AuditLog(sessions, clock), AuditLog(sessions, clock)

    async def burst(log: AuditLog, who: str) -> None:
        for n in range(15):
            await log.append(Actor(who, "qa", "10.0.0.1"), AuditAction.RECORDING_LIST, f"r{n}")

    await asyncio.gather(burst(first, "one"), burst(second, "two"))
    result = await first.verify_chain()
    assert result.ok, result
    assert result.checked == 30
    async with sessions() as session:
        rows = (
            (await session.execute(select(AuditRecord).order_by(AuditRecord.seq))).scalars().all()
        )
    assert [row.seq for row in rows] == list(range(1, 31))
    assert rows[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.row_hash for a, b in itertools.pairwise(rows))


async def test_empty_log_verifies(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    result = await AuditLog(sessions, clock).verify_chain()
    assert result.ok and result.checked == 0 and result.head_hash == GENESIS_HASH

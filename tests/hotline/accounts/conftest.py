"""A real SQLite database file (through aiosqlite) with every accounts table, and a clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from accounts_testkit import FakeClock
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

import hotline.accounts.models  # noqa: F401  (registers the tables)
from hotline.accounts.audit import AuditLog
from hotline.accounts.credentials import SipCredentialStore
from hotline.accounts.passwords import Argon2Params, PasswordPolicy
from hotline.accounts.service import AccountPolicy, AccountService
from hotline.db.base import Base

# Cheap argon2id so the suite stays fast; production uses the RFC 9106 defaults.
FAST_ARGON2 = Argon2Params(time_cost=1, memory_cost_kib=1024, parallelism=1)


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'hotline.db'}")
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    yield async_sessionmaker(engine, expire_on_commit=False)
    await engine.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def audit(sessions: async_sessionmaker[AsyncSession], clock: FakeClock) -> AuditLog:
    return AuditLog(sessions, clock)


@pytest.fixture
def credentials() -> SipCredentialStore:
    return SipCredentialStore(["hotline", "backup.example"])


@pytest.fixture
def accounts(
    sessions: async_sessionmaker[AsyncSession],
    audit: AuditLog,
    clock: FakeClock,
    credentials: SipCredentialStore,
) -> AccountService:
    policy = AccountPolicy(password=PasswordPolicy(argon2=FAST_ARGON2))
    return AccountService(sessions, audit, clock, policy=policy, credentials=credentials)

"""The accounts services on a real, migrated database (tests/hotline/conftest.py), and a clock."""

from __future__ import annotations

import pytest
from accounts_testkit import FAST_ARGON2, FakeClock
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.accounts.audit import AuditLog
from hotline.accounts.credentials import SipCredentialStore
from hotline.accounts.passwords import PasswordPolicy
from hotline.accounts.service import AccountPolicy, AccountService
from hotline.db.engine import Database


@pytest.fixture
def sessions(database: Database) -> async_sessionmaker[AsyncSession]:
    """Sessions on a freshly migrated database (SQLite, then PostgreSQL when available)."""
    return database.sessions


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

"""A freshly migrated database for the recordings tests: SQLite, then PostgreSQL when
``HOTLINE_TEST_PG_DSN`` names a server (``bash scripts/start-postgres.sh``), and a clock.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from recording_signals import FakeClock
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.accounts.audit import AuditLog
from hotline.db.engine import Database
from hotline.db.migrate import upgrade_async

PG_DSN_VARIABLE = "HOTLINE_TEST_PG_DSN"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'hotline.db'}"
        admin_dsn = None
    else:
        admin_dsn = os.environ.get(PG_DSN_VARIABLE)
        if not admin_dsn:
            if os.environ.get("CI"):
                pytest.fail(f"CI is set but {PG_DSN_VARIABLE} is not")
            pytest.skip(f"PostgreSQL tests need {PG_DSN_VARIABLE}")
        name = f"hotline_r_{uuid.uuid4().hex[:12]}"
        connection = await asyncpg.connect(admin_dsn)
        try:
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()
        url = make_url(admin_dsn).set(drivername="postgresql+asyncpg", database=name)
        url = url.render_as_string(hide_password=False)
    opened = Database.open(url)
    try:
        await upgrade_async(opened.engine)
        yield opened
    finally:
        await opened.close()
        if admin_dsn is not None:
            connection = await asyncpg.connect(admin_dsn)
            try:
                await connection.execute(
                    f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'
                )
            finally:
                await connection.close()


@pytest.fixture
def sessions(database: Database) -> async_sessionmaker[AsyncSession]:
    return database.sessions


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def audit(sessions: async_sessionmaker[AsyncSession], clock: FakeClock) -> AuditLog:
    return AuditLog(sessions, clock)

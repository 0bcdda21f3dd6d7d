"""Database fixtures for Hotline's tests: every database test runs on SQLite and on a real
PostgreSQL server (issue 5).

PostgreSQL comes from ``scripts/start-postgres.sh`` through ``HOTLINE_TEST_PG_DSN``. Without
it the PostgreSQL half is skipped on a developer machine, but fails when ``CI`` is set: the
test command must never pass silently without the server.
"""

from __future__ import annotations

import asyncio
import os
import uuid
import warnings
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from hotline.db.engine import Database
from hotline.db.migrate import upgrade_async

PG_DSN_VARIABLE = "HOTLINE_TEST_PG_DSN"
DROP_ATTEMPTS = 5
CREATE_ATTEMPTS = 5


def postgres_admin_dsn() -> str | None:
    """The DSN of the test server, or None (skip) — but fail in CI, where it must exist."""
    dsn = os.environ.get(PG_DSN_VARIABLE)
    if dsn:
        return dsn
    if os.environ.get("CI"):
        pytest.fail(
            f"CI is set but {PG_DSN_VARIABLE} is not: run "
            'eval "$(bash scripts/start-postgres.sh)" before pytest'
        )
    pytest.skip(f"PostgreSQL tests need {PG_DSN_VARIABLE} (bash scripts/start-postgres.sh)")
    return None  # pragma: no cover - skip raises


async def create_postgres_database(admin_dsn: str) -> str:
    """A fresh, empty database on the test server; returns its async SQLAlchemy URL."""
    name = f"hotline_t_{uuid.uuid4().hex[:12]}"
    connection = await asyncpg.connect(admin_dsn)
    try:
        # template0 accepts no connections, so parallel test runs never trip over
        # "source database is being accessed by other users"; a retry covers the rest.
        for attempt in range(CREATE_ATTEMPTS):
            try:
                await connection.execute(
                    f"CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8'"
                )
                break
            except asyncpg.ObjectInUseError:
                if attempt == CREATE_ATTEMPTS - 1:
                    raise
                await asyncio.sleep(0.2 * (attempt + 1))
    finally:
        await connection.close()
    url = make_url(admin_dsn).set(drivername="postgresql+asyncpg", database=name)
    return url.render_as_string(hide_password=False)


async def drop_postgres_database(admin_dsn: str, url: str) -> None:
    name = make_url(url).database
    connection = await asyncpg.connect(admin_dsn)
    try:
        for attempt in range(DROP_ATTEMPTS):
            try:
                await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                return
            except (asyncpg.InsufficientPrivilegeError, asyncpg.ObjectInUseError):
                # A session of another role (autovacuum) still works on it; it ends soon.
                await asyncio.sleep(0.2 * (attempt + 1))
        # A leftover database in the throwaway test cluster harms nothing; say so and go on.
        warnings.warn(f"test database {name} could not be dropped", stacklevel=1)
    finally:
        await connection.close()


@pytest.fixture(
    params=[
        pytest.param("sqlite"),
        pytest.param("postgresql", marks=pytest.mark.postgres),
    ]
)
async def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """The URL of a fresh, empty database: a SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'hotline.db'}"
        return
    admin_dsn = postgres_admin_dsn()
    assert admin_dsn is not None
    url = await create_postgres_database(admin_dsn)
    try:
        yield url
    finally:
        await drop_postgres_database(admin_dsn, url)


@pytest.fixture
async def database_url(empty_database_url: str) -> str:
    """A fresh database migrated to the latest schema."""
    database = Database.open(empty_database_url)
    try:
        await upgrade_async(database.engine)
    finally:
        await database.close()
    return empty_database_url


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """An open ``Database`` on a freshly migrated schema, closed after the test."""
    opened = Database.open(database_url)
    try:
        yield opened
    finally:
        await opened.close()

"""Opening Hotline's database: URL normalisation, the async engine and its session factory.

SQLite (through aiosqlite) is the embedded default; PostgreSQL (through asyncpg) is the
server option. Everything that talks to the database gets its engine from here, so the
durability settings below hold for the service, the report and the tests alike.

Durability (issue 5: "an event that was acknowledged is never lost: kill -9 of the service
loses no finished call's record"):

- The event store acknowledges an event only after its transaction has committed.
- SQLite runs in WAL mode with ``synchronous=FULL``. With ``NORMAL`` a commit in WAL mode is
  already safe against the process being killed (the WAL frames sit in the OS page cache),
  but may be rolled back by a power cut or kernel crash, because the WAL is only fsynced at
  checkpoints. ``FULL`` fsyncs the WAL at every commit, so an acknowledged event also survives
  the machine going down. The cost is one fsync per commit, which the store amortises by
  committing events in batches (group commit).
- PostgreSQL is used with its defaults (``synchronous_commit=on``, ``fsync=on``), which give
  the same guarantee.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

DEFAULT_URL = "sqlite+aiosqlite:///var/hotline.db"

# Async drivers per backend: a plain "sqlite:///" or "postgresql://" URL (what people type)
# is mapped to the driver this package ships with.
ASYNC_DRIVERS = {"sqlite": "aiosqlite", "postgresql": "asyncpg"}

# How long a SQLite writer waits for another connection's write lock before failing. The
# report and the service may write at the same moment; 5 s is far above one batch's commit.
SQLITE_BUSY_TIMEOUT_MS = 5000

# See the module docstring: FULL so that an acknowledged commit survives power loss too.
SQLITE_SYNCHRONOUS = "FULL"


class DatabaseUrlError(ValueError):
    """The configured database URL names a backend or driver Hotline cannot use."""


def normalize_url(url: str | URL) -> URL:
    """Return ``url`` with the async driver for its backend filled in.

    ``sqlite:///x.db`` becomes ``sqlite+aiosqlite:///x.db`` and ``postgresql://…`` becomes
    ``postgresql+asyncpg://…``; an explicit async driver is kept; anything else is refused
    with a message naming the URL.
    """
    parsed = make_url(url) if isinstance(url, str) else url
    backend = parsed.get_backend_name()
    wanted = ASYNC_DRIVERS.get(backend)
    if wanted is None:
        raise DatabaseUrlError(
            f"database URL {parsed.render_as_string(hide_password=True)!r}: backend "
            f"{backend!r} is not supported (use sqlite or postgresql)"
        )
    driver = parsed.get_driver_name()
    if parsed.drivername == backend:
        return parsed.set(drivername=f"{backend}+{wanted}")
    if driver != wanted:
        raise DatabaseUrlError(
            f"database URL {parsed.render_as_string(hide_password=True)!r}: driver "
            f"{driver!r} is not async; use {backend}+{wanted}"
        )
    return parsed


def is_sqlite(url: str | URL) -> bool:
    return normalize_url(url).get_backend_name() == "sqlite"


def _sqlite_file(url: URL) -> Path | None:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _on_sqlite_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # Run once per new DB-API connection, before SQLAlchemy begins any transaction:
    # journal_mode cannot be changed inside one.
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={SQLITE_SYNCHRONOUS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    finally:
        cursor.close()


def create_engine(url: str | URL = DEFAULT_URL, *, echo: bool = False) -> AsyncEngine:
    """Create the async engine for ``url`` with Hotline's durability settings applied.

    For a SQLite file the parent directory is created, so the default ``var/hotline.db``
    works in a fresh checkout.
    """
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = _sqlite_file(parsed)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(parsed, echo=echo)
        event.listen(engine.sync_engine, "connect", _on_sqlite_connect)
        return engine
    # pool_pre_ping: a PostgreSQL restart must not turn the next event append into an error.
    return create_async_engine(parsed, echo=echo, pool_pre_ping=True)


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions whose objects stay readable after commit (the store returns them)."""
    return async_sessionmaker(engine, expire_on_commit=False)


@dataclass(frozen=True, slots=True)
class Database:
    """An engine and its session factory, opened together and disposed together."""

    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]

    @classmethod
    def open(cls, url: str | URL = DEFAULT_URL, *, echo: bool = False) -> Database:
        engine = create_engine(url, echo=echo)
        return cls(engine=engine, sessions=create_session_factory(engine))

    async def close(self) -> None:
        await self.engine.dispose()

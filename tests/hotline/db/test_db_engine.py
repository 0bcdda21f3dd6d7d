"""Opening the database: URLs people type are accepted, the SQLite durability settings are
in force on every connection, and unusable URLs are refused with the URL named."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from hotline.db.engine import (
    SQLITE_SYNCHRONOUS,
    Database,
    DatabaseUrlError,
    normalize_url,
)

SQLITE_SYNCHRONOUS_CODES = {"OFF": 0, "NORMAL": 1, "FULL": 2, "EXTRA": 3}


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("sqlite:///var/hotline.db", "sqlite+aiosqlite:///var/hotline.db"),
        ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite:///x.db"),
        ("postgresql://u:p@127.0.0.1/h", "postgresql+asyncpg://u:p@127.0.0.1/h"),
        ("postgresql+asyncpg://u:p@127.0.0.1/h", "postgresql+asyncpg://u:p@127.0.0.1/h"),
    ],
)
def test_urls_get_the_async_driver(given: str, expected: str) -> None:
    assert normalize_url(given).render_as_string(hide_password=False) == expected


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("mysql://u:secret@h/db", "backend 'mysql' is not supported"),
        ("postgresql+psycopg2://u:secret@h/db", "driver 'psycopg2' is not async"),
    ],
)
def test_unusable_urls_are_refused_without_showing_the_password(url: str, complaint: str) -> None:
    with pytest.raises(DatabaseUrlError, match=complaint) as caught:
        normalize_url(url)
    assert "secret" not in str(caught.value)


async def test_sqlite_connections_use_wal_full_sync_and_foreign_keys(tmp_path: Path) -> None:
    # The parent folder does not exist yet: the default var/hotline.db must just work.
    database = Database.open(f"sqlite:///{tmp_path / 'var' / 'hotline.db'}")
    try:
        async with database.engine.connect() as connection:
            pragmas = [
                (await connection.execute(text(f"PRAGMA {name}"))).scalar_one()
                for name in ("journal_mode", "synchronous", "foreign_keys")
            ]
    finally:
        await database.close()
    assert pragmas == ["wal", SQLITE_SYNCHRONOUS_CODES[SQLITE_SYNCHRONOUS], 1]
    assert (tmp_path / "var" / "hotline.db").exists()

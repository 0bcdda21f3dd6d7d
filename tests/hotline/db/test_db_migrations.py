"""The Alembic history builds exactly the schema the models declare, on both backends."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from hotline.db.all_models import metadata
from hotline.db.engine import Database
from hotline.db.migrate import downgrade, heads, upgrade, upgrade_async


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


def test_history_has_a_single_head() -> None:
    assert len(heads()) == 1


async def test_upgrade_from_empty_gives_exactly_the_models_schema(
    empty_database_url: str,
) -> None:
    database = Database.open(empty_database_url)
    try:
        await upgrade_async(database.engine)
        async with database.engine.connect() as connection:
            diff = await connection.run_sync(_diff)
            tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
            result = await connection.execute(text("SELECT version_num FROM alembic_version"))
            version = result.scalar_one()
    finally:
        await database.close()
    assert diff == []
    assert set(metadata.tables) <= tables
    assert (version,) == heads()


async def test_upgrade_twice_is_harmless(empty_database_url: str) -> None:
    database = Database.open(empty_database_url)
    try:
        await upgrade_async(database.engine)
        await upgrade_async(database.engine)
    finally:
        await database.close()


async def test_synchronous_upgrade_works_outside_the_event_loop(empty_database_url: str) -> None:
    # hotline db upgrade runs outside any loop; a thread stands in for that here.
    await asyncio.to_thread(upgrade, empty_database_url)
    database = Database.open(empty_database_url)
    try:
        async with database.engine.connect() as connection:
            assert await connection.run_sync(_diff) == []
    finally:
        await database.close()


async def test_synchronous_upgrade_inside_a_loop_says_what_to_use_instead(
    empty_database_url: str,
) -> None:
    with pytest.raises(RuntimeError, match="upgrade_async"):
        upgrade(empty_database_url)


async def test_downgrade_to_empty_and_up_again(empty_database_url: str) -> None:
    await asyncio.to_thread(upgrade, empty_database_url)
    await asyncio.to_thread(downgrade, empty_database_url, "base")
    database = Database.open(empty_database_url)
    try:
        async with database.engine.connect() as connection:
            left = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
    finally:
        await database.close()
    assert left <= {"alembic_version"}
    # Nothing left behind (PostgreSQL's trigger function included) stops a fresh upgrade.
    await asyncio.to_thread(upgrade, empty_database_url)

"""Alembic environment for Hotline: runs migrations on an async engine, or on a connection
handed over by ``hotline.db.migrate`` (so the service can migrate inside its event loop)."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from hotline.db.all_models import metadata
from hotline.db.engine import create_engine
from hotline.db.migrate import URL_ATTRIBUTE

config = context.config


def _url() -> str:
    url = config.attributes.get(URL_ATTRIBUTE) or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database URL: use hotline.db.migrate.alembic_config(url)")
    return str(url)


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things in place; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


def _run_on(connection: Connection) -> None:
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = create_engine(_url())
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run_on)
            await connection.commit()
    finally:
        await engine.dispose()


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        asyncio.run(_run_async())
    else:
        _run_on(connection)


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()

"""Schema migrations without an alembic.ini: the Alembic config is built here from a URL, so
``hotline serve`` and ``hotline db upgrade`` migrate the database they were given.

Developers make a new revision with
``python -m hotline.db.migrate revision --url sqlite+aiosqlite:///tmp/x.db -m "why"`` after
upgrading that database to head; the revision chains after the single current head.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL, Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from hotline.db.engine import normalize_url

MIGRATIONS_DIRECTORY = Path(__file__).with_name("migrations")

# Key under which the URL travels in ``Config.attributes`` (not the ini main options, where
# configparser would read a '%' in a password as interpolation).
URL_ATTRIBUTE = "hotline_database_url"


def alembic_config(url: str | URL | None = None) -> Config:
    """An Alembic ``Config`` for Hotline's migrations and, if given, the database ``url``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIRECTORY))
    config.set_main_option("path_separator", "os")
    if url is not None:
        config.attributes[URL_ATTRIBUTE] = normalize_url(url).render_as_string(hide_password=False)
    return config


def heads() -> tuple[str, ...]:
    """The head revisions; exactly one unless two branches were added without a merge."""
    return tuple(ScriptDirectory.from_config(alembic_config()).get_heads())


def upgrade(url: str | URL, revision: str = "head") -> None:
    """Migrate the database at ``url`` to ``revision``; for use outside an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        command.upgrade(alembic_config(url), revision)
        return
    raise RuntimeError("upgrade() called inside a running event loop: await upgrade_async()")


def _upgrade_on(connection: Connection, config: Config, revision: str) -> None:
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def upgrade_async(engine: AsyncEngine, revision: str = "head") -> None:
    """Migrate the database behind ``engine`` to ``revision`` from inside the event loop."""
    config = alembic_config(engine.url)
    async with engine.begin() as connection:
        await connection.run_sync(_upgrade_on, config, revision)


def downgrade(url: str | URL, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hotline.db.migrate")
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("upgrade", help="migrate a database to the latest schema")
    up.add_argument("--url", required=True)
    up.add_argument("revision", nargs="?", default="head")
    rev = commands.add_parser("revision", help="autogenerate a revision against a database")
    rev.add_argument("--url", required=True)
    rev.add_argument("-m", "--message", required=True)
    rev.add_argument("--rev-id", default=None)
    commands.add_parser("heads", help="print the head revisions")
    args = parser.parse_args(argv)
    if args.command == "upgrade":
        upgrade(args.url, args.revision)
    elif args.command == "revision":
        command.revision(
            alembic_config(args.url), message=args.message, autogenerate=True, rev_id=args.rev_id
        )
    else:
        for head in heads():
            print(head)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

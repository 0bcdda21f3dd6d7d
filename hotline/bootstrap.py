"""First start: create an account for every configured agent and one admin.

Each gets a random initial password, printed once to the operator and never stored in plain
text; the web login forces a change at first use (SPEC-R3). The same password is the agent's
SIP digest password (its HA1s are stored, not the password).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.accounts.models import Account
from hotline.accounts.permissions import Role
from hotline.accounts.service import AccountService
from hotline.config import AcdSettings

ADMIN_USERNAME = "admin"
# 16 URL-safe characters: ~96 bits, well past the ≥10-character rule and any common list.
INITIAL_PASSWORD_BYTES = 12


def initial_password() -> str:
    return secrets.token_urlsafe(INITIAL_PASSWORD_BYTES)


async def ensure_accounts(
    accounts: AccountService,
    sessions: async_sessionmaker[AsyncSession],
    acd: AcdSettings,
    *,
    announce: Callable[[str], None] = print,
) -> dict[str, str]:
    """Create the accounts that do not exist yet; return {username: initial password}."""
    async with sessions() as session:
        existing = set((await session.execute(select(Account.username))).scalars())
    created: dict[str, str] = {}
    if ADMIN_USERNAME not in existing:
        password = initial_password()
        await accounts.create_account(
            None,
            username=ADMIN_USERNAME,
            role=Role.ADMIN,
            initial_password=password,
            display_name="Administrator",
        )
        created[ADMIN_USERNAME] = password
    for agent in acd.agents:
        if agent.number in existing:
            continue
        password = initial_password()
        await accounts.create_account(
            None,
            username=agent.number,
            role=Role.AGENT,
            initial_password=password,
            agent_number=agent.number,
            teams=(agent.team,),
            display_name=agent.name,
        )
        created[agent.number] = password
    for username, password in created.items():
        announce(f"created account {username!r} with initial password {password} (shown once)")
    return created

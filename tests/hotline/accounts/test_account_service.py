"""Password rules, lockout and one live login per agent number (SPEC-R3), against a real DB."""

from __future__ import annotations

import pytest
from accounts_testkit import FAST_ARGON2, FakeClock
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.accounts.audit import AuditAction, AuditLog
from hotline.accounts.errors import (
    AccountLocked,
    AuthenticationFailed,
    ConcurrentSession,
    Conflict,
    PasswordChangeRequired,
    PermissionDenied,
    SessionInvalid,
)
from hotline.accounts.models import AuditRecord
from hotline.accounts.passwords import PasswordProblem, PasswordRejected
from hotline.accounts.permissions import Principal, Role
from hotline.accounts.service import AccountService

INITIAL = "Initial-Pw-2026"
FIRST = "Blue-Kettle-Morning-7"
SECOND = "Green-Lantern-Noon-8"
DAY = 86_400.0


async def _agent(accounts: AccountService, number: str = "1042") -> int:
    return await accounts.create_account(
        None,
        username=f"agent{number}",
        agent_number=number,
        role=Role.AGENT,
        initial_password=INITIAL,
        teams=["billing"],
    )


async def _actions(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[str, str, str]]:
    async with sessions() as session:
        rows = (await session.execute(select(AuditRecord).order_by(AuditRecord.seq))).scalars()
        return [(row.action, row.target, row.outcome) for row in rows]


async def test_first_login_forces_a_password_change_before_anything_else(
    accounts: AccountService,
) -> None:
    await _agent(accounts)
    info = await accounts.login("1042", INITIAL, ip="10.0.0.5")
    assert info.password_change_required
    assert info.token is not None
    with pytest.raises(PasswordChangeRequired):
        await accounts.principal(info.token)
    await accounts.change_password(info.token, INITIAL, FIRST)
    principal = await accounts.principal(info.token)
    assert principal.agent_number == "1042"
    assert principal.role is Role.AGENT
    assert principal.teams == frozenset({"billing"})


@pytest.mark.parametrize(
    ("candidate", "problem"),
    [
        ("Short-1", PasswordProblem.TOO_SHORT),
        ("qwertyuiop", PasswordProblem.COMMON),
        ("Password123", PasswordProblem.COMMON),
        ("aaaabbbbaaaa", PasswordProblem.TOO_SIMPLE),
        ("my-1042-secret", PasswordProblem.CONTAINS_USERNAME),
        (INITIAL, PasswordProblem.PREVIOUSLY_USED),
    ],
)
async def test_weak_initial_and_reused_passwords_are_refused(
    accounts: AccountService, candidate: str, problem: PasswordProblem
) -> None:
    await _agent(accounts)
    info = await accounts.login("1042", INITIAL)
    assert info.token is not None
    with pytest.raises(PasswordRejected) as refused:
        await accounts.change_password(info.token, INITIAL, candidate)
    assert refused.value.problem is problem


async def test_an_earlier_password_cannot_come_back(accounts: AccountService) -> None:
    await _agent(accounts)
    info = await accounts.login("1042", INITIAL)
    assert info.token is not None
    await accounts.change_password(info.token, INITIAL, FIRST)
    await accounts.change_password(info.token, FIRST, SECOND)
    with pytest.raises(PasswordRejected) as refused:
        await accounts.change_password(info.token, SECOND, FIRST)
    assert refused.value.problem is PasswordProblem.PREVIOUSLY_USED


async def test_password_expires_after_ninety_days(
    accounts: AccountService, clock: FakeClock
) -> None:
    await _agent(accounts)
    info = await accounts.login("1042", INITIAL)
    assert info.token is not None
    await accounts.change_password(info.token, INITIAL, FIRST)
    await accounts.logout(info.token)
    clock.advance(89 * DAY)
    fresh = await accounts.login("1042", FIRST)
    assert not fresh.password_change_required
    assert fresh.token is not None
    await accounts.logout(fresh.token)
    clock.advance(1 * DAY)
    stale = await accounts.login("1042", FIRST)
    assert stale.password_change_required


async def test_five_failures_lock_the_account_even_for_the_right_password(
    accounts: AccountService, clock: FakeClock, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await _agent(accounts)
    for _ in range(4):
        with pytest.raises(AuthenticationFailed):
            await accounts.login("1042", "wrong-password-x")
    with pytest.raises(AccountLocked):
        await accounts.login("1042", "wrong-password-x")
    with pytest.raises(AccountLocked):
        await accounts.login("1042", INITIAL)
    actions = [action for action, _, _ in await _actions(sessions)]
    assert actions.count(AuditAction.LOGIN_FAILED.value) == 4
    assert actions.count(AuditAction.LOGIN_LOCKED.value) == 2
    clock.advance(31 * 60)
    assert (await accounts.login("1042", INITIAL)).token is not None


async def test_a_failure_count_resets_after_a_good_login(accounts: AccountService) -> None:
    await _agent(accounts)
    for _ in range(4):
        with pytest.raises(AuthenticationFailed):
            await accounts.login("1042", "wrong-password-x")
    info = await accounts.login("1042", INITIAL)
    assert info.token is not None
    await accounts.logout(info.token)
    for _ in range(4):
        with pytest.raises(AuthenticationFailed):
            await accounts.login("1042", "wrong-password-x")
    assert (await accounts.login("1042", INITIAL)).token is not None


async def test_second_live_login_for_one_agent_number_is_refused_and_audited(
    accounts: AccountService, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _agent(accounts)
    first = await accounts.login("1042", INITIAL, ip="10.0.0.5")
    with pytest.raises(ConcurrentSession):
        await accounts.login("agent1042", INITIAL, ip="10.0.0.99")
    refused = [
        row for row in await _actions(sessions) if row[0] == "account.login_refused_concurrent"
    ]
    assert refused == [("account.login_refused_concurrent", "agent1042", "denied")]
    async with sessions() as session:
        row = (
            await session.execute(
                select(AuditRecord).where(AuditRecord.action == "account.login_refused_concurrent")
            )
        ).scalar_one()
        assert row.ip == "10.0.0.99"
    # After logout the agent may log in again (a new shift, another desk).
    assert first.token is not None
    await accounts.logout(first.token)
    with pytest.raises(SessionInvalid):
        await accounts.authenticate(first.token)
    assert (await accounts.login("1042", INITIAL)).token is not None


async def test_an_abandoned_session_stops_blocking_after_the_idle_timeout(
    accounts: AccountService, clock: FakeClock
) -> None:
    await _agent(accounts)
    await accounts.login("1042", INITIAL)
    clock.advance(31 * 60)
    assert (await accounts.login("1042", INITIAL)).token is not None


async def test_audit_chain_of_account_events_verifies(
    accounts: AccountService, audit: AuditLog
) -> None:
    await _agent(accounts)
    with pytest.raises(AuthenticationFailed):
        await accounts.login("1042", "wrong-password-x")
    result = await audit.verify_chain()
    assert result.ok
    assert result.checked == 2


async def test_lockout_without_expiry_needs_an_admin(
    sessions: async_sessionmaker[AsyncSession], audit: AuditLog, clock: FakeClock
) -> None:
    from hotline.accounts.passwords import PasswordPolicy
    from hotline.accounts.service import AccountPolicy

    strict = AccountService(
        sessions,
        audit,
        clock,
        policy=AccountPolicy(password=PasswordPolicy(argon2=FAST_ARGON2), lockout_seconds=None),
    )
    await _agent(strict)
    admin_id = await strict.create_account(
        None, username="root", role=Role.ADMIN, initial_password="Admin-Initial-77"
    )
    for _ in range(5):
        with pytest.raises((AuthenticationFailed, AccountLocked)):
            await strict.login("1042", "wrong-password-x")
    clock.advance(30 * DAY)
    with pytest.raises(AccountLocked):
        await strict.login("1042", INITIAL)
    agent_principal = (await strict.login("root", "Admin-Initial-77")).principal
    assert agent_principal.account_id == admin_id
    lead = Principal(99, "lead", Role.TEAM_LEAD)
    with pytest.raises(PermissionDenied):
        await strict.unlock(lead, "agent1042")
    await strict.unlock(agent_principal, "agent1042")
    assert (await strict.login("1042", INITIAL)).token is not None


async def test_only_admins_create_accounts(accounts: AccountService) -> None:
    with pytest.raises(PermissionDenied):
        await accounts.create_account(
            Principal(1, "qa", Role.QA), username="x", role=Role.ADMIN, initial_password=FIRST
        )
    with pytest.raises(PasswordRejected):
        await accounts.create_account(None, username="y", role=Role.AGENT, initial_password="short")
    await _agent(accounts)
    with pytest.raises(Conflict):
        await _agent(accounts)


async def test_an_admin_can_end_a_stuck_session_so_the_agent_logs_in_again(
    accounts: AccountService,
) -> None:
    await _agent(accounts)
    admin_id = await accounts.create_account(
        None, username="root", role=Role.ADMIN, initial_password="Admin-Initial-77"
    )
    admin = Principal(admin_id, "root", Role.ADMIN)
    stuck = await accounts.login("1042", INITIAL)
    with pytest.raises(ConcurrentSession):
        await accounts.login("1042", INITIAL)
    with pytest.raises(PermissionDenied):
        await accounts.end_sessions(Principal(7, "lead", Role.TEAM_LEAD), "agent1042")
    assert await accounts.end_sessions(admin, "agent1042") == 1
    assert stuck.token is not None
    with pytest.raises(SessionInvalid):
        await accounts.authenticate(stuck.token)
    assert (await accounts.login("1042", INITIAL)).token is not None


async def test_unknown_user_and_wrong_password_look_the_same(accounts: AccountService) -> None:
    await _agent(accounts)
    with pytest.raises(AuthenticationFailed) as unknown:
        await accounts.login("nobody", INITIAL)
    with pytest.raises(AuthenticationFailed) as wrong:
        await accounts.login("1042", "wrong-password-x")
    assert str(unknown.value) == str(wrong.value)

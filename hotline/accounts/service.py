"""Account life cycle: creation, login with lockout and one live session (SPEC-R3), password
changes under the rules of ``passwords.py``, session tokens for the web layer.

The clock is injected; nothing here reads the wall clock or the environment.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.accounts.audit import Actor, AuditAction, AuditLog, Outcome
from hotline.accounts.credentials import SipCredentialStore
from hotline.accounts.errors import (
    AccountLocked,
    AuthenticationFailed,
    ConcurrentSession,
    Conflict,
    NotFound,
    PasswordChangeRequired,
    PermissionDenied,
    SessionInvalid,
)
from hotline.accounts.models import Account, LoginSession, PasswordHistory
from hotline.accounts.passwords import (
    PasswordPolicy,
    check_new_password,
    hash_password,
    verify_password,
)
from hotline.accounts.permissions import Permission, Principal, Role, Scope, scope_of

# OWASP Authentication Cheat Sheet: lock after a handful of failures; issue 6 says 5.
MAX_FAILED_LOGINS = 5
# Unlocks by itself after 30 minutes (None in the policy: only an admin unlocks).
DEFAULT_LOCKOUT_SECONDS = 30 * 60
# A live session is one used within this long; the agent desktop polls far more often.
DEFAULT_IDLE_TIMEOUT_SECONDS = 30 * 60
# Longest shift plus overtime; after this a session must log in again.
DEFAULT_SESSION_LIFETIME_SECONDS = 12 * 3600
# 32 random bytes = 256 bits, as for any bearer token (RFC 6750 §5.2 asks for unguessable).
TOKEN_BYTES = 32


@dataclass(frozen=True, slots=True)
class AccountPolicy:
    password: PasswordPolicy = field(default_factory=PasswordPolicy)
    max_failed_logins: int = MAX_FAILED_LOGINS
    lockout_seconds: float | None = DEFAULT_LOCKOUT_SECONDS
    idle_timeout_seconds: float = DEFAULT_IDLE_TIMEOUT_SECONDS
    session_lifetime_seconds: float = DEFAULT_SESSION_LIFETIME_SECONDS


@dataclass(frozen=True, slots=True)
class SessionInfo:
    token: str | None  # only set right after login; never read back from the database
    principal: Principal
    password_change_required: bool
    expires_at: float


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _principal(account: Account, ip: str | None) -> Principal:
    return Principal(
        account_id=account.id,
        username=account.username,
        role=Role(account.role),
        agent_number=account.agent_number,
        teams=frozenset(account.teams or ()),
        complaint_handler=account.complaint_handler,
        ip=ip,
    )


class AccountService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        audit: AuditLog,
        clock: Callable[[], float],
        *,
        policy: AccountPolicy | None = None,
        credentials: SipCredentialStore | None = None,
    ) -> None:
        self._sessions = sessions
        self._audit = audit
        self._clock = clock
        self._policy = policy or AccountPolicy()
        self._hasher = self._policy.password.argon2.hasher()
        # Verified against when the user is unknown, so that a wrong name costs the same
        # argon2 time as a wrong password and response times do not reveal valid names.
        self._decoy_hash = hash_password(self._hasher, secrets.token_urlsafe(TOKEN_BYTES))
        self._credentials = credentials
        # Serialises "is there a live session? then create one" within this process.
        self._login_lock = asyncio.Lock()

    # --- administration -------------------------------------------------------------------

    async def create_account(
        self,
        by: Principal | None,
        *,
        username: str,
        role: Role,
        initial_password: str,
        agent_number: str | None = None,
        teams: Iterable[str] = (),
        complaint_handler: bool = False,
        display_name: str = "",
    ) -> int:
        """Create an account whose initial password must be changed at first login.

        ``by`` is the admin doing it; None only for bootstrapping the first admin.
        """
        actor = Actor.system("bootstrap") if by is None else Actor.of(by)
        if by is not None and scope_of(by.role, Permission.ACCOUNT_MANAGE) is not Scope.ALL:
            await self._audit.append(actor, AuditAction.ACCOUNT_CREATED, username, Outcome.DENIED)
            raise PermissionDenied(f"{by.role.value} may not create accounts")
        # argon2id takes ~0.3 s of CPU on purpose; off the loop, so no call's audio stalls.
        await asyncio.to_thread(
            check_new_password,
            initial_password,
            policy=self._policy.password,
            username=agent_number or username,
            previous_hashes=(),
            hasher=self._hasher,
        )
        now = self._clock()
        password_hash = await asyncio.to_thread(hash_password, self._hasher, initial_password)
        async with self._sessions() as session, session.begin():
            names = {username, agent_number or username}
            clash = await session.execute(
                select(Account.id).where(
                    or_(Account.username.in_(names), Account.agent_number.in_(names))
                )
            )
            if clash.first() is not None:
                raise Conflict(f"an account named {username!r} or with that agent number exists")
            account = Account(
                username=username,
                agent_number=agent_number,
                display_name=display_name,
                role=role.value,
                teams=sorted(set(teams)),
                complaint_handler=complaint_handler,
                password_hash=password_hash,
                password_changed_at=now,
                must_change_password=True,
                failed_logins=0,
                created_at=now,
            )
            session.add(account)
            await session.flush()
            session.add(
                PasswordHistory(account_id=account.id, password_hash=password_hash, set_at=now)
            )
            if self._credentials is not None:
                await self._credentials.store(
                    session, account.id, agent_number or username, initial_password
                )
            account_id = account.id
        await self._audit.append(
            actor, AuditAction.ACCOUNT_CREATED, username, details={"role": role.value}
        )
        return account_id

    async def unlock(self, by: Principal, username: str) -> None:
        if scope_of(by.role, Permission.ACCOUNT_MANAGE) is not Scope.ALL:
            await self._audit.append(
                Actor.of(by), AuditAction.ACCOUNT_UNLOCKED, username, Outcome.DENIED
            )
            raise PermissionDenied(f"{by.role.value} may not unlock accounts")
        async with self._sessions() as session, session.begin():
            account = await self._find(session, username)
            account.failed_logins = 0
            account.locked_until = None
        await self._audit.append(Actor.of(by), AuditAction.ACCOUNT_UNLOCKED, username)

    async def end_sessions(self, by: Principal, username: str) -> int:
        """End every live session of ``username`` (a crashed desk blocking the next login)."""
        if scope_of(by.role, Permission.ACCOUNT_MANAGE) is not Scope.ALL:
            await self._audit.append(Actor.of(by), AuditAction.LOGOUT, username, Outcome.DENIED)
            raise PermissionDenied(f"{by.role.value} may not end other people's sessions")
        now = self._clock()
        async with self._sessions() as session, session.begin():
            account = await self._find(session, username)
            rows = (
                (
                    await session.execute(
                        select(LoginSession).where(
                            LoginSession.account_id == account.id, LoginSession.ended_at.is_(None)
                        )
                    )
                )
                .scalars()
                .all()
            )
            for row in rows:
                row.ended_at = now
        await self._audit.append(
            Actor.of(by), AuditAction.LOGOUT, username, details={"ended_sessions": len(rows)}
        )
        return len(rows)

    # --- login and sessions -----------------------------------------------------------------

    async def login(self, username: str, password: str, *, ip: str | None = None) -> SessionInfo:
        """Check the password and open a session; refuses a second live session (SPEC-R3).

        ``username`` may be the account name or the agent number.
        """
        async with self._login_lock:
            return await self._login(username, password, ip)

    async def _login(self, username: str, password: str, ip: str | None) -> SessionInfo:
        now = self._clock()
        attempt = Actor(username, "unauthenticated", ip)
        failure: Exception | None = None
        info: SessionInfo | None = None
        async with self._sessions() as session, session.begin():
            account = (
                await session.execute(
                    select(Account).where(
                        or_(Account.username == username, Account.agent_number == username)
                    )
                )
            ).scalar_one_or_none()
            if account is None or account.disabled:
                await asyncio.to_thread(verify_password, self._hasher, self._decoy_hash, password)
                failure = AuthenticationFailed("unknown user or wrong password")
            elif account.locked_until is not None and now < account.locked_until:
                failure = AccountLocked(
                    "account locked after repeated failures", account.locked_until
                )
            elif not await asyncio.to_thread(
                verify_password, self._hasher, account.password_hash, password
            ):
                account.failed_logins += 1
                if account.failed_logins >= self._policy.max_failed_logins:
                    lockout = self._policy.lockout_seconds
                    account.locked_until = float("inf") if lockout is None else now + lockout
                    failure = AccountLocked(
                        "account locked after repeated failures", account.locked_until
                    )
                else:
                    failure = AuthenticationFailed("unknown user or wrong password")
            elif await self._live_session(session, account.id, now) is not None:
                failure = ConcurrentSession(
                    f"agent {account.agent_number or account.username} is already logged in"
                )
            else:
                account.failed_logins = 0
                account.locked_until = None
                token = secrets.token_urlsafe(TOKEN_BYTES)
                expires_at = now + self._policy.session_lifetime_seconds
                session.add(
                    LoginSession(
                        token_sha256=_token_digest(token),
                        account_id=account.id,
                        created_at=now,
                        last_seen_at=now,
                        expires_at=expires_at,
                        ip=ip,
                    )
                )
                info = SessionInfo(
                    token, _principal(account, ip), self._change_required(account, now), expires_at
                )
        if failure is not None or info is None:
            failure = failure or AuthenticationFailed("unknown user or wrong password")
            action = {
                AccountLocked: AuditAction.LOGIN_LOCKED,
                ConcurrentSession: AuditAction.LOGIN_REFUSED_CONCURRENT,
            }.get(type(failure), AuditAction.LOGIN_FAILED)
            await self._audit.append(attempt, action, username, Outcome.DENIED)
            raise failure
        await self._audit.append(Actor.of(info.principal), AuditAction.LOGIN, username)
        return info

    async def authenticate(self, token: str, *, ip: str | None = None) -> SessionInfo:
        """The session behind ``token`` (and mark it used); raises SessionInvalid."""
        now = self._clock()
        async with self._sessions() as session, session.begin():
            row = await self._session_row(session, token, now)
            account = await session.get(Account, row.account_id)
            if account is None or account.disabled:
                raise SessionInvalid("the account behind this session is gone")
            row.last_seen_at = now
            return SessionInfo(
                None,
                _principal(account, ip or row.ip),
                self._change_required(account, now),
                row.expires_at,
            )

    async def principal(self, token: str, *, ip: str | None = None) -> Principal:
        """The principal for a request; refuses sessions that must change their password first."""
        info = await self.authenticate(token, ip=ip)
        if info.password_change_required:
            raise PasswordChangeRequired("change your password before continuing")
        return info.principal

    async def logout(self, token: str) -> None:
        now = self._clock()
        async with self._sessions() as session, session.begin():
            row = await self._session_row(session, token, now)
            row.ended_at = now
            account = await session.get(Account, row.account_id)
            principal = None if account is None else _principal(account, row.ip)
        if principal is not None:
            await self._audit.append(Actor.of(principal), AuditAction.LOGOUT, principal.username)

    async def change_password(self, token: str, old_password: str, new_password: str) -> None:
        """Change the session's own password: the old one must match, the new one obey the rules."""
        now = self._clock()
        async with self._sessions() as session, session.begin():
            row = await self._session_row(session, token, now)
            account = await session.get(Account, row.account_id)
            if account is None:
                raise SessionInvalid("the account behind this session is gone")
            if not await asyncio.to_thread(
                verify_password, self._hasher, account.password_hash, old_password
            ):
                raise AuthenticationFailed("the current password is wrong")
            history = (
                (
                    await session.execute(
                        select(PasswordHistory.password_hash)
                        .where(PasswordHistory.account_id == account.id)
                        .order_by(PasswordHistory.set_at.desc(), PasswordHistory.id.desc())
                        .limit(self._policy.password.history_depth)
                    )
                )
                .scalars()
                .all()
            )
            await asyncio.to_thread(
                check_new_password,
                new_password,
                policy=self._policy.password,
                username=account.agent_number or account.username,
                previous_hashes=[account.password_hash, *history],
                hasher=self._hasher,
            )
            new_hash = await asyncio.to_thread(hash_password, self._hasher, new_password)
            account.password_hash = new_hash
            account.password_changed_at = now
            account.must_change_password = False
            session.add(PasswordHistory(account_id=account.id, password_hash=new_hash, set_at=now))
            if self._credentials is not None:
                await self._credentials.store(
                    session, account.id, account.agent_number or account.username, new_password
                )
            principal = _principal(account, row.ip)
        await self._audit.append(
            Actor.of(principal), AuditAction.PASSWORD_CHANGED, principal.username
        )

    # --- helpers ----------------------------------------------------------------------------

    def _change_required(self, account: Account, now: float) -> bool:
        return account.must_change_password or self._policy.password.expired(
            account.password_changed_at, now
        )

    async def _live_session(
        self, session: AsyncSession, account_id: int, now: float
    ) -> LoginSession | None:
        return (
            await session.execute(
                select(LoginSession)
                .where(
                    LoginSession.account_id == account_id,
                    LoginSession.ended_at.is_(None),
                    LoginSession.expires_at > now,
                    LoginSession.last_seen_at > now - self._policy.idle_timeout_seconds,
                )
                .limit(1)
            )
        ).scalar_one_or_none()

    async def _session_row(self, session: AsyncSession, token: str, now: float) -> LoginSession:
        row = (
            await session.execute(
                select(LoginSession).where(LoginSession.token_sha256 == _token_digest(token))
            )
        ).scalar_one_or_none()
        if (
            row is None
            or row.ended_at is not None
            or now >= row.expires_at
            or now - row.last_seen_at >= self._policy.idle_timeout_seconds
        ):
            raise SessionInvalid("the session is unknown, ended or expired")
        return row

    async def _find(self, session: AsyncSession, username: str) -> Account:
        account = (
            await session.execute(select(Account).where(Account.username == username))
        ).scalar_one_or_none()
        if account is None:
            raise NotFound(f"no account {username!r}")
        return account

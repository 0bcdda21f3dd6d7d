"""SIP digest HA1 lookup backed by accounts (RFC 7616 §3.4.2), for MD5 and SHA-256."""

from __future__ import annotations

import hashlib

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.accounts.credentials import SipCredentialStore
from hotline.accounts.models import SipCredential
from hotline.accounts.permissions import Role
from hotline.accounts.service import AccountService

INITIAL = "Initial-Pw-2026"
NEW = "Blue-Kettle-Morning-7"


async def test_ha1_for_md5_and_sha256_follows_the_password(
    accounts: AccountService,
    credentials: SipCredentialStore,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await accounts.create_account(
        None, username="agent1042", agent_number="1042", role=Role.AGENT, initial_password=INITIAL
    )
    md5 = hashlib.md5(f"1042:hotline:{INITIAL}".encode()).hexdigest()
    sha = hashlib.sha256(f"1042:hotline:{INITIAL}".encode()).hexdigest()
    assert credentials.lookup_ha1("1042", "hotline", "MD5") == md5
    assert credentials.lookup_ha1("1042", "hotline", "md5") == md5
    assert credentials.lookup_ha1("1042", "hotline", "SHA-256") == sha
    assert credentials.lookup_ha1("1042", "hotline", "SHA-256-sess") == sha
    other = hashlib.sha256(f"1042:backup.example:{INITIAL}".encode()).hexdigest()
    assert credentials.lookup_ha1("1042", "backup.example", "SHA-256") == other
    assert credentials.lookup_ha1("1042", "elsewhere", "MD5") is None
    assert credentials.lookup_ha1("9999", "hotline", "MD5") is None
    assert credentials.lookup_ha1("1042", "hotline", "SHA-512-256") is None

    info = await accounts.login("1042", INITIAL)
    assert info.token is not None
    await accounts.change_password(info.token, INITIAL, NEW)
    new_md5 = hashlib.md5(f"1042:hotline:{NEW}".encode()).hexdigest()
    assert credentials.lookup_ha1("1042", "hotline", "MD5") == new_md5

    # A fresh store (another process, a restart) reads the same from the table.
    restarted = SipCredentialStore(["hotline", "backup.example"])
    await restarted.load(sessions)
    assert restarted.lookup_ha1("1042", "hotline", "MD5") == new_md5
    async with sessions() as session:
        stored = (await session.execute(select(SipCredential.ha1))).scalars().all()
    assert len(stored) == 4
    assert all(NEW not in value and INITIAL not in value for value in stored)


async def test_sip_registrar_digest_accepts_the_account_password_through_the_store(
    accounts: AccountService, credentials: SipCredentialStore
) -> None:
    from telephony.sip.digest import (
        AuthOutcome,
        ClientCredentials,
        DigestAuthenticator,
        authorization_for,
    )
    from telephony.sip.uri import SipUri

    await accounts.create_account(
        None, username="agent1042", agent_number="1042", role=Role.AGENT, initial_password=INITIAL
    )
    server = DigestAuthenticator(realm="hotline", store=credentials, secret=b"k" * 32)
    uri = "sip:hotline.example"
    for algorithm in ("SHA-256", "MD5"):
        for password, outcome in ((INITIAL, AuthOutcome.ACCEPTED), (NEW, AuthOutcome.FORBIDDEN)):
            # A fresh nonce per attempt: a reused nonce with nc=1 would be a replay.
            challenge = next(
                c for c in server.challenges(now=100.0) if c.algorithm.value == algorithm
            )
            answer = authorization_for(
                challenge, ClientCredentials("1042", password), method="REGISTER", uri=uri
            )
            decision = server.verify(
                method="REGISTER",
                request_uri=SipUri.parse(uri),
                authorizations=[answer.serialize()],
                now=101.0,
            )
            assert decision.outcome is outcome, (challenge.algorithm, password)

"""The simulator's REGISTER client against Hotline's registrar over 127.0.0.1 (RFC 3261 §10)."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator

import pytest

from sim.live_sip import Registration, RegistrationFailed, registrar_peer
from telephony.sip.digest import ClientCredentials, DigestAuthenticator, InMemoryCredentialStore
from telephony.sip.registrar import BindingStore, Registrar, RegistrarLimits, aor_key
from telephony.sip.uri import SipUri
from telephony.sip.useragent import UserAgent

PASSWORD = "correct-horse-7"


@pytest.fixture
async def registrar() -> AsyncIterator[UserAgent]:
    store = InMemoryCredentialStore([("1001", "hotline", PASSWORD)])
    ua = await UserAgent.start(
        [("udp", "127.0.0.1", 0)],
        registrar=Registrar(
            bindings=BindingStore(),
            authenticator=DigestAuthenticator("hotline", store, secrets.token_bytes(16)),
        ),
    )
    yield ua
    await ua.close()


@pytest.fixture
async def phone() -> AsyncIterator[UserAgent]:
    ua = await UserAgent.start([("udp", "127.0.0.1", 0)], user="1001")
    yield ua
    await ua.close()


def registration(registrar: UserAgent, phone: UserAgent, password: str) -> Registration:
    local = registrar.local_address()
    peer = registrar_peer("127.0.0.1", local.port)
    return Registration(phone, peer, "1001", ClientCredentials("1001", password))


def contacts(registrar: UserAgent) -> list[SipUri]:
    assert registrar.registrar is not None
    bindings = registrar.registrar.bindings.lookup(
        aor_key(SipUri("sip", "1001", "127.0.0.1")), time.time()
    )
    return [b.contact.uri for b in bindings]


async def test_register_answers_the_digest_challenge_and_unregister_removes_the_binding(
    registrar: UserAgent, phone: UserAgent
) -> None:
    reg = registration(registrar, phone, PASSWORD)
    await reg.register()
    (contact,) = contacts(registrar)
    assert (contact.user, contact.port) == ("1001", phone.local_address().port)
    await reg.register()  # a refresh keeps one binding (same Call-ID, higher CSeq)
    assert len(contacts(registrar)) == 1
    await reg.unregister()
    assert contacts(registrar) == []


async def test_a_wrong_password_is_a_clear_failure(registrar: UserAgent, phone: UserAgent) -> None:
    with pytest.raises(RegistrationFailed, match="REGISTER 1001: 403"):
        await registration(registrar, phone, "wrong-password").register()
    assert contacts(registrar) == []


async def test_the_binding_is_refreshed_within_what_the_registrar_grants(
    phone: UserAgent,
) -> None:
    # A registrar that grants 2 s at most: the client must come back before it lapses.
    store = InMemoryCredentialStore([("1001", "hotline", PASSWORD)])
    short = await UserAgent.start(
        [("udp", "127.0.0.1", 0)],
        registrar=Registrar(
            bindings=BindingStore(),
            authenticator=DigestAuthenticator("hotline", store, secrets.token_bytes(16)),
            limits=RegistrarLimits(min_expires=1, max_expires=2),
        ),
    )
    try:
        reg = registration(short, phone, PASSWORD)
        await reg.register()
        assert reg.granted == 2
        refresher = asyncio.ensure_future(reg.keep_registered())
        await asyncio.sleep(4.5)  # two lifetimes: bound to lapse without refreshes
        refresher.cancel()
        assert len(contacts(short)) == 1
    finally:
        await short.close()

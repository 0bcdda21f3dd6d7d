"""Fixtures for the interop suite: one pjsua2 library per session, our service per test.

`pj_env` (session) is the pjsua2 library; `pj` (per test) is the same object, reset after
the test (calls hung up, accounts dropped). `sip_service` is our UserAgent on 127.0.0.1
with a registrar that asks for digest auth against `ACCOUNTS`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from interop.interop_support import REALM, make_registrar
from interop.pjsua_harness import PjEnv
from telephony.sip.useragent import UserAgent


@pytest.fixture(scope="session")
def pj_env() -> Iterator[PjEnv]:
    env = PjEnv()
    yield env
    env.close()


@pytest.fixture
async def pj(pj_env: PjEnv) -> AsyncIterator[PjEnv]:
    yield pj_env
    await pj_env.reset()


@pytest.fixture
async def sip_service() -> AsyncIterator[UserAgent]:
    ua = await UserAgent.start([("udp", "127.0.0.1", 0)], user="hotline", domain=REALM,
                               registrar=make_registrar())
    yield ua
    await ua.close()

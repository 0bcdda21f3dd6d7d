"""Interop with pyVoIP 1.6.8 as an agent softphone: it registers to our registrar and
answers a call our OutboundCall places to it (issue 3, requirement 5).

pyVoIP 1.6.8 only knows RFC 2069-style MD5 digest (no qop, and it signs
"sip:<server>;transport=UDP"), so this registrar runs with ``allow_no_qop=True``; it also
advertises the SIP port it was given, so it needs a real free port, not 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import AsyncIterator

import pytest

from interop.interop_support import ACCOUNTS, REALM, make_registrar
from interop.pjsua_harness import wait_until
from telephony.sdp import PCMU, LocalMedia
from telephony.sip.call_events import CallAnswered, CallConfirmed, CallEnded, EndReason, Side
from telephony.sip.uri import SipUri
from telephony.sip.useragent import UserAgent

pyvoip = pytest.importorskip("pyVoIP.VoIP")
pytestmark = pytest.mark.interop
STEP = 15.0  # pyVoIP answers from a 1 s timer thread and polls its socket


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Answerer:
    """pyVoIP's call callback (its own thread): answer, then wait for the call to end."""

    def __init__(self) -> None:
        self.answered = threading.Event()
        self.ended = threading.Event()
        self.states: list[str] = []

    def __call__(self, call: object) -> None:
        call.answer()  # type: ignore[attr-defined]
        self.answered.set()
        for _ in range(int(STEP / 0.05)):
            state = str(call.state)  # type: ignore[attr-defined]
            if not self.states or self.states[-1] != state:
                self.states.append(state)
            if state.endswith("ENDED"):
                self.ended.set()
                return
            threading.Event().wait(0.05)


@pytest.fixture
async def service() -> AsyncIterator[UserAgent]:
    ua = await UserAgent.start([("udp", "127.0.0.1", 0)], user="hotline", domain=REALM,
                               registrar=make_registrar(allow_no_qop=True))
    yield ua
    await ua.close()


async def test_pyvoip_registers_and_answers_our_call(service: UserAgent) -> None:
    local = service.local_address()
    answerer = Answerer()
    rtp_low = free_udp_port()
    phone = pyvoip.VoIPPhone(local.host, local.port, "2001", ACCOUNTS["2001"],
                             myIP="127.0.0.1", callCallback=answerer, sipPort=free_udp_port(),
                             rtpPortLow=rtp_low, rtpPortHigh=rtp_low + 10)
    await asyncio.wait_for(asyncio.to_thread(phone.start), STEP)  # blocks until REGISTERed
    try:
        aor = SipUri.parse(f"sip:2001@{local.host}")  # pyVoIP registers sip:user@server
        bindings = await wait_until(lambda: service.bindings(aor), "pyVoIP binding")
        assert bindings[0].contact.uri.user == "2001"

        out = service.call_registered(aor, local_media=LocalMedia(address="127.0.0.1",
                                                                  port=33000))

        async def answered() -> CallAnswered:
            while True:
                event = await out.next_event()
                if isinstance(event, CallAnswered):
                    return event
                assert not isinstance(event, CallEnded), event
        event = await asyncio.wait_for(answered(), STEP)
        assert event.media.codec == PCMU
        assert event.media.remote_address == "127.0.0.1"
        assert rtp_low <= event.media.remote_port <= rtp_low + 10
        assert isinstance(await asyncio.wait_for(out.next_event(), STEP), CallConfirmed)

        await out.hangup()
        assert out.ended == CallEnded(Side.LOCAL, EndReason.BYE)
        assert await asyncio.to_thread(answerer.ended.wait, STEP)
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.to_thread(phone.stop), STEP)


async def test_pyvoip_with_wrong_password_is_not_registered(service: UserAgent) -> None:
    local = service.local_address()
    phone = pyvoip.VoIPPhone(local.host, local.port, "2001", "not-the-password",
                             myIP="127.0.0.1", callCallback=Answerer(),
                             sipPort=free_udp_port(), rtpPortLow=45000, rtpPortHigh=45010)
    await asyncio.wait_for(asyncio.to_thread(phone.start), STEP)
    try:
        # pyVoIP retries a refused REGISTER (3 times) and then gives up as FAILED.
        await wait_until(lambda: phone.get_status().name == "FAILED", "pyVoIP to give up",
                         STEP)
        assert service.bindings(SipUri.parse(f"sip:2001@{local.host}")) == ()
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.to_thread(phone.stop), STEP)

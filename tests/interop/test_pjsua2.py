"""Interop with PJSIP (pjsua2) over 127.0.0.1: registration, calls, hold, CANCEL (issue 3).

Signalling and SDP negotiation are checked here; audio quality belongs to the media tests.
"""

from __future__ import annotations

import asyncio

import pytest

from interop.interop_support import ACCOUNTS, REALM, WireTap
from interop.pjsua_harness import PjEnv, wait_until
from telephony.media.dtmf import DtmfSource
from telephony.sdp import PCMU, Direction, LocalMedia
from telephony.sip.call_events import (
    CallAnswered,
    CallConfirmed,
    CallEnded,
    CallEvent,
    DtmfReceived,
    EndReason,
    HoldChanged,
    Side,
)
from telephony.sip.ua import InboundCall
from telephony.sip.uri import SipUri
from telephony.sip.useragent import UserAgent

pytestmark = pytest.mark.interop
STEP = 10.0


def ours(ua: UserAgent) -> tuple[str, int]:
    local = ua.local_address()
    return local.host, local.port


async def next_of(leg: object, kind: type) -> CallEvent:
    async def loop() -> CallEvent:
        while True:
            event = await leg.next_event()  # type: ignore[attr-defined]
            if isinstance(event, kind):
                return event
    return await asyncio.wait_for(loop(), STEP)


async def test_pjsua2_registers_with_digest(pj: PjEnv, sip_service: UserAgent) -> None:
    phone = pj.account("1001", domain=REALM, registrar=ours(sip_service),
                       password=ACCOUNTS["1001"])
    await wait_until(lambda: 200 in phone.reg_codes, "pjsua2 registration 200")
    bindings = sip_service.bindings(SipUri.parse(f"sip:1001@{REALM}"))
    assert len(bindings) == 1
    assert bindings[0].contact.uri.port == pj.port


async def test_pjsua2_wrong_password_is_refused_and_not_bound(
        pj: PjEnv, sip_service: UserAgent) -> None:
    phone = pj.account("1002", domain=REALM, registrar=ours(sip_service), password="guess")
    codes = await wait_until(lambda: [c for c in phone.reg_codes if c >= 300],
                             "pjsua2 registration failure")
    assert codes[0] in (401, 403)
    assert sip_service.bindings(SipUri.parse(f"sip:1002@{REALM}")) == ()


async def place_pj_call(pj: PjEnv, service: UserAgent) -> tuple[object, InboundCall]:
    caller = pj.account("caller")
    host, port = ours(service)
    pj_call = caller.call(f"sip:1000@{host}:{port}")
    call = await asyncio.wait_for(service.incoming.get(), STEP)
    return pj_call, call


async def test_pjsua2_call_answered_held_resumed_and_hung_up_by_caller(
        pj: PjEnv, sip_service: UserAgent) -> None:
    pj_call, call = await place_pj_call(pj, sip_service)
    await call.ring()
    await pj_call.wait_state("EARLY")  # type: ignore[attr-defined]
    negotiated = await call.answer(LocalMedia(address="127.0.0.1", port=31000))
    assert negotiated is not None and negotiated.codec == PCMU
    assert negotiated.telephone_event_pt is not None
    await pj_call.wait_state("CONFIRMED")  # type: ignore[attr-defined]
    assert pj_call.last_status == 200  # type: ignore[attr-defined]
    await next_of(call, CallConfirmed)

    pj_call.put_on_hold()  # type: ignore[attr-defined]
    assert await next_of(call, HoldChanged) == HoldChanged(Direction.RECVONLY, True)
    await pj_call.wait_media("LOCAL_HOLD")  # type: ignore[attr-defined]
    pj_call.release_hold()  # type: ignore[attr-defined]
    assert await next_of(call, HoldChanged) == HoldChanged(Direction.SENDRECV, False)
    await pj_call.wait_media("ACTIVE")  # type: ignore[attr-defined]

    pj_call.send_info_dtmf("4")  # type: ignore[attr-defined]
    digit = await next_of(call, DtmfReceived)
    assert isinstance(digit, DtmfReceived)
    assert (digit.digit, digit.source) == ("4", DtmfSource.SIP_INFO)

    pj_call.hang_up()  # type: ignore[attr-defined]
    assert await next_of(call, CallEnded) == CallEnded(Side.REMOTE, EndReason.BYE)
    await pj_call.wait_state("DISCONNECTED")  # type: ignore[attr-defined]


async def test_service_hangs_up_pjsua2_call(pj: PjEnv, sip_service: UserAgent) -> None:
    pj_call, call = await place_pj_call(pj, sip_service)
    await call.answer(LocalMedia(address="127.0.0.1", port=31002))
    await next_of(call, CallConfirmed)
    await call.hangup()
    await pj_call.wait_state("DISCONNECTED")  # type: ignore[attr-defined]
    assert call.ended == CallEnded(Side.LOCAL, EndReason.BYE)


async def test_pjsua2_cancel_before_answer_gets_487(pj: PjEnv,
                                                    sip_service: UserAgent) -> None:
    tap = WireTap(sip_service)
    pj_call, call = await place_pj_call(pj, sip_service)
    await call.ring()
    await pj_call.wait_state("EARLY")  # type: ignore[attr-defined]
    pj_call.hang_up()  # type: ignore[attr-defined]  # pjsua2 sends CANCEL while early
    assert await next_of(call, CallEnded) == CallEnded(Side.REMOTE, EndReason.CANCELLED, 487)
    await pj_call.wait_state("DISCONNECTED")  # type: ignore[attr-defined]
    await wait_until(lambda: tap.sent("SIP/2.0 487"), "487 to the INVITE")


async def test_pjsua2_offer_without_common_codec_gets_488(pj: PjEnv,
                                                          sip_service: UserAgent) -> None:
    pj_call, call = await place_pj_call(pj, sip_service)
    only_g729 = LocalMedia(address="127.0.0.1", port=31004,
                           codecs=(PCMU.__class__("G729", 8000, 18),))
    with pytest.raises(Exception, match="no common audio codec"):
        await call.answer(only_g729)
    await pj_call.wait_state("DISCONNECTED")  # type: ignore[attr-defined]
    assert pj_call.last_status == 488  # type: ignore[attr-defined]


async def test_we_call_registered_pjsua2_agent(pj: PjEnv, sip_service: UserAgent) -> None:
    agent = pj.account("1001", domain=REALM, registrar=ours(sip_service),
                       password=ACCOUNTS["1001"])
    await wait_until(lambda: 200 in agent.reg_codes, "agent registration")
    out = sip_service.call_registered(SipUri.parse(f"sip:1001@{REALM}"),
                                      local_media=LocalMedia(address="127.0.0.1", port=31006))
    pj_call = await agent.wait_incoming()
    pj_call.answer_with(180)
    pj_call.answer_with(200)
    answered = await next_of(out, CallAnswered)
    assert isinstance(answered, CallAnswered) and answered.media.codec == PCMU
    await next_of(out, CallConfirmed)
    await pj_call.wait_state("CONFIRMED")
    await out.hangup()
    await pj_call.wait_state("DISCONNECTED")

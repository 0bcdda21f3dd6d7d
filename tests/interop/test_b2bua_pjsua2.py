"""Caller (pjsua2) → our B2BUA → registered agent (pjsua2): connect, both hang-up directions
(issue 3; SPEC-Q7: the agent hanging up never cuts the caller off)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from interop.interop_support import ACCOUNTS, REALM
from interop.pjsua_harness import PjAccount, PjCall, PjEnv, wait_until
from telephony.sdp import PCMU, LocalMedia
from telephony.sip.b2bua import (
    AgentConnected,
    AgentLegEnded,
    AgentRinging,
    B2buaSession,
    CallerLegEnded,
)
from telephony.sip.call_events import CallEnded, CallState, EndReason, Side
from telephony.sip.uri import SipUri
from telephony.sip.useragent import UserAgent

pytestmark = pytest.mark.interop
STEP = 10.0
AGENT_AOR = SipUri.parse(f"sip:1001@{REALM}")


async def next_of(session: B2buaSession, kind: type) -> object:
    async def loop() -> object:
        while True:
            event = await session.next_event()
            if isinstance(event, kind):
                return event
    return await asyncio.wait_for(loop(), STEP)


async def collect(session: B2buaSession) -> list[object]:
    return [event async for event in session.events()]


@pytest.fixture
async def agent(pj: PjEnv, sip_service: UserAgent) -> AsyncIterator[PjAccount]:
    local = sip_service.local_address()
    account = pj.account("1001", domain=REALM, registrar=(local.host, local.port),
                         password=ACCOUNTS["1001"])
    await wait_until(lambda: 200 in account.reg_codes, "agent registration")
    yield account


async def connect(pj: PjEnv, service: UserAgent,
                  agent: PjAccount) -> tuple[B2buaSession, PjCall, PjCall]:
    local = service.local_address()
    caller = pj.account("caller")
    caller_call = caller.call(f"sip:10000@{local.host}:{local.port}")
    inbound = await asyncio.wait_for(service.incoming.get(), STEP)
    await inbound.answer(LocalMedia(address="127.0.0.1", port=32000))  # the IVR's answer
    await caller_call.wait_state("CONFIRMED")
    session = B2buaSession(service, inbound)
    session.ring_agent(AGENT_AOR, local_media=LocalMedia(address="127.0.0.1", port=32002),
                       ring_timeout=STEP)
    agent_call = await agent.wait_incoming()
    agent_call.answer_with(180)
    assert await next_of(session, AgentRinging) == AgentRinging(AGENT_AOR, 180)
    agent_call.answer_with(200)
    connected = await next_of(session, AgentConnected)
    assert isinstance(connected, AgentConnected)
    assert connected.agent_media.codec == PCMU
    await agent_call.wait_state("CONFIRMED")
    return session, caller_call, agent_call


async def test_agent_hangs_up_first_and_caller_stays_connected(
        pj: PjEnv, sip_service: UserAgent, agent: PjAccount) -> None:
    session, caller_call, agent_call = await connect(pj, sip_service, agent)
    async with session:
        agent_call.hang_up()
        ended = await next_of(session, AgentLegEnded)
        assert isinstance(ended, AgentLegEnded)
        assert ended.ended == CallEnded(Side.REMOTE, EndReason.BYE)
        await agent_call.wait_state("DISCONNECTED")
        await asyncio.sleep(0.3)  # give a wrong BYE time to reach the caller
        assert not caller_call.disconnected
        assert session.caller.state is CallState.CONFIRMED
        await session.hangup()  # after the survey, the service ends the call
        await caller_call.wait_state("DISCONNECTED")
        await next_of(session, CallerLegEnded)


async def test_caller_hangs_up_first_and_agent_leg_is_ended(
        pj: PjEnv, sip_service: UserAgent, agent: PjAccount) -> None:
    session, caller_call, agent_call = await connect(pj, sip_service, agent)
    async with session:
        caller_call.hang_up()
        events = await asyncio.wait_for(collect(session), STEP)
        # The agent's leg is reported ended before the stream closes with the caller's.
        assert [type(e) for e in events[-2:]] == [AgentLegEnded, CallerLegEnded]
        assert events[-1].ended == CallEnded(Side.REMOTE, EndReason.BYE)  # type: ignore[union-attr]
        assert events[-2].ended == CallEnded(Side.LOCAL, EndReason.BYE)  # type: ignore[union-attr]
        await agent_call.wait_state("DISCONNECTED")


async def test_caller_gives_up_while_agent_rings(
        pj: PjEnv, sip_service: UserAgent, agent: PjAccount) -> None:
    local = sip_service.local_address()
    caller_call = pj.account("caller").call(f"sip:10000@{local.host}:{local.port}")
    inbound = await asyncio.wait_for(sip_service.incoming.get(), STEP)
    await inbound.answer(LocalMedia(address="127.0.0.1", port=32004))
    await caller_call.wait_state("CONFIRMED")
    async with B2buaSession(sip_service, inbound) as session:
        session.ring_agent(AGENT_AOR, local_media=LocalMedia(address="127.0.0.1", port=32006))
        agent_call = await agent.wait_incoming()
        agent_call.answer_with(180)
        await next_of(session, AgentRinging)
        caller_call.hang_up()
        events = await asyncio.wait_for(collect(session), STEP)
        ended = events[-2]
        assert isinstance(ended, AgentLegEnded) and isinstance(events[-1], CallerLegEnded)
        assert ended.ended == CallEnded(Side.LOCAL, EndReason.CANCELLED, 487)
        assert not ended.was_connected
        await agent_call.wait_state("DISCONNECTED")

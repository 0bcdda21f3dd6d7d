"""B2BUA pairing over real UDP sockets: caller → service → registered agent (issue 3, SPEC-Q7)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from telephony.sdp import LocalMedia
from telephony.sip.b2bua import (
    AgentConnected,
    AgentLegEnded,
    AgentRinging,
    B2buaEvent,
    B2buaSession,
    CallerLegEnded,
    Leg,
    LegEvent,
)
from telephony.sip.call_events import (
    CallConfirmed,
    CallEnded,
    CallState,
    DtmfReceived,
    EndReason,
    Side,
)
from telephony.sip.call_leg import CallLeg
from telephony.sip.registrar import BindingStore, ContactUpdate, Registrar
from telephony.sip.timers import TimerConfig
from telephony.sip.uri import NameAddr, SipUri
from telephony.sip.useragent import UserAgent

FAST = TimerConfig(t1=0.05, t2=0.4, t4=0.5, timer_d=0.5)
STEP = 5.0
AGENT_AOR = SipUri.parse("sip:agent7@hotline.test")


def media(port: int) -> LocalMedia:
    return LocalMedia(address="127.0.0.1", port=port)


class Hooks:
    def __init__(self) -> None:
        self.log: list[str] = []

    def connect(self, caller: CallLeg, agent: CallLeg) -> None:
        assert caller.media is not None and agent.media is not None
        self.log.append(f"connect {caller.media.remote_port}<->{agent.media.remote_port}")

    def disconnect(self, caller: CallLeg, agent: CallLeg) -> None:
        self.log.append("disconnect")


@pytest.fixture
async def uas() -> AsyncIterator[tuple[UserAgent, UserAgent, UserAgent]]:
    registrar = Registrar(bindings=BindingStore(), authenticator=None)
    service = await UserAgent.start([("udp", "127.0.0.1", 0)], timers=FAST, registrar=registrar)
    caller = await UserAgent.start([("udp", "127.0.0.1", 0)], timers=FAST, user="caller")
    agent = await UserAgent.start([("udp", "127.0.0.1", 0)], timers=FAST, user="agent7")
    local = agent.local_address()
    # Register the agent's contact directly in the store (REGISTER itself: test_registrar).
    registrar.bindings.apply(
        "sip:agent7@hotline.test",
        [ContactUpdate(NameAddr.parse(f"<sip:agent7@127.0.0.1:{local.port}>"), 600, 1.0)],
        call_id="r", cseq=1, now=time.time())
    yield service, caller, agent
    for ua in (caller, agent, service):
        await ua.close()


async def wait_for(source: object, kind: type) -> object:
    async def loop() -> object:
        while True:
            event = await source.next_event()  # type: ignore[attr-defined]
            if isinstance(event, kind):
                return event
    return await asyncio.wait_for(loop(), STEP)


async def setup_call(service: UserAgent, caller: UserAgent, agent: UserAgent,
                     hooks: Hooks) -> tuple[B2buaSession, CallLeg, CallLeg]:
    local = service.local_address()
    out = caller.call(SipUri.parse(f"sip:1000@127.0.0.1:{local.port}"), local_media=media(41000))
    inbound = await asyncio.wait_for(service.incoming.get(), STEP)
    await inbound.answer(media(31000))  # the IVR answered first
    await wait_for(out, CallConfirmed)
    session = B2buaSession(service, inbound, hooks=hooks)
    session.ring_agent(AGENT_AOR, local_media=media(32000), ring_timeout=5)
    agent_leg = await asyncio.wait_for(agent.incoming.get(), STEP)
    await agent_leg.ring()
    ringing = await wait_for(session, AgentRinging)
    assert ringing == AgentRinging(AGENT_AOR, 180)
    await agent_leg.answer(media(42000))
    connected = await wait_for(session, AgentConnected)
    assert isinstance(connected, AgentConnected)
    assert connected.agent_media.remote_port == 42000
    assert connected.caller_media is not None and connected.caller_media.remote_port == 41000
    assert hooks.log == ["connect 41000<->42000"]
    return session, out, agent_leg


async def test_agent_hangup_keeps_caller_leg_up(uas: tuple[UserAgent, ...]) -> None:
    service, caller, agent = uas
    hooks = Hooks()
    session, caller_leg, agent_leg = await setup_call(service, caller, agent, hooks)
    async with session:
        await agent_leg.hangup()
        ended = await wait_for(session, AgentLegEnded)
        assert isinstance(ended, AgentLegEnded)
        assert ended.ended == CallEnded(Side.REMOTE, EndReason.BYE)
        assert ended.was_connected
        assert hooks.log[-1] == "disconnect"
        assert session.caller.state is CallState.CONFIRMED  # SPEC-Q7: caller not cut off
        assert caller_leg.state is CallState.CONFIRMED
        # The application may now play the survey, then end the call itself.
        await session.hangup()
        assert await wait_for(caller_leg, CallEnded) == CallEnded(Side.REMOTE, EndReason.BYE)


async def test_caller_hangup_ends_agent_leg(uas: tuple[UserAgent, ...]) -> None:
    service, caller, agent = uas
    session, caller_leg, agent_leg = await setup_call(service, caller, agent, Hooks())
    async with session:
        await caller_leg.hangup()
        events: list[B2buaEvent] = []
        async def collect() -> None:
            async for event in session.events():
                events.append(event)
        await asyncio.wait_for(collect(), STEP)
        assert isinstance(events[-1], CallerLegEnded)
        assert events[-1].ended == CallEnded(Side.REMOTE, EndReason.BYE)
        assert await wait_for(agent_leg, CallEnded) == CallEnded(Side.REMOTE, EndReason.BYE)


async def test_caller_leaving_while_agent_rings_cancels_agent(
        uas: tuple[UserAgent, ...]) -> None:
    service, caller, agent = uas
    local = service.local_address()
    out = caller.call(SipUri.parse(f"sip:1000@127.0.0.1:{local.port}"), local_media=media(41000))
    inbound = await asyncio.wait_for(service.incoming.get(), STEP)
    await inbound.answer(media(31000))
    await wait_for(out, CallConfirmed)
    async with B2buaSession(service, inbound) as session:
        session.ring_agent(AGENT_AOR, local_media=media(32000))
        agent_leg = await asyncio.wait_for(agent.incoming.get(), STEP)
        await agent_leg.ring()
        await wait_for(session, AgentRinging)
        await out.hangup()
        await wait_for(session, CallerLegEnded)
        ended = await wait_for(agent_leg, CallEnded)
        assert ended == CallEnded(Side.REMOTE, EndReason.CANCELLED, 487)


async def test_unanswered_caller_is_answered_when_agent_answers(
        uas: tuple[UserAgent, ...]) -> None:
    service, caller, agent = uas
    local = service.local_address()
    out = caller.call(SipUri.parse(f"sip:1000@127.0.0.1:{local.port}"), local_media=media(41000))
    inbound = await asyncio.wait_for(service.incoming.get(), STEP)
    await inbound.ring()
    async with B2buaSession(service, inbound, caller_media=media(31000)) as session:
        session.ring_agent(AGENT_AOR, local_media=media(32000))
        agent_leg = await asyncio.wait_for(agent.incoming.get(), STEP)
        await agent_leg.answer(media(42000))
        await wait_for(session, AgentConnected)
        await wait_for(out, CallConfirmed)
        # Per-leg events stay apart: the caller's DTMF is reported as the caller's.
        assert await out.send_dtmf_info("7")  # type: ignore[attr-defined]
        async def dtmf() -> LegEvent:
            while True:
                event = await session.next_event()
                if isinstance(event, LegEvent) and isinstance(event.event, DtmfReceived):
                    return event
        event = await asyncio.wait_for(dtmf(), STEP)
        assert event.leg is Leg.CALLER
        assert isinstance(event.event, DtmfReceived) and event.event.digit == "7"
        await session.hangup()


async def test_unregistered_agent_is_a_lookup_error(uas: tuple[UserAgent, ...]) -> None:
    service, caller, _ = uas
    local = service.local_address()
    caller.call(SipUri.parse(f"sip:1000@127.0.0.1:{local.port}"), local_media=media(41000))
    inbound = await asyncio.wait_for(service.incoming.get(), STEP)
    async with B2buaSession(service, inbound) as session:
        with pytest.raises(LookupError):
            session.ring_agent(SipUri.parse("sip:nobody@hotline.test"), local_media=media(1))
        await inbound.reject(480)


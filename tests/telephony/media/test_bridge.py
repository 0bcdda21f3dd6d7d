"""Bridging caller and agent sessions over real UDP sockets, with a recording tap (issue 3)."""

from __future__ import annotations

import numpy as np
import pytest

from telephony.media.audio import aligned_snr_db, tone
from telephony.media.bridge import Bridge, BridgeLeg, TapFrame
from telephony.media.dtmf import DtmfKey, TelephoneEvent, telephone_event_frames
from telephony.media.engine import MediaEngine
from telephony.media.g711 import PCMA, PCMU, G711Law
from telephony.media.rtp import RtpPacket
from telephony.media.session import MediaParams

from .conftest import PlainPeer, TestClock, run_ticks

FRAME = 160


async def talk(
    engine: MediaEngine,
    clock: TestClock,
    sends: list[tuple[PlainPeer, tuple[str, int], G711Law, np.ndarray]],
    frames: int,
) -> None:
    """Each phone sends its signal as 20 ms packets, one per tick, all at the same time."""
    encoded = [(p, to, law, PCMU.encode(s) if law is G711Law.PCMU else PCMA.encode(s))
               for p, to, law, s in sends]
    for i in range(frames):
        for phone, to, law, codes in encoded:
            payload = codes[i * FRAME : (i + 1) * FRAME].tobytes()
            phone.send(RtpPacket(law.payload_type, i, i * FRAME, id(phone) & 0xFFFF, payload), to)
        await run_ticks(engine, clock, 1)
    await run_ticks(engine, clock, 6)


async def test_audio_flows_both_ways_across_different_laws_and_the_tap_aligns_the_legs(
    engine: MediaEngine, clock: TestClock, peers: list[PlainPeer]
) -> None:
    caller, agent = PlainPeer(), PlainPeer()
    peers += [caller, agent]
    a = engine.open_session(MediaParams(remote=caller.address, law=G711Law.PCMU))
    b = engine.open_session(MediaParams(remote=agent.address, law=G711Law.PCMA))
    tapped: list[TapFrame] = []
    rng = np.random.default_rng(11)
    caller_voice = rng.normal(0, 2500, 40 * FRAME).astype(np.int16)
    agent_voice = rng.normal(0, 2500, 40 * FRAME).astype(np.int16)
    with Bridge(a, b, tap=tapped.append):
        await talk(
            engine,
            clock,
            [
                (caller, a.local_address, G711Law.PCMU, caller_voice),
                (agent, b.local_address, G711Law.PCMA, agent_voice),
            ],
            frames=40,
        )
    caller.collect()
    agent.collect()
    # What the agent hears is the caller's voice, transcoded µ-law → PCM → A-law.
    heard_by_agent = aligned_snr_db(PCMU.decode(PCMU.encode(caller_voice)),
                                    agent.audio(G711Law.PCMA))
    heard_by_caller = aligned_snr_db(PCMA.decode(PCMA.encode(agent_voice)),
                                     caller.audio(G711Law.PCMU))
    for result in (heard_by_agent, heard_by_caller):
        assert result.correlation > 0.99
        assert result.snr_db >= 30
        assert result.overlap >= 39 * FRAME
    # The tap saw both legs, and frames spoken at the same moment sit at the same position.
    legs = {leg: [t.frame for t in tapped if t.leg is leg] for leg in BridgeLeg}
    assert len(legs[BridgeLeg.A]) == len(legs[BridgeLeg.B]) == 40
    offsets = {fa.position - fb.position for fa, fb in zip(legs[BridgeLeg.A], legs[BridgeLeg.B],
                                                           strict=True)}
    assert len(offsets) == 1
    assert abs(offsets.pop()) <= FRAME


async def test_closing_the_bridge_stops_the_flow(
    engine: MediaEngine, clock: TestClock, peers: list[PlainPeer]
) -> None:
    caller, agent = PlainPeer(), PlainPeer()
    peers += [caller, agent]
    a = engine.open_session(MediaParams(remote=caller.address))
    b = engine.open_session(MediaParams(remote=agent.address))
    Bridge(a, b).close()
    await talk(engine, clock, [(caller, a.local_address, G711Law.PCMU, tone(440, 0.2))], 10)
    agent.collect()
    assert not agent.audio().any()  # only idle silence reached the agent


async def test_forwarded_dtmf_is_regenerated_on_the_other_leg(
    engine: MediaEngine, clock: TestClock, peers: list[PlainPeer]
) -> None:
    caller, agent = PlainPeer(), PlainPeer()
    peers += [caller, agent]
    a = engine.open_session(MediaParams(remote=caller.address))
    b = engine.open_session(MediaParams(remote=agent.address))
    with Bridge(a, b, forward_dtmf=True):
        for i, frame in enumerate(telephone_event_frames(DtmfKey.SEVEN, duration_ms=100)):
            caller.send(RtpPacket(101, i, 8000, 3, frame.payload, frame.marker), a.local_address)
            await run_ticks(engine, clock, 1)
        await run_ticks(engine, clock, 12)
    events = [TelephoneEvent.parse(p.payload) for p in agent.collect() if p.payload_type == 101]
    assert {e.event for e in events} == {DtmfKey.SEVEN.event_code}
    assert sum(e.end for e in events) == 3


async def test_a_session_cannot_be_bridged_to_itself(engine: MediaEngine) -> None:
    a = engine.open_session(MediaParams(remote=None))
    with pytest.raises(ValueError, match="itself"):
        Bridge(a, a)

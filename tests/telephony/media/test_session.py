"""RTP sessions over real UDP sockets on 127.0.0.1, driven tick by tick on a test clock."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from telephony.media.audio import aligned_snr_db, level_dbfs, tone
from telephony.media.dtmf import DtmfDigit, DtmfEnded, DtmfKey, DtmfSource
from telephony.media.engine import MediaEngine
from telephony.media.g711 import PCMA, PCMU, G711Law
from telephony.media.rtp import RtpPacket, uint16_diff, uint32_diff
from telephony.media.session import (
    AudioFrame,
    IdleMode,
    MediaError,
    MediaParams,
    PlaybackOutcome,
)

from .conftest import PlainPeer, TestClock, run_ticks

FRAME = 160


def assert_continuous(packets: list[RtpPacket]) -> None:
    """One SSRC, sequence +1 and timestamp +160 from each packet to the next."""
    assert len({p.ssrc for p in packets}) == 1
    for before, after in pairwise(packets):
        assert uint16_diff(after.sequence_number, before.sequence_number) == 1
        assert uint32_diff(after.timestamp, before.timestamp) == FRAME


async def test_two_prompts_and_the_silence_between_keep_ssrc_seq_and_timestamp_continuous(
    engine: MediaEngine, clock: TestClock, peers: list[PlainPeer]
) -> None:
    peer = PlainPeer()
    peers.append(peer)
    session = engine.open_session(MediaParams(remote=peer.address))
    first = session.play(tone(440, 0.1))
    await run_ticks(engine, clock, 8)
    second = session.play(tone(880, 0.15))
    await run_ticks(engine, clock, 10)
    assert await first is PlaybackOutcome.FINISHED
    assert await second is PlaybackOutcome.FINISHED
    packets = peer.collect()
    assert len(packets) == 18
    assert_continuous(packets)
    assert [p.marker for p in packets] == [True] + [False] * 17
    # The prompts are where they were queued: 5 frames, 3 of silence, then 7.
    levels = [level_dbfs(PCMU.decode(p.payload)) for p in packets]
    assert all(level > -25 for level in levels[:5])
    assert all(level < -100 for level in levels[5:8])
    assert all(level > -25 for level in levels[8:15])


async def test_played_audio_arrives_intact_at_a_plain_socket(
    engine: MediaEngine, clock: TestClock, peers: list[PlainPeer]
) -> None:
    peer = PlainPeer()
    peers.append(peer)
    rng = np.random.default_rng(3)
    prompt = (rng.normal(0, 3000, 8000)).astype(np.int16)
    session = engine.open_session(MediaParams(remote=peer.address, law=G711Law.PCMA))
    handle = session.play(prompt)
    await run_ticks(engine, clock, 55)
    assert handle.done()
    peer.collect()
    result = aligned_snr_db(prompt, peer.audio(G711Law.PCMA))
    assert result.offset == 0
    assert result.correlation > 0.99
    assert result.snr_db >= 30


async def test_sends_to_the_sdp_address_until_the_peer_sends_then_latches_to_its_source(
    engine: MediaEngine, clock: TestClock, peers: list[PlainPeer]
) -> None:
    sdp_target = PlainPeer()  # the address the SDP gave; the phone behind NAT sends elsewhere
    natted = PlainPeer()
    intruder = PlainPeer()
    peers += [sdp_target, natted, intruder]
    session = engine.open_session(MediaParams(remote=sdp_target.address))
    await run_ticks(engine, clock, 3)
    assert len(sdp_target.collect()) == 3
    natted.send(RtpPacket(0, 1, 160, 99, bytes(160)), session.local_address)
    await run_ticks(engine, clock, 1)
    assert session.latched_address == natted.address
    # Once latched, another source cannot steal the stream.
    intruder.send(RtpPacket(0, 2, 320, 77, bytes(160)), session.local_address)
    await run_ticks(engine, clock, 4)
    assert session.latched_address == natted.address
    assert session.stats.foreign_source == 1
    assert len(natted.collect()) >= 4
    assert len(sdp_target.collect()) <= 4
    assert intruder.collect() == []


async def test_after_two_silent_seconds_a_new_source_is_followed(
    engine: MediaEngine, clock: TestClock, peers: list[PlainPeer]
) -> None:
    before, after = PlainPeer(), PlainPeer()  # the same phone before and after a NAT rebinding
    peers += [before, after]
    session = engine.open_session(MediaParams(remote=before.address))
    before.send(RtpPacket(0, 1, 160, 99, bytes(160)), session.local_address)
    await run_ticks(engine, clock, 2)
    after.send(RtpPacket(0, 2, 320, 99, bytes(160)), session.local_address)
    await run_ticks(engine, clock, 2)
    assert session.latched_address == before.address  # too soon: a stray packet
    await run_ticks(engine, clock, 100)
    after.send(RtpPacket(0, 200, 32000, 99, bytes(160)), session.local_address)
    await run_ticks(engine, clock, 2)
    assert session.latched_address == after.address
    assert session.stats.relatched == 1
    after.collect()
    assert len(after.packets) >= 1


async def test_a_lost_packet_becomes_silence_of_its_length_without_shifting_later_audio(
    engine: MediaEngine, clock: TestClock, peers: list[PlainPeer]
) -> None:
    phone = PlainPeer()
    peers.append(phone)
    session = engine.open_session(MediaParams(remote=phone.address), idle=IdleMode.NOTHING)
    frames: list[AudioFrame] = []
    session.subscribe_audio(frames.append)
    signal = tone(300, 0.2, level=-12)  # 10 frames
    codes = PCMU.encode(signal)
    for i in range(10):
        if i != 4:  # packet 4 is lost on the way
            payload = codes[i * FRAME : (i + 1) * FRAME].tobytes()
            phone.send(RtpPacket(0, 500 + i, 8000 + i * FRAME, 42, payload), session.local_address)
        await run_ticks(engine, clock, 1)
    await run_ticks(engine, clock, 5)
    assert len(frames) == 10
    positions = [f.position for f in frames]
    assert positions == [positions[0] + i * FRAME for i in range(10)]
    assert [f.concealed for f in frames] == [False] * 4 + [True] + [False] * 5
    assert not frames[4].pcm.any()
    received = np.concatenate([f.pcm for f in frames])
    expected = PCMU.decode(codes).copy()
    expected[4 * FRAME : 5 * FRAME] = 0
    np.testing.assert_array_equal(received, expected)
    assert session.stats.jitter.lost == 1


async def test_reordered_packets_are_delivered_in_order(
    engine: MediaEngine, clock: TestClock, peers: list[PlainPeer]
) -> None:
    phone = PlainPeer()
    peers.append(phone)
    session = engine.open_session(MediaParams(remote=phone.address))
    frames: list[AudioFrame] = []
    session.subscribe_audio(frames.append)
    for seq in (0, 2, 1, 3):
        phone.send(RtpPacket(0, seq, seq * FRAME, 5, bytes([seq]) * FRAME), session.local_address)
    await run_ticks(engine, clock, 2)
    assert [f.rtp_timestamp for f in frames] == [0, 160, 320, 480]
    assert not any(f.concealed for f in frames)


async def test_dtmf_sent_by_one_session_arrives_as_digits_at_another(
    engine: MediaEngine, clock: TestClock
) -> None:
    receiver = engine.open_session(MediaParams(remote=None))
    sender = engine.open_session(MediaParams(remote=receiver.local_address))
    digits: list[DtmfDigit] = []
    ended: list[DtmfEnded] = []
    receiver.subscribe_dtmf(digits.append)
    receiver.subscribe_dtmf_ended(ended.append)
    done = sender.send_dtmf("12#", duration_ms=100)
    await run_ticks(engine, clock, 2)
    # Key down is enough to know the digit (barge-in must not wait for the key's end).
    assert [d.key for d in digits] == [DtmfKey.ONE]
    assert ended == []
    await run_ticks(engine, clock, 38)
    assert await done is True
    keys = [DtmfKey.ONE, DtmfKey.TWO, DtmfKey.POUND]
    assert [(d.key, d.source) for d in digits] == [(k, DtmfSource.RFC4733) for k in keys]
    assert [(e.key, e.duration_ms) for e in ended] == [(k, 100) for k in keys]
    assert [e.rtp_timestamp for e in ended] == [d.rtp_timestamp for d in digits]
    assert len({d.rtp_timestamp for d in digits}) == 3


async def test_dtmf_packets_follow_rfc_4733_on_the_wire(
    engine: MediaEngine, clock: TestClock, peers: list[PlainPeer]
) -> None:
    phone = PlainPeer()
    peers.append(phone)
    session = engine.open_session(MediaParams(remote=phone.address, dtmf_payload_type=96))
    await run_ticks(engine, clock, 2)
    session.send_dtmf("5", duration_ms=60)
    await run_ticks(engine, clock, 8)
    packets = phone.collect()
    events = [p for p in packets if p.payload_type == 96]
    assert len(events) == 5  # 2 updates + 3 end packets
    assert events[0].marker and not any(p.marker for p in events[1:])
    assert {p.timestamp for p in events} == {packets[2].timestamp}
    steps = {uint16_diff(b.sequence_number, a.sequence_number) for a, b in pairwise(packets)}
    assert steps == {1}
    # Audio after the event continues on the session's timestamp clock.
    after = packets[packets.index(events[-1]) + 1]
    assert uint32_diff(after.timestamp, packets[0].timestamp) == FRAME * 7


async def test_sip_info_digits_reach_the_same_listeners(engine: MediaEngine) -> None:
    session = engine.open_session(MediaParams(remote=None))
    digits: list[DtmfDigit] = []
    session.subscribe_dtmf(digits.append)
    info = DtmfDigit(DtmfKey.STAR, 160, DtmfSource.SIP_INFO)
    session.deliver_dtmf(info)
    assert digits == [info]


async def test_send_dtmf_without_telephone_event_is_a_local_error(engine: MediaEngine) -> None:
    session = engine.open_session(MediaParams(remote=None, dtmf_payload_type=None))
    with pytest.raises(MediaError, match="telephone-event"):
        session.send_dtmf("1")


async def test_stop_playback_cuts_the_prompt_at_the_next_frame(
    engine: MediaEngine, clock: TestClock, peers: list[PlainPeer]
) -> None:
    phone = PlainPeer()
    peers.append(phone)
    session = engine.open_session(MediaParams(remote=phone.address))
    long_prompt = session.play(tone(500, 2.0))
    queued = session.play(tone(700, 1.0))
    await run_ticks(engine, clock, 5)
    session.stop_playback()
    await run_ticks(engine, clock, 3)
    assert await long_prompt is PlaybackOutcome.STOPPED
    assert await queued is PlaybackOutcome.STOPPED
    levels = [level_dbfs(PCMU.decode(p.payload)) for p in phone.collect()]
    assert all(level > -25 for level in levels[:5])
    assert all(level < -100 for level in levels[5:])


async def test_idle_nothing_sends_no_packets_and_marks_the_next_talkspurt(
    engine: MediaEngine, clock: TestClock, peers: list[PlainPeer]
) -> None:
    phone = PlainPeer()
    peers.append(phone)
    session = engine.open_session(MediaParams(remote=phone.address), idle=IdleMode.NOTHING)
    await run_ticks(engine, clock, 5)
    assert phone.collect() == []
    session.play(tone(400, 0.04))
    await run_ticks(engine, clock, 5)
    session.play(tone(400, 0.04))
    await run_ticks(engine, clock, 5)
    packets = phone.collect()
    assert [p.marker for p in packets] == [True, False, True, False]
    # The timestamp kept running through the pause (RFC 3551 §4.1).
    assert uint32_diff(packets[2].timestamp, packets[0].timestamp) == 5 * FRAME


async def test_comfort_noise_is_quiet_but_not_digital_silence(
    engine: MediaEngine, clock: TestClock, peers: list[PlainPeer]
) -> None:
    phone = PlainPeer()
    peers.append(phone)
    engine.open_session(MediaParams(remote=phone.address), idle=IdleMode.COMFORT_NOISE)
    await run_ticks(engine, clock, 10)
    phone.collect()
    level = level_dbfs(phone.audio())
    assert -80 < level < -60


async def test_garbage_and_unknown_payload_types_are_counted_and_the_call_goes_on(
    engine: MediaEngine, clock: TestClock, peers: list[PlainPeer]
) -> None:
    phone = PlainPeer()
    peers.append(phone)
    session = engine.open_session(MediaParams(remote=phone.address))
    frames: list[AudioFrame] = []
    session.subscribe_audio(frames.append)
    phone.sock.sendto(b"\x00\x01garbage", session.local_address)
    phone.send(RtpPacket(13, 1, 0, 9, b"\x40"), session.local_address)  # comfort noise PT
    phone.send(RtpPacket(0, 2, 160, 9, bytes(FRAME)), session.local_address)
    await run_ticks(engine, clock, 2)
    assert session.stats.malformed == 1
    assert session.stats.unknown_payload_type == 1
    assert len(frames) == 1


async def test_a_failing_listener_does_not_stop_the_others(
    engine: MediaEngine, clock: TestClock, peers: list[PlainPeer]
) -> None:
    phone = PlainPeer()
    peers.append(phone)
    session = engine.open_session(MediaParams(remote=phone.address))

    def broken(frame: AudioFrame) -> None:
        raise RuntimeError("consumer bug")

    frames: list[AudioFrame] = []
    session.subscribe_audio(broken)
    session.subscribe_audio(frames.append)
    phone.send(RtpPacket(0, 1, 0, 9, bytes(FRAME)), session.local_address)
    await run_ticks(engine, clock, 2)
    assert len(frames) == 1
    assert not session.closed


async def test_recvonly_does_not_send_and_update_restores_sending(
    engine: MediaEngine, clock: TestClock, peers: list[PlainPeer]
) -> None:
    phone = PlainPeer()
    peers.append(phone)
    session = engine.open_session(MediaParams(remote=phone.address, send=False))
    await run_ticks(engine, clock, 3)
    assert phone.collect() == []
    session.update(MediaParams(remote=phone.address, law=G711Law.PCMA))
    await run_ticks(engine, clock, 3)
    packets = phone.collect()
    assert [p.payload_type for p in packets] == [8, 8, 8]


async def test_closing_finishes_pending_prompts_and_frees_the_port(
    engine: MediaEngine, clock: TestClock
) -> None:
    session = engine.open_session(MediaParams(remote=None))
    handle = session.play(tone(440, 1.0))
    dtmf = session.send_dtmf("9")
    session.close()
    assert await handle is PlaybackOutcome.CLOSED
    assert await dtmf is False
    assert session not in engine.sessions
    assert await session.play(tone(440, 0.1)) is PlaybackOutcome.CLOSED


async def test_a_dynamic_payload_type_bound_to_pcmu_is_sent_and_understood(
    engine: MediaEngine, clock: TestClock, peers: list[PlainPeer]
) -> None:
    phone = PlainPeer()
    peers.append(phone)
    session = engine.open_session(MediaParams(remote=phone.address, payload_type=97))
    frames: list[AudioFrame] = []
    session.subscribe_audio(frames.append)
    phone.send(RtpPacket(97, 1, 0, 9, PCMU.encode(tone(440, 0.02)).tobytes()),
               session.local_address)
    await run_ticks(engine, clock, 2)
    assert {p.payload_type for p in phone.collect()} == {97}
    assert len(frames) == 1
    assert frames[0].pcm.any()


async def test_any_datagram_is_handled_without_an_exception(engine: MediaEngine) -> None:
    session = engine.open_session(MediaParams(remote=None))
    frames: list[AudioFrame] = []
    session.subscribe_audio(frames.append)
    rtp_like = st.builds(
        lambda first, second, rest: bytes([first, second]) + rest,
        st.integers(0x80, 0xBF),  # version 2 with any padding/extension/CSRC bits
        st.sampled_from([0, 8, 13, 101, 0x80, 0x88, 0xE5, 72]),
        st.binary(max_size=300),
    )

    @settings(max_examples=400, deadline=None)
    @given(st.one_of(st.binary(max_size=300), rtp_like), st.floats(0, 100))
    def feed(data: bytes, now: float) -> None:
        session.receive_datagram(data, ("127.0.0.1", 9), now)
        session.receive_due(now, int(now / 0.02))

    feed()
    assert not session.closed
    assert all(f.pcm.size == FRAME for f in frames)


async def test_sent_audio_listeners_see_what_goes_out_on_the_shared_timeline(
    engine: MediaEngine, clock: TestClock, peers: list[PlainPeer]
) -> None:
    phone = PlainPeer()
    peers.append(phone)
    session = engine.open_session(MediaParams(remote=phone.address))
    sent: list[AudioFrame] = []
    received: list[AudioFrame] = []
    session.subscribe_sent_audio(sent.append)
    session.subscribe_audio(received.append)
    prompt = tone(600, 0.1, level=-15)
    session.play(prompt)
    for i in range(5):
        phone.send(RtpPacket(0, i, i * FRAME, 3, bytes(FRAME)), session.local_address)
        await run_ticks(engine, clock, 1)
    np.testing.assert_array_equal(np.concatenate([f.pcm for f in sent]), prompt)
    phone.collect()
    np.testing.assert_array_equal(phone.audio(), PCMU.decode(PCMU.encode(prompt)))
    positions = [f.position for f in sent]
    assert positions == [positions[0] + i * FRAME for i in range(5)]
    # What we sent and what we heard in the same tick sit at the same place on the timeline.
    assert abs(received[0].position - positions[0]) <= FRAME


async def test_a_long_prompt_ending_mid_frame_goes_out_bit_exact_across_a_codec_change(
    engine: MediaEngine, clock: TestClock, peers: list[PlainPeer]
) -> None:
    # Prompts are encoded ahead in chunks; a re-INVITE switching the law mid-prompt must
    # switch the very next packet, and the partial last frame is completed with silence.
    peer = PlainPeer()
    peers.append(peer)
    rng = np.random.default_rng(5)
    prompt = rng.normal(0, 4000, 60 * FRAME + 70).astype(np.int16)
    session = engine.open_session(MediaParams(remote=peer.address))
    handle = session.play(prompt)
    await run_ticks(engine, clock, 30)
    session.update(MediaParams(remote=peer.address, law=G711Law.PCMA))
    await run_ticks(engine, clock, 35)
    assert await handle is PlaybackOutcome.FINISHED
    packets = peer.collect()[:61]
    pcmu = sum(p.payload_type == PCMU.law.payload_type for p in packets)
    assert 0 < pcmu < 61
    assert [p.payload_type for p in packets] == [0] * pcmu + [8] * (61 - pcmu)
    padded = np.concatenate([prompt, np.zeros(FRAME - 70, dtype=np.int16)])
    expected = PCMU.encode(padded[: pcmu * FRAME]).tobytes() + (
        PCMA.encode(padded[pcmu * FRAME :]).tobytes()
    )
    assert b"".join(p.payload for p in packets) == expected


async def test_frames_keep_their_timeline_position_when_a_listener_subscribes_mid_call(
    engine: MediaEngine, clock: TestClock, peers: list[PlainPeer]
) -> None:
    # Nobody listening means nothing is decoded; a listener that comes later (the IVR
    # starting to listen for speech) still gets frames where they belong on the timeline.
    phone = PlainPeer()
    peers.append(phone)
    listening = engine.open_session(MediaParams(remote=None))
    later = engine.open_session(MediaParams(remote=None))
    heard: list[AudioFrame] = []
    heard_later: list[AudioFrame] = []
    listening.subscribe_audio(heard.append)
    voice = PCMU.encode(tone(500, 0.2, level=-12))
    for i in range(10):
        if i == 3:
            await run_ticks(engine, clock, 1)  # the stream pauses: its timeline lags the ticks
        payload = voice[i * FRAME : (i + 1) * FRAME].tobytes()
        for session in (listening, later):
            phone.send(RtpPacket(0, 40 + i, 9000 + i * FRAME, 7, payload), session.local_address)
        if i == 6:
            later.subscribe_audio(heard_later.append)
        await run_ticks(engine, clock, 1)
    assert len(heard) == 10
    assert len(heard_later) == 4
    for late, early in zip(heard_later, heard[6:], strict=True):
        assert late.position == early.position
        assert late.rtp_timestamp == early.rtp_timestamp
        np.testing.assert_array_equal(late.pcm, early.pcm)
    assert later.stats.packets_received == 10

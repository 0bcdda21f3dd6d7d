"""The media engine on the real monotonic clock and asyncio loop, over 127.0.0.1 (issue 3)."""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
import soundfile

from telephony.media.audio import aligned_snr_db, read_wav
from telephony.media.dtmf import DtmfDigit
from telephony.media.engine import MediaEngine
from telephony.media.g711 import G711Law
from telephony.media.ports import PortAllocator
from telephony.media.rtp import uint16_diff, uint32_diff
from telephony.media.session import MediaError, MediaParams, PlaybackOutcome

from .conftest import PlainPeer


def speech_like_wav(path: Path, rate: int = 16000, seconds: float = 1.0) -> None:
    """A voiced, syllable-shaped test signal written at a rate the service must convert."""
    t = np.arange(int(rate * seconds)) / rate
    phase = 2 * np.pi * np.cumsum(130 + 25 * np.sin(2 * np.pi * 0.8 * t)) / rate
    voiced = sum(np.sin(k * phase) / k for k in range(1, 16))
    envelope = 0.2 + 0.8 * np.abs(np.sin(2 * np.pi * 3 * t))
    signal = 0.1 * voiced * envelope / np.max(np.abs(voiced))
    soundfile.write(path, signal, rate, subtype="PCM_16")


def ports() -> PortAllocator:
    low = random.randrange(20000, 60000)
    return PortAllocator(low, low + 200)


async def test_a_wav_prompt_paced_by_the_engine_arrives_intact_at_a_plain_socket(
    tmp_path: Path,
) -> None:
    speech_like_wav(tmp_path / "prompt.wav")
    prompt = read_wav(tmp_path / "prompt.wav")
    assert prompt.size == 8000
    receiver = PlainPeer()
    try:
        async with MediaEngine(ports=ports()) as engine:
            session = engine.open_session(MediaParams(remote=receiver.address))
            outcome = await asyncio.wait_for(session.play(prompt), timeout=10)
            assert outcome is PlaybackOutcome.FINISHED
            await asyncio.sleep(0.1)
            summary = engine.timing_summary()
        packets = receiver.collect()
        for before, after in pairwise(packets):
            assert uint16_diff(after.sequence_number, before.sequence_number) == 1
            assert uint32_diff(after.timestamp, before.timestamp) == 160
        result = aligned_snr_db(prompt, receiver.audio())
        assert result.correlation > 0.99
        assert result.snr_db >= 30
        assert result.overlap == prompt.size
        # The statistics bench/ prints are there (their values are for bench/, not tests).
        assert summary.packets == session.stats.packets_sent >= 50
    finally:
        receiver.close()


async def test_stopping_the_engine_closes_sessions_and_frees_ports() -> None:
    allocator = ports()
    before = allocator.available
    engine = MediaEngine(ports=allocator)
    await engine.start()
    sessions = [engine.open_session(MediaParams(remote=None)) for _ in range(3)]
    handle = sessions[0].play(np.zeros(80000, dtype=np.int16))
    await asyncio.sleep(0.05)
    await engine.stop()
    assert all(s.closed for s in sessions)
    assert await handle is PlaybackOutcome.CLOSED
    assert allocator.available == before
    assert engine.sessions == []
    with pytest.raises(MediaError, match="stopped"):
        engine.open_session(MediaParams(remote=None))


async def test_sessions_spread_over_slots(tmp_path: Path) -> None:
    engine = MediaEngine(ports=ports(), slots=4)
    try:
        sessions = [engine.open_session(MediaParams(remote=None)) for _ in range(8)]
        assert sorted(s.slot for s in sessions) == [0, 0, 1, 1, 2, 2, 3, 3]
    finally:
        await engine.stop()


async def test_two_engine_sessions_talk_pcma_to_each_other() -> None:
    async with MediaEngine(ports=ports()) as engine:
        a = engine.open_session(MediaParams(remote=None, law=G711Law.PCMA))
        b = engine.open_session(MediaParams(remote=a.local_address, law=G711Law.PCMA))
        a.update(MediaParams(remote=b.local_address, law=G711Law.PCMA))
        heard: list[np.ndarray] = []
        a.subscribe_audio(lambda frame: heard.append(frame.pcm))
        voice = np.random.default_rng(5).normal(0, 2000, 4000).astype(np.int16)
        await asyncio.wait_for(b.play(voice), timeout=10)
        await asyncio.sleep(0.15)
    result = aligned_snr_db(voice, np.concatenate(heard))
    assert result.correlation > 0.99
    assert result.snr_db >= 30


def test_a_custom_clock_needs_its_own_sleep() -> None:
    with pytest.raises(ValueError, match="sleep_until"):
        MediaEngine(ports=ports(), clock=lambda: 0.0)


def ipv6_available() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not ipv6_available(), reason="no IPv6 loopback")
async def test_sessions_talk_over_ipv6() -> None:
    async with MediaEngine(ports=ports(), host="::1") as engine:
        a = engine.open_session(MediaParams(remote=None))
        b = engine.open_session(MediaParams(remote=a.local_address))
        digits: list[DtmfDigit] = []
        a.subscribe_dtmf(digits.append)
        assert await asyncio.wait_for(b.send_dtmf("7"), timeout=10)
        await asyncio.sleep(0.1)
        assert a.latched_address == b.local_address
    assert [d.key.value for d in digits] == ["7"]


async def test_a_ten_minute_call_sends_every_packet_with_timestamps_on_the_grid() -> None:
    now = [-0.01]  # the call starts just before tick 0

    async def never_sleeps(when: float) -> None:
        raise AssertionError("driven by step()")

    engine = MediaEngine(
        ports=ports(), clock=lambda: now[0], sleep_until=never_sleeps, origin=0.0, slots=1
    )
    sink = PlainPeer()
    try:
        session = engine.open_session(MediaParams(remote=sink.address))
        first = last = None
        ticks = 30_000  # 10 minutes of 20 ms packets
        for k in range(ticks):
            # Wake-ups wander around the grid, as a loaded loop's do.
            now[0] = k * 0.02 + (0.0007 if k % 3 else 0.0015)
            engine.step(now[0])
            if k in (0, ticks - 1):
                packet = sink.collect(wait=0.05)[-1]
                first, last = (packet, last) if k == 0 else (first, packet)
            elif k % 100 == 0:  # keep the receive buffer from overflowing
                with contextlib.suppress(BlockingIOError):
                    while True:
                        sink.sock.recv(2048)
        assert first is not None and last is not None
        assert session.stats.packets_sent == ticks
        assert session.stats.skipped_ticks == 0
        assert uint32_diff(last.timestamp, first.timestamp) == (ticks - 1) * 160
        assert uint16_diff(last.sequence_number, first.sequence_number) == (ticks - 1) % 65536
    finally:
        sink.close()
        await engine.stop()

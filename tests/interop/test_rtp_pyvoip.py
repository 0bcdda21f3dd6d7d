"""Our RTP media against pyVoIP's independently written RTP client over 127.0.0.1 (issue 3).

pyVoIP's ``RTPClient`` (no SIP needed) sends and receives G.711 with its own packetizer,
8-bit linear audio and RFC 2833/4733 parser, so it checks our wire format from outside.
Its 8-bit audio limits what can be asserted to correlation, not SNR (issue 3 explains why).
"""

from __future__ import annotations

import asyncio
import random
import socket
import threading
from collections.abc import Iterator

import numpy as np
import pytest
from pyVoIP.RTP import PayloadType, RTPClient, TransmitType

from telephony.media.audio import best_alignment
from telephony.media.engine import MediaEngine
from telephony.media.ports import PortAllocator
from telephony.media.session import AudioFrame, MediaParams, PlaybackOutcome

pytestmark = pytest.mark.interop


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def voice(seconds: float, seed: int) -> np.ndarray:
    """Loud band-limited noise: survives pyVoIP's 8-bit path and correlates unambiguously."""
    rng = np.random.default_rng(seed)
    noise = rng.normal(0, 1, int(8000 * seconds))
    smooth = np.convolve(noise, np.ones(4) / 4, mode="same")
    return (smooth / np.max(np.abs(smooth)) * 20000).astype(np.int16)


def to_8bit(pcm: np.ndarray) -> bytes:
    return ((pcm.astype(np.int32) >> 8) + 128).astype(np.uint8).tobytes()


def from_8bit(data: bytes) -> np.ndarray:
    return ((np.frombuffer(data, dtype=np.uint8).astype(np.int32) - 128) << 8).astype(np.int16)


class PyVoipPeer:
    def __init__(self, our_port: int) -> None:
        self.digits: list[str] = []
        self._lock = threading.Lock()
        self.port = free_port()
        self.client = RTPClient(
            {0: PayloadType.PCMU, 101: PayloadType.EVENT},
            "127.0.0.1",
            self.port,
            "127.0.0.1",
            our_port,
            TransmitType.SENDRECV,
            dtmf=self._on_dtmf,
        )

    def _on_dtmf(self, digit: str) -> None:
        with self._lock:
            self.digits.append(digit)

    def received_audio(self) -> np.ndarray:
        chunks = []
        while True:
            chunk = self.client.read(160, blocking=False)
            if chunk == b"\x80" * 160:
                break
            chunks.append(chunk)
        return from_8bit(b"".join(chunks))


@pytest.fixture
def ports() -> PortAllocator:
    # Below Linux's ephemeral range (32768+), where other programs' sockets come and go.
    low = random.randrange(20000, 30000, 2)
    return PortAllocator(low, low + 100)


@pytest.fixture
def started() -> Iterator[list[PyVoipPeer]]:
    peers: list[PyVoipPeer] = []
    yield peers
    for peer in peers:
        peer.client.stop()


async def test_pyvoip_hears_our_prompt_and_we_hear_pyvoip(
    ports: PortAllocator, started: list[PyVoipPeer]
) -> None:
    ours, theirs = voice(1.0, seed=1), voice(1.0, seed=2)
    heard: list[np.ndarray] = []
    async with MediaEngine(ports=ports) as engine:
        session = engine.open_session(MediaParams(remote=None))
        peer = PyVoipPeer(session.local_address[1])
        session.update(MediaParams(remote=("127.0.0.1", peer.port)))

        def hear(frame: AudioFrame) -> None:
            heard.append(frame.pcm)

        session.subscribe_audio(hear)
        peer.client.start()
        started.append(peer)
        peer.client.write(to_8bit(theirs))
        outcome = await asyncio.wait_for(session.play(ours), timeout=10)
        assert outcome is PlaybackOutcome.FINISHED
        await asyncio.sleep(0.4)
        # Symmetric RTP: pyVoIP sends from the port it listens on, and we answered there.
        assert session.latched_address == ("127.0.0.1", peer.port)
    their_copy = peer.received_audio()
    assert best_alignment(ours, their_copy).correlation > 0.95
    assert best_alignment(from_8bit(to_8bit(theirs)), np.concatenate(heard)).correlation > 0.95


async def test_pyvoip_decodes_our_rfc_4733_digits(
    ports: PortAllocator, started: list[PyVoipPeer]
) -> None:
    async with MediaEngine(ports=ports) as engine:
        session = engine.open_session(MediaParams(remote=None))
        peer = PyVoipPeer(session.local_address[1])
        session.update(MediaParams(remote=("127.0.0.1", peer.port)))
        peer.client.start()
        started.append(peer)
        assert await asyncio.wait_for(session.send_dtmf("159#*"), timeout=10)
        await asyncio.sleep(0.2)
    # pyVoIP reports a digit on each marker packet: exactly one per key press.
    assert peer.digits == ["1", "5", "9", "#", "*"]


"""Shared test parts for the media tests: a plain UDP peer and an engine on a test clock."""

from __future__ import annotations

import asyncio
import random
import select
import socket
from collections.abc import AsyncIterator, Iterator

import numpy as np
import pytest

from telephony.media.engine import MediaEngine
from telephony.media.g711 import G711Law, codec_for
from telephony.media.ports import PortAllocator
from telephony.media.rtp import RtpPacket


class PlainPeer:
    """A bare UDP socket on 127.0.0.1 standing in for a phone: sends and collects RTP."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setblocking(False)
        self.address: tuple[str, int] = self.sock.getsockname()
        self.packets: list[RtpPacket] = []
        self.sources: list[tuple[str, int]] = []

    def collect(self, wait: float = 0.05) -> list[RtpPacket]:
        """Read everything that has arrived (waiting up to ``wait`` s for stragglers)."""
        while True:
            ready, _, _ = select.select([self.sock], [], [], wait)
            if not ready:
                return self.packets
            data, source = self.sock.recvfrom(4096)
            self.packets.append(RtpPacket.parse(data))
            self.sources.append(source)

    def send(self, packet: RtpPacket, to: tuple[str, int]) -> None:
        self.sock.sendto(packet.serialize(), to)

    def audio(self, law: G711Law = G711Law.PCMU, pt: int | None = None) -> np.ndarray:
        """The decoded audio of the collected packets of payload type ``pt``, in seq order."""
        wanted = law.payload_type if pt is None else pt
        chosen = [p for p in self.packets if p.payload_type == wanted]
        return np.concatenate([codec_for(law).decode(p.payload) for p in chosen])

    def close(self) -> None:
        self.sock.close()


class TestClock:
    """Engine time under the test's control; ``advance`` also yields so sockets can deliver."""

    __test__ = False

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep_until(self, when: float) -> None:
        raise AssertionError("tests drive the engine with step(); it must not sleep")


async def run_ticks(engine: MediaEngine, clock: TestClock, ticks: int) -> None:
    """Advance the test clock tick by tick, letting loopback datagrams land in between."""
    for _ in range(ticks):
        clock.now += engine.grid.interval
        engine.step(clock.now)
        await asyncio.sleep(0.001)


@pytest.fixture
def peers() -> Iterator[list[PlainPeer]]:
    made: list[PlainPeer] = []
    yield made
    for peer in made:
        peer.close()


@pytest.fixture
def clock() -> TestClock:
    return TestClock()


@pytest.fixture
async def engine(clock: TestClock) -> AsyncIterator[MediaEngine]:
    # A random range keeps parallel test runs apart (busy ports are skipped anyway).
    low = random.randrange(20000, 60000)
    eng = MediaEngine(
        ports=PortAllocator(low, low + 400),
        clock=clock,
        sleep_until=clock.sleep_until,
        origin=0.001,  # one tick per slot in each 20 ms step of run_ticks
        slots=4,
        rng=random.Random(1),
    )
    yield eng
    await eng.stop()

"""A small synchronous receive buffer: puts RTP packets back in sequence order and reports losses.

Rules of the buffer (time is always an argument, never read from a clock):

* Packets are released in sequence order as soon as the next expected one is present, so an
  in-order stream passes straight through with no added delay.
* A gap is waited for at most ``max_wait`` seconds (measured from the arrival of the earliest
  packet queued behind it) or until ``capacity`` packets are queued; then the missing packets
  are reported as one ``LostPayload`` whose ``samples`` is the RTP-timestamp span they covered.
  The session turns that into silence of exactly that length, so a recorder never shifts in time.
* A packet older than the release point is LATE, one already queued is a DUPLICATE; both are
  dropped. A sequence jump beyond RFC 3550 §A.1's limits restarts the buffer at the new packet.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

from telephony.media.rtp import RtpPacket, uint16_diff, uint32_add, uint32_diff

# RFC 3550 §A.1: a jump of more than MAX_DROPOUT ahead or MAX_MISORDER behind is a restart.
MAX_DROPOUT: Final = 3000
MAX_MISORDER: Final = 100
# 60 ms covers the reordering seen on real networks without making interactive audio laggy
# (ITU-T G.114 puts the comfortable one-way budget at 150 ms); three 20 ms frames.
DEFAULT_MAX_WAIT: Final = 0.060
DEFAULT_CAPACITY: Final = 16
# 20 ms at 8 kHz, the usual G.711 packet (RFC 3551 §4.5: default ptime 20 ms).
DEFAULT_PACKET_SAMPLES: Final = 160
# A loss wider than this many samples per missing packet is a timestamp jump, not a loss span.
MAX_SAMPLES_PER_PACKET: Final = 8000


class PutResult(enum.Enum):
    QUEUED = "queued"
    DUPLICATE = "duplicate"
    LATE = "late"
    RESTARTED = "restarted"


@dataclass(frozen=True, slots=True)
class ReceivedPayload:
    """A packet released in order; ``samples`` is what the caller said it covers."""

    packet: RtpPacket
    samples: int


@dataclass(frozen=True, slots=True)
class LostPayload:
    """``count`` packets that never came; they covered ``samples`` samples from ``timestamp``."""

    first_sequence_number: int
    count: int
    timestamp: int
    samples: int


JitterOutput = ReceivedPayload | LostPayload


@dataclass(frozen=True, slots=True)
class JitterStats:
    received: int
    released: int
    lost: int
    late: int
    duplicates: int
    restarts: int


@dataclass(slots=True)
class _Entry:
    packet: RtpPacket
    samples: int
    arrival: float


class JitterBuffer:
    """Reorder buffer for one RTP source; call ``put`` per packet and ``pop`` once per tick."""

    def __init__(
        self,
        *,
        max_wait: float = DEFAULT_MAX_WAIT,
        capacity: int = DEFAULT_CAPACITY,
        default_packet_samples: int = DEFAULT_PACKET_SAMPLES,
    ) -> None:
        if max_wait < 0:
            raise ValueError("max_wait must not be negative")
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._max_wait = max_wait
        self._capacity = capacity
        self._default_samples = default_packet_samples
        self._entries: dict[int, _Entry] = {}
        # Extended (never wrapping) sequence number of the next packet to release.
        self._next: int | None = None
        self._expected_ts: int | None = None
        self._last_samples = default_packet_samples
        self._received = 0
        self._released = 0
        self._lost = 0
        self._late = 0
        self._duplicates = 0
        self._restarts = 0

    @property
    def stats(self) -> JitterStats:
        return JitterStats(
            received=self._received,
            released=self._released,
            lost=self._lost,
            late=self._late,
            duplicates=self._duplicates,
            restarts=self._restarts,
        )

    def __len__(self) -> int:
        return len(self._entries)

    def put(self, packet: RtpPacket, now: float, samples: int | None = None) -> PutResult:
        """Queue a packet that arrived at ``now``; ``samples`` defaults to its payload length."""
        self._received += 1
        count = len(packet.payload) if samples is None else samples
        if self._next is None:
            self._next = packet.sequence_number
            self._entries[self._next] = _Entry(packet, count, now)
            return PutResult.QUEUED
        delta = uint16_diff(packet.sequence_number, self._next & 0xFFFF)
        if delta > MAX_DROPOUT or delta < -MAX_MISORDER:
            self._restart(packet.sequence_number)
            self._entries[packet.sequence_number] = _Entry(packet, count, now)
            return PutResult.RESTARTED
        if delta < 0:
            self._late += 1
            return PutResult.LATE
        extended = self._next + delta
        if extended in self._entries:
            self._duplicates += 1
            return PutResult.DUPLICATE
        self._entries[extended] = _Entry(packet, count, now)
        return PutResult.QUEUED

    def take_if_next(self, sequence_number: int, timestamp: int, samples: int) -> bool:
        """Fast path for the usual packet: if nothing is queued and this is exactly the next
        sequence number, account for it as received and released and return True (the caller
        uses it at once); otherwise return False and the caller goes through ``put``."""
        if self._entries or self._next is None or (self._next & 0xFFFF) != sequence_number:
            return False
        self._next += 1
        self._received += 1
        self._released += 1
        if samples > 0:
            self._expected_ts = (timestamp + samples) & 0xFFFFFFFF
            self._last_samples = samples
        return True

    def pop(self, now: float) -> list[JitterOutput]:
        """Release every packet that is due at ``now``, with losses declared in between."""
        out: list[JitterOutput] = []
        while self._entries:
            assert self._next is not None  # entries exist only after the first put
            entry = self._entries.pop(self._next, None)
            if entry is not None:
                self._release(entry, out)
                continue
            earliest = min(e.arrival for e in self._entries.values())
            if len(self._entries) < self._capacity and now < earliest + self._max_wait:
                break
            self._declare_loss(min(self._entries), out)
        return out

    def flush(self) -> list[JitterOutput]:
        """Release everything queued, declaring the gaps lost (end of call or of a stream)."""
        out: list[JitterOutput] = []
        while self._entries:
            assert self._next is not None
            entry = self._entries.pop(self._next, None)
            if entry is None:
                self._declare_loss(min(self._entries), out)
            else:
                self._release(entry, out)
        return out

    def _release(self, entry: _Entry, out: list[JitterOutput]) -> None:
        assert self._next is not None
        self._next += 1
        self._released += 1
        if entry.samples > 0:
            self._expected_ts = uint32_add(entry.packet.timestamp, entry.samples)
            self._last_samples = entry.samples
        out.append(ReceivedPayload(entry.packet, entry.samples))

    def _declare_loss(self, upto: int, out: list[JitterOutput]) -> None:
        assert self._next is not None
        count = upto - self._next
        following = self._entries[upto].packet.timestamp
        span = None
        if self._expected_ts is not None:
            span = uint32_diff(following, self._expected_ts)
        if span is None or not 0 < span <= count * MAX_SAMPLES_PER_PACKET:
            span = count * self._last_samples
        out.append(
            LostPayload(
                first_sequence_number=self._next & 0xFFFF,
                count=count,
                timestamp=uint32_add(following, -span),
                samples=span,
            )
        )
        self._lost += count
        self._next = upto
        self._expected_ts = following

    def _restart(self, sequence_number: int) -> None:
        self._restarts += 1
        self._entries.clear()
        self._next = sequence_number
        self._expected_ts = None

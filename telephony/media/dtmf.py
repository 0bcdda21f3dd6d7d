"""DTMF: RFC 4733 telephone-event payloads (receive and send) and SIP INFO DTMF bodies.

Receive rules (RFC 4733 §2.5.2): all packets of one key press share the RTP timestamp of its
start; the duration grows in each update; the final packet has the E bit and is sent three
times. We report each key press once, as a ``DtmfDigit``, on its *first* packet (key down),
because a caller's digit must cut a playing prompt at once (barge-in within 100 ms, issue 4)
and waiting for the end would add the whole key-press duration. Its length follows as a
``DtmfEnded`` when the first end packet arrives (or, if every end packet was lost, when the
next event starts or the event falls silent for ``event_timeout`` seconds); repeated end
packets are dropped by their timestamp.
"""

from __future__ import annotations

import enum
import math
import struct
from collections import deque
from dataclasses import dataclass
from typing import Final

TELEPHONE_EVENT_CLOCK_RATE: Final = 8000  # RFC 4733 §2.3.1: the clock of the audio it replaces
PAYLOAD_SIZE: Final = 4  # RFC 4733 §2.3: event(8) E R volume(6) duration(16)
MAX_VOLUME: Final = 63  # RFC 4733 §2.3.4: 0 to -63 dBm0, 6 bits
MAX_DURATION: Final = 0xFFFF  # RFC 4733 §2.3.5: 16-bit unsigned, in timestamp units
END_PACKET_REPEATS: Final = 3  # RFC 4733 §2.5.1.4: "the final packet ... retransmitted" 3 times
DEFAULT_VOLUME: Final = 10  # -10 dBm0: a typical keypad level (RFC 4733 §2.3.4 example range)
DEFAULT_DIGIT_MS: Final = 100  # ITU-T Q.24: keypads send 40-100 ms; 100 ms is safely detected
# RFC 4733 §2.5.2.2 lets a receiver end an event whose end packets were all lost after a while;
# updates come at least every 50 ms in practice, so half a second of silence is unambiguous.
DEFAULT_EVENT_TIMEOUT: Final = 0.5
# Remember this many finished events to drop their retransmitted end packets.
_FINISHED_MEMORY: Final = 8

_PAYLOAD = struct.Struct("!BBH")


class DtmfParseError(ValueError):
    """The peer sent a malformed telephone-event payload or INFO body (answer 400 / drop)."""


class DtmfKey(enum.Enum):
    """The sixteen DTMF keys with their RFC 4733 §3.2 event codes."""

    ZERO = "0"
    ONE = "1"
    TWO = "2"
    THREE = "3"
    FOUR = "4"
    FIVE = "5"
    SIX = "6"
    SEVEN = "7"
    EIGHT = "8"
    NINE = "9"
    STAR = "*"
    POUND = "#"
    A = "A"
    B = "B"
    C = "C"
    D = "D"

    @property
    def event_code(self) -> int:
        return _EVENT_CODES[self]

    @classmethod
    def from_event_code(cls, code: int) -> DtmfKey | None:
        """The key of an RFC 4733 event code, None for non-DTMF events (e.g. 16 = flash)."""
        return _KEYS_BY_CODE.get(code)

    @classmethod
    def from_char(cls, char: str) -> DtmfKey:
        try:
            return cls(char.upper())
        except ValueError:
            raise ValueError(f"{char!r} is not a DTMF key") from None


_EVENT_CODES: Final = {key: code for code, key in enumerate(DtmfKey)}
_KEYS_BY_CODE: Final = {code: key for key, code in _EVENT_CODES.items()}


class DtmfSource(enum.Enum):
    RFC4733 = "rfc4733"
    SIP_INFO = "sip-info"


@dataclass(frozen=True, slots=True)
class DtmfDigit:
    """One key press as the service sees it."""

    key: DtmfKey
    duration_ms: int | None
    source: DtmfSource
    # The RTP timestamp of the start of the event (RFC 4733 only).
    rtp_timestamp: int | None = None


@dataclass(frozen=True, slots=True)
class DtmfEnded:
    """The end of an RFC 4733 key press already reported as a DtmfDigit, with its length."""

    key: DtmfKey
    duration_ms: int
    rtp_timestamp: int


DtmfEvent = DtmfDigit | DtmfEnded


@dataclass(frozen=True, slots=True)
class TelephoneEvent:
    """The 4-byte RFC 4733 §2.3 payload."""

    event: int
    end: bool
    volume: int
    duration: int

    def __post_init__(self) -> None:
        if not 0 <= self.event <= 0xFF:
            raise ValueError(f"event code {self.event} is not 8 bits")
        if not 0 <= self.volume <= MAX_VOLUME:
            raise ValueError(f"volume {self.volume} is outside 0..{MAX_VOLUME}")
        if not 0 <= self.duration <= MAX_DURATION:
            raise ValueError(f"duration {self.duration} is not 16 bits")

    @classmethod
    def parse(cls, payload: bytes) -> TelephoneEvent:
        # RFC 4733 §2.3: several events may be stacked (redundancy, RFC 2198 aside); the first
        # four bytes describe the current one, so longer payloads are accepted.
        if len(payload) < PAYLOAD_SIZE:
            raise DtmfParseError("telephone-event payload is truncated")
        event, flags, duration = _PAYLOAD.unpack_from(payload)
        return cls(event=event, end=bool(flags & 0x80), volume=flags & 0x3F, duration=duration)

    def serialize(self) -> bytes:
        return _PAYLOAD.pack(self.event, (0x80 if self.end else 0) | self.volume, self.duration)


@dataclass(slots=True)
class _OpenEvent:
    timestamp: int
    key: DtmfKey
    duration: int
    last_seen: float


class TelephoneEventReceiver:
    """Turns one stream's telephone-event packets into a DtmfDigit per key press (at key
    down) and a DtmfEnded with its duration."""

    def __init__(
        self,
        *,
        clock_rate: int = TELEPHONE_EVENT_CLOCK_RATE,
        event_timeout: float = DEFAULT_EVENT_TIMEOUT,
    ) -> None:
        self._clock_rate = clock_rate
        self._timeout = event_timeout
        self._open: _OpenEvent | None = None
        self._finished: deque[int] = deque(maxlen=_FINISHED_MEMORY)

    def receive(self, timestamp: int, payload: bytes, now: float) -> list[DtmfEvent]:
        """Feed one packet's RTP timestamp and payload; returns what it starts or ends."""
        event = TelephoneEvent.parse(payload)
        key = DtmfKey.from_event_code(event.event)
        if key is None or timestamp in self._finished:
            return []
        out: list[DtmfEvent] = []
        if self._open is not None and self._open.timestamp != timestamp:
            # A new event began while the previous one never signalled its end.
            out.append(self._finish(self._open))
            self._open = None
        if self._open is None:
            # Key down: the first packet we see of this press (usually the marked one).
            known = self._ms(event.duration) if event.end else None
            out.append(DtmfDigit(key, known, DtmfSource.RFC4733, rtp_timestamp=timestamp))
            self._open = _OpenEvent(timestamp, key, event.duration, now)
        else:
            self._open.duration = max(self._open.duration, event.duration)
            self._open.last_seen = now
        if event.end:
            out.append(self._finish(self._open))
            self._open = None
        return out

    def poll(self, now: float) -> DtmfEnded | None:
        """End an event whose end packets all got lost, once it has been quiet long enough."""
        if self._open is None or now - self._open.last_seen < self._timeout:
            return None
        ended = self._finish(self._open)
        self._open = None
        return ended

    def _ms(self, duration: int) -> int:
        return round(duration * 1000 / self._clock_rate)

    def _finish(self, event: _OpenEvent) -> DtmfEnded:
        self._finished.append(event.timestamp)
        return DtmfEnded(event.key, self._ms(event.duration), event.timestamp)


@dataclass(frozen=True, slots=True)
class TelephoneEventFrame:
    """One packet to send; every frame of a key press carries the event's start timestamp."""

    payload: bytes
    marker: bool
    end: bool


def telephone_event_frames(
    key: DtmfKey,
    *,
    duration_ms: int = DEFAULT_DIGIT_MS,
    volume: int = DEFAULT_VOLUME,
    ptime_ms: int = 20,
    clock_rate: int = TELEPHONE_EVENT_CLOCK_RATE,
    end_repeats: int = END_PACKET_REPEATS,
) -> list[TelephoneEventFrame]:
    """The packets of one key press, one per ptime: marker first, updates, then 3 ends."""
    step = ptime_ms * clock_rate // 1000
    total = duration_ms * clock_rate // 1000
    if total < step:
        raise ValueError(f"a {duration_ms} ms event is shorter than one {ptime_ms} ms packet")
    if total > MAX_DURATION:
        raise ValueError(f"a {duration_ms} ms event does not fit one 16-bit duration")
    updates = math.ceil(total / step) - 1
    frames = [
        TelephoneEventFrame(
            payload=TelephoneEvent(key.event_code, False, volume, (i + 1) * step).serialize(),
            marker=i == 0,
            end=False,
        )
        for i in range(updates)
    ]
    end_payload = TelephoneEvent(key.event_code, True, volume, total).serialize()
    frames += [
        TelephoneEventFrame(payload=end_payload, marker=not frames and i == 0, end=True)
        for i in range(end_repeats)
    ]
    return frames


# --- SIP INFO bodies ---------------------------------------------------------------------

DTMF_RELAY_CONTENT_TYPE: Final = "application/dtmf-relay"  # Cisco/SIP INFO practice
DTMF_CONTENT_TYPE: Final = "application/dtmf"  # draft-kaplan-dispatch-info-dtmf-package
MAX_INFO_BODY: Final = 1024  # a DTMF INFO body is a few dozen bytes; refuse anything absurd


def _key_from_signal(signal: str) -> DtmfKey:
    text = signal.strip()
    # Some phones send the RFC 4733 event code ("10" for *, "11" for #) instead of the char.
    if text.isdigit() and len(text) > 1:
        key = DtmfKey.from_event_code(int(text))
        if key is None:
            raise DtmfParseError(f"unknown DTMF signal {text!r}")
        return key
    try:
        return DtmfKey.from_char(text)
    except ValueError:
        raise DtmfParseError(f"unknown DTMF signal {text!r}") from None


def parse_info_dtmf(content_type: str, body: bytes) -> DtmfDigit | None:
    """The key press in a SIP INFO body; None if the content type is not a DTMF one.

    ``application/dtmf-relay`` bodies are ``Signal=5\\r\\nDuration=160`` lines (Duration in
    ms, optional); ``application/dtmf`` bodies are the key alone. A malformed DTMF body raises
    DtmfParseError.
    """
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type not in (DTMF_RELAY_CONTENT_TYPE, DTMF_CONTENT_TYPE):
        return None
    if len(body) > MAX_INFO_BODY:
        raise DtmfParseError(f"DTMF INFO body of {len(body)} bytes is too large")
    try:
        text = body.decode("ascii")
    except UnicodeDecodeError:
        raise DtmfParseError("DTMF INFO body is not ASCII") from None
    if media_type == DTMF_CONTENT_TYPE:
        return DtmfDigit(_key_from_signal(text), None, DtmfSource.SIP_INFO)
    fields: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        name, sep, value = line.partition("=")
        if not sep:
            raise DtmfParseError(f"dtmf-relay line {line!r} has no '='")
        fields[name.strip().lower()] = value.strip()
    if "signal" not in fields:
        raise DtmfParseError("dtmf-relay body has no Signal")
    duration: int | None = None
    if "duration" in fields:
        if not fields["duration"].isdigit():
            raise DtmfParseError(f"dtmf-relay Duration {fields['duration']!r} is not a number")
        duration = int(fields["duration"])
    return DtmfDigit(_key_from_signal(fields["signal"]), duration, DtmfSource.SIP_INFO)

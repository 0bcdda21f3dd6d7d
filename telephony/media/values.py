"""Value types a media session shares with its users: parameters, frames, playback handles.

Also the frame assembler that cuts decoded audio into the 20 ms frames those users receive.
Everything here is plain data or pure logic; the session (session.py) does the I/O.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from telephony.media.audio import FRAME_SAMPLES
from telephony.media.g711 import G711Law, PcmArray
from telephony.media.jitterbuffer import JitterStats
from telephony.media.rtp import uint32_add
from telephony.sdp import NegotiatedAudio

# RFC 4733 §7.1 uses 101 in its examples, and nearly every phone offers telephone-event there.
DEFAULT_DTMF_PAYLOAD_TYPE: Final = 101

Address = tuple[str, int]


class MediaError(Exception):
    """We asked the media layer for something it cannot do (a local error, not the peer's)."""


class IdleMode(enum.Enum):
    """What a session sends when it has neither a prompt nor live audio."""

    SILENCE = "silence"  # encoded digital silence every 20 ms (keeps NATs and peers happy)
    COMFORT_NOISE = "comfort-noise"  # very quiet noise, so callers do not think the line died
    NOTHING = "nothing"  # no packets; the next packet carries the marker bit (RFC 3551 §4.1)


class PlaybackOutcome(enum.Enum):
    FINISHED = "finished"
    STOPPED = "stopped"  # stop_playback(), e.g. barge-in
    CLOSED = "closed"  # the session closed first


@dataclass(frozen=True, slots=True)
class MediaParams:
    """What SDP negotiated for this call's audio (the SDP module fills it in)."""

    remote: Address | None
    law: G711Law = G711Law.PCMU
    dtmf_payload_type: int | None = DEFAULT_DTMF_PAYLOAD_TYPE
    send: bool = True  # false for recvonly/inactive (RFC 3264 §6.1)
    receive: bool = True  # false for sendonly/inactive
    latch: bool = True  # symmetric RTP: reply to where the peer's packets come from
    # The payload type the SDP bound to the law; None means its static type (RFC 3551).
    payload_type: int | None = None

    @property
    def audio_payload_type(self) -> int:
        return self.law.payload_type if self.payload_type is None else self.payload_type

    def law_of(self, payload_type: int) -> G711Law | None:
        """The law of a received payload type: the negotiated one, or a static G.711 type."""
        if payload_type == self.payload_type:
            return self.law
        return G711Law.from_payload_type(payload_type)

    @classmethod
    def from_negotiated(cls, audio: NegotiatedAudio, *, latch: bool = True) -> MediaParams:
        """The media settings of an SDP offer/answer outcome (telephony/sdp.py)."""
        try:
            law = G711Law(audio.codec.name.upper())
        except ValueError:
            raise MediaError(f"codec {audio.codec.name} is not G.711") from None
        # RFC 3264 §8.4: c=0.0.0.0 (old-style hold) or port 0 means "do not send here".
        unreachable = audio.remote_address in ("0.0.0.0", "::") or audio.remote_port == 0
        return cls(
            remote=None if unreachable else (audio.remote_address, audio.remote_port),
            law=law,
            dtmf_payload_type=audio.telephone_event_pt,
            send=audio.direction.sends and not unreachable,
            receive=audio.direction.receives,
            latch=latch,
            payload_type=audio.codec.payload_type,
        )


@dataclass(frozen=True, slots=True)
class AudioFrame:
    """20 ms of audio on the engine's shared timeline.

    ``position`` counts samples on a clock shared by every session of the engine, so the frames
    two legs of a call receive at the same moment have (nearly) the same position: a recorder
    aligns caller and agent by it. ``concealed`` marks silence standing in for lost packets.
    """

    pcm: PcmArray
    rtp_timestamp: int
    position: int
    concealed: bool = False


@dataclass(frozen=True, slots=True)
class SessionStats:
    packets_sent: int
    packets_received: int
    send_errors: int
    malformed: int
    foreign_source: int
    relatched: int
    unknown_payload_type: int
    skipped_ticks: int
    jitter: JitterStats


class PlaybackHandle:
    """A queued prompt; ``await handle`` gives its PlaybackOutcome."""

    __slots__ = ("_future", "pcm", "samples_played")

    def __init__(self, pcm: PcmArray, future: asyncio.Future[PlaybackOutcome]) -> None:
        self.pcm = pcm
        self.samples_played = 0
        self._future = future

    def done(self) -> bool:
        return self._future.done()

    @property
    def outcome(self) -> PlaybackOutcome | None:
        return self._future.result() if self._future.done() else None

    def _resolve(self, outcome: PlaybackOutcome) -> None:
        if not self._future.done():
            self._future.set_result(outcome)

    def __await__(self) -> Generator[Any, None, PlaybackOutcome]:
        return asyncio.shield(self._future).__await__()


class FrameAssembler:
    """Cuts decoded PCM chunks, positioned by RTP timestamp, into fixed 20 ms frames.

    A timestamp discontinuity (the peer paused sending, RFC 3551 §4.1) pads the unfinished
    frame with silence and restarts framing at the new timestamp.
    """

    def __init__(self, frame_samples: int = FRAME_SAMPLES) -> None:
        self._size = frame_samples
        self._chunks: list[PcmArray] = []
        self._length = 0
        self._start = 0
        self._concealed = True

    @property
    def pending(self) -> int:
        """Samples held for an unfinished frame (0: the next whole frame passes straight on)."""
        return self._length

    def reset(self) -> None:
        self._chunks.clear()
        self._length = 0
        self._concealed = True

    def push(
        self, timestamp: int, pcm: PcmArray, concealed: bool
    ) -> list[tuple[int, PcmArray, bool]]:
        out: list[tuple[int, PcmArray, bool]] = []
        if self._length and timestamp != uint32_add(self._start, self._length):
            out.append(self._pad_out())
        if not self._length:
            if pcm.size == self._size:  # the usual 20 ms packet: no copying at all
                return [*out, (timestamp, pcm, concealed)]
            self._start = timestamp
        self._chunks.append(pcm)
        self._length += pcm.size
        self._concealed = self._concealed and concealed
        while self._length >= self._size:
            joined = np.concatenate(self._chunks)
            out.append((self._start, joined[: self._size], self._concealed))
            rest = joined[self._size :]
            self._chunks = [rest] if rest.size else []
            self._length = rest.size
            self._start = uint32_add(self._start, self._size)
            self._concealed = concealed
        return out

    def _pad_out(self) -> tuple[int, PcmArray, bool]:
        joined = np.concatenate(self._chunks)
        frame = np.zeros(self._size, dtype=np.int16)
        frame[: joined.size] = joined
        result = (self._start, frame, self._concealed)
        self.reset()
        return result

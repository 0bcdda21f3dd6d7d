"""Bridging two RTP sessions (caller ↔ agent) through PCM, with an optional recording tap.

Audio crosses as decoded PCM, so the two legs may use different laws (PCMU ↔ PCMA) and each
keeps its own SSRC, sequence numbers and timestamps. Each received 20 ms frame is fed to the
other leg's live queue and, if a tap is set, handed to it with the leg it came from and its
position on the engine's shared timeline: a recorder puts leg A (caller) left and leg B (agent)
right at those positions and both channels line up, lost packets included (they arrive as
concealed silence frames).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

from telephony.media.dtmf import DtmfDigit
from telephony.media.session import AudioFrame, RtpSession


class BridgeLeg(enum.Enum):
    A = "a"  # by convention the caller
    B = "b"  # by convention the agent


@dataclass(frozen=True, slots=True)
class TapFrame:
    """One received frame of one leg, for recording; ``frame.position`` aligns the legs."""

    leg: BridgeLeg
    frame: AudioFrame


TapListener = Callable[[TapFrame], None]


class Bridge:
    """Connects two sessions both ways until ``close()`` (or leaving the ``with`` block)."""

    def __init__(
        self,
        a: RtpSession,
        b: RtpSession,
        *,
        tap: TapListener | None = None,
        forward_dtmf: bool = False,
    ) -> None:
        if a is b:
            raise ValueError("cannot bridge a session to itself")
        self.a = a
        self.b = b
        self._tap = tap
        self._unsubscribe: list[Callable[[], None]] = [
            a.subscribe_audio(lambda frame: self._pass(BridgeLeg.A, frame, b)),
            b.subscribe_audio(lambda frame: self._pass(BridgeLeg.B, frame, a)),
        ]
        if forward_dtmf:
            self._unsubscribe += [
                a.subscribe_dtmf(lambda digit: self._relay_dtmf(digit, b)),
                b.subscribe_dtmf(lambda digit: self._relay_dtmf(digit, a)),
            ]

    def _pass(self, leg: BridgeLeg, frame: AudioFrame, to: RtpSession) -> None:
        to.feed(frame.pcm)
        if self._tap is not None:
            self._tap(TapFrame(leg, frame))

    @staticmethod
    def _relay_dtmf(digit: DtmfDigit, to: RtpSession) -> None:
        if to.params.dtmf_payload_type is not None and not to.closed:
            to.send_dtmf([digit.key], duration_ms=max(digit.duration_ms or 100, 40))

    def close(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()

    def __enter__(self) -> Bridge:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

"""What a call leg tells the application: typed, frozen events and the leg's state table.

The SIP user agent (`ua.py`) emits these; the IVR, ACD and B2BUA consume them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from telephony.media.dtmf import DtmfSource
from telephony.sdp import Direction, NegotiatedAudio, SessionDescription
from telephony.sip.errors import LocalSipError


class Side(StrEnum):
    LOCAL = "local"  # we (the service) did it
    REMOTE = "remote"  # the phone at the other end did it


class EndReason(StrEnum):
    BYE = "bye"  # normal hang-up of an answered call
    CANCELLED = "cancelled"  # the caller gave up / we gave up ringing (CANCEL → 487)
    REJECTED = "rejected"  # a final non-2xx answer (busy, decline, 404...)
    NOT_ACCEPTABLE = "not_acceptable"  # no common codec (488)
    UNAUTHORIZED = "unauthorized"  # our credentials were refused
    NO_ANSWER = "no_answer"  # ring timeout
    NO_ACK = "no_ack"  # our 2xx was never acknowledged (RFC 3261 §13.3.1.4)
    TIMEOUT = "timeout"  # no response at all (Timer B/F)
    TRANSPORT_ERROR = "transport_error"
    GONE = "gone"  # the peer answered 481/408 to an in-dialog request


@dataclass(frozen=True, slots=True)
class CallRinging:
    """The phone alerts (we sent or received 180/183)."""

    status: int = 180


@dataclass(frozen=True, slots=True)
class CallAnswered:
    """Offer/answer is done: media can flow to `media.remote_address:remote_port`."""

    remote_sdp: SessionDescription
    media: NegotiatedAudio


@dataclass(frozen=True, slots=True)
class CallConfirmed:
    """The ACK for our 2xx arrived (inbound) or we sent ours (outbound)."""


@dataclass(frozen=True, slots=True)
class MediaUpdated:
    """A re-INVITE or UPDATE re-negotiated the stream (new address, codec or direction)."""

    remote_sdp: SessionDescription
    media: NegotiatedAudio


@dataclass(frozen=True, slots=True)
class HoldChanged:
    """The peer put us on hold or resumed; `direction` is what *we* may now do."""

    direction: Direction
    held: bool


@dataclass(frozen=True, slots=True)
class DtmfReceived:
    digit: str
    duration_ms: int | None
    source: DtmfSource


@dataclass(frozen=True, slots=True)
class CallEnded:
    by: Side
    reason: EndReason
    status: int | None = None  # the SIP status that ended it, when there was one


CallEvent = (
    CallRinging | CallAnswered | CallConfirmed | MediaUpdated | HoldChanged | DtmfReceived
    | CallEnded
)


class CallState(StrEnum):
    NEW = "new"  # inbound: INVITE received; outbound: INVITE not yet sent
    CALLING = "calling"  # outbound: INVITE sent, nothing but 100 yet
    RINGING = "ringing"  # 180/183 sent or received
    ANSWERED = "answered"  # 2xx sent, ACK not yet received (inbound)
    CONFIRMED = "confirmed"  # media flows; in-dialog requests allowed
    ENDED = "ended"


class CallStep(StrEnum):
    INVITE_SENT = "invite_sent"
    RING = "ring"
    ANSWER = "answer"  # 2xx sent or received
    CONFIRM = "confirm"  # ACK received or sent
    END = "end"


_C = CallState
_T = CallStep
# Rules: a call only moves forward; END is allowed from every state except ENDED, so a
# second hang-up (BYEs crossing, CANCEL racing a 200) is a visible bug, not a silent no-op.
CALL_TRANSITIONS: Final[dict[tuple[CallState, CallStep], CallState]] = {
    (_C.NEW, _T.INVITE_SENT): _C.CALLING,
    (_C.NEW, _T.RING): _C.RINGING,
    (_C.NEW, _T.ANSWER): _C.ANSWERED,
    (_C.NEW, _T.END): _C.ENDED,
    (_C.CALLING, _T.RING): _C.RINGING,
    (_C.CALLING, _T.ANSWER): _C.ANSWERED,
    (_C.CALLING, _T.END): _C.ENDED,
    (_C.RINGING, _T.RING): _C.RINGING,
    (_C.RINGING, _T.ANSWER): _C.ANSWERED,
    (_C.RINGING, _T.END): _C.ENDED,
    (_C.ANSWERED, _T.CONFIRM): _C.CONFIRMED,
    (_C.ANSWERED, _T.END): _C.ENDED,
    (_C.CONFIRMED, _T.END): _C.ENDED,
}


class CallStateError(LocalSipError):
    """The application asked for something the call's state does not allow."""

    def __init__(self, state: CallState, step: CallStep | str) -> None:
        super().__init__(f"can't {step} a call in state {state.value}")
        self.state = state


def next_call_state(state: CallState, step: CallStep) -> CallState:
    try:
        return CALL_TRANSITIONS[(state, step)]
    except KeyError:
        raise CallStateError(state, step) from None

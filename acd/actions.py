"""Actions the ACD engine asks its driver (SIP/IVR glue, or the simulator) to perform.

The engine never touches a phone: every command returns a list of these frozen values, in the
order the driver should carry them out. A driver that cannot perform one reports back with the
matching command (``offer_failed``, ``callback_result`` …).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RingAgent:
    call_id: str
    agent_id: str
    timeout: float  # seconds; the engine itself fires the timeout, this is informational
    queue: str
    caller: str
    callback_number: str | None = None  # set when the agent is rung to place a callback


@dataclass(frozen=True, slots=True)
class StopRinging:
    call_id: str
    agent_id: str


@dataclass(frozen=True, slots=True)
class ConnectCall:
    """Bridge caller and agent. Play P10 (agent number) then P4 (apology) first if asked."""

    call_id: str
    agent_id: str
    agent_number: str
    play_agent_number: bool  # SPEC-P10 互报工号, switchable per queue
    late: bool  # answered after the service-level threshold (SPEC-Q1)
    play_late_apology: bool  # SPEC-P4: late and the queue's switch is on


@dataclass(frozen=True, slots=True)
class PlayToCaller:
    call_id: str
    prompt_id: str  # a catalogue id such as "P9"
    args: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class StartMusicOnHold:
    call_id: str
    music: str


@dataclass(frozen=True, slots=True)
class StopMusicOnHold:
    call_id: str


@dataclass(frozen=True, slots=True)
class Announce:
    """Tell a waiting caller their position (1 = next) and the expected wait in seconds."""

    call_id: str
    position: int
    expected_wait_s: float


@dataclass(frozen=True, slots=True)
class OverflowCall:
    call_id: str
    target: str
    left_acd: bool  # True: the driver must route the call to ``target`` outside the ACD


@dataclass(frozen=True, slots=True)
class OfferCallback:
    """Offer the waiting caller a callback ("press 1 and hang up, you keep your place")."""

    call_id: str


@dataclass(frozen=True, slots=True)
class DialCallback:
    """The agent answered the callback offer: dial the caller's number and bridge."""

    call_id: str
    agent_id: str
    number: str


@dataclass(frozen=True, slots=True)
class StartClosingFlow:
    """SPEC-Q7/Q4: the agent left; keep the caller and run the closing/survey flow."""

    call_id: str
    agent_id: str


@dataclass(frozen=True, slots=True)
class ReleaseAgent:
    """Hang up the agent's leg (the caller left, or the agent transferred the call)."""

    call_id: str
    agent_id: str


AcdAction = (
    RingAgent | StopRinging | ConnectCall | PlayToCaller | StartMusicOnHold | StopMusicOnHold
    | Announce | OverflowCall | OfferCallback | DialCallback | StartClosingFlow | ReleaseAgent
)

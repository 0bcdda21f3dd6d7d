"""What goes into a menu runner (caller and timer events) and what comes out (actions).

The runner is sans-IO: the call handler turns RTP/DTMF/timers into these events, feeds them
to ``MenuRunner.handle``, and performs the returned actions in order.  Every event carries
``now`` (the monotonic clock of the caller's loop or of a simulation).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from prompts.texts import Language

DTMF_KEYS = frozenset("0123456789*#")  # RFC 4733 §3.2 events 0-11 (A-D are not used here)


class SurveyScore(enum.IntEnum):
    """SPEC-Q4 answers; the value is the key the caller presses."""

    SATISFIED = 1
    ACCEPTABLE = 2
    NOT_SATISFIED = 3


class TransferReason(enum.StrEnum):
    CHOSEN = "chosen"  # the caller's menu choice led to a queue
    NO_INPUT = "no_input"  # retries used up without input: SPEC-Q3, never a dead end
    INVALID_INPUT = "invalid_input"  # retries used up with wrong keys
    NOT_HEARD = "not_heard"  # a listen step heard no (or too quiet) speech after its retries


class HangupReason(enum.StrEnum):
    FLOW_END = "flow_end"  # a play-and-hang-up node (closing phrases, closed hours, survey end)
    CALLER = "caller"


# ---------------------------------------------------------------- inputs


@dataclass(frozen=True, slots=True)
class PromptFinished:
    """The handler finished playing the PlayPrompt with this ``play_id`` (stale ids are ignored)."""

    play_id: int
    now: float


@dataclass(frozen=True, slots=True)
class Digit:
    """One DTMF key (RFC 4733 event or SIP INFO), reported once at its start."""

    digit: str
    now: float

    def __post_init__(self) -> None:
        if self.digit not in DTMF_KEYS:
            raise ValueError(f"not a DTMF key: {self.digit!r}")


@dataclass(frozen=True, slots=True)
class Timeout:
    """The loop's timer fired; deliver it at or after ``MenuRunner.next_deadline()``."""

    now: float


@dataclass(frozen=True, slots=True)
class SpeechStarted:
    """The listener heard speech at a normal level."""

    now: float


@dataclass(frozen=True, slots=True)
class Silence:
    """The listener heard nothing for its silence time (SPEC-P2)."""

    now: float


@dataclass(frozen=True, slots=True)
class QuietSpeech:
    """The listener heard speech quieter than its threshold (SPEC-P3)."""

    now: float
    level_dbfs: float


@dataclass(frozen=True, slots=True)
class CallerHungUp:
    now: float


Event = PromptFinished | Digit | Timeout | SpeechStarted | Silence | QuietSpeech | CallerHungUp
ListenerEvent = SpeechStarted | Silence | QuietSpeech

# ---------------------------------------------------------------- outputs


@dataclass(frozen=True, slots=True)
class PromptRef:
    """A catalogue prompt; resolve with ``PromptCatalogue.get(prompt_id, language)``."""

    prompt_id: str
    language: Language


@dataclass(frozen=True, slots=True, eq=False)
class PlayPrompt:
    """Play these items one after another, then report ``PromptFinished(play_id)``.

    Items are catalogue prompts or ready samples (int16, 8 kHz).  ``barge_in``: a digit
    stops this playback (the runner then emits StopPlayback at once).
    """

    play_id: int
    items: tuple[PromptRef | np.ndarray, ...]
    barge_in: bool = True

    @property
    def prompt_ids(self) -> tuple[str, ...]:
        return tuple(i.prompt_id for i in self.items if isinstance(i, PromptRef))


@dataclass(frozen=True, slots=True)
class StopPlayback:
    """Stop the playback ``play_id`` now (barge-in); no PromptFinished is expected for it."""

    play_id: int


@dataclass(frozen=True, slots=True)
class StartListening:
    """Feed the caller's audio to a fresh ``Listener`` (started at ``now``) until StopListening."""

    now: float


@dataclass(frozen=True, slots=True)
class StopListening:
    pass


@dataclass(frozen=True, slots=True)
class TransferToQueue:
    """Hand the caller to the ACD; the runner is finished with the call."""

    queue: str
    skill: str | None
    language: Language
    menu_path: tuple[str, ...]  # keys chosen in menus, in order ("1", "2")
    digits: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    reason: TransferReason = TransferReason.CHOSEN
    node: str = ""


@dataclass(frozen=True, slots=True)
class Hangup:
    """The service ends the call (SPEC-Q7: the service, not the agent, hangs up the caller)."""

    reason: HangupReason = HangupReason.FLOW_END
    node: str = ""


@dataclass(frozen=True, slots=True)
class RecordSurvey:
    """Store the SPEC-Q4 answer against the call and agent; ``score`` None: no valid answer."""

    score: SurveyScore | None
    node: str = ""


Action = (
    PlayPrompt
    | StopPlayback
    | StartListening
    | StopListening
    | TransferToQueue
    | Hangup
    | RecordSurvey
)

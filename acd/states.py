"""Agent and call states of the ACD as transition tables, with the rules they encode.

Rules of this file:

1. An agent is offered a call only in READY. RINGING, TALKING, ON_HOLD and WRAPUP are all
   "busy": an agent on any call, ringing for another call, or in wrap-up is never rung.
2. Leaving RINGING: ANSWER → TALKING; MISS (ring timeout, declined, busy, unreachable) →
   READY, or NOT_READY when the agent reached the queue's ``max_consecutive_misses`` (reason
   MISSED_CALLS, which the supervisor sees); CANCEL (the caller left, or another agent answered a
   ring-all call) → READY without counting a miss.
3. Hanging up or transferring ends TALKING / ON_HOLD into WRAPUP. WRAPUP ends on submission or
   when its time runs out (WRAPUP_DONE → READY); a pause or logout asked for during a call or
   wrap-up is kept pending and applied at that moment (the engine does this, the table only
   lists the moves).
4. NOT_READY always carries a reason (break, lunch, training, meeting, missed calls, …).
5. Anything not in the table is a bug of the caller of the engine: ``AgentStateError`` says
   "can't handle <event> for agent <id> in state <state>".
"""

from __future__ import annotations

from enum import StrEnum


class AgentState(StrEnum):
    LOGGED_OUT = "logged_out"
    READY = "ready"
    RINGING = "ringing"
    TALKING = "talking"
    ON_HOLD = "on_hold"
    WRAPUP = "wrapup"
    NOT_READY = "not_ready"


class NotReadyReason(StrEnum):
    BREAK = "break"
    LUNCH = "lunch"
    TRAINING = "training"
    MEETING = "meeting"
    MISSED_CALLS = "missed_calls"  # set by the engine after N consecutive misses
    LOGIN = "login"  # logged in but has not said "ready" yet
    PHONE_BUSY = "phone_busy"  # on a call outside the ACD; ready again when it ends
    OTHER = "other"


class AgentEvent(StrEnum):
    LOGIN = "login"
    LOGOUT = "logout"
    READY = "ready"
    NOT_READY = "not_ready"
    OFFER = "offer"
    ANSWER = "answer"
    MISS = "miss"
    MISS_LIMIT = "miss_limit"
    CANCEL = "cancel"
    HOLD = "hold"
    UNHOLD = "unhold"
    END = "end"  # the conversation ended (either side hung up, or the agent transferred)
    WRAPUP_DONE = "wrapup_done"


_S = AgentState
_E = AgentEvent

AGENT_TRANSITIONS: dict[tuple[AgentState, AgentEvent], AgentState] = {
    (_S.LOGGED_OUT, _E.LOGIN): _S.NOT_READY,
    (_S.NOT_READY, _E.READY): _S.READY,
    (_S.NOT_READY, _E.NOT_READY): _S.NOT_READY,  # a new reason
    (_S.NOT_READY, _E.LOGOUT): _S.LOGGED_OUT,
    (_S.READY, _E.READY): _S.READY,  # a second click changes nothing
    (_S.READY, _E.NOT_READY): _S.NOT_READY,
    (_S.READY, _E.LOGOUT): _S.LOGGED_OUT,
    (_S.READY, _E.OFFER): _S.RINGING,
    (_S.RINGING, _E.ANSWER): _S.TALKING,
    (_S.RINGING, _E.MISS): _S.READY,
    (_S.RINGING, _E.MISS_LIMIT): _S.NOT_READY,
    (_S.RINGING, _E.CANCEL): _S.READY,
    (_S.RINGING, _E.NOT_READY): _S.NOT_READY,  # declines the offer and pauses
    (_S.RINGING, _E.LOGOUT): _S.LOGGED_OUT,  # declines the offer and leaves
    (_S.TALKING, _E.HOLD): _S.ON_HOLD,
    (_S.ON_HOLD, _E.UNHOLD): _S.TALKING,
    (_S.TALKING, _E.END): _S.WRAPUP,
    (_S.ON_HOLD, _E.END): _S.WRAPUP,
    (_S.WRAPUP, _E.WRAPUP_DONE): _S.READY,
    (_S.WRAPUP, _E.NOT_READY): _S.NOT_READY,  # a pending pause, at the end of wrap-up
    (_S.WRAPUP, _E.LOGOUT): _S.LOGGED_OUT,  # a pending logout, at the end of wrap-up
}

# States in which an agent may never be offered a call (rule 1).
BUSY_STATES = frozenset({_S.RINGING, _S.TALKING, _S.ON_HOLD, _S.WRAPUP})
# States of a logged-in agent who is staffed: counts for expected-wait estimates.
STAFFED_STATES = frozenset({_S.READY, _S.RINGING, _S.TALKING, _S.ON_HOLD, _S.WRAPUP})


class CallState(StrEnum):
    """Where a call is inside the ACD. The last four are terminal (exactly one per call)."""

    WAITING = "waiting"
    RINGING = "ringing"  # offered to one agent, or to several (ring all)
    CONNECTED = "connected"
    ON_HOLD = "on_hold"
    TRANSFERRING = "transferring"  # attended transfer: caller on hold, target ringing
    CALLBACK_WAITING = "callback_waiting"  # caller hung up, keeps the place in the queue
    CALLBACK_RINGING = "callback_ringing"  # the agent is rung for the callback
    CALLBACK_DIALING = "callback_dialing"  # the agent answered, the caller is being dialled
    CLOSING = "closing"  # the agent left (SPEC-Q7); the caller is in the closing/survey flow
    ENDED = "ended"  # terminal: was answered, now over
    ABANDONED = "abandoned"  # terminal: the caller left before any answer
    OVERFLOWED = "overflowed"  # terminal: sent out of the ACD (max wait)
    CALLBACK_FAILED = "callback_failed"  # terminal: the callback did not reach the caller


TERMINAL_CALL_STATES = frozenset(
    {CallState.ENDED, CallState.ABANDONED, CallState.OVERFLOWED, CallState.CALLBACK_FAILED}
)


class AcdError(Exception):
    """A command the engine cannot carry out; the engine's state is unchanged."""


class AgentStateError(AcdError):
    def __init__(self, agent_id: str, state: AgentState, event: AgentEvent) -> None:
        super().__init__(
            f"can't handle {event.value} for agent {agent_id!r} in state {state.value}")
        self.agent_id = agent_id
        self.state = state
        self.event = event


class CallStateError(AcdError):
    def __init__(self, call_id: str, state: CallState, command: str) -> None:
        super().__init__(f"can't handle {command} for call {call_id!r} in state {state.value}")
        self.call_id = call_id
        self.state = state
        self.command = command


class UnknownCallError(AcdError, KeyError):
    def __str__(self) -> str:
        return f"no call {self.args[0]!r} in the ACD (never arrived, or already ended)"


class UnknownAgentError(AcdError, KeyError):
    def __str__(self) -> str:
        return f"no agent {self.args[0]!r} in the ACD configuration"


class UnknownQueueError(AcdError, KeyError):
    def __str__(self) -> str:
        return f"no queue {self.args[0]!r} in the ACD configuration"


class OfferNotActiveError(AcdError):
    """The agent answered or failed an offer that had already ended (timeout, caller gone):
    a race the driver resolves by hanging up that agent's leg."""


class HoldReasonRequiredError(AcdError):
    """SPEC-Q5: putting a caller on hold needs a stated reason."""


class AgentUnavailableError(AcdError):
    """A transfer target agent (or queue, for attended transfers) has nobody ready."""


def agent_next_state(agent_id: str, state: AgentState, event: AgentEvent) -> AgentState:
    """The table lookup every agent move goes through; raises on a missing transition."""
    new = AGENT_TRANSITIONS.get((state, event))
    if new is None:
        raise AgentStateError(agent_id, state, event)
    return new


def agent_can(state: AgentState, event: AgentEvent) -> bool:
    return (state, event) in AGENT_TRANSITIONS


def agent_state_diagram() -> str:
    """The agent state table as a Mermaid diagram, so docs/acd.md never drifts from it."""
    lines = ["stateDiagram-v2", f"    [*] --> {AgentState.LOGGED_OUT.value}"]
    for (src, event), dst in AGENT_TRANSITIONS.items():
        lines.append(f"    {src.value} --> {dst.value}: {event.value}")
    return "\n".join(lines) + "\n"

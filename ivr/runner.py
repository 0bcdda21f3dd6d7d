"""The per-call menu runner: a sans-IO state machine from caller events to actions.

Rules of the machine (the table ``_TRANSITIONS`` below is the whole of it):

* IDLE until ``start()``; any event before that is a RunnerError (a bug in the caller's glue).
* PLAYING: a PlayPrompt is out.  Its PromptFinished moves on (``_After`` says where); a digit
  during a barge-in prompt stops it at once (StopPlayback first, then the digit is handled as
  input), during any other prompt it is dropped.
* WAITING: an input node (menu, collect, language, survey) waits for keys until
  ``next_deadline()``.  No key in time → "no input" reprompt; a wrong key → "invalid"
  reprompt; after ``retries`` reprompts the caller goes to the flow's agent node (SPEC-Q3:
  never a dead end).  A collect node's deadline after the first key is the inter-digit gap.
* LISTENING: the handler feeds the caller's audio to a Listener; speech → next node, silence
  → P2 and listen again, quiet speech → P3 and listen again; after the retries → agent.
* DONE: the runner has emitted TransferToQueue or Hangup (or the caller hung up); every
  later event is ignored.

Stale PromptFinished events (an old ``play_id``) and early Timeouts are ignored in every
phase, so the handler never has to cancel anything precisely.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from datetime import datetime, timedelta
from types import MappingProxyType

from ivr.events import (
    Action,
    CallerHungUp,
    Digit,
    Event,
    Hangup,
    HangupReason,
    PlayPrompt,
    PromptFinished,
    PromptRef,
    QuietSpeech,
    RecordSurvey,
    Silence,
    SpeechStarted,
    StartListening,
    StopListening,
    StopPlayback,
    SurveyScore,
    Timeout,
    TransferReason,
    TransferToQueue,
)
from ivr.flow import (
    LANGUAGE_KEYS,
    AnyNode,
    CollectNode,
    Flow,
    HangupNode,
    HoursNode,
    LanguageNode,
    ListenNode,
    MenuNode,
    PlayNode,
    SurveyNode,
    SwitchBoard,
    SwitchNode,
    TransferNode,
)
from prompts.texts import Language

NO_INPUT_PROMPT = "no_input"
INVALID_INPUT_PROMPT = "invalid_input"
RUNNER_PROMPTS = frozenset({NO_INPUT_PROMPT, INVALID_INPUT_PROMPT})


class RunnerError(RuntimeError):
    """The glue fed an event the machine has no transition for (a local bug)."""


class Phase(enum.Enum):
    IDLE = "idle"
    PLAYING = "playing"
    WAITING = "waiting"
    LISTENING = "listening"
    DONE = "done"


class _After(enum.Enum):
    """What the end of the current prompt leads to."""

    NEXT = "next"  # a play node: go to its next node
    WAIT = "wait"  # an input node: wait for keys
    LISTEN = "listen"
    TRANSFER = "transfer"
    HANGUP = "hangup"


class _Failure(enum.Enum):
    NO_INPUT = "no_input"
    INVALID = "invalid"
    SILENCE = "silence"
    QUIET = "quiet"


_Handler = Callable[["MenuRunner", Event], list[Action]]
_LISTENER_EVENTS = (SpeechStarted, Silence, QuietSpeech)


class MenuRunner:
    """One call's walk through one Flow.  ``start()``, then ``handle(event)`` for each event."""

    def __init__(self, flow: Flow, switches: SwitchBoard | None = None) -> None:
        self.flow = flow  # kept for the whole call: a registry reload does not change it
        self.switches = switches or SwitchBoard()
        self.phase = Phase.IDLE
        self.language: Language = flow.default_language
        self.node_id = flow.start
        self.menu_path: list[str] = []
        self.digits: dict[str, str] = {}
        self._play_id = 0
        self._barge_in = False
        self._after = _After.NEXT
        self._pending: Action | None = None
        self._deadline: float | None = None
        self._failures = 0
        self._buffer = ""
        self._reason = TransferReason.CHOSEN
        self._t0 = 0.0
        self._wall0: datetime | None = None

    # ------------------------------------------------------------ public API

    def start(self, now: float, wall_time: datetime) -> list[Action]:
        """Begin the flow at ``now`` (monotonic); ``wall_time`` (aware) is for opening hours."""
        if self.phase is not Phase.IDLE:
            raise RunnerError("start() called twice")
        self._t0, self._wall0 = now, wall_time
        return self._goto(self.flow.start, now)

    def handle(self, event: Event) -> list[Action]:
        handler = _TRANSITIONS.get((self.phase, type(event)))
        if handler is None:
            raise RunnerError(f"can't handle {type(event).__name__} in phase {self.phase.value}")
        return handler(self, event)

    def next_deadline(self) -> float | None:
        """When to deliver Timeout(now), or None: no timer is needed now."""
        return self._deadline if self.phase is Phase.WAITING else None

    @property
    def finished(self) -> bool:
        return self.phase is Phase.DONE

    @property
    def node(self) -> AnyNode:
        return self.flow.node(self.node_id)

    # ------------------------------------------------------------ entering nodes

    def _goto(self, node_id: str, now: float, typeahead: str | None = None) -> list[Action]:
        hops = 0
        while True:  # hours and switch nodes decide at once; the validator forbids loops
            hops += 1
            if hops > len(self.flow.nodes) + 1:
                raise RunnerError(f"flow {self.flow.name!r} loops without waiting at {node_id!r}")
            self.node_id, self._failures, self._buffer, self._deadline = node_id, 0, "", None
            node = self.flow.node(node_id)
            if isinstance(node, HoursNode):
                node_id = node.open if node.hours.is_open(self._wall(now)) else node.closed
            elif isinstance(node, SwitchNode):
                node_id = node.on if self.switches.is_on(node.switch) else node.off
            else:
                return self._enter(node, now, typeahead)

    def _enter(self, node: AnyNode, now: float, typeahead: str | None) -> list[Action]:
        if isinstance(node, PlayNode):
            return self._play(self._refs(node.prompts), node.barge_in, _After.NEXT)
        if isinstance(node, TransferNode):
            self._pending = TransferToQueue(
                queue=node.queue,
                skill=node.skill,
                language=self.language,
                menu_path=tuple(self.menu_path),
                digits=MappingProxyType(dict(self.digits)),
                reason=self._reason,
                node=node.node_id,
            )
            return self._finish_after(node.prompts, _After.TRANSFER)
        if isinstance(node, HangupNode):
            self._pending = Hangup(HangupReason.FLOW_END, node=node.node_id)
            return self._finish_after(node.prompts, _After.HANGUP)
        if isinstance(node, ListenNode):
            if node.prompts:
                return self._play(self._refs(node.prompts), False, _After.LISTEN)
            return self._listen(now)
        # an input node: menu, collect, language, survey
        if typeahead is not None or not node.prompts:
            self.phase, self._deadline = Phase.WAITING, now + _timeout_of(node)
            return self._on_key(typeahead, now) if typeahead is not None else []
        return self._play(self._input_prompt(node), True, _After.WAIT)

    def _finish_after(self, prompts: tuple[str, ...], after: _After) -> list[Action]:
        if prompts:
            return self._play(self._refs(prompts), False, after)
        self.phase = Phase.DONE
        return [self._pending] if self._pending is not None else []

    def _play(self, items: tuple[PromptRef, ...], barge_in: bool, after: _After) -> list[Action]:
        self._play_id += 1
        self.phase, self._barge_in, self._after, self._deadline = (
            Phase.PLAYING,
            barge_in,
            after,
            None,
        )
        return [PlayPrompt(play_id=self._play_id, items=items, barge_in=barge_in)]

    def _listen(self, now: float) -> list[Action]:
        self.phase = Phase.LISTENING
        return [StartListening(now)]

    def _refs(self, prompt_ids: tuple[str, ...]) -> tuple[PromptRef, ...]:
        return tuple(PromptRef(p, self.language) for p in prompt_ids)

    def _input_prompt(self, node: AnyNode) -> tuple[PromptRef, ...]:
        if isinstance(node, LanguageNode):  # the caller has not chosen yet: say it in all
            return tuple(PromptRef(p, lang) for lang in Language for p in node.prompts)
        return self._refs(node.prompts)

    def _wall(self, now: float) -> datetime:
        assert self._wall0 is not None  # set by start(); handle() refuses events before it
        return self._wall0 + timedelta(seconds=now - self._t0)

    # ------------------------------------------------------------ transitions

    def _ignore(self, event: Event) -> list[Action]:
        return []

    def _prompt_finished(self, event: Event) -> list[Action]:
        assert isinstance(event, PromptFinished)
        if event.play_id != self._play_id:
            return []  # a prompt we already stopped or replaced
        node = self.node
        if self._after is _After.NEXT:
            assert isinstance(node, PlayNode)
            return self._goto(node.next, event.now)
        if self._after is _After.WAIT:
            self.phase, self._deadline = Phase.WAITING, event.now + _timeout_of(node)
            return []
        if self._after is _After.LISTEN:
            return self._listen(event.now)
        self.phase = Phase.DONE
        return [self._pending] if self._pending is not None else []

    def _digit_while_playing(self, event: Event) -> list[Action]:
        assert isinstance(event, Digit)
        if not self._barge_in:
            return []
        stop: list[Action] = [StopPlayback(self._play_id)]
        node = self.node
        if isinstance(node, PlayNode):
            return stop + self._goto(node.next, event.now, typeahead=event.digit)
        self.phase, self._deadline = Phase.WAITING, event.now + _timeout_of(node)
        return stop + self._on_key(event.digit, event.now)

    def _digit(self, event: Event) -> list[Action]:
        assert isinstance(event, Digit)
        return self._on_key(event.digit, event.now)

    def _on_key(self, key: str, now: float) -> list[Action]:
        node = self.node
        if isinstance(node, MenuNode):
            if key not in node.options:
                return self._fail(_Failure.INVALID, now)
            self.menu_path.append(key)
            return self._goto(node.options[key], now)
        if isinstance(node, LanguageNode):
            if key not in LANGUAGE_KEYS:
                return self._fail(_Failure.INVALID, now)
            self.language = LANGUAGE_KEYS[key]
            return self._goto(node.next, now)
        if isinstance(node, SurveyNode):
            if key not in {str(s.value) for s in SurveyScore}:
                return self._fail(_Failure.INVALID, now)
            self._pending = Hangup(HangupReason.FLOW_END, node=node.node_id)
            record: list[Action] = [RecordSurvey(SurveyScore(int(key)), node=node.node_id)]
            return record + self._finish_after(node.thanks, _After.HANGUP)
        if isinstance(node, CollectNode):
            if key == node.terminator:
                return self._finish_collect(node, now)
            self._buffer += key
            if len(self._buffer) >= node.max_digits:
                return self._finish_collect(node, now)
            self._deadline = now + node.inter_digit_s
            return []
        raise RunnerError(f"node {node.node_id!r} ({node.type.value}) does not take keys")

    def _finish_collect(self, node: CollectNode, now: float) -> list[Action]:
        if len(self._buffer) < node.min_digits:
            self._buffer = ""
            return self._fail(_Failure.INVALID, now)
        self.digits[node.var] = self._buffer
        return self._goto(node.next, now)

    def _timeout(self, event: Event) -> list[Action]:
        assert isinstance(event, Timeout)
        if self._deadline is None or event.now < self._deadline:
            return []  # early or stale timer
        self._deadline = None
        node = self.node
        if isinstance(node, CollectNode) and self._buffer:
            return self._finish_collect(node, event.now)  # the inter-digit gap ends the entry
        return self._fail(_Failure.NO_INPUT, event.now)

    def _heard(self, event: Event) -> list[Action]:
        node = self.node
        assert isinstance(node, ListenNode)
        return [StopListening(), *self._goto(node.next, event.now)]

    def _not_heard(self, event: Event) -> list[Action]:
        failure = _Failure.QUIET if isinstance(event, QuietSpeech) else _Failure.SILENCE
        return [StopListening(), *self._fail(failure, event.now)]

    def _hung_up(self, event: Event) -> list[Action]:
        actions: list[Action] = []
        if self.phase is Phase.PLAYING:
            actions.append(StopPlayback(self._play_id))
        elif self.phase is Phase.LISTENING:
            actions.append(StopListening())
        self.phase, self._deadline = Phase.DONE, None
        return actions

    # ------------------------------------------------------------ failures

    def _fail(self, failure: _Failure, now: float) -> list[Action]:
        node = self.node
        self._failures += 1
        if self._failures > _retries_of(node):
            return self._give_up(node, failure, now)
        if isinstance(node, ListenNode):
            prompt = node.quiet_prompt if failure is _Failure.QUIET else node.silence_prompt
            return self._play(self._refs((prompt,)), False, _After.LISTEN)
        lead = NO_INPUT_PROMPT if failure is _Failure.NO_INPUT else INVALID_INPUT_PROMPT
        return self._play(
            (PromptRef(lead, self.language), *self._input_prompt(node)),
            True,
            _After.WAIT,
        )

    def _give_up(self, node: AnyNode, failure: _Failure, now: float) -> list[Action]:
        if isinstance(node, LanguageNode):
            self.language = node.default
            return self._goto(node.next, now)
        if isinstance(node, SurveyNode):
            self._pending = Hangup(HangupReason.FLOW_END, node=node.node_id)
            self.phase = Phase.DONE
            return [RecordSurvey(None, node=node.node_id), self._pending]
        if self.flow.agent is None:  # the validator requires an agent for these nodes
            raise RunnerError(f"flow {self.flow.name!r} has no agent node for {node.node_id!r}")
        self._reason = {
            _Failure.NO_INPUT: TransferReason.NO_INPUT,
            _Failure.INVALID: TransferReason.INVALID_INPUT,
        }.get(failure, TransferReason.NOT_HEARD)
        return self._goto(self.flow.agent, now)


def _timeout_of(node: AnyNode) -> float:
    if isinstance(node, MenuNode | CollectNode | LanguageNode | SurveyNode):
        return node.timeout_s
    raise RunnerError(f"node {node.node_id!r} ({node.type.value}) does not wait for keys")


def _retries_of(node: AnyNode) -> int:
    if isinstance(node, MenuNode | CollectNode | LanguageNode | SurveyNode | ListenNode):
        return node.retries
    raise RunnerError(f"node {node.node_id!r} ({node.type.value}) has no retries")


_R = MenuRunner
_TRANSITIONS: dict[tuple[Phase, type], _Handler] = {
    (Phase.PLAYING, PromptFinished): _R._prompt_finished,
    (Phase.PLAYING, Digit): _R._digit_while_playing,
    (Phase.PLAYING, Timeout): _R._ignore,
    (Phase.PLAYING, CallerHungUp): _R._hung_up,
    (Phase.WAITING, PromptFinished): _R._ignore,
    (Phase.WAITING, Digit): _R._digit,
    (Phase.WAITING, Timeout): _R._timeout,
    (Phase.WAITING, CallerHungUp): _R._hung_up,
    (Phase.LISTENING, PromptFinished): _R._ignore,
    (Phase.LISTENING, Digit): _R._ignore,
    (Phase.LISTENING, Timeout): _R._ignore,
    (Phase.LISTENING, SpeechStarted): _R._heard,
    (Phase.LISTENING, Silence): _R._not_heard,
    (Phase.LISTENING, QuietSpeech): _R._not_heard,
    (Phase.LISTENING, CallerHungUp): _R._hung_up,
    **{
        (phase, ev): _R._ignore
        for phase in (Phase.PLAYING, Phase.WAITING)
        for ev in _LISTENER_EVENTS
    },  # a late listener report after the step moved on
    **{
        (Phase.DONE, ev): _R._ignore
        for ev in (
            PromptFinished,
            Digit,
            Timeout,
            SpeechStarted,
            Silence,
            QuietSpeech,
            CallerHungUp,
        )
    },
}

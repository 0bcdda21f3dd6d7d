"""The menu runner walked with digits, timers and listener events, as a call handler would."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from ivr_flowtext import BASE, KNOWN_PROMPTS, write

from ivr.events import (
    CallerHungUp,
    Digit,
    Hangup,
    PlayPrompt,
    PromptFinished,
    QuietSpeech,
    Silence,
    SpeechStarted,
    StartListening,
    StopListening,
    StopPlayback,
    Timeout,
    TransferReason,
    TransferToQueue,
)
from ivr.flow import SwitchBoard
from ivr.flow_loader import load_flow, load_flow_text
from ivr.runner import MenuRunner, Phase, RunnerError
from prompts.texts import Language

NOON = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)  # Wednesday 12:00 in Beijing
DEFAULT = load_flow(Path("ivr/flows/default.yaml"), KNOWN_PROMPTS)


class Call:
    """A call handler stand-in: remembers the playback in progress and the clock."""

    def __init__(self, flow=DEFAULT, switches: SwitchBoard | None = None) -> None:
        self.runner = MenuRunner(flow, switches)
        self.now = 100.0
        self.playing: PlayPrompt | None = None
        self.log: list = []

    def _take(self, actions: list) -> list:
        for action in actions:
            if isinstance(action, PlayPrompt):
                self.playing = action
            if isinstance(action, StopPlayback | TransferToQueue | Hangup):
                self.playing = None
        self.log.extend(actions)
        return actions

    def start(self, wall: datetime = NOON) -> list:
        return self._take(self.runner.start(self.now, wall))

    def finish_prompt(self, seconds: float = 2.0) -> list:
        assert self.playing is not None, "nothing is playing"
        self.now += seconds
        play_id = self.playing.play_id
        self.playing = None
        return self._take(self.runner.handle(PromptFinished(play_id, self.now)))

    def key(self, digit: str, after: float = 0.5) -> list:
        self.now += after
        return self._take(self.runner.handle(Digit(digit, self.now)))

    def wait_out(self) -> list:
        deadline = self.runner.next_deadline()
        assert deadline is not None
        self.now = deadline
        return self._take(self.runner.handle(Timeout(self.now)))

    def send(self, event_type, *args) -> list:
        self.now += 1.0
        return self._take(self.runner.handle(event_type(self.now, *args)))


def _prompts(actions: list) -> list[tuple[str, ...]]:
    return [a.prompt_ids for a in actions if isinstance(a, PlayPrompt)]


def _to_main_menu(call: Call, language_key: str = "2") -> None:
    assert _prompts(call.start()) == [("p1",)]
    assert _prompts(call.finish_prompt()) == [("language_choice", "language_choice")]
    call.finish_prompt()
    assert _prompts(call.key(language_key)) == [("menu_main",)]


def test_default_flow_answer_p1_language_menu_to_billing_queue() -> None:
    call = Call()
    first = call.start()
    assert first[0].items[0].language is Language.ZH and first[0].barge_in is False
    languages = call.finish_prompt()
    # not chosen yet: the choice is said in Mandarin then English
    assert [r.language for r in languages[0].items] == [Language.ZH, Language.EN]
    call.finish_prompt()
    menu = call.key("2")
    assert menu[0].items[0].language is Language.EN and call.runner.language is Language.EN
    call.finish_prompt()
    assert call.runner.next_deadline() == pytest.approx(call.now + 5.0)
    [transfer] = call.key("1")
    assert transfer == TransferToQueue(
        queue="billing",
        skill="billing",
        language=Language.EN,
        menu_path=("1",),
        digits=transfer.digits,
        reason=TransferReason.CHOSEN,
        node="billing",
    )
    assert call.runner.finished and call.runner.next_deadline() is None


def test_zero_reaches_an_agent_after_the_transfer_prompt() -> None:
    call = Call()
    _to_main_menu(call, "1")
    assert _prompts(call.key("0", after=0.1)) == [("transfer_agent",)]
    [transfer] = call.finish_prompt()
    assert transfer.queue == "general" and transfer.language is Language.ZH


def test_digit_during_menu_prompt_stops_it_at_once_barge_in() -> None:
    call = Call()
    _to_main_menu(call)
    menu_play = call.playing
    actions = call.key("3", after=0.3)
    assert actions[0] == StopPlayback(menu_play.play_id)
    assert isinstance(actions[1], TransferToQueue) and actions[1].queue == "complaints"


def test_digit_during_greeting_without_barge_in_is_dropped() -> None:
    call = Call()
    call.start()
    assert call.key("1") == []
    assert call.runner.phase is Phase.PLAYING
    assert _prompts(call.finish_prompt()) == [("language_choice", "language_choice")]


def test_no_input_reprompts_then_goes_to_an_agent() -> None:
    call = Call()
    _to_main_menu(call)
    call.finish_prompt()
    for _ in range(2):  # retries: 2
        assert _prompts(call.wait_out()) == [("no_input", "menu_main")]
        call.finish_prompt()
    assert _prompts(call.wait_out()) == [("transfer_agent",)]  # never a dead end (SPEC-Q3)
    [transfer] = call.finish_prompt()
    assert transfer.queue == "general" and transfer.reason is TransferReason.NO_INPUT


def test_invalid_keys_reprompt_then_go_to_an_agent() -> None:
    call = Call()
    _to_main_menu(call)
    call.finish_prompt()
    assert _prompts(call.key("7")) == [("invalid_input", "menu_main")]
    # a wrong key during the reprompt barges in too
    actions = call.key("#")
    assert isinstance(actions[0], StopPlayback) and _prompts(actions) == [
        ("invalid_input", "menu_main")
    ]
    call.finish_prompt()
    call.key("9")
    [transfer] = call.finish_prompt()
    assert transfer.reason is TransferReason.INVALID_INPUT and transfer.menu_path == ()


def test_early_timer_and_stale_prompt_finished_are_ignored() -> None:
    call = Call()
    _to_main_menu(call)
    old = call.playing
    call.finish_prompt()
    deadline = call.runner.next_deadline()
    assert call.runner.handle(Timeout(deadline - 0.01)) == []
    assert call.runner.handle(PromptFinished(old.play_id, deadline - 0.01)) == []
    assert call.runner.next_deadline() == deadline


def test_surge_switch_sends_new_callers_to_the_overflow_queue_without_restart() -> None:
    switches = SwitchBoard()
    before = Call(switches=switches)
    _to_main_menu(before)
    switches.set("surge", True)  # SPEC-O1: the operator flips it while calls run
    during = Call(switches=switches)
    during.start()
    during.finish_prompt()
    during.finish_prompt()
    assert _prompts(during.key("1")) == [("emergency",)]
    [transfer] = during.finish_prompt()
    assert transfer.queue == "overflow"
    billing = before.key("1")[-1]  # the caller already in the menu carries on
    assert billing.queue == "billing"


def test_closed_hours_play_the_closed_message_and_hang_up(tmp_path: Path) -> None:
    text = BASE.replace("    next: menu\n", "    next: hours\n") + (
        "  hours:\n    type: hours\n    open: menu\n    closed: closed\n"
        "    weekly:\n      mon-fri: ['08:00-20:00']\n    holidays: ['2026-10-01']\n"
        "  closed:\n    type: hangup\n    prompt: closed\n"
    )
    flow = load_flow(write(tmp_path, text), KNOWN_PROMPTS)
    evening = datetime(2026, 11, 25, 13, 30, tzinfo=UTC)  # 21:30 in Beijing
    for wall, expected in [
        (NOON, ("menu_main",)),
        (evening, ("closed",)),
        (datetime(2026, 10, 1, 4, 0, tzinfo=UTC), ("closed",)),  # national holiday
    ]:
        call = Call(flow)
        call.start(wall)
        assert _prompts(call.finish_prompt()) == [expected]
    assert call.finish_prompt() == [Hangup(node="closed")]


COLLECT = BASE.replace('"1": billing', '"1": account') + (
    "  account:\n    type: collect\n    prompt: p2\n    var: account\n"
    "    max_digits: 6\n    min_digits: 3\n    inter_digit_timeout: 3\n    next: billing\n"
)


def _to_collect(call: Call) -> None:
    call.start()
    call.finish_prompt()
    call.finish_prompt()
    assert _prompts(call.key("1")) == [("p2",)]


def test_collect_ends_at_hash_and_passes_digits_to_the_queue() -> None:
    call = Call(load_flow_text(COLLECT, "collect.yaml", KNOWN_PROMPTS))
    _to_collect(call)
    call.key("4")  # barge-in into the collect prompt
    call.key("2")
    call.key("7")
    [transfer] = call.key("#")
    assert transfer.digits == {"account": "427"} and transfer.menu_path == ("1",)


def test_collect_ends_at_max_digits_or_inter_digit_timeout() -> None:
    flow = load_flow_text(COLLECT, "collect.yaml", KNOWN_PROMPTS)
    call = Call(flow)
    _to_collect(call)
    for d in "123456":
        actions = call.key(d)
    assert actions[-1].digits == {"account": "123456"}

    call = Call(flow)
    _to_collect(call)
    call.finish_prompt()
    call.key("5")
    call.key("5")
    call.key("5")
    assert call.runner.next_deadline() == pytest.approx(call.now + 3.0)
    [transfer] = call.wait_out()
    assert transfer.digits == {"account": "555"}


def test_collect_too_short_is_invalid() -> None:
    call = Call(load_flow_text(COLLECT, "collect.yaml", KNOWN_PROMPTS))
    _to_collect(call)
    call.finish_prompt()
    call.key("5")
    assert _prompts(call.key("#")) == [("invalid_input", "p2")]


def test_a_key_during_a_barge_in_play_node_is_kept_for_the_next_menu() -> None:
    text = BASE.replace("    prompt: p1\n", "    prompt: p1\n    barge_in: true\n")
    call = Call(load_flow_text(text, "typeahead.yaml", KNOWN_PROMPTS))
    call.start()
    actions = call.key("1")
    assert isinstance(actions[0], StopPlayback)
    assert actions[1].queue == "billing" and actions[1].menu_path == ("1",)


LISTEN = BASE.replace("    next: menu\n", "    next: hear\n") + (
    "  hear:\n    type: listen\n    next: menu\n    retries: 2\n"
)


def test_listen_step_silence_plays_p2_quiet_plays_p3_speech_moves_on() -> None:
    call = Call(load_flow_text(LISTEN, "listen.yaml", KNOWN_PROMPTS))
    call.start()
    assert call.finish_prompt() == [StartListening(call.now)]
    assert call.runner.next_deadline() is None  # the listener keeps the silence time
    actions = call.send(Silence)
    assert actions[0] == StopListening() and _prompts(actions) == [("p2",)]
    assert isinstance(call.finish_prompt()[0], StartListening)
    actions = call.send(QuietSpeech, -52.0)
    assert _prompts(actions) == [("p3",)]
    call.finish_prompt()
    actions = call.send(SpeechStarted)
    assert actions[0] == StopListening() and _prompts(actions) == [("menu_main",)]


def test_listen_step_after_retries_goes_to_an_agent() -> None:
    call = Call(load_flow_text(LISTEN, "listen.yaml", KNOWN_PROMPTS))
    call.start()
    call.finish_prompt()
    for _ in range(2):
        call.send(Silence)
        call.finish_prompt()
    actions = call.send(Silence)
    assert actions == [
        StopListening(),
        TransferToQueue(
            queue="general",
            skill=None,
            language=Language.ZH,
            menu_path=(),
            digits=actions[1].digits,
            reason=TransferReason.NOT_HEARD,
            node="agent",
        ),
    ]


def test_caller_hang_up_ends_the_run_and_later_events_are_ignored() -> None:
    call = Call()
    _to_main_menu(call)
    play = call.playing
    assert call.send(CallerHungUp) == [StopPlayback(play.play_id)]
    assert call.runner.finished
    assert call.key("1") == [] and call.runner.handle(Timeout(1e9)) == []


def test_events_before_start_are_a_local_error() -> None:
    runner = MenuRunner(DEFAULT)
    with pytest.raises(RunnerError, match="can't handle Digit in phase idle"):
        runner.handle(Digit("1", 0.0))
    with pytest.raises(ValueError):
        Digit("x", 0.0)

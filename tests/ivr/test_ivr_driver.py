"""A whole IVR call on the 20 ms tick without sockets: what the caller hears, step by step.

The audio the caller would receive is recorded frame by frame and recognised by
cross-correlation with the catalogue, as the end-to-end tests over RTP do.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from ivr_flowtext import BASE, KNOWN_PROMPTS

from ivr.closing import survey_flow
from ivr.driver import IvrCall
from ivr.events import Hangup, RecordSurvey, SurveyScore, TransferToQueue
from ivr.flow_loader import load_flow, load_flow_text
from ivr.runner import MenuRunner
from prompts.catalogue import PromptCatalogue
from prompts.match import best_match
from prompts.texts import Language

CATALOGUE = PromptCatalogue()
NOON = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)
TICK = 0.020


class Line:
    """Ticks an IvrCall and records what the caller hears."""

    def __init__(self, call: IvrCall) -> None:
        self.call = call
        self.now = 0.0
        self.heard: list[np.ndarray] = []
        self.control: list = list(call.start(0.0, NOON))

    def run(self, seconds: float, rx: np.ndarray | None = None) -> None:
        for k in range(round(seconds / TICK)):
            self.now = round(self.now + TICK, 6)
            frame_in = None if rx is None else rx[k * 160 : (k + 1) * 160]
            if frame_in is not None and frame_in.size < 160:
                frame_in = np.zeros(160, np.int16)
            frame, control = self.call.tick(self.now, frame_in)
            self.heard.append(frame if frame is not None else np.zeros(160, np.int16))
            self.control += control

    def key(self, digit: str) -> None:
        self.control += self.call.on_digit(digit, self.now + 0.005)

    def audio_since(self, tick: int) -> np.ndarray:
        return np.concatenate(self.heard[tick:])


def _candidates(*ids_languages: tuple[str, Language]) -> dict[str, np.ndarray]:
    return {f"{lang.value}/{pid}": CATALOGUE.get(pid, lang).samples for pid, lang in ids_languages}


ALL = _candidates(
    *[
        (p, lang)
        for p in (
            "p1",
            "p2",
            "p3",
            "language_choice",
            "menu_main",
            "transfer_agent",
            "no_input",
            "invalid_input",
        )
        for lang in Language
    ]
)


def test_caller_hears_p1_language_menu_then_reaches_an_agent() -> None:
    line = Line(
        IvrCall(MenuRunner(load_flow(Path("ivr/flows/default.yaml"), KNOWN_PROMPTS)), CATALOGUE)
    )
    p1 = CATALOGUE.get("p1", Language.ZH).samples.size / 8000
    line.run(p1 + 1.0)  # P1, then into the language choice
    assert best_match(line.audio_since(0)[: int(p1 * 8000)], ALL).prompt_id == "zh/p1"
    assert best_match(line.audio_since(round(p1 / TICK) + 1), ALL).prompt_id == "zh/language_choice"

    key_tick = len(line.heard)
    line.key("2")  # barge-in during the language prompt
    line.run(3.0)
    # the very next frame is the English menu's first frame: the old prompt stopped at once
    menu = CATALOGUE.get("menu_main", Language.EN).samples
    assert np.array_equal(line.heard[key_tick], menu[:160])
    match = best_match(line.audio_since(key_tick), ALL)
    assert (match.prompt_id, match.offset) == ("en/menu_main", 0)

    line.run(menu.size / 8000)  # let the menu finish, then choose the agent
    line.key("0")
    start = len(line.heard)
    line.run(CATALOGUE.get("transfer_agent", Language.EN).samples.size / 8000 + 0.1)
    assert best_match(line.audio_since(start), ALL).prompt_id == "en/transfer_agent"
    [transfer] = line.control
    assert isinstance(transfer, TransferToQueue) and transfer.queue == "general"
    assert transfer.language is Language.EN and line.call.finished


def test_no_key_after_the_menu_reprompts_with_no_input() -> None:
    line = Line(IvrCall(MenuRunner(load_flow_text(BASE, "base.yaml", KNOWN_PROMPTS)), CATALOGUE))
    line.run(CATALOGUE.get("p1", Language.ZH).samples.size / 8000 + 0.1)
    line.run(CATALOGUE.get("menu_main", Language.ZH).samples.size / 8000)
    start = len(line.heard)
    line.run(5.0 + 2.0)  # the 5 s menu timeout, then the reprompt begins
    assert best_match(line.audio_since(start), ALL).prompt_id == "zh/no_input"


LISTEN = (
    BASE.replace("    next: menu\n", "    next: hear\n")
    + "  hear:\n    type: listen\n    next: menu\n"
)


def test_silent_caller_hears_p2_after_the_greeting() -> None:
    line = Line(
        IvrCall(MenuRunner(load_flow_text(LISTEN, "listen.yaml", KNOWN_PROMPTS)), CATALOGUE)
    )
    greeting = CATALOGUE.get("p1", Language.ZH).samples.size / 8000
    silence = np.zeros(int((greeting + 8.0) * 8000), np.int16)
    line.run(greeting + 0.1, silence)
    start = len(line.heard)
    line.run(7.0, silence)  # 5 s of silence, then P2
    match = best_match(line.audio_since(start), ALL)
    assert match.prompt_id == "zh/p2"
    assert abs(match.offset / 8000 - 5.0) < 0.1


def test_quiet_caller_hears_p3() -> None:
    line = Line(
        IvrCall(MenuRunner(load_flow_text(LISTEN, "listen.yaml", KNOWN_PROMPTS)), CATALOGUE)
    )
    line.run(CATALOGUE.get("p1", Language.ZH).samples.size / 8000 + 0.1)
    # the caller speaks 30 dB below normal (an espeak voice from the catalogue stands in)
    voice = CATALOGUE.get("p12", Language.EN).samples.astype(np.float64) * 10 ** (-34 / 20)
    rx = np.concatenate([voice.astype(np.int16), np.zeros(8000 * 6, np.int16)])
    start = len(line.heard)
    line.run(6.0, rx)
    assert best_match(line.audio_since(start), ALL).prompt_id == "zh/p3"


def test_survey_answer_is_stored_and_the_service_hangs_up() -> None:
    line = Line(IvrCall(MenuRunner(survey_flow()), CATALOGUE))
    line.run(1.0)
    line.key("2")
    line.run(CATALOGUE.get("survey_thanks", Language.ZH).samples.size / 8000 + 0.1)
    assert line.control == [
        RecordSurvey(SurveyScore.ACCEPTABLE, node="survey"),
        Hangup(node="survey"),
    ]
    assert line.call.finished

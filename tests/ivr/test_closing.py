"""Closing phrases an agent chooses (SPEC-P5..P8) and the post-call survey (SPEC-Q4)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ivr.closing import ClosingKind, closing_flow, survey_flow
from ivr.events import Digit, Hangup, PlayPrompt, PromptFinished, RecordSurvey, SurveyScore, Timeout
from ivr.runner import MenuRunner

NOON = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("kind", "prompt"),
    [
        (ClosingKind.WRONG_NUMBER, "p8"),
        (ClosingKind.OUT_OF_SCOPE, "p6"),
        (ClosingKind.THANKS, "p5"),
        (ClosingKind.COMPLAINT_RESOLVED, "p7a"),
        (ClosingKind.COMPLAINT_REGISTERED, "p7b"),
    ],
)
def test_closing_phrase_plays_then_the_service_hangs_up(kind: ClosingKind, prompt: str) -> None:
    runner = MenuRunner(closing_flow(kind))
    [play] = runner.start(0.0, NOON)
    assert isinstance(play, PlayPrompt) and play.prompt_ids == (prompt,) and not play.barge_in
    assert runner.handle(Digit("1", 1.0)) == []  # the caller cannot cut the closing phrase
    [hangup] = runner.handle(PromptFinished(play.play_id, 4.0))
    assert isinstance(hangup, Hangup) and runner.finished


def test_closing_phrase_can_lead_into_the_survey() -> None:
    runner = MenuRunner(closing_flow(ClosingKind.THANKS, then_survey=True))
    [play] = runner.start(0.0, NOON)
    [survey] = runner.handle(PromptFinished(play.play_id, 3.0))
    assert survey.prompt_ids == ("survey_question",)


@pytest.mark.parametrize("key", ["1", "2", "3"])
def test_survey_answer_is_recorded_then_thanks_then_hangup(key: str) -> None:
    runner = MenuRunner(survey_flow())
    runner.start(0.0, NOON)
    record, thanks = runner.handle(Digit(key, 2.0))[-2:]
    assert record == RecordSurvey(SurveyScore(int(key)), node="survey")
    assert thanks.prompt_ids == ("survey_thanks",)
    assert runner.handle(PromptFinished(thanks.play_id, 5.0)) == [Hangup(node="survey")]


def test_survey_without_a_valid_answer_records_none_and_hangs_up() -> None:
    runner = MenuRunner(survey_flow())
    [question] = runner.start(0.0, NOON)
    runner.handle(PromptFinished(question.play_id, 9.0))
    [again] = runner.handle(Digit("8", 10.0))
    assert again.prompt_ids == ("invalid_input", "survey_question")
    runner.handle(PromptFinished(again.play_id, 20.0))
    deadline = runner.next_deadline()
    assert deadline is not None
    assert runner.handle(Timeout(deadline)) == [
        RecordSurvey(None, node="survey"),
        Hangup(node="survey"),
    ]

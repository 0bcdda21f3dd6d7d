"""Scorecards: the shipped YAML, weighted scoring with critical items, calibration spread and
the quarterly quality star (SPEC-R1, P1/P10, P12, Q5, Q8)."""

from __future__ import annotations

from pathlib import Path

import pytest

from recordings.scorecard import (
    ReviewerScore,
    ScorecardError,
    ScoredCall,
    ScoreError,
    calibrate,
    load_scorecard,
    parse_answers,
    quarterly_ranking,
    score,
)

ALL_MET = {
    "greeting": "met",
    "late_apology": "n/a",
    "no_banned_phrase": "met",
    "hold_consent": "met",
    "never_hung_up_first": "met",
    "asked_anything_else": "met",
    "survey_transfer": "met",
    "wrap_up_accurate": "met",
}
Q2_2026 = 1_780_000_000.0  # 2026-05-28


def test_default_scorecard_covers_the_spec_items() -> None:
    card = load_scorecard()
    specs = {spec for criterion in card.criteria() for spec in criterion.spec}
    assert {"SPEC-P1", "SPEC-P10", "SPEC-P12", "SPEC-Q8", "SPEC-Q5", "SPEC-Q6"} <= specs
    critical = {criterion.id for criterion in card.criteria() if criterion.critical}
    assert "no_banned_phrase" in critical


def test_weights_and_critical_items() -> None:
    card = load_scorecard()
    perfect = score(card, parse_answers(card, ALL_MET))
    assert perfect.total == 100.0 and perfect.passed
    # Missing the P12 question costs 2/3 of the closing section (25 % of the total).
    no_p12 = score(card, parse_answers(card, {**ALL_MET, "asked_anything_else": "not_met"}))
    assert no_p12.total == pytest.approx(100 - 25 * 2 / 3, abs=0.01)
    assert no_p12.section_scores["closing"] == pytest.approx(33.33, abs=0.01)
    # A banned phrase fails the call outright, however good the rest was.
    banned = score(card, parse_answers(card, {**ALL_MET, "no_banned_phrase": "not_met"}))
    assert banned.total == 0.0 and banned.critical_failed and not banned.passed


def test_answers_must_fit_the_scorecard() -> None:
    card = load_scorecard()
    with pytest.raises(ScoreError, match="without an answer"):
        parse_answers(card, {k: v for k, v in ALL_MET.items() if k != "greeting"})
    with pytest.raises(ScoreError, match="unknown criteria"):
        parse_answers(card, {**ALL_MET, "smiled": "met"})
    with pytest.raises(ScoreError, match="n/a is not allowed"):
        parse_answers(card, {**ALL_MET, "greeting": "n/a"})
    with pytest.raises(ScoreError, match="not one of"):
        parse_answers(card, {**ALL_MET, "greeting": "yes"})


def test_bad_scorecard_names_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "card.yaml"
    path.write_text(
        "id: x\nversion: 1\ntitle: X\npass_mark: 80\nsections:\n"
        "  - id: opening\n    title: Opening\n    weight: 10\n    criteria:\n"
        "      - id: greeting\n        text: hi\n        weight: -1\n"
    )
    with pytest.raises(ScorecardError) as error:
        load_scorecard(path)
    assert f"{path}:12: sections.0.criteria.0.weight" in str(error.value)
    path.write_text("id: [unclosed\n")
    with pytest.raises(ScorecardError, match=rf"{path}:2: invalid YAML"):
        load_scorecard(path)


def test_calibration_shows_the_spread_between_reviewers() -> None:
    card = load_scorecard()
    strict = parse_answers(card, {**ALL_MET, "asked_anything_else": "not_met"})
    lenient = parse_answers(card, ALL_MET)
    report = calibrate(
        card,
        [
            ReviewerScore("qa1", score(card, lenient).total, lenient),
            ReviewerScore("qa2", score(card, strict).total, strict),
            ReviewerScore("qa3", score(card, lenient).total, lenient),
        ],
    )
    assert report.spread == pytest.approx(16.67, abs=0.01)
    assert not report.within_tolerance
    assert report.disagreements == ["asked_anything_else"]
    agreement = {c.criterion: c.agreement for c in report.criteria}
    assert agreement["asked_anything_else"] == pytest.approx(2 / 3)
    assert agreement["greeting"] == 1.0
    with pytest.raises(ScoreError):
        calibrate(card, [ReviewerScore("qa1", 100.0, lenient)])


def test_quarterly_ranking_names_the_quality_star() -> None:
    scores = [
        ScoredCall("c1", "1001", 90.0, Q2_2026),
        ScoredCall("c2", "1001", 80.0, Q2_2026),
        ScoredCall("c3", "1001", 100.0, Q2_2026),
        ScoredCall("c4", "1002", 95.0, Q2_2026),
        ScoredCall("c5", "1002", 95.0, Q2_2026),
        ScoredCall("c6", "1002", 96.0, Q2_2026),
        # A calibrated call counts once, at its mean: 1003 averages 90, not pulled by 3 reviews.
        ScoredCall("c7", "1003", 100.0, Q2_2026),
        ScoredCall("c7", "1003", 100.0, Q2_2026),
        ScoredCall("c7", "1003", 100.0, Q2_2026),
        ScoredCall("c8", "1003", 80.0, Q2_2026),
        ScoredCall("c9", "1003", 90.0, Q2_2026),
        ScoredCall("c10", "1004", 100.0, Q2_2026),  # one call is not a quarter
        ScoredCall("c11", "1005", 100.0, Q2_2026 + 120 * 86_400),  # next quarter
    ]
    ranking = quarterly_ranking(scores, 2026, 2)
    assert ranking.quality_star == "1002"
    assert [(e.rank, e.agent_number, e.mean, e.calls) for e in ranking.entries] == [
        (1, "1002", 95.33, 3),
        (2, "1001", 90.0, 3),
        (3, "1003", 90.0, 3),
    ]
    assert ranking.unranked == ("1004",)
    assert quarterly_ranking(scores, 2026, 1).quality_star is None

"""Scorecards (SPEC-R1): loading them from YAML, scoring a call against one, comparing
several reviewers' scores of one call (calibration), and the quarterly ranking that names
the "quality star". Pure functions; persistence lives in ``recordings.reviews``.
"""

from __future__ import annotations

import enum
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from hotline.accounts.errors import DomainError

DEFAULT_SCORECARD = "default.yaml"
# Fewer scored calls than this in a quarter and an agent is not ranked: one lucky call is
# not a quarter's quality.
DEFAULT_MIN_SCORES_FOR_RANKING = 3
# Spread of totals (max - min, points out of 100) above which a calibration needs discussion.
CALIBRATION_TOLERANCE = 10.0


class ScorecardError(Exception):
    """A scorecard file is wrong; the message names the file, line and field."""


class ScoreError(DomainError):
    """A submitted score does not fit its scorecard (unknown criterion, missing answer …)."""


class Answer(enum.Enum):
    MET = "met"
    NOT_MET = "not_met"
    NOT_APPLICABLE = "n/a"


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Criterion(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    text: str = Field(min_length=1)
    weight: float = Field(gt=0)
    critical: bool = False
    allow_na: bool = False
    spec: tuple[str, ...] = ()


class Section(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    weight: float = Field(gt=0)
    criteria: tuple[Criterion, ...] = Field(min_length=1)


class Scorecard(_Strict):
    id: str
    version: int = Field(ge=1)
    title: str
    pass_mark: float = Field(ge=0, le=100)
    sections: tuple[Section, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> Scorecard:
        seen: set[str] = set()
        for criterion in self.criteria():
            if criterion.id in seen:
                raise ValueError(f"criterion id {criterion.id!r} is used twice")
            seen.add(criterion.id)
        return self

    def criteria(self) -> list[Criterion]:
        return [criterion for section in self.sections for criterion in section.criteria]


@dataclass(frozen=True, slots=True)
class Note:
    """A reviewer's note pinned to a moment of the recording."""

    offset_s: float
    text: str
    criterion: str | None = None


@dataclass(frozen=True, slots=True)
class ScoreResult:
    total: float  # 0..100, 0 when a critical criterion failed
    critical_failed: bool
    passed: bool
    section_scores: Mapping[str, float | None]  # None: every criterion was n/a


def load_scorecard(path: Path | None = None) -> Scorecard:
    """Load and validate a scorecard; the shipped default when ``path`` is None."""
    if path is None:
        source = resources.files("recordings.scorecards").joinpath(DEFAULT_SCORECARD)
        name, text = f"recordings/scorecards/{DEFAULT_SCORECARD}", source.read_text("utf-8")
    else:
        try:
            name, text = str(path), path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ScorecardError(f"{path}: cannot read scorecard: {exc.strerror}") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{name}:{mark.line + 1}" if mark is not None else name
        raise ScorecardError(f"{where}: invalid YAML: {getattr(exc, 'problem', exc)}") from None
    try:
        return Scorecard.model_validate(data)
    except ValidationError as exc:
        lines: dict[tuple[str, ...], int] = {}
        _marks(node, (), lines)
        problems = []
        for error in exc.errors():
            loc = tuple(str(part) for part in error["loc"])
            line = next((lines[loc[:n]] for n in range(len(loc), -1, -1) if loc[:n] in lines), 1)
            problems.append(f"{name}:{line}: {'.'.join(loc) or '(top level)'}: {error['msg']}")
        raise ScorecardError("\n".join(problems)) from None


def _marks(node: yaml.Node | None, key: tuple[str, ...], lines: dict[tuple[str, ...], int]) -> None:
    if node is None:
        return
    lines[key] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            _marks(value_node, (*key, str(key_node.value)), lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _marks(item, (*key, str(index)), lines)


def parse_answers(scorecard: Scorecard, raw: Mapping[str, str]) -> dict[str, Answer]:
    """Check that every criterion is answered once, with a value it allows."""
    known = {criterion.id: criterion for criterion in scorecard.criteria()}
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise ScoreError(f"unknown criteria for scorecard {scorecard.id}: {unknown}")
    missing = sorted(set(known) - set(raw))
    if missing:
        raise ScoreError(f"criteria without an answer: {missing}")
    answers = {}
    for criterion_id, value in raw.items():
        try:
            answer = Answer(value)
        except ValueError:
            raise ScoreError(f"{criterion_id}: {value!r} is not one of met, not_met, n/a") from None
        if answer is Answer.NOT_APPLICABLE and not known[criterion_id].allow_na:
            raise ScoreError(f"{criterion_id} always applies; n/a is not allowed")
        answers[criterion_id] = answer
    return answers


def score(scorecard: Scorecard, answers: Mapping[str, Answer]) -> ScoreResult:
    """Weighted total out of 100 over the applicable criteria; 0 if a critical one failed."""
    critical_failed = any(
        criterion.critical and answers[criterion.id] is Answer.NOT_MET
        for criterion in scorecard.criteria()
    )
    section_scores: dict[str, float | None] = {}
    weighted, weights = 0.0, 0.0
    for section in scorecard.sections:
        applicable = [c for c in section.criteria if answers[c.id] is not Answer.NOT_APPLICABLE]
        if not applicable:
            section_scores[section.id] = None
            continue
        met = sum(c.weight for c in applicable if answers[c.id] is Answer.MET)
        fraction = met / sum(c.weight for c in applicable)
        section_scores[section.id] = round(100.0 * fraction, 2)
        weighted += section.weight * fraction
        weights += section.weight
    total = 0.0 if critical_failed or weights == 0 else round(100.0 * weighted / weights, 2)
    return ScoreResult(total, critical_failed, total >= scorecard.pass_mark, section_scores)


@dataclass(frozen=True, slots=True)
class ReviewerScore:
    reviewer: str
    total: float
    answers: Mapping[str, Answer]


@dataclass(frozen=True, slots=True)
class CriterionAgreement:
    criterion: str
    answers: Mapping[str, str]  # reviewer -> answer value
    agreement: float  # share of reviewers giving the most common answer


@dataclass(frozen=True, slots=True)
class CalibrationReport:
    reviewers: tuple[str, ...]
    totals: Mapping[str, float]
    mean: float
    spread: float  # max - min of the totals
    stdev: float
    within_tolerance: bool
    criteria: tuple[CriterionAgreement, ...]

    @property
    def disagreements(self) -> list[str]:
        return [item.criterion for item in self.criteria if item.agreement < 1.0]


def calibrate(
    scorecard: Scorecard, scores: Sequence[ReviewerScore], tolerance: float = CALIBRATION_TOLERANCE
) -> CalibrationReport:
    """How far several reviewers' scores of the same call are apart."""
    if len(scores) < 2:
        raise ScoreError("calibration needs at least two reviewers' scores")
    totals = {item.reviewer: item.total for item in scores}
    criteria = []
    for criterion in scorecard.criteria():
        given = {item.reviewer: item.answers[criterion.id].value for item in scores}
        most_common = Counter(given.values()).most_common(1)[0][1]
        criteria.append(CriterionAgreement(criterion.id, given, most_common / len(given)))
    spread = max(totals.values()) - min(totals.values())
    return CalibrationReport(
        reviewers=tuple(totals),
        totals=totals,
        mean=round(statistics.fmean(totals.values()), 2),
        spread=round(spread, 2),
        stdev=round(statistics.pstdev(totals.values()), 2),
        within_tolerance=spread <= tolerance,
        criteria=tuple(criteria),
    )


@dataclass(frozen=True, slots=True)
class ScoredCall:
    call_id: str
    agent_number: str
    total: float
    scored_at: float


@dataclass(frozen=True, slots=True)
class RankEntry:
    rank: int
    agent_number: str
    mean: float
    calls: int


@dataclass(frozen=True, slots=True)
class QuarterlyRanking:
    year: int
    quarter: int
    entries: tuple[RankEntry, ...]
    quality_star: str | None  # SPEC-R1 / 003: the quarter's "quality star"
    unranked: tuple[str, ...]  # agents with too few scored calls


def quarter_of(at: float, tz: tzinfo = UTC) -> tuple[int, int]:
    moment = datetime.fromtimestamp(at, tz=tz)
    return moment.year, (moment.month - 1) // 3 + 1


def quarterly_ranking(
    scores: Iterable[ScoredCall],
    year: int,
    quarter: int,
    *,
    min_calls: int = DEFAULT_MIN_SCORES_FOR_RANKING,
    tz: tzinfo = UTC,
) -> QuarterlyRanking:
    """Agents by mean call score in the quarter; a call scored by several reviewers (a
    calibration) counts once, at its mean. Ties go to more scored calls, then agent number.
    """
    if quarter not in (1, 2, 3, 4):
        raise ValueError(f"quarter must be 1..4, not {quarter}")
    per_call: dict[tuple[str, str], list[float]] = defaultdict(list)
    for item in scores:
        if quarter_of(item.scored_at, tz) == (year, quarter):
            per_call[(item.agent_number, item.call_id)].append(item.total)
    per_agent: dict[str, list[float]] = defaultdict(list)
    for (agent, _), totals in per_call.items():
        per_agent[agent].append(statistics.fmean(totals))
    ranked = sorted(
        (
            (agent, statistics.fmean(values), len(values))
            for agent, values in per_agent.items()
            if len(values) >= min_calls
        ),
        key=lambda row: (-row[1], -row[2], row[0]),
    )
    entries = tuple(
        RankEntry(index + 1, agent, round(mean, 2), count)
        for index, (agent, mean, count) in enumerate(ranked)
    )
    unranked = tuple(
        sorted(agent for agent, values in per_agent.items() if len(values) < min_calls)
    )
    return QuarterlyRanking(
        year, quarter, entries, entries[0].agent_number if entries else None, unranked
    )


def answers_to_json(answers: Mapping[str, Answer]) -> dict[str, Any]:
    return {key: value.value for key, value in answers.items()}

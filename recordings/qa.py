"""Which calls QA reviews (SPEC-R1): sampling policies that turn a period's calls into a
work list — a random share per queue, a minimum per agent per week, and every complaint,
late answer (SPEC-Q1), poor survey score and long call.

``select_for_review`` is a pure function of the calls, the policy and a seeded
``random.Random``; ``load_call_summaries`` reads the calls from the ACD's tables.
"""

from __future__ import annotations

import enum
import random
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.db.models import AgentRow, CallRow, SurveyAnswerRow, WrapupRow

# SPEC-Q1: answered within three rings, 10 seconds; later is "answered late".
ANSWER_TARGET_S = 10.0
# Survey answers are 1 (very dissatisfied) … 5 (very satisfied); 1 and 2 are "low".
DEFAULT_LOW_SURVEY_SCORE = 2
# A call longer than this is reviewed: long calls hide confusion, transfers and disputes.
DEFAULT_LONG_CALL_S = 15 * 60
DEFAULT_RANDOM_PERCENT = 5.0
DEFAULT_MIN_PER_AGENT_PER_WEEK = 2
COMPLAINT_CALL_TYPE = "complaint"


class SampleReason(enum.Enum):
    RANDOM = "random"
    AGENT_MINIMUM = "agent_minimum"
    COMPLAINT = "complaint"
    ANSWERED_LATE = "answered_late"
    LOW_SURVEY = "low_survey"
    LONG_CALL = "long_call"


@dataclass(frozen=True, slots=True)
class CallSummary:
    """One answered call as sampling sees it."""

    call_id: str
    queue: str
    agent_number: str
    started_at: float  # UNIX seconds
    answer_delay_s: float  # offered to agents → answered (SPEC-Q1)
    duration_s: float  # answered → ended
    team: str | None = None
    is_complaint: bool = False
    survey_score: int | None = None


@dataclass(frozen=True, slots=True)
class SamplingPolicy:
    default_percent: float = DEFAULT_RANDOM_PERCENT
    percent_by_queue: Mapping[str, float] = field(default_factory=dict)
    min_per_agent_per_week: int = DEFAULT_MIN_PER_AGENT_PER_WEEK
    include_complaints: bool = True
    late_answer_s: float | None = ANSWER_TARGET_S
    low_survey_score: int | None = DEFAULT_LOW_SURVEY_SCORE
    long_call_s: float | None = DEFAULT_LONG_CALL_S

    def __post_init__(self) -> None:
        for name, percent in {"default": self.default_percent, **self.percent_by_queue}.items():
            if not 0.0 <= percent <= 100.0:
                raise ValueError(
                    f"sampling percent for queue {name!r} must be 0..100, not {percent}"
                )
        if self.min_per_agent_per_week < 0:
            raise ValueError("min_per_agent_per_week cannot be negative")

    def percent_for(self, queue: str) -> float:
        return self.percent_by_queue.get(queue, self.default_percent)


@dataclass(frozen=True, slots=True)
class WorkItem:
    call: CallSummary
    reasons: frozenset[SampleReason]


def iso_week(at: float) -> tuple[int, int]:
    """(ISO year, ISO week) of a UNIX time, in UTC."""
    calendar = datetime.fromtimestamp(at, tz=UTC).isocalendar()
    return calendar.year, calendar.week


def rule_reasons(call: CallSummary, policy: SamplingPolicy) -> set[SampleReason]:
    """The always-include rules a call meets."""
    reasons = set()
    if policy.include_complaints and call.is_complaint:
        reasons.add(SampleReason.COMPLAINT)
    if policy.late_answer_s is not None and call.answer_delay_s > policy.late_answer_s:
        reasons.add(SampleReason.ANSWERED_LATE)
    if (
        policy.low_survey_score is not None
        and call.survey_score is not None
        and call.survey_score <= policy.low_survey_score
    ):
        reasons.add(SampleReason.LOW_SURVEY)
    if policy.long_call_s is not None and call.duration_s > policy.long_call_s:
        reasons.add(SampleReason.LONG_CALL)
    return reasons


def select_for_review(
    calls: Iterable[CallSummary], policy: SamplingPolicy, rng: random.Random
) -> list[WorkItem]:
    """The work list: each picked call once, with every reason it was picked, oldest first.

    Promises: every call meeting a rule is in; exactly round(n × percent / 100) of each
    queue's n calls carry RANDOM; every agent has at least ``min_per_agent_per_week`` calls
    per ISO week (or all their calls, if fewer).
    """
    ordered = sorted({call.call_id: call for call in calls}.values(), key=lambda c: c.call_id)
    reasons: dict[str, set[SampleReason]] = defaultdict(set)
    for call in ordered:
        reasons[call.call_id] |= rule_reasons(call, policy)

    by_queue: dict[str, list[CallSummary]] = defaultdict(list)
    for call in ordered:
        by_queue[call.queue].append(call)
    for queue in sorted(by_queue):
        members = by_queue[queue]
        count = round(len(members) * policy.percent_for(queue) / 100.0)
        for call in rng.sample(members, count):
            reasons[call.call_id].add(SampleReason.RANDOM)

    by_agent_week: dict[tuple[str, tuple[int, int]], list[CallSummary]] = defaultdict(list)
    for call in ordered:
        by_agent_week[(call.agent_number, iso_week(call.started_at))].append(call)
    for key in sorted(by_agent_week):
        members = by_agent_week[key]
        picked = sum(1 for call in members if reasons[call.call_id])
        missing = policy.min_per_agent_per_week - picked
        if missing <= 0:
            continue
        unpicked = [call for call in members if not reasons[call.call_id]]
        for call in rng.sample(unpicked, min(missing, len(unpicked))):
            reasons[call.call_id].add(SampleReason.AGENT_MINIMUM)

    items = [
        WorkItem(call, frozenset(reasons[call.call_id]))
        for call in ordered
        if reasons[call.call_id]
    ]
    return sorted(items, key=lambda item: (item.call.started_at, item.call.call_id))


async def load_call_summaries(
    sessions: async_sessionmaker[AsyncSession], *, since: float, until: float
) -> list[CallSummary]:
    """Answered, finished calls started in [since, until) from the ACD's call records."""
    async with sessions() as session:
        rows = (
            await session.execute(
                select(CallRow, AgentRow.number, AgentRow.team)
                .join(AgentRow, AgentRow.agent_id == CallRow.agent_id)
                .where(
                    CallRow.started_at >= since,
                    CallRow.started_at < until,
                    CallRow.answered_at.is_not(None),
                    CallRow.ended_at.is_not(None),
                )
            )
        ).all()
        call_ids = [row[0].call_id for row in rows]
        complaints = set(
            (
                await session.execute(
                    select(WrapupRow.call_id).where(
                        WrapupRow.call_id.in_(call_ids), WrapupRow.call_type == COMPLAINT_CALL_TYPE
                    )
                )
            ).scalars()
        )
        surveys: dict[str, int] = {}
        for call_id, score in await session.execute(
            select(SurveyAnswerRow.call_id, SurveyAnswerRow.score).where(
                SurveyAnswerRow.call_id.in_(call_ids), SurveyAnswerRow.score.is_not(None)
            )
        ):
            if score is not None:
                surveys[call_id] = min(score, surveys.get(call_id, score))
    summaries = []
    for call, number, team in rows:
        assert call.answered_at is not None and call.ended_at is not None
        offered = call.entered_queue_at if call.entered_queue_at is not None else call.started_at
        summaries.append(
            CallSummary(
                call_id=call.call_id,
                queue=call.queue or "",
                agent_number=number,
                team=team,
                started_at=call.started_at,
                answer_delay_s=call.answered_at - offered,
                duration_s=call.ended_at - call.answered_at,
                is_complaint=call.call_id in complaints,
                survey_score=surveys.get(call.call_id),
            )
        )
    return summaries


def count_by_reason(items: Sequence[WorkItem]) -> dict[SampleReason, int]:
    counts = dict.fromkeys(SampleReason, 0)
    for item in items:
        for reason in item.reasons:
            counts[reason] += 1
    return counts

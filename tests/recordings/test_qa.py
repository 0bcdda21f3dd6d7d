"""QA sampling picks what it promises on a generated month of calls (SPEC-R1, SPEC-Q1)."""

from __future__ import annotations

import random
from collections import Counter, defaultdict

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.db.models import AgentRow, CallRow, SurveyAnswerRow, WrapupRow
from recordings.qa import (
    CallSummary,
    SampleReason,
    SamplingPolicy,
    iso_week,
    load_call_summaries,
    select_for_review,
)

MONDAY = 1_779_667_200.0  # 2026-05-25 00:00 UTC, a Monday
DAY = 86_400.0
QUEUES = ("billing", "faults", "sales")
AGENTS = (*(f"10{n:02d}" for n in range(12)), "1099")  # 1099 takes only one call a week


def _generated_calls(seed: int) -> list[CallSummary]:
    rng = random.Random(seed)
    calls = []
    for n in range(1500):
        agent = rng.choice(AGENTS[:-1])
        calls.append(
            CallSummary(
                call_id=f"call-{n:05d}",
                queue=rng.choice(QUEUES),
                agent_number=agent,
                started_at=MONDAY + rng.uniform(0, 28 * DAY),
                answer_delay_s=rng.choice([2.0, 5.0, 9.9, 10.0, 10.1, 25.0]),
                duration_s=rng.expovariate(1 / 240.0),
                is_complaint=rng.random() < 0.03,
                survey_score=rng.choice([None, None, 1, 2, 3, 4, 5, 5]),
            )
        )
    for week in range(4):
        calls.append(
            CallSummary(f"rare-{week}", "sales", "1099", MONDAY + week * 7 * DAY + 3600, 3.0, 60.0)
        )
    return calls


POLICY = SamplingPolicy(
    default_percent=5.0,
    percent_by_queue={"faults": 20.0, "sales": 0.0},
    min_per_agent_per_week=3,
    late_answer_s=10.0,
    low_survey_score=2,
    long_call_s=900.0,
)


def test_every_always_include_rule_is_honoured() -> None:
    calls = _generated_calls(1)
    items = {item.call.call_id: item for item in select_for_review(calls, POLICY, random.Random(5))}
    for call in calls:
        expected = set()
        if call.is_complaint:
            expected.add(SampleReason.COMPLAINT)
        if call.answer_delay_s > 10.0:  # 10.0 exactly is still "within 10 seconds" (SPEC-Q1)
            expected.add(SampleReason.ANSWERED_LATE)
        if call.survey_score is not None and call.survey_score <= 2:
            expected.add(SampleReason.LOW_SURVEY)
        if call.duration_s > 900.0:
            expected.add(SampleReason.LONG_CALL)
        picked = items[call.call_id].reasons if call.call_id in items else frozenset()
        rule_reasons = picked - {SampleReason.RANDOM, SampleReason.AGENT_MINIMUM}
        assert rule_reasons == expected, call


def test_random_share_per_queue_is_exact() -> None:
    calls = _generated_calls(2)
    items = select_for_review(calls, POLICY, random.Random(6))
    random_per_queue = Counter(i.call.queue for i in items if SampleReason.RANDOM in i.reasons)
    calls_per_queue = Counter(call.queue for call in calls)
    assert random_per_queue["billing"] == round(calls_per_queue["billing"] * 0.05)
    assert random_per_queue["faults"] == round(calls_per_queue["faults"] * 0.20)
    assert random_per_queue["sales"] == 0


def test_each_agent_gets_the_weekly_minimum_or_all_their_calls() -> None:
    calls = _generated_calls(3)
    strict = SamplingPolicy(
        default_percent=0.0,
        min_per_agent_per_week=3,
        include_complaints=False,
        late_answer_s=None,
        low_survey_score=None,
        long_call_s=None,
    )
    items = select_for_review(calls, strict, random.Random(7))
    picked: Counter[tuple[str, tuple[int, int]]] = Counter(
        (i.call.agent_number, iso_week(i.call.started_at)) for i in items
    )
    available: Counter[tuple[str, tuple[int, int]]] = Counter(
        (c.agent_number, iso_week(c.started_at)) for c in calls
    )
    for key, count in available.items():
        assert picked[key] == min(3, count), key
    assert all(i.reasons == {SampleReason.AGENT_MINIMUM} for i in items)
    assert picked[("1099", iso_week(MONDAY))] == 1


def test_the_minimum_counts_calls_already_picked_by_rules() -> None:
    calls = _generated_calls(4)
    items = select_for_review(calls, POLICY, random.Random(8))
    per_agent_week: dict[tuple[str, tuple[int, int]], list[frozenset[SampleReason]]] = defaultdict(
        list
    )
    for item in items:
        per_agent_week[(item.call.agent_number, iso_week(item.call.started_at))].append(
            item.reasons
        )
    available = Counter((c.agent_number, iso_week(c.started_at)) for c in calls)
    for key, reasons in per_agent_week.items():
        topped_up = sum(1 for r in reasons if r == {SampleReason.AGENT_MINIMUM})
        others = len(reasons) - topped_up
        assert topped_up == 0 or others + topped_up == min(3, available[key])


def test_same_seed_same_work_list_and_each_call_once() -> None:
    calls = _generated_calls(5)
    first = select_for_review(calls, POLICY, random.Random(9))
    again = select_for_review(list(reversed(calls)), POLICY, random.Random(9))
    assert [i.call.call_id for i in first] == [i.call.call_id for i in again]
    assert len({i.call.call_id for i in first}) == len(first)
    assert [i.call.started_at for i in first] == sorted(i.call.started_at for i in first)


def test_bad_percent_is_refused_with_the_queue_name() -> None:
    with pytest.raises(ValueError, match="faults"):
        SamplingPolicy(percent_by_queue={"faults": 120.0})


async def test_call_summaries_come_from_the_acd_records(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session, session.begin():
        session.add(AgentRow(agent_id="a-7", number="1042", name="Li", team="billing"))
        session.add_all(
            [
                CallRow(
                    call_id="late",
                    queue="billing",
                    started_at=MONDAY,
                    entered_queue_at=MONDAY + 20,
                    answered_at=MONDAY + 32.5,
                    agent_id="a-7",
                    ended_at=MONDAY + 400,
                ),
                CallRow(
                    call_id="quick",
                    queue="billing",
                    started_at=MONDAY + 50,
                    entered_queue_at=MONDAY + 60,
                    answered_at=MONDAY + 63,
                    agent_id="a-7",
                    ended_at=MONDAY + 2000,
                ),
                CallRow(
                    call_id="abandoned",
                    queue="billing",
                    started_at=MONDAY + 70,
                    entered_queue_at=MONDAY + 75,
                    abandoned_at=MONDAY + 90,
                    ended_at=MONDAY + 90,
                ),
            ]
        )
        await session.flush()
        session.add(WrapupRow(call_id="late", agent_id="a-7", call_type="complaint"))
        session.add(
            SurveyAnswerRow(
                call_id="quick", agent_id="a-7", score=1, satisfied=False, answered_at=MONDAY + 2010
            )
        )
    summaries = {
        s.call_id: s for s in await load_call_summaries(sessions, since=MONDAY, until=MONDAY + DAY)
    }
    assert set(summaries) == {"late", "quick"}
    assert summaries["late"].answer_delay_s == pytest.approx(12.5)
    assert summaries["late"].is_complaint
    assert summaries["late"].team == "billing"
    assert summaries["quick"].survey_score == 1
    assert summaries["quick"].duration_s == pytest.approx(1937)
    items = {
        i.call.call_id: i.reasons
        for i in select_for_review(summaries.values(), POLICY, random.Random(1))
    }
    assert items["late"] >= {SampleReason.COMPLAINT, SampleReason.ANSWERED_LATE}
    assert items["quick"] >= {SampleReason.LOW_SURVEY, SampleReason.LONG_CALL}

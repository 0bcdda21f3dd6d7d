"""The QA service on a real database: a score keeps each criterion, comments and timed notes;
reviewers score only their teams; agents see and dispute only their own scores; calibration
of one call by several reviewers; the stored work list (SPEC-R1, R2)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from recording_signals import FakeClock
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.accounts.audit import AuditLog
from hotline.accounts.errors import Conflict, NotFound, PermissionDenied
from hotline.accounts.models import AuditRecord
from hotline.accounts.permissions import Principal, Role
from recordings.catalog import CallInfo, RecordingCatalog
from recordings.models import Recording
from recordings.qa import CallSummary, SamplingPolicy, select_for_review
from recordings.reviews import QaService
from recordings.scorecard import Note, ScoreError, load_scorecard

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
QA1 = Principal(1, "qa1", Role.QA, None, frozenset({"billing"}))
QA2 = Principal(2, "qa2", Role.QA, None, frozenset({"billing"}))
QA_FRAUD = Principal(3, "qa3", Role.QA, None, frozenset({"fraud"}))
AGENT = Principal(4, "agent1042", Role.AGENT, "1042", frozenset({"billing"}))
OTHER_AGENT = Principal(5, "agent1043", Role.AGENT, "1043", frozenset({"billing"}))
SUPERVISOR = Principal(6, "sup", Role.SUPERVISOR, None, frozenset({"billing"}))


@pytest.fixture
async def qa(
    sessions: async_sessionmaker[AsyncSession], audit: AuditLog, clock: FakeClock, tmp_path: Path
) -> QaService:
    catalog = RecordingCatalog(sessions)
    for call_id, agent in (("c1", "1042"), ("c2", "1043")):
        await catalog.register(
            CallInfo(call_id, "billing", agent, "billing"),
            path=tmp_path / f"{call_id}.wav",
            started_at=clock.now,
            sample_rate=8000,
        )
    async with sessions() as session, session.begin():
        for row in (await session.execute(select(Recording))).scalars():
            row.samples = 8000 * 300  # five minutes
    return QaService(sessions, audit, clock, load_scorecard())


async def test_a_score_keeps_criteria_comments_and_timed_notes(
    qa: QaService, sessions: async_sessionmaker[AsyncSession]
) -> None:
    notes = [
        Note(95.0, "asked for the card number before pausing", "hold_consent"),
        Note(3.5, "greeting without agent number", "greeting"),
    ]
    answers = {**ALL_MET, "greeting": "not_met"}
    saved = await qa.submit_score(QA1, "c1", answers, comments="good recovery", notes=notes)
    assert saved.total < 100
    [stored] = await qa.scores(QA1)
    assert stored.answers == answers
    assert stored.comments == "good recovery"
    assert [n.offset_s for n in stored.notes] == [3.5, 95.0]
    assert stored.notes[0].criterion == "greeting"
    async with sessions() as session:
        actions = (await session.execute(select(AuditRecord.action))).scalars().all()
    assert actions == ["qa.score"]


async def test_scoring_outside_ones_teams_or_twice_is_refused(qa: QaService) -> None:
    with pytest.raises(PermissionDenied):
        await qa.submit_score(QA_FRAUD, "c1", ALL_MET)
    with pytest.raises(PermissionDenied):
        await qa.submit_score(AGENT, "c1", ALL_MET)
    with pytest.raises(NotFound):
        await qa.submit_score(QA1, "c-none", ALL_MET)
    with pytest.raises(ScoreError):
        await qa.submit_score(QA1, "c1", ALL_MET, notes=[Note(301.0, "after the end")])
    await qa.submit_score(QA1, "c1", ALL_MET)
    with pytest.raises(Conflict):
        await qa.submit_score(QA1, "c1", ALL_MET)


async def test_agents_see_and_dispute_only_their_own_scores(qa: QaService) -> None:
    mine = await qa.submit_score(QA1, "c1", {**ALL_MET, "asked_anything_else": "not_met"})
    theirs = await qa.submit_score(QA1, "c2", ALL_MET)
    assert [s.call_id for s in await qa.scores(AGENT)] == ["c1"]
    assert [s.call_id for s in await qa.scores(OTHER_AGENT)] == ["c2"]
    with pytest.raises(PermissionDenied):
        await qa.dispute(AGENT, theirs.id, "not my call")
    with pytest.raises(PermissionDenied):
        await qa.dispute(QA1, mine.id, "reviewers do not dispute")
    dispute_id = await qa.dispute(AGENT, mine.id, "I asked at 04:10, listen again")
    with pytest.raises(Conflict):
        await qa.dispute(AGENT, mine.id, "again")
    [seen] = await qa.scores(AGENT)
    assert seen.dispute_status == "open"
    with pytest.raises(PermissionDenied):
        await qa.resolve_dispute(AGENT, dispute_id, upheld=True, resolution="me")
    await qa.resolve_dispute(SUPERVISOR, dispute_id, upheld=True, resolution="P12 was asked")
    [seen] = await qa.scores(AGENT)
    assert seen.dispute_status == "upheld"


async def test_calibration_of_one_call_by_several_reviewers(qa: QaService) -> None:
    await qa.submit_score(QA1, "c1", ALL_MET, calibration=True)
    await qa.submit_score(QA2, "c1", {**ALL_MET, "survey_transfer": "not_met"}, calibration=True)
    report = await qa.calibration(SUPERVISOR, "c1")
    assert set(report.reviewers) == {"qa1", "qa2"}
    assert report.spread == pytest.approx(25 / 3, abs=0.01)
    assert report.disagreements == ["survey_transfer"]


async def test_work_list_is_stored_once_and_shown_to_the_right_reviewers(qa: QaService) -> None:
    calls = [
        CallSummary("c1", "billing", "1042", 1_780_000_000.0, 30.0, 100.0, team="billing"),
        CallSummary("c2", "billing", "1043", 1_780_000_100.0, 3.0, 100.0, team="billing"),
        CallSummary(
            "c3", "fraud", "2001", 1_780_000_200.0, 3.0, 100.0, team="fraud", is_complaint=True
        ),
    ]
    policy = SamplingPolicy(default_percent=0.0, min_per_agent_per_week=0)
    items = select_for_review(calls, policy, random.Random(1))
    assert [i.call.call_id for i in items] == ["c1", "c3"]
    assert await qa.store_work_list(items) == 2
    assert await qa.store_work_list(items) == 0
    assert [w.call_id for w in await qa.open_work(QA1)] == ["c1"]
    assert [w.call_id for w in await qa.open_work(QA_FRAUD)] == ["c3"]
    with pytest.raises(PermissionDenied):
        await qa.open_work(AGENT)
    await qa.submit_score(QA1, "c1", ALL_MET)
    assert await qa.open_work(QA1) == []


async def test_quarterly_ranking_from_stored_scores(qa: QaService) -> None:
    await qa.submit_score(QA1, "c1", ALL_MET)
    await qa.submit_score(QA1, "c2", {**ALL_MET, "wrap_up_accurate": "not_met"})
    ranking = await qa.quarterly_ranking(2026, 2, min_calls=1)
    assert ranking.quality_star == "1042"
    assert [e.agent_number for e in ranking.entries] == ["1042", "1043"]

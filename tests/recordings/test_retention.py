"""Retention deletes recordings after their queue's days, audited; disputed ones are kept."""

from __future__ import annotations

from pathlib import Path

import pytest
from recording_signals import FakeClock
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.accounts.audit import AuditLog
from hotline.accounts.models import AuditRecord
from hotline.accounts.permissions import Principal, Role
from recordings.access import RecordingAccess
from recordings.catalog import CallInfo, RecordingCatalog
from recordings.models import Recording
from recordings.policy import RetentionPolicy
from recordings.retention import run_retention
from recordings.reviews import QaService
from recordings.scorecard import load_scorecard

DAY = 86_400.0
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


async def _recording(
    sessions: async_sessionmaker[AsyncSession],
    root: Path,
    call_id: str,
    queue: str,
    started_at: float,
) -> Path:
    path = root / f"{call_id}.wav"
    path.write_bytes(b"audio")
    path.with_suffix(".json").write_text("{}")
    catalog = RecordingCatalog(sessions)
    await catalog.register(
        CallInfo(call_id, queue, "1042", "billing"),
        path=path,
        started_at=started_at,
        sample_rate=8000,
    )
    async with sessions() as session, session.begin():
        row = (
            await session.execute(select(Recording).where(Recording.call_id == call_id))
        ).scalar_one()
        row.state = "complete"
    return path


async def test_old_recordings_go_per_queue_and_each_deletion_is_audited(
    sessions: async_sessionmaker[AsyncSession], audit: AuditLog, clock: FakeClock, tmp_path: Path
) -> None:
    now = clock.now
    old_general = await _recording(sessions, tmp_path, "old-general", "general", now - 40 * DAY)
    young_general = await _recording(sessions, tmp_path, "young-general", "general", now - 20 * DAY)
    old_complaints = await _recording(
        sessions, tmp_path, "old-complaint", "complaints", now - 40 * DAY
    )
    forever = await _recording(sessions, tmp_path, "legal", "legal", now - 4000 * DAY)
    policy = RetentionPolicy(default_days=30, days_by_queue={"complaints": 365, "legal": None})
    access = RecordingAccess(sessions, audit, clock)

    report = await run_retention(sessions, access, audit, policy, now=now)

    assert report.deleted == ("old-general",)
    assert not old_general.exists() and not old_general.with_suffix(".json").exists()
    assert young_general.exists() and old_complaints.exists() and forever.exists()
    assert (await RecordingCatalog(sessions).get("old-general")).state == "deleted"
    async with sessions() as session:
        [entry] = (await session.execute(select(AuditRecord))).scalars().all()
    assert (entry.actor, entry.action, entry.target) == (
        "system:retention",
        "recording.retention_delete",
        "recording:old-general",
    )
    assert entry.reason == "retention 30 days for queue general"
    assert (await audit.verify_chain()).ok
    again = await run_retention(sessions, access, audit, policy, now=now)
    assert again.deleted == ()


async def test_a_recording_under_dispute_is_kept(
    sessions: async_sessionmaker[AsyncSession], audit: AuditLog, clock: FakeClock, tmp_path: Path
) -> None:
    path = await _recording(sessions, tmp_path, "disputed", "general", clock.now - 40 * DAY)
    qa = QaService(sessions, audit, clock, load_scorecard())
    reviewer = Principal(1, "qa", Role.QA, None, frozenset({"billing"}))
    agent = Principal(2, "a", Role.AGENT, "1042", frozenset({"billing"}))
    saved = await qa.submit_score(reviewer, "disputed", ALL_MET)
    await qa.dispute(agent, saved.id, "the greeting was there")
    access = RecordingAccess(sessions, audit, clock)
    report = await run_retention(
        sessions, access, audit, RetentionPolicy(default_days=30), now=clock.now
    )
    assert report.deleted == () and report.kept_for_dispute == ("disputed",)
    assert path.exists()


def test_retention_days_must_be_positive() -> None:
    with pytest.raises(ValueError, match="billing"):
        RetentionPolicy(days_by_queue={"billing": 0})

"""The retention job: delete recordings older than their queue's retention, each deletion
audited as ``system:retention`` (issue 6, SPEC-R2). A recording with an open QA dispute is
kept until the dispute is resolved: it is the evidence.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.accounts.audit import Actor, AuditAction, AuditLog
from recordings.access import RecordingAccess
from recordings.metadata import RecordingState
from recordings.models import QaDispute, QaScore, Recording
from recordings.policy import SECONDS_PER_DAY, RetentionPolicy

RETENTION_JOB = "retention"
FINISHED_STATES = (RecordingState.COMPLETE.value, RecordingState.RECOVERED.value)


@dataclass(frozen=True, slots=True)
class RetentionReport:
    deleted: tuple[str, ...]
    kept_for_dispute: tuple[str, ...]


async def run_retention(
    sessions: async_sessionmaker[AsyncSession],
    access: RecordingAccess,
    audit: AuditLog,
    policy: RetentionPolicy,
    *,
    now: float,
) -> RetentionReport:
    """Delete every finished recording past its retention; run daily from the scheduler."""
    shortest = min(
        (
            days
            for days in (policy.default_days, *policy.days_by_queue.values())
            if days is not None
        ),
        default=None,
    )
    if shortest is None:
        return RetentionReport((), ())
    async with sessions() as session:
        candidates = (
            (
                await session.execute(
                    select(Recording)
                    .where(
                        Recording.state.in_(FINISHED_STATES),
                        Recording.started_at <= now - shortest * SECONDS_PER_DAY,
                    )
                    .order_by(Recording.started_at)
                )
            )
            .scalars()
            .all()
        )
        disputed = set(
            (
                await session.execute(
                    select(QaScore.call_id)
                    .join(QaDispute, QaDispute.score_id == QaScore.id)
                    .where(QaDispute.status == "open")
                )
            ).scalars()
        )
    deleted, kept = [], []
    actor = Actor.system(RETENTION_JOB)
    for row in candidates:
        if not policy.expired(row.queue, row.started_at, now):
            continue
        if row.call_id in disputed:
            kept.append(row.call_id)
            continue
        days = policy.days_for(row.queue)
        # Audit first: a deletion that happened must never be missing from the log.
        await audit.append(
            actor,
            AuditAction.RECORDING_RETENTION_DELETE,
            f"recording:{row.call_id}",
            reason=f"retention {days:g} days for queue {row.queue or '-'}",
            details={"started_at": row.started_at, "sha256": row.sha256},
        )
        await access.erase(row.call_id, now=now)
        deleted.append(row.call_id)
    return RetentionReport(tuple(deleted), tuple(kept))

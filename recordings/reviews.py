"""The QA service: the stored work list, scores with comments and time-stamped notes,
calibration of one call by several reviewers, agents' view of and disputes against their
own scores, and the quarterly quality-star ranking (SPEC-R1). Authorised by the permission
matrix; scoring and disputes are audited.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, tzinfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.accounts.audit import Actor, AuditAction, AuditLog, Outcome
from hotline.accounts.errors import Conflict, NotFound, PermissionDenied
from hotline.accounts.permissions import Permission, Principal, Scope, reaches, scope_of
from recordings.metadata import RecordingState
from recordings.models import QaDispute, QaScore, QaWorkItem, Recording
from recordings.qa import WorkItem
from recordings.scorecard import (
    Answer,
    CalibrationReport,
    Note,
    QuarterlyRanking,
    ReviewerScore,
    Scorecard,
    ScoredCall,
    ScoreError,
    answers_to_json,
    calibrate,
    parse_answers,
    quarterly_ranking,
    score,
)

MAX_COMMENT_LENGTH = 4000
MAX_NOTES = 200


class DisputeStatus(enum.Enum):
    OPEN = "open"
    UPHELD = "upheld"  # the agent was right: the score is corrected by a new review
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class ScoreView:
    id: int
    call_id: str
    agent_number: str | None
    reviewer: str
    scorecard_id: str
    total: float
    critical_failed: bool
    answers: Mapping[str, str]
    comments: str
    notes: tuple[Note, ...]
    calibration: bool
    scored_at: float
    dispute_status: str | None = None


def _view(row: QaScore, dispute: QaDispute | None = None) -> ScoreView:
    return ScoreView(
        id=row.id,
        call_id=row.call_id,
        agent_number=row.agent_number,
        reviewer=row.reviewer,
        scorecard_id=row.scorecard_id,
        total=row.total,
        critical_failed=row.critical_failed,
        answers=dict(row.answers),
        comments=row.comments,
        notes=tuple(
            Note(float(n["offset_s"]), str(n["text"]), n.get("criterion")) for n in row.notes
        ),
        calibration=row.calibration,
        scored_at=row.scored_at,
        dispute_status=None if dispute is None else dispute.status,
    )


class QaService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        audit: AuditLog,
        clock: Callable[[], float],
        scorecard: Scorecard,
    ) -> None:
        self._sessions = sessions
        self._audit = audit
        self._clock = clock
        self.scorecard = scorecard

    # --- work list ---------------------------------------------------------------------------

    async def store_work_list(self, items: Sequence[WorkItem]) -> int:
        """Add newly picked calls to the stored work list; returns how many were new."""
        now = self._clock()
        added = 0
        async with self._sessions() as session, session.begin():
            existing = set(
                (
                    await session.execute(
                        select(QaWorkItem.call_id).where(
                            QaWorkItem.call_id.in_([item.call.call_id for item in items])
                        )
                    )
                ).scalars()
            )
            for item in items:
                if item.call.call_id in existing:
                    continue
                session.add(
                    QaWorkItem(
                        call_id=item.call.call_id,
                        agent_number=item.call.agent_number,
                        team=item.call.team,
                        queue=item.call.queue,
                        reasons=sorted(reason.value for reason in item.reasons),
                        created_at=now,
                        status="open",
                    )
                )
                added += 1
        return added

    async def open_work(self, principal: Principal) -> list[QaWorkItem]:
        """Open work items this reviewer may score (their teams' calls)."""
        self._require(principal, Permission.QA_SCORE)
        async with self._sessions() as session:
            rows = (
                (
                    await session.execute(
                        select(QaWorkItem)
                        .where(QaWorkItem.status == "open")
                        .order_by(QaWorkItem.created_at, QaWorkItem.id)
                    )
                )
                .scalars()
                .all()
            )
        return [
            row
            for row in rows
            if reaches(principal, Permission.QA_SCORE, agent_number=row.agent_number, team=row.team)
        ]

    # --- scoring -----------------------------------------------------------------------------

    async def submit_score(
        self,
        principal: Principal,
        call_id: str,
        answers: Mapping[str, str],
        *,
        comments: str = "",
        notes: Sequence[Note] = (),
        calibration: bool = False,
    ) -> ScoreView:
        """Score a recorded call against the scorecard; one score per reviewer per call."""
        parsed = parse_answers(self.scorecard, answers)
        result = score(self.scorecard, parsed)
        if len(comments) > MAX_COMMENT_LENGTH or len(notes) > MAX_NOTES:
            raise ScoreError("comments or notes are too long")
        now = self._clock()
        async with self._sessions() as session:
            recording = (
                await session.execute(select(Recording).where(Recording.call_id == call_id))
            ).scalar_one_or_none()
        if recording is None or recording.state == RecordingState.DELETED.value:
            raise NotFound(f"no recording for call {call_id!r}")
        target = f"recording:{call_id}"
        if not reaches(
            principal, Permission.QA_SCORE, agent_number=recording.agent_number, team=recording.team
        ):
            await self._audit.append(
                Actor.of(principal), AuditAction.QA_SCORE, target, Outcome.DENIED
            )
            raise PermissionDenied(f"{principal.role.value} may not score {call_id}")
        duration = None if recording.samples is None else recording.samples / recording.sample_rate
        for note in notes:
            if note.offset_s < 0 or (duration is not None and note.offset_s > duration):
                raise ScoreError(f"note at {note.offset_s} s is outside the recording")
        criteria = {criterion.id for criterion in self.scorecard.criteria()}
        if any(note.criterion is not None and note.criterion not in criteria for note in notes):
            raise ScoreError("a note names an unknown criterion")
        row = QaScore(
            call_id=call_id,
            agent_number=recording.agent_number,
            team=recording.team,
            reviewer=principal.username,
            scorecard_id=self.scorecard.id,
            scorecard_version=self.scorecard.version,
            total=result.total,
            critical_failed=result.critical_failed,
            answers=answers_to_json(parsed),
            comments=comments,
            notes=[
                {"offset_s": note.offset_s, "text": note.text, "criterion": note.criterion}
                for note in sorted(notes, key=lambda n: n.offset_s)
            ],
            calibration=calibration,
            scored_at=now,
        )
        try:
            async with self._sessions() as session, session.begin():
                session.add(row)
                item = (
                    await session.execute(select(QaWorkItem).where(QaWorkItem.call_id == call_id))
                ).scalar_one_or_none()
                if item is not None and not calibration:
                    item.status = "done"
        except IntegrityError:
            raise Conflict(f"{principal.username} has already scored {call_id}") from None
        await self._audit.append(
            Actor.of(principal), AuditAction.QA_SCORE, target, details={"total": result.total}
        )
        return _view(row)

    async def scores(
        self, principal: Principal, agent_number: str | None = None
    ) -> list[ScoreView]:
        """Scores the principal may see: agents their own, leads/QA their teams', admins all."""
        scope = self._require(principal, Permission.QA_VIEW_SCORES)
        query = select(QaScore, QaDispute).outerjoin(QaDispute, QaDispute.score_id == QaScore.id)
        if scope is Scope.OWN:
            query = query.where(QaScore.agent_number == (principal.agent_number or "\x00"))
        elif scope is Scope.TEAM:
            query = query.where(QaScore.team.in_(sorted(principal.teams)))
        if agent_number is not None:
            query = query.where(QaScore.agent_number == agent_number)
        async with self._sessions() as session:
            rows = (await session.execute(query.order_by(QaScore.scored_at, QaScore.id))).all()
        return [_view(score_row, dispute) for score_row, dispute in rows]

    # --- disputes ----------------------------------------------------------------------------

    async def dispute(self, principal: Principal, score_id: int, reason: str) -> int:
        """An agent objects to one of their own scores; one dispute per score."""
        self._require(principal, Permission.QA_DISPUTE)
        if not reason.strip():
            raise ScoreError("a dispute needs a reason")
        target = f"qa_score:{score_id}"
        async with self._sessions() as session:
            row = await session.get(QaScore, score_id)
        if row is None:
            raise NotFound(f"no score {score_id}")
        if not reaches(
            principal, Permission.QA_DISPUTE, agent_number=row.agent_number, team=row.team
        ):
            await self._audit.append(
                Actor.of(principal), AuditAction.QA_DISPUTE, target, Outcome.DENIED
            )
            raise PermissionDenied("agents may only dispute their own scores")
        dispute = QaDispute(
            score_id=score_id,
            agent_number=principal.agent_number or principal.username,
            reason=reason.strip()[:MAX_COMMENT_LENGTH],
            status=DisputeStatus.OPEN.value,
            opened_at=self._clock(),
        )
        try:
            async with self._sessions() as session, session.begin():
                session.add(dispute)
        except IntegrityError:
            raise Conflict(f"score {score_id} is already disputed") from None
        await self._audit.append(Actor.of(principal), AuditAction.QA_DISPUTE, target)
        return dispute.id

    async def resolve_dispute(
        self, principal: Principal, dispute_id: int, *, upheld: bool, resolution: str
    ) -> None:
        self._require(principal, Permission.QA_RESOLVE_DISPUTE)
        async with self._sessions() as session, session.begin():
            dispute = await session.get(QaDispute, dispute_id)
            if dispute is None:
                raise NotFound(f"no dispute {dispute_id}")
            row = await session.get(QaScore, dispute.score_id)
            if row is None or not reaches(
                principal,
                Permission.QA_RESOLVE_DISPUTE,
                agent_number=row.agent_number,
                team=row.team,
            ):
                raise PermissionDenied("this dispute is outside your teams")
            if dispute.status != DisputeStatus.OPEN.value:
                raise Conflict(f"dispute {dispute_id} is already {dispute.status}")
            dispute.status = (DisputeStatus.UPHELD if upheld else DisputeStatus.REJECTED).value
            dispute.resolved_by = principal.username
            dispute.resolution = resolution
            dispute.resolved_at = self._clock()

    # --- calibration and ranking -------------------------------------------------------------

    async def calibration(self, principal: Principal, call_id: str) -> CalibrationReport:
        """Every reviewer's score of ``call_id`` side by side, with the spread."""
        scores = [item for item in await self.scores(principal) if item.call_id == call_id]
        return calibrate(
            self.scorecard,
            [
                ReviewerScore(
                    item.reviewer, item.total, {k: Answer(v) for k, v in item.answers.items()}
                )
                for item in scores
            ],
        )

    async def quarterly_ranking(
        self, year: int, quarter: int, *, tz: tzinfo = UTC, min_calls: int | None = None
    ) -> QuarterlyRanking:
        """The quarter's ranking, naming the quality star; public inside the centre."""
        async with self._sessions() as session:
            rows = (await session.execute(select(QaScore))).scalars().all()
        scored = [
            ScoredCall(row.call_id, row.agent_number, row.total, row.scored_at)
            for row in rows
            if row.agent_number is not None
        ]
        if min_calls is None:
            return quarterly_ranking(scored, year, quarter, tz=tz)
        return quarterly_ranking(scored, year, quarter, tz=tz, min_calls=min_calls)

    @staticmethod
    def _require(principal: Principal, permission: Permission) -> Scope:
        scope = scope_of(principal.role, permission)
        if scope is Scope.NONE:
            raise PermissionDenied(f"{principal.role.value} may not {permission.value}")
        return scope

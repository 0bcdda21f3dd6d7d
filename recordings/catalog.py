"""The recordings table as the recorder and the start-up recovery use it: register a call's
recording, complete it with its hash and markers, mark interrupted ones recovered.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.accounts.errors import NotFound
from recordings.metadata import RecordingState
from recordings.models import Recording
from recordings.writer import RecordingSummary


@dataclass(frozen=True, slots=True)
class CallInfo:
    """What access control and QA need to know about the recorded call."""

    call_id: str
    queue: str | None = None
    agent_number: str | None = None
    team: str | None = None
    caller_number: str | None = None
    is_complaint: bool = False


class RecordingCatalog:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def register(
        self,
        call: CallInfo,
        *,
        path: Path,
        started_at: float,
        sample_rate: int,
        includes_ivr: bool = False,
    ) -> None:
        """A recording has started; its row says "recording" until it completes."""
        async with self._sessions() as session, session.begin():
            session.add(
                Recording(
                    call_id=call.call_id,
                    queue=call.queue,
                    agent_number=call.agent_number,
                    team=call.team,
                    caller_number=call.caller_number,
                    is_complaint=call.is_complaint,
                    includes_ivr=includes_ivr,
                    started_at=started_at,
                    path=str(path),
                    format=path.suffix.lstrip("."),
                    state=RecordingState.RECORDING.value,
                    sample_rate=sample_rate,
                    markers=[],
                )
            )

    async def update_call(
        self,
        call_id: str,
        *,
        agent_number: str | None = None,
        team: str | None = None,
        is_complaint: bool | None = None,
    ) -> None:
        """Fill in what became known later: the answering agent, or a complaint at wrap-up."""
        async with self._sessions() as session, session.begin():
            row = await self._row(session, call_id)
            if agent_number is not None:
                row.agent_number = agent_number
            if team is not None:
                row.team = team
            if is_complaint is not None:
                row.is_complaint = is_complaint

    async def complete(self, summary: RecordingSummary, *, ended_at: float) -> None:
        """Record the finished file: final path (WAV or FLAC), sha256, length and markers."""
        async with self._sessions() as session, session.begin():
            row = await self._row(session, summary.call_id)
            self._apply(row, summary)
            row.ended_at = ended_at

    async def apply_recovery(self, summaries: Iterable[RecordingSummary]) -> int:
        """Mark files that recover() repaired; returns how many rows it updated."""
        updated = 0
        async with self._sessions() as session, session.begin():
            for summary in summaries:
                row = (
                    await session.execute(
                        select(Recording).where(Recording.call_id == summary.call_id)
                    )
                ).scalar_one_or_none()
                if row is None:
                    continue  # killed between writing the file and registering it
                self._apply(row, summary)
                row.ended_at = row.started_at + summary.duration_s
                updated += 1
        return updated

    async def get(self, call_id: str) -> Recording:
        async with self._sessions() as session:
            return await self._row(session, call_id)

    @staticmethod
    def _apply(row: Recording, summary: RecordingSummary) -> None:
        row.state = summary.state.value
        row.path = str(summary.path)
        row.format = summary.path.suffix.lstrip(".")
        row.sha256 = summary.sha256
        row.samples = summary.samples
        row.sample_rate = summary.sample_rate
        row.markers = [marker.to_json() for marker in summary.markers]

    @staticmethod
    async def _row(session: AsyncSession, call_id: str) -> Recording:
        row = (
            await session.execute(select(Recording).where(Recording.call_id == call_id))
        ).scalar_one_or_none()
        if row is None:
            raise NotFound(f"no recording for call {call_id!r}")
        return row

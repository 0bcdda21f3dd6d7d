"""Scheduled housekeeping: jobs run at once, repeat, and survive a failure."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

import hotline.db.all_models  # noqa: F401  (registers every table)
from hotline.accounts.audit import AuditLog
from hotline.db.base import Base
from hotline.db.engine import Database
from hotline.jobs import Housekeeping, every
from recordings.access import RecordingAccess
from recordings.policy import RetentionPolicy
from recordings.qa import SamplingPolicy
from recordings.reviews import QaService
from recordings.scorecard import load_scorecard


async def test_a_job_runs_at_once_repeats_and_outlives_a_failure() -> None:
    runs: list[int] = []
    third = asyncio.Event()

    async def flaky() -> None:
        runs.append(len(runs))
        if len(runs) == 1:
            raise RuntimeError("database briefly away")
        if len(runs) == 3:
            third.set()

    task = asyncio.create_task(every(0.01, flaky, "flaky"))
    await asyncio.wait_for(third.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert runs[:3] == [0, 1, 2]


async def test_housekeeping_jobs_run_against_a_real_database(tmp_path: Path) -> None:
    database = Database.open(f"sqlite+aiosqlite:///{tmp_path / 'hotline.db'}")
    async with database.engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    audit = AuditLog(database.sessions, lambda: 1_800_000_000.0)
    housekeeping = Housekeeping(
        sessions=database.sessions,
        access=RecordingAccess(database.sessions, audit, lambda: 1_800_000_000.0),
        audit=audit,
        qa=QaService(database.sessions, audit, lambda: 1_800_000_000.0, load_scorecard()),
        retention=RetentionPolicy(default_days=30),
        sampling=SamplingPolicy(),
        clock=lambda: 1_800_000_000.0,
    )
    await housekeeping.retention_once()
    await housekeeping.sampling_once()
    assert (await audit.verify_chain()).ok
    await database.close()

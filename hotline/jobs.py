"""The service's scheduled housekeeping: recording retention and the QA sampling work list.

Each job runs once at start-up (so a service that restarts daily still runs it) and then every
``interval`` seconds; a failure is logged and the next run tries again. Deletions are audited
by the retention job itself (issue 6).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.accounts.audit import AuditLog
from recordings.access import RecordingAccess
from recordings.policy import RetentionPolicy
from recordings.qa import SamplingPolicy, load_call_summaries, select_for_review
from recordings.retention import run_retention
from recordings.reviews import QaService

log = logging.getLogger(__name__)

DAY_SECONDS = 86400.0
# The sampler looks back a week: "at least N calls per agent per week" needs the whole week.
SAMPLING_LOOKBACK_SECONDS = 7 * DAY_SECONDS


@dataclass(frozen=True, slots=True)
class Housekeeping:
    sessions: async_sessionmaker[AsyncSession]
    access: RecordingAccess
    audit: AuditLog
    qa: QaService
    retention: RetentionPolicy
    sampling: SamplingPolicy
    clock: Callable[[], float] = time.time

    async def retention_once(self) -> None:
        report = await run_retention(
            self.sessions, self.access, self.audit, self.retention, now=self.clock()
        )
        log.info("retention: %s", report)

    async def sampling_once(self) -> None:
        now = self.clock()
        calls = await load_call_summaries(
            self.sessions, since=now - SAMPLING_LOOKBACK_SECONDS, until=now
        )
        added = await self.qa.store_work_list(
            select_for_review(calls, self.sampling, random.Random(int(now // DAY_SECONDS)))
        )
        log.info("QA sampling: %d calls added to the work list", added)


async def every(interval: float, job: Callable[[], Awaitable[None]], name: str) -> None:
    """Run ``job`` now and then every ``interval`` seconds until cancelled."""
    while True:
        try:
            await job()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("scheduled job %s failed; it runs again in %.0f s", name, interval)
        await asyncio.sleep(interval)

"""The asyncio side of recording: decides by policy which calls to record, opens a writer
per call, flushes all writers on a timer, finishes them off the event loop, and repairs
interrupted files at start-up. The media path feeds frames into the returned writer.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from pathlib import Path

from recordings.catalog import CallInfo, RecordingCatalog
from recordings.metadata import recording_path
from recordings.policy import Phase, RecordingPolicy
from recordings.writer import RecordingSummary, StereoWavWriter, WriterSettings, recover


class Recorder:
    """All recordings of one service instance.

    ``wall_clock`` gives UNIX time (file dates, metadata); the ``now`` passed to each call is
    the event loop's monotonic clock, the time base of the writers.
    """

    def __init__(
        self,
        *,
        root: Path,
        catalog: RecordingCatalog,
        policy: RecordingPolicy,
        wall_clock: Callable[[], float],
        rng: random.Random,
        settings: WriterSettings | None = None,
    ) -> None:
        self._root = root
        self._catalog = catalog
        self._policy = policy
        self._wall_clock = wall_clock
        self._rng = rng
        self._settings = settings or WriterSettings()
        self._active: dict[str, StereoWavWriter] = {}
        self._declined: set[str] = set()

    async def recover_at_startup(self) -> list[RecordingSummary]:
        """Repair files a crash left half-written and mark them recovered in the database."""
        summaries = await asyncio.to_thread(recover, self._root)
        await self._catalog.apply_recovery(summaries)
        return summaries

    async def start(self, call: CallInfo, *, phase: Phase, now: float) -> StereoWavWriter | None:
        """The call's writer if policy records it from this phase on, else None.

        The percentage is drawn once per call, so a call declined in the IVR is not drawn
        again when it reaches an agent.
        """
        existing = self._active.get(call.call_id)
        if existing is not None:
            return existing
        if call.call_id in self._declined or not self._policy.starts_in(phase):
            return None
        if not self._policy.should_record(call.queue, self._rng.random()):
            self._declined.add(call.call_id)
            return None
        started_at = self._wall_clock()
        path = recording_path(self._root, call.call_id, started_at)
        writer = await asyncio.to_thread(
            StereoWavWriter,
            path,
            call_id=call.call_id,
            started_at=started_at,
            now=now,
            settings=self._settings,
        )
        await self._catalog.register(
            call,
            path=path,
            started_at=started_at,
            sample_rate=self._settings.sample_rate,
            includes_ivr=phase is Phase.IVR,
        )
        self._active[call.call_id] = writer
        return writer

    def active(self, call_id: str) -> StereoWavWriter | None:
        return self._active.get(call_id)

    async def finish(self, call_id: str, *, now: float) -> RecordingSummary | None:
        """Close the call's file (hash, FLAC if configured) and record it in the database."""
        self._declined.discard(call_id)
        writer = self._active.pop(call_id, None)
        if writer is None:
            return None
        summary = await asyncio.to_thread(writer.close, now)
        await self._catalog.complete(summary, ended_at=self._wall_clock())
        return summary

    def tick(self, now: float) -> None:
        """Flush every writer that is due; cheap when none is."""
        for writer in list(self._active.values()):
            writer.tick(now)

    async def run_flusher(self, loop_clock: Callable[[], float]) -> None:
        """Tick all writers twice per flush interval until cancelled (a TaskGroup child)."""
        interval = self._settings.flush_interval_s / 2
        while True:
            await asyncio.sleep(interval)
            self.tick(loop_clock())

"""The recorder: policy decides which calls are recorded, finished files land in the database
with their sha256, and files a crash interrupted are marked recovered at start-up."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import pytest
import soundfile
from recording_signals import FRAME, FakeClock, frames, signal
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from recordings.catalog import CallInfo, RecordingCatalog
from recordings.policy import Phase, RecordingPolicy
from recordings.recorder import Recorder
from recordings.writer import Channel


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _recorder(
    sessions: async_sessionmaker[AsyncSession],
    root: Path,
    clock: FakeClock,
    policy: RecordingPolicy,
) -> Recorder:
    return Recorder(
        root=root,
        catalog=RecordingCatalog(sessions),
        policy=policy,
        wall_clock=clock,
        rng=random.Random(3),
    )


async def test_finished_recording_is_catalogued_with_its_sha256(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock, tmp_path: Path
) -> None:
    recorder = _recorder(sessions, tmp_path, clock, RecordingPolicy())
    call = CallInfo("call-9", "billing", "1042", "billing", "13800138000")
    assert await recorder.start(call, phase=Phase.IVR, now=0.0) is None  # IVR not recorded
    writer = await recorder.start(call, phase=Phase.AGENT, now=0.0)
    assert writer is not None
    assert await recorder.start(call, phase=Phase.AGENT, now=0.1) is writer
    for i, pcm in enumerate(frames(signal(1, 1.0))):
        writer.add_rtp(Channel.CALLER, i * FRAME, 7, pcm, i * 0.02)
    summary = await recorder.finish("call-9", now=1.0)
    assert summary is not None
    row = await RecordingCatalog(sessions).get("call-9")
    assert row.state == "complete"
    assert row.sha256 == _sha256(Path(row.path))
    assert Path(row.path).parent == tmp_path / "2026" / "05" / "28"
    assert soundfile.info(row.path).frames == row.samples


async def test_percentage_policy_draws_once_per_call(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock, tmp_path: Path
) -> None:
    policy = RecordingPolicy(default_percent=0.0, percent_by_queue={"vip": 100.0}, record_ivr=True)
    recorder = _recorder(sessions, tmp_path, clock, policy)
    plain = CallInfo("plain-1", "general")
    assert await recorder.start(plain, phase=Phase.IVR, now=0.0) is None
    assert await recorder.start(plain, phase=Phase.AGENT, now=1.0) is None
    vip = await recorder.start(CallInfo("vip-1", "vip"), phase=Phase.IVR, now=0.0)
    assert vip is not None
    await recorder.finish("vip-1", now=0.5)
    assert (await RecordingCatalog(sessions).get("vip-1")).includes_ivr


def test_half_of_the_calls_for_a_fifty_percent_queue() -> None:
    policy = RecordingPolicy(default_percent=50.0)
    rng = random.Random(11)
    recorded = sum(policy.should_record("q", rng.random()) for _ in range(10_000))
    assert 4800 < recorded < 5200
    with pytest.raises(ValueError, match="q2"):
        RecordingPolicy(percent_by_queue={"q2": -1.0})


async def test_interrupted_recording_is_marked_recovered_in_the_database(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock, tmp_path: Path
) -> None:
    recorder = _recorder(sessions, tmp_path, clock, RecordingPolicy())
    writer = await recorder.start(CallInfo("crash-2", "billing"), phase=Phase.AGENT, now=0.0)
    assert writer is not None
    for i, pcm in enumerate(frames(signal(2, 2.0))):
        writer.add_rtp(Channel.AGENT, i * FRAME, 7, pcm, i * 0.02)
    writer.abort()  # the process dies: no close, no final header

    restarted = _recorder(sessions, tmp_path, clock, RecordingPolicy())
    [summary] = await restarted.recover_at_startup()
    row = await RecordingCatalog(sessions).get("crash-2")
    assert row.state == "recovered"
    assert row.samples == summary.samples >= int(1.2 * 8000)
    assert row.sha256 == _sha256(Path(row.path))
    assert await restarted.recover_at_startup() == []

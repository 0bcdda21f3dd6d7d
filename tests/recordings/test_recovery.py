"""kill -9 during a recording loses at most the last second, and recover() repairs the file."""

from __future__ import annotations

import asyncio
import json
import os
import signal as signals
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile
from recording_signals import RATE, signal
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from recordings.catalog import CallInfo, RecordingCatalog
from recordings.metadata import MarkerKind, RecordingState, recording_path
from recordings.wavfile import WAV_HEADER_BYTES, wav_header
from recordings.writer import recover

HERE = Path(__file__).resolve().parent
STARTED_AT = 1_780_000_000.0
KILL_AFTER_SAMPLES = int(2.5 * RATE)


def _record_then_kill(root: Path) -> int:
    """Run the child until it has sent KILL_AFTER_SAMPLES, SIGKILL it; return what it sent."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), str(HERE.parents[1])])}
    child = subprocess.Popen(
        [
            sys.executable,
            str(HERE / "recording_child.py"),
            str(root),
            "crash-1",
            str(STARTED_AT),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    sent = 0
    try:
        assert child.stdout is not None
        for line in child.stdout:
            sent = int(line)
            if sent >= KILL_AFTER_SAMPLES:
                child.send_signal(signals.SIGKILL)
                break
    finally:
        child.kill()
        child.wait(timeout=10)
    assert child.returncode == -signals.SIGKILL
    return sent


async def test_kill_9_mid_call_then_recover_keeps_all_but_the_last_second(
    tmp_path: Path, sessions: async_sessionmaker[AsyncSession]
) -> None:
    path = recording_path(tmp_path, "crash-1", STARTED_AT)
    catalog = RecordingCatalog(sessions)
    await catalog.register(
        CallInfo("crash-1", "billing", "1042", "billing"),
        path=path,
        started_at=STARTED_AT,
        sample_rate=RATE,
    )
    sent = await asyncio.to_thread(_record_then_kill, tmp_path)
    assert sent >= KILL_AFTER_SAMPLES

    # Restart: repair the files, then mark them in the database.
    recovered = await asyncio.to_thread(recover, tmp_path)
    assert [item.call_id for item in recovered] == ["crash-1"]
    summary = recovered[0]
    assert summary.state is RecordingState.RECOVERED
    assert await catalog.apply_recovery(recovered) == 1
    row = await catalog.get("crash-1")
    assert row.state == "recovered"
    assert row.samples == summary.samples
    assert [marker["kind"] for marker in row.markers] == ["pause", "resume"]

    audio, rate = await asyncio.to_thread(soundfile.read, path, dtype="int16")  # it plays
    assert rate == RATE
    assert sent - RATE <= len(audio) <= sent + RATE
    # What is there is what was sent: caller left, agent right, paused span silent.
    caller, agent = signal(11, 60.0), signal(12, 60.0)
    # Positions are anchored at the first packet's arrival, a few samples after the start.
    lag = next(k for k in range(200) if np.array_equal(audio[k : k + 2000, 0], caller[:2000]))
    np.testing.assert_array_equal(audio[lag : lag + 2000, 1], agent[:2000])
    pause, resume = (int(m.position) for m in summary.markers)
    assert 0.45 * RATE < pause < resume < 1.1 * RATE
    assert not audio[pause:resume].any()
    after = slice(resume + RATE // 10, len(audio))
    np.testing.assert_array_equal(audio[after, 0], caller[after.start - lag : after.stop - lag])
    np.testing.assert_array_equal(audio[after, 1], agent[after.start - lag : after.stop - lag])

    sidecar = json.loads(await asyncio.to_thread(path.with_suffix(".json").read_text))
    assert sidecar["state"] == "recovered"
    assert sidecar["samples"] == len(audio)
    assert [m["kind"] for m in sidecar["markers"]] == [
        MarkerKind.PAUSE.value,
        MarkerKind.RESUME.value,
    ]
    assert await asyncio.to_thread(recover, tmp_path) == []  # nothing left to repair


def test_recover_cuts_a_half_written_sample_frame(tmp_path: Path) -> None:
    path = recording_path(tmp_path, "torn", STARTED_AT)
    path.parent.mkdir(parents=True)
    path.write_bytes(wav_header(RATE, 2, 0) + b"\x01\x00\x02\x00" * 100 + b"\x07\x00\x08")
    path.with_suffix(".json").write_text(
        json.dumps(
            {
                "call_id": "torn",
                "state": "recording",
                "sample_rate": RATE,
                "channels": 2,
                "started_at": STARTED_AT,
                "markers": [],
                "file_name": path.name,
            }
        )
    )
    [summary] = recover(tmp_path)
    assert summary.samples == 100
    assert path.stat().st_size == WAV_HEADER_BYTES + 400
    audio, _ = soundfile.read(path, dtype="int16")
    assert audio.shape == (100, 2)
    assert (audio[:, 0] == 1).all() and (audio[:, 1] == 2).all()

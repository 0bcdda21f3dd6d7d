"""The stereo recording: channels match what each side sent, placed by RTP time (issue 6)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
import soundfile
from hypothesis import given, settings
from hypothesis import strategies as st
from recording_signals import FRAME, RATE, frames, signal

from recordings.metadata import MarkerKind, RecordingState, recording_path
from recordings.writer import (
    ArchiveFormat,
    Channel,
    RtpTimeline,
    StereoWavWriter,
    WriterSettings,
    recover,
)

STARTED_AT = 1_780_000_000.0  # 2026-05-28 UTC


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_channels_match_caller_and_agent_with_losses_as_silence_and_a_paused_gap(
    tmp_path: Path,
) -> None:
    caller = signal(1, 4.0)
    agent = signal(2, 3.0)
    path = recording_path(tmp_path, "call-1@hotline", STARTED_AT)
    writer = StereoWavWriter(path, call_id="call-1@hotline", started_at=STARTED_AT, now=100.0)
    rng = np.random.default_rng(7)
    # The caller's timestamps wrap around 2^32 half a second in (RFC 3550 §5.1).
    caller_ts0 = (1 << 32) - 4000
    agent_ts0 = 123_456
    agent_offset_frames = 50  # the agent's media starts one second after the caller's
    lost_caller = {i for i in range(len(frames(caller))) if i % 17 == 5}
    lost_agent = set(range(60, 66))
    events = []
    for i, pcm in enumerate(frames(caller)):
        if i not in lost_caller:
            jitter = 0.0 if i == 0 else float(rng.uniform(0.0, 0.06))
            ts = (caller_ts0 + i * FRAME) % (1 << 32)
            events.append((i * 0.02 + jitter, Channel.CALLER, ts, 0x1111, pcm))
    for j, pcm in enumerate(frames(agent)):
        if j not in lost_agent:
            jitter = 0.0 if j == 0 else float(rng.uniform(0.0, 0.06))
            at = (agent_offset_frames + j) * 0.02 + jitter
            events.append((at, Channel.AGENT, agent_ts0 + j * FRAME, 0x2222, pcm))
    events.sort(key=lambda event: event[0])  # jitter reorders packets
    pause_at, resume_at = 2.0, 2.6
    paused = False
    for at, channel, ts, ssrc, pcm in events:
        if not paused and pause_at <= at < resume_at:
            writer.pause(100.0 + pause_at, reason="card number")
            paused = True
        if paused and at >= resume_at:
            writer.resume(100.0 + resume_at)
            paused = False
        writer.add_rtp(channel, ts, ssrc, pcm.tobytes(), 100.0 + at)
    summary = writer.close(100.0 + 4.1)

    recorded, rate = soundfile.read(summary.path, dtype="int16")
    assert rate == RATE
    assert recorded.shape[1] == 2
    expected = np.zeros((len(recorded), 2), dtype=np.int16)
    for at, channel, ts, _, pcm in events:
        if pause_at <= at < resume_at:
            continue  # whatever arrives while paused is never kept, even if spoken before
        base = caller_ts0 if channel is Channel.CALLER else agent_ts0 - agent_offset_frames * FRAME
        start = (ts - base) % (1 << 32)
        expected[start : start + FRAME, int(channel)] = pcm
    pause_start, pause_end = int(pause_at * RATE), int(resume_at * RATE)
    expected[pause_start:pause_end] = 0

    # Sample-exact: lost packets are silence and nothing after them moved.
    np.testing.assert_array_equal(recorded[:, 0], expected[:, 0])
    np.testing.assert_array_equal(recorded[:, 1], expected[:, 1])
    assert not recorded[5 * FRAME : 6 * FRAME, 0].any()  # caller frame 5 was lost
    np.testing.assert_array_equal(recorded[6 * FRAME : 7 * FRAME, 0], frames(caller)[6])
    # Each channel correlates with its own sender only.
    head = slice(0, pause_start)
    assert _correlation(recorded[head, 0], expected[head, 0]) > 0.999
    assert abs(_correlation(recorded[head, 0], recorded[head, 1])) < 0.05
    # The paused span is silent in both channels, and the markers say where it is.
    assert not recorded[pause_start:pause_end].any()
    assert recorded[pause_end : pause_end + FRAME, 0].any()
    kinds = [(marker.kind, marker.position) for marker in summary.markers]
    assert kinds == [(MarkerKind.PAUSE, pause_start), (MarkerKind.RESUME, pause_end)]
    assert summary.markers[0].reason == "card number"
    sidecar = json.loads(path.with_suffix(".json").read_text())
    assert sidecar["state"] == "complete"
    assert [m["position"] for m in sidecar["markers"]] == [pause_start, pause_end]
    assert summary.state is RecordingState.COMPLETE
    assert len(summary.sha256) == 64


def test_file_lives_under_the_call_date_and_rejects_unsafe_call_ids(tmp_path: Path) -> None:
    path = recording_path(tmp_path, "abc-1@host", STARTED_AT)
    assert path == tmp_path / "2026" / "05" / "28" / "abc-1@host.wav"
    for bad in ("../etc/passwd", "a/b", "", ".hidden"):
        with pytest.raises(ValueError):
            recording_path(tmp_path, bad, STARTED_AT)


def test_a_packet_later_than_the_holdback_is_dropped_not_shifted(tmp_path: Path) -> None:
    tone = signal(3, 1.0)
    path = tmp_path / "late.wav"
    writer = StereoWavWriter(path, call_id="late", started_at=STARTED_AT, now=0.0)
    pieces = frames(tone)
    for i, pcm in enumerate(pieces):
        if i != 10:
            writer.add_rtp(Channel.CALLER, 5000 + i * FRAME, 1, pcm, i * 0.02)
    # Frame 10 shows up 0.6 s late, after its samples were flushed: it must not land anywhere.
    writer.add_rtp(Channel.CALLER, 5000 + 10 * FRAME, 1, pieces[10], 0.8)
    summary = writer.close(1.0)
    recorded, _ = soundfile.read(summary.path, dtype="int16")
    assert not recorded[10 * FRAME : 11 * FRAME, 0].any()
    np.testing.assert_array_equal(recorded[11 * FRAME : 12 * FRAME, 0], pieces[11])
    assert summary.late_samples == FRAME


def test_header_is_valid_after_every_flush(tmp_path: Path) -> None:
    path = tmp_path / "live.wav"
    writer = StereoWavWriter(path, call_id="live", started_at=STARTED_AT, now=0.0)
    for i, pcm in enumerate(frames(signal(4, 2.0))):
        writer.add_rtp(Channel.AGENT, i * FRAME, 9, pcm, i * 0.02)
    # A reader sees everything up to the last flush while the call goes on (live monitoring).
    info = soundfile.info(path)
    assert info.frames >= int((2.0 - 0.5 - 0.2 - 0.02) * RATE)
    writer.abort()


def test_flac_archive_is_lossless(tmp_path: Path) -> None:
    settings = WriterSettings(archive_format=ArchiveFormat.FLAC)
    path = tmp_path / "arch.wav"
    writer = StereoWavWriter(
        path, call_id="arch", started_at=STARTED_AT, now=0.0, settings=settings
    )
    tone = signal(5, 1.0)
    for i, pcm in enumerate(frames(tone)):
        writer.add_rtp(Channel.CALLER, i * FRAME, 1, pcm, i * 0.02)
    summary = writer.close(1.0)
    assert summary.path.suffix == ".flac"
    assert not path.exists()
    decoded, _ = soundfile.read(summary.path, dtype="int16")
    np.testing.assert_array_equal(decoded[: len(tone), 0], tone)


def test_recover_ignores_finished_recordings(tmp_path: Path) -> None:
    path = recording_path(tmp_path, "done", STARTED_AT)
    writer = StereoWavWriter(path, call_id="done", started_at=STARTED_AT, now=0.0)
    writer.close(0.5)
    assert recover(tmp_path) == []


def test_timeline_unwraps_and_resyncs_on_new_ssrc() -> None:
    timeline = RtpTimeline()
    assert timeline.position((1 << 32) - 80, 1, 800) == 800
    assert timeline.position(80, 1, 820) == 960
    assert timeline.position((1 << 32) - 80, 1, 830) == 800  # reordered, before the wrap
    assert timeline.position(999_999, 2, 2000) == 2000  # a new source is anchored afresh
    with pytest.raises(ValueError):
        timeline.position(1 << 32, 2, 2000)


@settings(max_examples=25, deadline=None)
@given(
    loss=st.lists(st.booleans(), min_size=60, max_size=60),
    jitter=st.lists(st.floats(0.0, 0.18), min_size=60, max_size=60),
    ts0=st.integers(0, (1 << 32) - 1),
)
def test_any_loss_and_reordering_within_the_holdback_lands_sample_exact(
    loss: list[bool], jitter: list[float], ts0: int
) -> None:
    pieces = frames(signal(9, 1.2))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "prop.wav"
        writer = StereoWavWriter(path, call_id="prop", started_at=STARTED_AT, now=0.0)
        arrivals = [
            (0.0 if i == 0 else i * 0.02 + jitter[i], i)
            for i in range(len(pieces))
            if i == 0 or not loss[i]
        ]
        for at, i in sorted(arrivals):
            writer.add_rtp(Channel.AGENT, (ts0 + i * FRAME) % (1 << 32), 5, pieces[i], at)
        summary = writer.close(1.5)
        recorded, _ = soundfile.read(summary.path, dtype="int16")
    expected = np.zeros(len(recorded), dtype=np.int16)
    for _, i in arrivals:
        expected[i * FRAME : (i + 1) * FRAME] = pieces[i]
    np.testing.assert_array_equal(recorded[:, 1], expected)
    assert not recorded[:, 0].any()
    assert summary.late_samples == 0


def test_an_existing_recording_is_never_overwritten(tmp_path: Path) -> None:
    path = recording_path(tmp_path, "dup", STARTED_AT)
    StereoWavWriter(path, call_id="dup", started_at=STARTED_AT, now=0.0).close(1.0)
    before = path.read_bytes()
    with pytest.raises(FileExistsError):
        StereoWavWriter(path, call_id="dup", started_at=STARTED_AT, now=0.0)
    assert path.read_bytes() == before

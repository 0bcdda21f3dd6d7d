"""Session value types: SDP-derived parameters, playback handles, 20 ms framing (issue 3)."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from telephony.media.g711 import G711Law
from telephony.media.values import (
    FrameAssembler,
    MediaError,
    MediaParams,
    PlaybackHandle,
    PlaybackOutcome,
)
from telephony.sdp import Codec, Direction, NegotiatedAudio


def test_media_params_follow_the_sdp_outcome() -> None:
    audio = NegotiatedAudio(
        remote_address="192.0.2.7",
        remote_port=40002,
        codec=Codec("PCMA", 8000, 8),
        telephone_event_pt=96,
        ptime_ms=20,
        direction=Direction.RECVONLY,
    )
    params = MediaParams.from_negotiated(audio)
    assert params == MediaParams(
        remote=("192.0.2.7", 40002),
        law=G711Law.PCMA,
        dtmf_payload_type=96,
        send=False,
        receive=True,
        payload_type=8,
    )
    held = MediaParams.from_negotiated(
        NegotiatedAudio("0.0.0.0", 40002, Codec("PCMU", 8000, 0), None, 20, Direction.SENDRECV)
    )
    assert held.remote is None
    assert not held.send
    with pytest.raises(MediaError, match=r"not G\.711"):
        MediaParams.from_negotiated(
            NegotiatedAudio("192.0.2.7", 4000, Codec("opus", 48000, 111), None, 20,
                            Direction.SENDRECV)
        )


def test_received_payload_types_map_to_laws() -> None:
    params = MediaParams(remote=None, law=G711Law.PCMU, payload_type=97)
    assert params.audio_payload_type == 97
    assert params.law_of(97) is G711Law.PCMU
    assert params.law_of(8) is G711Law.PCMA  # static types are always understood
    assert params.law_of(13) is None
    assert MediaParams(remote=None, law=G711Law.PCMA).audio_payload_type == 8


def ramp(start: int, n: int) -> np.ndarray:
    return np.arange(start, start + n, dtype=np.int16)


def test_20ms_packets_pass_through_as_frames() -> None:
    framer = FrameAssembler(160)
    [(ts, pcm, concealed)] = framer.push(1000, ramp(0, 160), False)
    assert ts == 1000
    np.testing.assert_array_equal(pcm, ramp(0, 160))
    assert not concealed


def test_30ms_packets_are_cut_into_20ms_frames_on_their_timestamps() -> None:
    framer = FrameAssembler(160)
    out = framer.push(0, ramp(0, 240), False) + framer.push(240, ramp(240, 240), False)
    assert [ts for ts, _, _ in out] == [0, 160, 320]
    np.testing.assert_array_equal(np.concatenate([p for _, p, _ in out]), ramp(0, 480))


def test_a_timestamp_jump_pads_the_unfinished_frame_and_restarts_framing() -> None:
    framer = FrameAssembler(160)
    assert framer.push(0, ramp(1, 80), False) == []
    out = framer.push(8000, ramp(0, 160), False)
    assert [ts for ts, _, _ in out] == [0, 8000]
    np.testing.assert_array_equal(out[0][1][:80], ramp(1, 80))
    assert not out[0][1][80:].any()


def test_a_frame_is_concealed_only_if_all_of_it_was_lost() -> None:
    framer = FrameAssembler(160)
    out = framer.push(0, np.zeros(80, np.int16), True) + framer.push(80, ramp(0, 240), False)
    assert [c for _, _, c in out] == [False, False]
    out = framer.push(320, np.zeros(160, np.int16), True)
    assert [c for _, _, c in out] == [True]


async def test_cancelling_one_waiter_does_not_cancel_the_playback() -> None:
    future: asyncio.Future[PlaybackOutcome] = asyncio.get_running_loop().create_future()
    handle = PlaybackHandle(np.zeros(160, np.int16), future)
    waiter = asyncio.ensure_future(_wait(handle))
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert not handle.done()
    handle._resolve(PlaybackOutcome.FINISHED)
    assert await handle is PlaybackOutcome.FINISHED
    assert handle.outcome is PlaybackOutcome.FINISHED


async def _wait(handle: PlaybackHandle) -> PlaybackOutcome:
    return await handle

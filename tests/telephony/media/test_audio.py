"""WAV conversion to 8 kHz mono int16, levels, alignment and SNR helpers (issue 3)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import soundfile

from telephony.media.audio import (
    SILENCE_DBFS,
    AudioFormatError,
    aligned_snr_db,
    best_alignment,
    frame_levels_dbfs,
    level_dbfs,
    read_wav,
    snr_db,
    tone,
    write_wav,
)


def noise(n: int, seed: int = 1, level: float = 0.1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(rng.normal(0, level * 32768, n), -32768, 32767).astype(np.int16)


def test_write_then_read_an_8khz_wav_is_lossless(tmp_path: Path) -> None:
    pcm = noise(8000)
    write_wav(tmp_path / "a.wav", pcm)
    np.testing.assert_array_equal(read_wav(tmp_path / "a.wav"), pcm)


def test_a_44khz_stereo_float_wav_becomes_8khz_mono_int16(tmp_path: Path) -> None:
    t = np.arange(44100) / 44100
    left = 0.3 * np.sin(2 * np.pi * 440 * t)
    stereo = np.stack([left, left], axis=1)
    soundfile.write(tmp_path / "s.wav", stereo, 44100, subtype="FLOAT")
    pcm = read_wav(tmp_path / "s.wav")
    assert pcm.dtype == np.int16
    assert pcm.ndim == 1
    assert abs(pcm.size - 8000) <= 1
    expected = (0.3 * 32768 * np.sin(2 * np.pi * 440 * np.arange(pcm.size) / 8000)).astype(
        np.int16
    )
    # The resampled tone matches an 8 kHz tone away from the filter's edges.
    assert snr_db(expected[200:-200], pcm[200:-200]) > 40


def test_an_unreadable_file_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF garbage")
    with pytest.raises(AudioFormatError, match=r"bad\.wav"):
        read_wav(bad)


def test_levels_in_dbfs() -> None:
    assert level_dbfs(np.full(160, -32768, dtype=np.int16)) == pytest.approx(0.0)
    assert level_dbfs(tone(1000, 1.0, level=-20)) == pytest.approx(-20.0, abs=0.05)
    assert level_dbfs(np.zeros(160, dtype=np.int16)) == SILENCE_DBFS
    frames = np.stack([tone(500, 0.02, level=-30), np.zeros(160, dtype=np.int16)])
    levels = frame_levels_dbfs(frames)
    assert levels[0] == pytest.approx(-30.0, abs=0.3)
    assert levels[1] == SILENCE_DBFS


@pytest.mark.parametrize("delay", [0, 1, 37, 1234])
def test_best_alignment_finds_a_delayed_copy(delay: int) -> None:
    ref = noise(4000)
    received = np.concatenate([noise(delay, seed=9, level=0.001), ref, noise(500, seed=3)])
    offset, correlation = best_alignment(ref, received.astype(np.int16))
    assert offset == delay
    assert correlation == pytest.approx(1.0)


def test_best_alignment_finds_a_received_signal_that_starts_late_in_the_reference() -> None:
    ref = noise(4000)
    found = best_alignment(ref, ref[300:])
    assert found.offset == -300
    assert found.correlation == pytest.approx(1.0)


def test_unrelated_signals_correlate_poorly() -> None:
    assert best_alignment(noise(4000, seed=1), noise(4000, seed=2)).correlation < 0.2


def test_max_offset_limits_the_search() -> None:
    ref = noise(2000)
    received = np.concatenate([np.zeros(800, dtype=np.int16), ref])
    assert best_alignment(ref, received, max_offset=1000).offset == 800
    assert best_alignment(ref, received, max_offset=100).offset != 800


def test_snr_of_a_copy_with_known_noise() -> None:
    ref = tone(440, 1.0, level=-10)
    noisy = (ref.astype(np.int32) + noise(ref.size, level=10 ** (-40 / 20))).astype(np.int16)
    assert snr_db(ref, noisy) == pytest.approx(30.0, abs=0.5)
    assert snr_db(ref, ref) == math.inf
    with pytest.raises(ValueError, match="lengths differ"):
        snr_db(ref, ref[:-1])


def test_aligned_snr_measures_over_the_overlap() -> None:
    ref = noise(3000)
    received = np.concatenate([np.zeros(123, dtype=np.int16), ref[:2500]])
    result = aligned_snr_db(ref, received)
    assert result.offset == 123
    assert result.overlap == 2500
    assert result.snr_db == math.inf

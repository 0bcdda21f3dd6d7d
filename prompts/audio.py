"""Sample-level audio for prompts: 8 kHz WAV I/O, resampling, trimming, levels and joins.

Everything here is a pure function of int16 numpy arrays so the build, the catalogue and the
tests measure audio the same way.
"""

from __future__ import annotations

import io
import wave
from pathlib import Path

import numpy as np
import soxr

SAMPLE_RATE = 8000  # G.711 narrowband, RFC 3551 §4.5.14 (PCMU/PCMA are 8 kHz)
SAMPLE_WIDTH = 2  # 16-bit linear PCM in the files; G.711 encoding happens at send time
FRAME_S = 0.020  # 20 ms: the RTP packetisation of every prompt (RFC 3551 §4.2 default)
FRAME_SAMPLES = int(SAMPLE_RATE * FRAME_S)
FULL_SCALE = 32768.0

TARGET_LEVEL_DBFS = -20.0  # a common telephony prompt level (ITU-T P.56 active level)
PEAK_CEILING_DBFS = -1.0  # headroom left so G.711 and the resampler never clip
SILENCE_DBFS = -50.0  # frames quieter than this count as silence when measuring and trimming
TRIM_PAD_S = 0.080  # silence kept at each end: "moderate" trimming, no clipped onsets
JOIN_PAD_S = 0.015  # silence kept at a join inside a composed sentence
CROSSFADE_S = 0.010  # overlap at a join so pieces do not click


class AudioFormatError(ValueError):
    """A WAV file is not 8 kHz mono 16-bit PCM (the message names the file)."""


def read_wav(path: Path) -> np.ndarray:
    """Samples of an 8 kHz mono 16-bit WAV file, or AudioFormatError naming what is wrong."""
    try:
        with wave.open(str(path), "rb") as reader:
            rate, channels, width = (
                reader.getframerate(),
                reader.getnchannels(),
                reader.getsampwidth(),
            )
            frames = reader.readframes(reader.getnframes())
    except (wave.Error, EOFError) as exc:
        raise AudioFormatError(f"{path}: not a PCM WAV file ({exc})") from exc
    if (rate, channels, width) != (SAMPLE_RATE, 1, SAMPLE_WIDTH):
        raise AudioFormatError(
            f"{path}: {rate} Hz, {channels} channel(s), {8 * width}-bit; "
            f"prompts must be {SAMPLE_RATE} Hz mono 16-bit"
        )
    return np.frombuffer(frames, dtype="<i2").astype(np.int16)


def wav_bytes(samples: np.ndarray) -> bytes:
    """An 8 kHz mono 16-bit WAV file holding ``samples`` (deterministic: no timestamps)."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(SAMPLE_WIDTH)
        writer.setframerate(SAMPLE_RATE)
        writer.writeframes(np.asarray(samples, dtype="<i2").tobytes())
    return buffer.getvalue()


def resample(samples: np.ndarray, rate: int) -> np.ndarray:
    """``samples`` at ``rate`` Hz resampled to 8 kHz (float, full scale 1.0), with soxr VHQ."""
    x = samples.astype(np.float64) / FULL_SCALE
    if rate == SAMPLE_RATE:
        return x
    return np.asarray(soxr.resample(x, rate, SAMPLE_RATE, quality="VHQ"), dtype=np.float64)


def frame_levels_dbfs(x: np.ndarray) -> np.ndarray:
    """RMS level of each whole 20 ms frame in dBFS (``x`` int16 or float at full scale 1.0)."""
    y = _as_float(x)
    n = y.size // FRAME_SAMPLES
    if n == 0:
        return np.zeros(0)
    frames = y[: n * FRAME_SAMPLES].reshape(n, FRAME_SAMPLES)
    rms = np.sqrt(np.mean(frames * frames, axis=1))
    return np.asarray(20.0 * np.log10(np.maximum(rms, 1e-10)), dtype=np.float64)


def active_level_dbfs(x: np.ndarray) -> float:
    """Level over the frames that are not silence (a simple stand-in for ITU-T P.56)."""
    y = _as_float(x)
    levels = frame_levels_dbfs(y)
    active = levels > SILENCE_DBFS
    if not active.any():
        return float(levels.max()) if levels.size else -200.0
    n = levels.size
    frames = y[: n * FRAME_SAMPLES].reshape(n, FRAME_SAMPLES)[active]
    return float(20.0 * np.log10(max(float(np.sqrt(np.mean(frames * frames))), 1e-10)))


def peak_dbfs(x: np.ndarray) -> float:
    y = _as_float(x)
    return float(20.0 * np.log10(max(float(np.max(np.abs(y))) if y.size else 0.0, 1e-10)))


def trim_silence(x: np.ndarray, pad_s: float = TRIM_PAD_S) -> np.ndarray:
    """``x`` without leading/trailing silence, keeping ``pad_s`` seconds at each end."""
    levels = frame_levels_dbfs(x)
    # Relative to the loudest frame, so a quiet recording is trimmed the same way.
    threshold = max(SILENCE_DBFS, float(levels.max()) - 40.0) if levels.size else SILENCE_DBFS
    loud = np.flatnonzero(levels > threshold)
    if loud.size == 0:
        return x
    pad = int(pad_s * SAMPLE_RATE)
    start = max(0, int(loud[0]) * FRAME_SAMPLES - pad)
    end = min(x.size, (int(loud[-1]) + 1) * FRAME_SAMPLES + pad)
    return x[start:end]


def normalise(x: np.ndarray, target_dbfs: float = TARGET_LEVEL_DBFS) -> np.ndarray:
    """``x`` (float) scaled to ``target_dbfs`` active level, then peak-limited to the ceiling.

    A plain gain cannot reach -20 dBFS on speech with a high crest factor without clipping,
    so peaks above the ceiling are softly compressed (tanh knee) instead of cut: the level
    stays on target and no sample reaches full scale.
    """
    y = _as_float(x)
    gain = 10 ** ((target_dbfs - active_level_dbfs(y)) / 20.0)
    y = y * gain
    ceiling = 10 ** (PEAK_CEILING_DBFS / 20.0)
    knee = ceiling * 0.5
    over = np.abs(y) > knee
    if over.any():
        excess = (np.abs(y[over]) - knee) / (ceiling - knee)
        y[over] = np.sign(y[over]) * (knee + (ceiling - knee) * np.tanh(excess))
    return y


def to_int16(x: np.ndarray) -> np.ndarray:
    y = np.round(_as_float(x) * FULL_SCALE)
    return np.clip(y, -32768, 32767).astype(np.int16)


def join(pieces: list[np.ndarray], crossfade_s: float = CROSSFADE_S) -> np.ndarray:
    """Pieces of one sentence joined with tight gaps and short crossfades (SPEC-P10)."""
    parts = [trim_silence(p, pad_s=JOIN_PAD_S).astype(np.float64) for p in pieces if p.size]
    if not parts:
        return np.zeros(0, dtype=np.int16)
    fade = int(crossfade_s * SAMPLE_RATE)
    out = parts[0]
    for part in parts[1:]:
        n = min(fade, out.size, part.size)
        ramp = np.linspace(0.0, 1.0, n, endpoint=False) if n else np.zeros(0)
        mixed = out[out.size - n :] * (1.0 - ramp) + part[:n] * ramp
        out = np.concatenate([out[: out.size - n], mixed, part[n:]])
    return np.clip(np.round(out), -32768, 32767).astype(np.int16)


def hold_music(seconds: float = 8.0) -> np.ndarray:
    """A gentle, loopable tone melody (float): soft sine notes with slow attack and release."""
    # A pentatonic phrase in C; sine tones with a third harmonic sound soft on G.711.
    notes_hz = (523.25, 659.25, 783.99, 880.0, 783.99, 659.25, 587.33, 523.25)
    note_s = seconds / len(notes_hz)
    n = int(note_s * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    envelope = np.sin(np.pi * np.arange(n) / n) ** 2  # starts and ends at zero: loops cleanly
    tones = [
        (np.sin(2 * np.pi * f * t) + 0.2 * np.sin(2 * np.pi * 3 * f * t)) * envelope
        for f in notes_hz
    ]
    return np.concatenate(tones)


def _as_float(x: np.ndarray) -> np.ndarray:
    if x.dtype == np.int16:
        return x.astype(np.float64) / FULL_SCALE
    return np.asarray(x, dtype=np.float64)

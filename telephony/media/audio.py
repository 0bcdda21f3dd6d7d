"""Audio helpers on 8 kHz mono int16 PCM: WAV in/out, levels, alignment and SNR measurement.

The service works on 16-bit linear PCM at 8 kHz throughout (issue 3). ``read_wav`` turns any
WAV that soundfile can read into that form (channels averaged, soxr resampling); the
measurement helpers are the ones tests across the project use to prove audio got through.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Final, NamedTuple

import numpy as np
import numpy.typing as npt
import soundfile
import soxr

from telephony.media.g711 import PcmArray

SAMPLE_RATE: Final = 8000  # G.711 (ITU-T G.711 §1): 8000 samples per second
FRAME_MS: Final = 20  # RFC 3551 §4.5: default packetization interval for G.711
FRAME_SAMPLES: Final = SAMPLE_RATE * FRAME_MS // 1000
FULL_SCALE: Final = 32768.0  # dBFS reference: the magnitude of the most negative int16
# Level reported for digital silence, where the logarithm has no value; below any real signal.
SILENCE_DBFS: Final = -120.0

FloatArray = npt.NDArray[np.float64]


class AudioFormatError(ValueError):
    """A file that cannot be turned into 8 kHz mono PCM (names the file and the reason)."""


def to_int16(samples: FloatArray) -> PcmArray:
    """Float samples in [-1, 1) to int16, rounded and clipped."""
    scaled = np.rint(np.asarray(samples, dtype=np.float64) * FULL_SCALE)
    return np.clip(scaled, -32768, 32767).astype(np.int16)


def read_wav(path: str | Path, *, rate: int = SAMPLE_RATE) -> PcmArray:
    """Read any WAV (any rate, channels, sample format) as mono int16 at ``rate``."""
    try:
        data, file_rate = soundfile.read(str(path), dtype="float64", always_2d=True)
    except (RuntimeError, soundfile.LibsndfileError) as exc:
        raise AudioFormatError(f"{path}: cannot read audio: {exc}") from exc
    if data.shape[0] == 0:
        return np.zeros(0, dtype=np.int16)
    mono = data.mean(axis=1)
    if file_rate != rate:
        # soxr's "HQ" is transparent for telephone-band speech and fast.
        mono = soxr.resample(mono, file_rate, rate, quality="HQ")
    return to_int16(mono)


def write_wav(path: str | Path, pcm: PcmArray, *, rate: int = SAMPLE_RATE) -> None:
    """Write int16 PCM (mono, or shape (n, channels)) as a 16-bit PCM WAV."""
    if pcm.dtype != np.int16:
        raise TypeError(f"write_wav takes int16 samples, got {pcm.dtype}")
    soundfile.write(str(path), pcm, rate, subtype="PCM_16", format="WAV")


def level_dbfs(pcm: PcmArray) -> float:
    """RMS level relative to full scale (a full-scale square wave is 0 dBFS, a sine -3 dBFS)."""
    if pcm.size == 0:
        return SILENCE_DBFS
    x = pcm.astype(np.float64).ravel()
    # np.dot is several times cheaper than np.mean(x * x) on a 160-sample frame.
    rms = math.sqrt(float(np.dot(x, x)) / x.size)
    if rms == 0.0:
        return SILENCE_DBFS
    return max(SILENCE_DBFS, 20.0 * math.log10(rms / FULL_SCALE))


def frame_levels_dbfs(frames: PcmArray) -> FloatArray:
    """Level of each row of a (n_frames, samples) array in one numpy step."""
    x = frames.astype(np.float64)
    power = np.mean(x * x, axis=-1)
    with np.errstate(divide="ignore"):
        levels: FloatArray = 10.0 * np.log10(power / (FULL_SCALE * FULL_SCALE))
    return np.maximum(levels, SILENCE_DBFS)


def tone(
    frequency_hz: float, seconds: float, *, level: float = -20.0, rate: int = SAMPLE_RATE
) -> PcmArray:
    """A sine of the given RMS level in dBFS (handy for test signals and beeps)."""
    t = np.arange(round(seconds * rate)) / rate
    amplitude = math.sqrt(2.0) * 10 ** (level / 20.0)
    return to_int16(amplitude * np.sin(2 * np.pi * frequency_hz * t))


def silence(samples: int) -> PcmArray:
    return np.zeros(samples, dtype=np.int16)


class Alignment(NamedTuple):
    """Where a reference starts inside a received signal, and how well it matches there.

    ``offset`` is the index in ``received`` of the reference's first sample (negative if the
    received signal starts in the middle of the reference); ``correlation`` is the normalised
    correlation coefficient over the overlap, 1.0 for a perfect copy.
    """

    offset: int
    correlation: float


def best_alignment(
    reference: PcmArray, received: PcmArray, *, max_offset: int | None = None
) -> Alignment:
    """Find the lag at which ``received`` best matches ``reference`` (FFT cross-correlation).

    ``max_offset`` bounds the search to lags in [-max_offset, max_offset].
    """
    ref = reference.astype(np.float64)
    rec = received.astype(np.float64)
    if ref.size == 0 or rec.size == 0:
        raise ValueError("cannot align an empty signal")
    n = ref.size + rec.size - 1
    size = 1 << (n - 1).bit_length()
    spectrum = np.fft.rfft(rec, size) * np.conj(np.fft.rfft(ref, size))
    full = np.fft.irfft(spectrum, size)
    # full[k] for k >= 0 is lag k (reference starts k samples into received); negative lags
    # wrap to the end of the circular result.
    lags = np.concatenate([np.arange(-(ref.size - 1), 0), np.arange(rec.size)])
    values = np.concatenate([full[size - (ref.size - 1) :], full[: rec.size]])
    if max_offset is not None:
        keep = np.abs(lags) <= max_offset
        lags, values = lags[keep], values[keep]
        if lags.size == 0:
            raise ValueError("max_offset leaves no lag to search")
    best = int(lags[int(np.argmax(values))])
    a, b = _overlap(ref, rec, best)
    denominator = math.sqrt(float(np.dot(a, a)) * float(np.dot(b, b)))
    correlation = float(np.dot(a, b)) / denominator if denominator > 0 else 0.0
    return Alignment(offset=best, correlation=correlation)


def _overlap(ref: FloatArray, rec: FloatArray, offset: int) -> tuple[FloatArray, FloatArray]:
    """The parts of reference and received that coincide when ref starts at ``offset``."""
    ref_start = max(0, -offset)
    rec_start = max(0, offset)
    length = min(ref.size - ref_start, rec.size - rec_start)
    if length <= 0:
        return ref[:0], rec[:0]
    return ref[ref_start : ref_start + length], rec[rec_start : rec_start + length]


def snr_db(reference: PcmArray, received: PcmArray) -> float:
    """Signal-to-noise ratio of ``received`` against ``reference``, sample for sample.

    Both must have the same length (align first, or use ``aligned_snr_db``). A perfect copy
    gives +inf.
    """
    if reference.shape != received.shape:
        raise ValueError(f"lengths differ: {reference.shape} vs {received.shape}")
    return _snr(reference.astype(np.float64), received.astype(np.float64))


def _snr(ref: FloatArray, rec: FloatArray) -> float:
    noise = ref - rec
    signal_power = float(np.dot(ref, ref))
    noise_power = float(np.dot(noise, noise))
    if noise_power == 0.0:
        return math.inf
    if signal_power == 0.0:
        return -math.inf
    return 10.0 * math.log10(signal_power / noise_power)


class AlignedComparison(NamedTuple):
    offset: int
    correlation: float
    snr_db: float
    overlap: int


def aligned_snr_db(
    reference: PcmArray, received: PcmArray, *, max_offset: int | None = None
) -> AlignedComparison:
    """Align ``received`` to ``reference`` and measure the SNR over their overlap."""
    offset, correlation = best_alignment(reference, received, max_offset=max_offset)
    a, b = _overlap(reference.astype(np.float64), received.astype(np.float64), offset)
    snr = _snr(a, b) if a.size else -math.inf
    return AlignedComparison(offset, correlation, snr, int(a.size))

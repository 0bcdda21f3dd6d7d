"""G.711 tables against a scalar transcription of ITU-T G.191's reference ``g711.c`` (issue 3)."""

from __future__ import annotations

import numpy as np
import pytest

from telephony.media.g711 import (
    ALAW_SILENCE,
    PCMA,
    PCMU,
    ULAW_SILENCE,
    G711Law,
    codec_for,
)

# --- independent scalar reference: G.191 STL g711.c, one sample at a time ------------------
# The reference takes 16-bit left-justified samples and truncates them to 14 bits (µ-law) or
# 13 bits (A-law) by shifting the one's complement of negative values; so do these functions.


def ref_ulaw_compress(sample: int) -> int:
    absno = ((~sample) >> 2) + 33 if sample < 0 else (sample >> 2) + 33
    if absno > 0x1FFF:
        absno = 0x1FFF
    i = absno >> 6
    segno = 1
    while i != 0:
        segno += 1
        i >>= 1
    high_nibble = 0x0008 - segno
    low_nibble = 0x000F - ((absno >> segno) & 0x000F)
    code = (high_nibble << 4) | low_nibble
    if sample >= 0:
        code |= 0x0080
    return code


def ref_ulaw_expand(code: int) -> int:
    sign = -1 if code < 0x0080 else 1
    mantissa = ~code
    exponent = (mantissa >> 4) & 0x0007
    segment = exponent + 1
    mantissa &= 0x000F
    step = 4 << segment
    return sign * ((0x0080 << exponent) + step * mantissa + step // 2 - 4 * 33)


def ref_alaw_compress(sample: int) -> int:
    ix = (~sample) >> 4 if sample < 0 else sample >> 4
    if ix > 15:
        iexp = 1
        while ix > 16 + 15:
            ix >>= 1
            iexp += 1
        ix -= 16
        ix += iexp << 4
    if sample >= 0:
        ix |= 0x0080
    return ix ^ 0x0055


def ref_alaw_expand(code: int) -> int:
    ix = (code ^ 0x0055) & 0x007F
    iexp = ix >> 4
    mant = ix & 0x000F
    if iexp > 0:
        mant += 16
    mant = (mant << 4) + 0x0008
    if iexp > 1:
        mant <<= iexp - 1
    return mant if code > 127 else -mant


ALL_SAMPLES = np.arange(-32768, 32768, dtype=np.int32)


def test_ulaw_encode_matches_g191_for_all_65536_inputs() -> None:
    expected = np.array([ref_ulaw_compress(int(x)) for x in ALL_SAMPLES], dtype=np.uint8)
    got = PCMU.encode(ALL_SAMPLES.astype(np.int16))
    mismatches = np.flatnonzero(got != expected)
    assert mismatches.size == 0, f"first mismatching input {ALL_SAMPLES[mismatches[0]]}"


def test_alaw_encode_matches_g191_for_all_65536_inputs() -> None:
    expected = np.array([ref_alaw_compress(int(x)) for x in ALL_SAMPLES], dtype=np.uint8)
    got = PCMA.encode(ALL_SAMPLES.astype(np.int16))
    mismatches = np.flatnonzero(got != expected)
    assert mismatches.size == 0, f"first mismatching input {ALL_SAMPLES[mismatches[0]]}"


def test_ulaw_decode_matches_g191_for_all_256_codes() -> None:
    expected = np.array([ref_ulaw_expand(c) for c in range(256)], dtype=np.int16)
    np.testing.assert_array_equal(PCMU.decode(bytes(range(256))), expected)


def test_alaw_decode_matches_g191_for_all_256_codes() -> None:
    expected = np.array([ref_alaw_expand(c) for c in range(256)], dtype=np.int16)
    np.testing.assert_array_equal(PCMA.decode(bytes(range(256))), expected)


@pytest.mark.parametrize("law", list(G711Law))
def test_decoding_then_encoding_gives_the_same_code_except_negative_zero(law: G711Law) -> None:
    codec = codec_for(law)
    codes = np.arange(256, dtype=np.uint8)
    again = codec.encode(codec.decode(codes))
    # µ-law has two codes for zero (0x7F "negative zero" and 0xFF); both decode to 0.
    differing = set(np.flatnonzero(again != codes).tolist())
    assert differing == ({0x7F} if law is G711Law.PCMU else set())


def test_silence_codes_are_the_codes_of_zero() -> None:
    zero = np.zeros(1, dtype=np.int16)
    assert PCMU.encode(zero)[0] == ULAW_SILENCE == G711Law.PCMU.silence_code
    assert PCMA.encode(zero)[0] == ALAW_SILENCE == G711Law.PCMA.silence_code


def test_encode_refuses_non_int16_input() -> None:
    with pytest.raises(TypeError, match="int16"):
        PCMU.encode(np.zeros(4, dtype=np.float32))


def test_payload_types_follow_rfc_3551() -> None:
    assert G711Law.from_payload_type(0) is G711Law.PCMU
    assert G711Law.from_payload_type(8) is G711Law.PCMA
    assert G711Law.from_payload_type(18) is None
    assert G711Law.PCMA.payload_type == 8


def speech_like(seconds: float, rate: int = 8000, seed: int = 7) -> np.ndarray:
    """Harmonic 'voiced' segments with a syllable envelope and pitch glide, at speech levels."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    pitch = 140 + 30 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(pitch) / rate
    voiced = sum(np.sin(k * phase) / k for k in range(1, 20))
    envelope = 0.25 + 0.75 * np.abs(np.sin(2 * np.pi * 2.5 * t))
    noise = rng.normal(0, 0.05, t.size)
    signal = (voiced * envelope + noise) / 3.0
    # Active speech level about -20 dBFS, the level G.711 is designed around.
    signal *= 0.1 * 32768 / np.sqrt(np.mean(signal**2))
    return np.clip(np.round(signal), -32768, 32767).astype(np.int16)


@pytest.mark.parametrize("law", list(G711Law))
def test_speech_like_signal_survives_g711_with_at_least_35_db_snr(law: G711Law) -> None:
    codec = codec_for(law)
    original = speech_like(3.0)
    decoded = codec.decode(codec.encode(original))
    ref = original.astype(np.float64)
    err = ref - decoded.astype(np.float64)
    snr = 10 * np.log10(np.sum(ref**2) / np.sum(err**2))
    assert snr >= 35.0, snr

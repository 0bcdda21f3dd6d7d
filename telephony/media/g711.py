"""G.711 µ-law (PCMU) and A-law (PCMA) codecs as numpy lookup tables, bit-exact with ITU-T G.191.

Inside Hotline audio is 16-bit linear PCM (numpy int16) at 8 kHz. G.711 itself is defined on
14-bit (µ-law) and 13-bit (A-law) linear samples; ITU-T G.191's reference code (``g711.c`` of
the Software Tool Library) feeds it 16-bit left-justified samples and drops the low bits by an
arithmetic right shift of the one's complement for negative values. We do exactly that:

* µ-law: ``x >> 2`` for x >= 0, ``(~x) >> 2`` for x < 0 (14-bit magnitude, sign kept apart);
* A-law: ``x >> 4`` for x >= 0, ``(~x) >> 4`` for x < 0 (13-bit).

Decoding yields the segment midpoints scaled back to 16 bits (µ-law ±32124, A-law ±32256).
``audioop`` truncates negative values differently (it disagrees with G.191 on 508 inputs, and
is gone in Python 3.13), which is why we build our own tables once at import time: a 65 536-entry
encode table indexed by the int16 bit pattern and a 256-entry decode table.
"""

from __future__ import annotations

import enum
from typing import Final

import numpy as np
import numpy.typing as npt

PcmArray = npt.NDArray[np.int16]
CodeArray = npt.NDArray[np.uint8]

# RFC 3551 §4.5.14: the PCMU code of linear zero is 0xFF, the PCMA code is 0xD5 (0x80 ^ 0x55).
ULAW_SILENCE: Final = 0xFF
ALAW_SILENCE: Final = 0xD5

# RFC 3551 table 4: static payload types of the two laws.
PCMU_PAYLOAD_TYPE: Final = 0
PCMA_PAYLOAD_TYPE: Final = 8


class G711Law(enum.Enum):
    """The two companding laws of ITU-T G.711, named by their RTP encoding (RFC 3551)."""

    PCMU = "PCMU"
    PCMA = "PCMA"

    @property
    def payload_type(self) -> int:
        return PCMU_PAYLOAD_TYPE if self is G711Law.PCMU else PCMA_PAYLOAD_TYPE

    @property
    def silence_code(self) -> int:
        return ULAW_SILENCE if self is G711Law.PCMU else ALAW_SILENCE

    @classmethod
    def from_payload_type(cls, payload_type: int) -> G711Law | None:
        """The law carried by a static payload type, or None for any other type."""
        if payload_type == PCMU_PAYLOAD_TYPE:
            return cls.PCMU
        if payload_type == PCMA_PAYLOAD_TYPE:
            return cls.PCMA
        return None


def _all_int16() -> npt.NDArray[np.int32]:
    # Index i of an encode table is the int16 whose bit pattern is i, so that
    # ``table[pcm.view(np.uint16)]`` encodes without any arithmetic per sample.
    return np.arange(65536, dtype=np.uint16).view(np.int16).astype(np.int32)


def _ulaw_encode_table() -> CodeArray:
    x = _all_int16()
    negative = x < 0
    # G.191: 14-bit magnitude (one's complement for negatives) plus the bias of 33.
    magnitude = np.where(negative, (~x) >> 2, x >> 2) + 33
    magnitude = np.minimum(magnitude, 0x1FFF)
    # Segment number = 1 + position of the highest set bit above bit 5 (bias makes it >= 1).
    segment = np.ones_like(magnitude)
    shifted = magnitude >> 6
    for _ in range(8):
        segment += shifted != 0
        shifted >>= 1
    high = 8 - segment
    low = 0x0F - ((magnitude >> segment) & 0x0F)
    code: npt.NDArray[np.int32] = (high << 4) | low
    code = np.where(negative, code, code | 0x80)
    return code.astype(np.uint8)


def _alaw_encode_table() -> CodeArray:
    x = _all_int16()
    negative = x < 0
    magnitude = np.where(negative, (~x) >> 4, x >> 4)
    # Exponent: 0 for magnitudes below 16 (linear segment), else position of the top bit - 3.
    exponent = np.zeros_like(magnitude)
    for bit in range(4, 11):
        exponent = np.where(magnitude >= (1 << bit), bit - 3, exponent)
    mantissa = np.where(exponent == 0, magnitude, (magnitude >> np.maximum(exponent - 1, 0)) - 16)
    code = (exponent << 4) + mantissa
    code = np.where(negative, code, code | 0x80)
    return (code ^ 0x55).astype(np.uint8)


def _ulaw_decode_table() -> PcmArray:
    codes = np.arange(256, dtype=np.int32)
    inverted = ~codes & 0xFF
    exponent = (inverted >> 4) & 0x07
    mantissa = inverted & 0x0F
    step = 4 << (exponent + 1)
    magnitude = (0x80 << exponent) + step * mantissa + step // 2 - 4 * 33
    return np.where(codes < 0x80, -magnitude, magnitude).astype(np.int16)


def _alaw_decode_table() -> PcmArray:
    codes = np.arange(256, dtype=np.int32)
    toggled = (codes ^ 0x55) & 0x7F
    exponent = toggled >> 4
    mantissa = toggled & 0x0F
    mantissa = np.where(exponent > 0, mantissa + 16, mantissa)
    magnitude = (mantissa << 4) + 8
    magnitude = np.where(exponent > 1, magnitude << np.maximum(exponent - 1, 0), magnitude)
    return np.where(codes > 0x7F, magnitude, -magnitude).astype(np.int16)


class G711Codec:
    """Encode and decode one law with lookup tables; arrays of any shape go through at once."""

    __slots__ = ("_decode", "_encode", "law")

    def __init__(self, law: G711Law) -> None:
        self.law = law
        if law is G711Law.PCMU:
            self._encode = _ulaw_encode_table()
            self._decode = _ulaw_decode_table()
        else:
            self._encode = _alaw_encode_table()
            self._decode = _alaw_decode_table()
        self._encode.setflags(write=False)
        self._decode.setflags(write=False)

    @property
    def encode_table(self) -> CodeArray:
        """Read-only 65 536-entry table: code = table[sample as uint16 bit pattern]."""
        return self._encode

    @property
    def decode_table(self) -> PcmArray:
        """Read-only 256-entry table: sample = table[code]."""
        return self._decode

    def encode(self, pcm: PcmArray) -> CodeArray:
        """Encode int16 samples (any shape) to G.711 codes of the same shape."""
        if pcm.dtype != np.int16:
            raise TypeError(f"G.711 encodes int16 samples, got {pcm.dtype}")
        # ndarray.take is about a third cheaper than fancy indexing on a 20 ms frame.
        return self._encode.take(pcm.view(np.uint16))

    def decode(self, codes: bytes | CodeArray) -> PcmArray:
        """Decode G.711 codes (bytes or uint8 array) to int16 samples."""
        if isinstance(codes, bytes | bytearray | memoryview):
            codes = np.frombuffer(codes, dtype=np.uint8)
        return self._decode.take(codes)


# One pair of codecs is plenty for the whole process: the tables are immutable.
PCMU: Final = G711Codec(G711Law.PCMU)
PCMA: Final = G711Codec(G711Law.PCMA)


def codec_for(law: G711Law) -> G711Codec:
    """The shared read-only codec instance of a law."""
    return PCMU if law is G711Law.PCMU else PCMA

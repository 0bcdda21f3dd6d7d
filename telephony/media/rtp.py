"""RTP wire format (RFC 3550 §5.1) as a frozen packet dataclass, and the modular-arithmetic helpers.

Everything that compares or advances a 16-bit sequence number or a 32-bit timestamp goes through
the ``uint16_*`` / ``uint32_*`` helpers here, so wrap-around is handled in exactly one place.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final

RTP_VERSION: Final = 2  # RFC 3550 §5.1
RTP_HEADER_SIZE: Final = 12  # RFC 3550 §5.1: fixed header before CSRCs
MAX_CSRC_COUNT: Final = 15  # RFC 3550 §5.1: the CC field is 4 bits
MAX_PAYLOAD_TYPE: Final = 127  # RFC 3550 §5.1: 7-bit PT
EXTENSION_HEADER_SIZE: Final = 4  # RFC 3550 §5.3.1: profile (16) + length in words (16)

_FIXED_HEADER = struct.Struct("!BBHII")
_EXTENSION_HEADER = struct.Struct("!HH")


class RtpParseError(ValueError):
    """The peer sent bytes that are not a valid RTP packet; drop it and count it."""


# --- wrap-around helpers: RFC 3550 §A.1 serial-number arithmetic ----------------------------


def uint16_add(a: int, b: int) -> int:
    return (a + b) & 0xFFFF


def uint16_diff(a: int, b: int) -> int:
    """Signed distance a - b on the 16-bit circle, in [-32768, 32767]."""
    return ((a - b + 0x8000) & 0xFFFF) - 0x8000


def uint16_gt(a: int, b: int) -> bool:
    """True if a comes after b, treating a half-circle ahead as 'after'."""
    return uint16_diff(a, b) > 0


def uint32_add(a: int, b: int) -> int:
    return (a + b) & 0xFFFFFFFF


def uint32_diff(a: int, b: int) -> int:
    """Signed distance a - b on the 32-bit circle."""
    return ((a - b + 0x80000000) & 0xFFFFFFFF) - 0x80000000


def uint32_gt(a: int, b: int) -> bool:
    return uint32_diff(a, b) > 0


@dataclass(frozen=True, slots=True)
class RtpExtension:
    """A header extension (RFC 3550 §5.3.1): a profile-defined id and whole 32-bit words."""

    profile: int
    data: bytes

    def __post_init__(self) -> None:
        if not 0 <= self.profile <= 0xFFFF:
            raise ValueError(f"extension profile {self.profile} is not 16 bits")
        if len(self.data) % 4:
            raise ValueError("extension data must be whole 32-bit words")


@dataclass(frozen=True, slots=True)
class RtpPacket:
    """One RTP packet. Padding is removed on parse and never added on serialize."""

    payload_type: int
    sequence_number: int
    timestamp: int
    ssrc: int
    payload: bytes = b""
    marker: bool = False
    csrc: tuple[int, ...] = ()
    extension: RtpExtension | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.payload_type <= MAX_PAYLOAD_TYPE:
            raise ValueError(f"payload type {self.payload_type} is not 7 bits")
        if not 0 <= self.sequence_number <= 0xFFFF:
            raise ValueError(f"sequence number {self.sequence_number} is not 16 bits")
        if not 0 <= self.timestamp <= 0xFFFFFFFF:
            raise ValueError(f"timestamp {self.timestamp} is not 32 bits")
        if not 0 <= self.ssrc <= 0xFFFFFFFF:
            raise ValueError(f"SSRC {self.ssrc} is not 32 bits")
        if len(self.csrc) > MAX_CSRC_COUNT:
            raise ValueError(f"{len(self.csrc)} CSRCs, at most {MAX_CSRC_COUNT} fit")

    @classmethod
    def parse(cls, data: bytes) -> RtpPacket:
        """Parse one datagram; raise RtpParseError saying precisely what is wrong."""
        if len(data) < RTP_HEADER_SIZE:
            raise RtpParseError("packet is truncated")
        first, second, seq, timestamp, ssrc = _FIXED_HEADER.unpack_from(data)
        version = first >> 6
        if version != RTP_VERSION:
            raise RtpParseError(f"bad RTP version {version}, expected {RTP_VERSION}")
        has_padding = bool(first & 0x20)
        has_extension = bool(first & 0x10)
        csrc_count = first & 0x0F
        pos = RTP_HEADER_SIZE
        end = len(data)
        if pos + 4 * csrc_count > end:
            raise RtpParseError(f"CSRC list of {csrc_count} entries is truncated")
        csrc = struct.unpack_from(f"!{csrc_count}I", data, pos) if csrc_count else ()
        pos += 4 * csrc_count
        extension = None
        if has_extension:
            if pos + EXTENSION_HEADER_SIZE > end:
                raise RtpParseError("header extension is truncated")
            profile, words = _EXTENSION_HEADER.unpack_from(data, pos)
            pos += EXTENSION_HEADER_SIZE
            if pos + 4 * words > end:
                raise RtpParseError(f"header extension of {words} words is truncated")
            extension = RtpExtension(profile, bytes(data[pos : pos + 4 * words]))
            pos += 4 * words
        if has_padding:
            # RFC 3550 §5.1: the last octet counts the padding octets, itself included.
            padding = data[-1]
            if padding == 0:
                raise RtpParseError("padding length is zero")
            if padding > end - pos:
                raise RtpParseError(f"padding length {padding} exceeds the payload")
            end -= padding
        return cls(
            payload_type=second & 0x7F,
            sequence_number=seq,
            timestamp=timestamp,
            ssrc=ssrc,
            payload=bytes(data[pos:end]),
            marker=bool(second & 0x80),
            csrc=tuple(csrc),
            extension=extension,
        )

    def serialize(self) -> bytes:
        first = RTP_VERSION << 6 | len(self.csrc)
        if self.extension is not None:
            first |= 0x10
        parts = [
            _FIXED_HEADER.pack(
                first,
                self.payload_type | (0x80 if self.marker else 0),
                self.sequence_number,
                self.timestamp,
                self.ssrc,
            )
        ]
        if self.csrc:
            parts.append(struct.pack(f"!{len(self.csrc)}I", *self.csrc))
        if self.extension is not None:
            ext = self.extension
            parts.append(_EXTENSION_HEADER.pack(ext.profile, len(ext.data) // 4))
            parts.append(ext.data)
        parts.append(self.payload)
        return b"".join(parts)

    def __bytes__(self) -> bytes:
        return self.serialize()

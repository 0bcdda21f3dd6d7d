"""RTP packet parse/serialize (RFC 3550 §5.1) and the wrap-around helpers (issue 3)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from telephony.media.rtp import (
    RtpExtension,
    RtpPacket,
    RtpParseError,
    uint16_add,
    uint16_diff,
    uint16_gt,
    uint32_add,
    uint32_diff,
    uint32_gt,
)

DATA = Path(__file__).parent / "data" / "rtp"


def fixture(name: str) -> bytes:
    return (DATA / name).read_bytes()


def test_parses_a_plain_pcmu_packet_and_serializes_it_back_byte_for_byte() -> None:
    raw = fixture("valid_pcmu_20ms.bin")
    packet = RtpPacket.parse(raw)
    assert packet.payload_type == 0
    assert packet.sequence_number == 1000
    assert packet.timestamp == 160000
    assert packet.ssrc == 0x11223344
    assert packet.payload == b"\xff" * 160
    assert not packet.marker
    assert packet.serialize() == raw
    assert bytes(packet) == raw


def test_parses_marker_csrcs_extension_and_strips_padding() -> None:
    packet = RtpPacket.parse(fixture("valid_marker_csrc_extension_padding.bin"))
    assert packet.marker
    assert packet.payload_type == 8
    assert packet.sequence_number == 65535
    assert packet.csrc == (0xAAAAAAAA, 0xBBBBBBBB)
    assert packet.extension == RtpExtension(0xBEDE, b"\x10\x01\x00\x00")
    assert packet.payload == b"\xd5" * 160
    # Re-serialized without padding, and that form round-trips exactly.
    again = RtpPacket.parse(packet.serialize())
    assert again == packet


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("truncated_fixed_header.bin", "packet is truncated"),
        ("bad_version_1.bin", "bad RTP version 1"),
        ("padding_length_zero.bin", "padding length is zero"),
        ("padding_longer_than_payload.bin", "padding length 5 exceeds the payload"),
        ("csrc_list_truncated.bin", "CSRC list of 3 entries is truncated"),
        ("extension_header_truncated.bin", "header extension is truncated"),
        ("extension_body_truncated.bin", "header extension of 3 words is truncated"),
    ],
)
def test_each_malformation_gets_its_precise_error(name: str, message: str) -> None:
    with pytest.raises(RtpParseError, match=message):
        RtpPacket.parse(fixture(name))


def test_every_prefix_of_a_valid_packet_parses_or_raises_the_parse_error_only() -> None:
    raw = fixture("valid_marker_csrc_extension_padding.bin")
    for cut in range(len(raw)):
        try:
            RtpPacket.parse(raw[:cut])
        except RtpParseError:
            pass


@given(st.binary(max_size=64))
def test_garbage_parses_or_raises_rtp_parse_error_never_anything_else(data: bytes) -> None:
    try:
        packet = RtpPacket.parse(data)
    except RtpParseError:
        return
    assert RtpPacket.parse(packet.serialize()) == packet


@given(
    pt=st.integers(0, 127),
    seq=st.integers(0, 0xFFFF),
    ts=st.integers(0, 0xFFFFFFFF),
    ssrc=st.integers(0, 0xFFFFFFFF),
    marker=st.booleans(),
    payload=st.binary(max_size=200),
    csrc=st.lists(st.integers(0, 0xFFFFFFFF), max_size=15),
)
def test_serialize_then_parse_is_identity(
    pt: int, seq: int, ts: int, ssrc: int, marker: bool, payload: bytes, csrc: list[int]
) -> None:
    packet = RtpPacket(pt, seq, ts, ssrc, payload, marker, tuple(csrc))
    assert RtpPacket.parse(packet.serialize()) == packet


def test_constructor_refuses_fields_that_do_not_fit_their_bits() -> None:
    with pytest.raises(ValueError, match="payload type"):
        RtpPacket(128, 0, 0, 0)
    with pytest.raises(ValueError, match="sequence number"):
        RtpPacket(0, 65536, 0, 0)
    with pytest.raises(ValueError, match="16 CSRCs"):
        RtpPacket(0, 0, 0, 0, csrc=tuple(range(16)))


def test_sequence_helpers_wrap_around_at_16_bits() -> None:
    assert uint16_add(65535, 1) == 0
    assert uint16_diff(0, 65535) == 1
    assert uint16_diff(65535, 0) == -1
    assert uint16_gt(2, 65530)
    assert not uint16_gt(65530, 2)
    assert not uint16_gt(7, 7)


def test_timestamp_helpers_wrap_around_at_32_bits() -> None:
    assert uint32_add(0xFFFFFF60, 160) == 0
    assert uint32_diff(0, 0xFFFFFF60) == 160
    assert uint32_gt(100, 0xFFFFFF00)
    assert not uint32_gt(0xFFFFFF00, 100)

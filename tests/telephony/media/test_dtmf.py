"""RFC 4733 telephone events (send and receive) and SIP INFO DTMF bodies (issue 3)."""

from __future__ import annotations

import pytest

from telephony.media.dtmf import (
    DtmfDigit,
    DtmfEnded,
    DtmfEvent,
    DtmfKey,
    DtmfParseError,
    DtmfSource,
    TelephoneEvent,
    TelephoneEventReceiver,
    parse_info_dtmf,
    telephone_event_frames,
)


def test_event_codes_follow_rfc_4733_table() -> None:
    assert DtmfKey.ZERO.event_code == 0
    assert DtmfKey.NINE.event_code == 9
    assert DtmfKey.STAR.event_code == 10
    assert DtmfKey.POUND.event_code == 11
    assert DtmfKey.D.event_code == 15
    assert DtmfKey.from_event_code(11) is DtmfKey.POUND
    assert DtmfKey.from_event_code(16) is None  # flash is not a DTMF key


def test_payload_parses_and_serializes_symmetrically() -> None:
    raw = bytes([5, 0x80 | 10, 0x03, 0x20])
    event = TelephoneEvent.parse(raw)
    assert event == TelephoneEvent(event=5, end=True, volume=10, duration=800)
    assert event.serialize() == raw


def test_truncated_payload_is_a_parse_error() -> None:
    with pytest.raises(DtmfParseError, match="truncated"):
        TelephoneEvent.parse(b"\x05\x80\x03")


def test_sender_produces_marker_updates_and_three_end_packets() -> None:
    frames = telephone_event_frames(DtmfKey.FIVE, duration_ms=100)
    events = [TelephoneEvent.parse(f.payload) for f in frames]
    assert [f.marker for f in frames] == [True] + [False] * 6
    assert [e.duration for e in events] == [160, 320, 480, 640, 800, 800, 800]
    assert [e.end for e in events] == [False] * 4 + [True] * 3
    assert {e.event for e in events} == {5}


def test_sender_refuses_an_event_shorter_than_a_packet() -> None:
    with pytest.raises(ValueError, match="shorter"):
        telephone_event_frames(DtmfKey.ONE, duration_ms=10)


def feed(receiver: TelephoneEventReceiver, ts: int, key: DtmfKey, ms: int) -> list[DtmfEvent]:
    events: list[DtmfEvent] = []
    for i, frame in enumerate(telephone_event_frames(key, duration_ms=ms)):
        events += receiver.receive(ts, frame.payload, now=i * 0.02)
    return events


def test_a_key_press_is_reported_at_key_down_and_its_duration_at_the_end() -> None:
    receiver = TelephoneEventReceiver()
    frames = telephone_event_frames(DtmfKey.POUND, duration_ms=120)
    first = receiver.receive(1000, frames[0].payload, now=0.0)
    # The digit is known from the very first packet: a prompt can stop at once.
    assert first == [DtmfDigit(DtmfKey.POUND, None, DtmfSource.RFC4733, rtp_timestamp=1000)]
    rest: list[DtmfEvent] = []
    for i, frame in enumerate(frames[1:], start=1):
        rest += receiver.receive(1000, frame.payload, now=i * 0.02)
    # Three end packets, one end reported.
    assert rest == [DtmfEnded(DtmfKey.POUND, 120, rtp_timestamp=1000)]


def test_the_same_key_twice_gives_two_digits() -> None:
    receiver = TelephoneEventReceiver()
    events = feed(receiver, 1000, DtmfKey.ONE, 100) + feed(receiver, 5000, DtmfKey.ONE, 100)
    digits = [e for e in events if isinstance(e, DtmfDigit)]
    assert [(d.key, d.rtp_timestamp) for d in digits] == [(DtmfKey.ONE, 1000), (DtmfKey.ONE, 5000)]
    assert sum(isinstance(e, DtmfEnded) for e in events) == 2


def test_only_end_packets_still_give_one_digit_with_its_duration() -> None:
    receiver = TelephoneEventReceiver()
    end = telephone_event_frames(DtmfKey.EIGHT, duration_ms=80)[-1]
    events = [e for _ in range(3) for e in receiver.receive(40, end.payload, 0.0)]
    assert events == [
        DtmfDigit(DtmfKey.EIGHT, 80, DtmfSource.RFC4733, rtp_timestamp=40),
        DtmfEnded(DtmfKey.EIGHT, 80, rtp_timestamp=40),
    ]


def test_an_event_whose_ends_were_all_lost_ends_on_timeout() -> None:
    receiver = TelephoneEventReceiver(event_timeout=0.5)
    events: list[DtmfEvent] = []
    for i, frame in enumerate(telephone_event_frames(DtmfKey.SEVEN, duration_ms=100)):
        if not frame.end:
            events += receiver.receive(320, frame.payload, now=i * 0.02)
    assert [type(e) for e in events] == [DtmfDigit]
    assert receiver.poll(now=0.3) is None
    assert receiver.poll(now=0.7) == DtmfEnded(DtmfKey.SEVEN, 80, rtp_timestamp=320)
    assert receiver.poll(now=5.0) is None


def test_an_event_without_end_ends_when_the_next_event_starts() -> None:
    receiver = TelephoneEventReceiver()
    first = telephone_event_frames(DtmfKey.TWO)[0]
    assert [type(e) for e in receiver.receive(100, first.payload, 0.0)] == [DtmfDigit]
    events = feed(receiver, 2000, DtmfKey.THREE, 100)
    assert events[0] == DtmfEnded(DtmfKey.TWO, 20, rtp_timestamp=100)
    assert events[1] == DtmfDigit(DtmfKey.THREE, None, DtmfSource.RFC4733, rtp_timestamp=2000)


def test_late_end_packets_of_an_old_event_do_not_repeat_it() -> None:
    receiver = TelephoneEventReceiver()
    end = telephone_event_frames(DtmfKey.FOUR)[-1]
    assert len(receiver.receive(100, end.payload, 0.0)) == 2
    feed(receiver, 2000, DtmfKey.SIX, 100)
    assert receiver.receive(100, end.payload, 1.0) == []


def test_non_dtmf_events_are_ignored() -> None:
    receiver = TelephoneEventReceiver()
    flash = TelephoneEvent(16, True, 10, 800).serialize()
    assert receiver.receive(100, flash, 0.0) == []


@pytest.mark.parametrize(
    ("content_type", "body", "expected"),
    [
        ("application/dtmf-relay", b"Signal=5\r\nDuration=160\r\n", (DtmfKey.FIVE, 160)),
        ("Application/DTMF-Relay; charset=x", b"signal= *\nduration=250", (DtmfKey.STAR, 250)),
        ("application/dtmf-relay", b"Signal=11\r\nDuration=100", (DtmfKey.POUND, 100)),
        ("application/dtmf-relay", b"Signal=d\r\n", (DtmfKey.D, None)),
        ("application/dtmf", b"9", (DtmfKey.NINE, None)),
        ("application/dtmf", b"#\r\n", (DtmfKey.POUND, None)),
    ],
)
def test_info_bodies_from_common_phones_parse(
    content_type: str, body: bytes, expected: tuple[DtmfKey, int | None]
) -> None:
    digit = parse_info_dtmf(content_type, body)
    assert digit == DtmfDigit(expected[0], expected[1], DtmfSource.SIP_INFO)


def test_info_with_another_content_type_is_not_dtmf() -> None:
    assert parse_info_dtmf("application/media_control+xml", b"<x/>") is None


@pytest.mark.parametrize(
    ("content_type", "body", "message"),
    [
        ("application/dtmf-relay", b"Duration=160", "no Signal"),
        ("application/dtmf-relay", b"Signal=X", "unknown DTMF signal"),
        ("application/dtmf-relay", b"Signal=5\r\nDuration=abc", "not a number"),
        ("application/dtmf-relay", b"Signal 5", "has no '='"),
        ("application/dtmf", b"\xff", "not ASCII"),
        ("application/dtmf", b"55", "unknown DTMF signal"),
        ("application/dtmf", b"5" * 2000, "too large"),
    ],
)
def test_malformed_info_bodies_raise_a_clear_error(
    content_type: str, body: bytes, message: str
) -> None:
    with pytest.raises(DtmfParseError, match=message):
        parse_info_dtmf(content_type, body)

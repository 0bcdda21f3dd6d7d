"""Receive-side reorder buffer: order, duplicates, late packets and loss spans (issue 3)."""

from __future__ import annotations

import pytest

from telephony.media.jitterbuffer import (
    JitterBuffer,
    LostPayload,
    PutResult,
    ReceivedPayload,
)
from telephony.media.rtp import RtpPacket

FRAME = 160


def pkt(seq: int, ts: int | None = None, payload_len: int = FRAME) -> RtpPacket:
    seq16 = seq & 0xFFFF
    timestamp = (seq * FRAME if ts is None else ts) & 0xFFFFFFFF
    return RtpPacket(0, seq16, timestamp, 1234, bytes([seq16 & 0xFF]) * payload_len)


def seqs(outputs: list[ReceivedPayload | LostPayload]) -> list[object]:
    result: list[object] = []
    for o in outputs:
        if isinstance(o, ReceivedPayload):
            result.append(o.packet.sequence_number)
        else:
            result.append(("lost", o.first_sequence_number, o.count, o.samples))
    return result


def test_in_order_packets_pass_straight_through() -> None:
    jb = JitterBuffer()
    out = []
    for i in range(5):
        assert jb.put(pkt(i), now=i * 0.02) is PutResult.QUEUED
        out += jb.pop(now=i * 0.02)
    assert seqs(out) == [0, 1, 2, 3, 4]
    assert jb.stats.lost == 0


def test_swapped_packets_come_out_in_sequence_order() -> None:
    jb = JitterBuffer(max_wait=0.06)
    jb.put(pkt(10), 0.0)
    first = jb.pop(0.0)
    jb.put(pkt(12), 0.02)
    waiting = jb.pop(0.02)
    jb.put(pkt(11), 0.03)
    rest = jb.pop(0.03)
    assert seqs(first) == [10]
    assert waiting == []
    assert seqs(rest) == [11, 12]
    assert jb.stats.lost == 0


def test_duplicates_and_late_packets_are_dropped_and_counted() -> None:
    jb = JitterBuffer()
    jb.put(pkt(1), 0.0)
    jb.put(pkt(3), 0.0)
    assert jb.put(pkt(3), 0.01) is PutResult.DUPLICATE
    jb.pop(0.0)
    assert jb.put(pkt(1), 0.02) is PutResult.LATE
    assert jb.stats.duplicates == 1
    assert jb.stats.late == 1


def test_a_gap_is_declared_lost_after_max_wait_with_the_missing_timestamp_span() -> None:
    jb = JitterBuffer(max_wait=0.06)
    jb.put(pkt(0), 0.0)
    jb.pop(0.0)
    jb.put(pkt(3), 0.02)  # 1 and 2 are missing
    assert jb.pop(0.079) == []
    out = jb.pop(0.08)
    assert seqs(out) == [("lost", 1, 2, 2 * FRAME), 3]
    lost = out[0]
    assert isinstance(lost, LostPayload)
    assert lost.timestamp == 1 * FRAME
    assert jb.stats.lost == 2
    # A packet of the gap arriving afterwards is too late to be used.
    assert jb.put(pkt(2), 0.1) is PutResult.LATE


def test_a_full_buffer_declares_the_gap_lost_without_waiting() -> None:
    jb = JitterBuffer(max_wait=10.0, capacity=3)
    jb.put(pkt(0), 0.0)
    jb.pop(0.0)
    for s in (2, 3, 4):
        jb.put(pkt(s), 0.0)
    assert seqs(jb.pop(0.0)) == [("lost", 1, 1, FRAME), 2, 3, 4]


def test_loss_span_follows_the_timestamps_when_packets_carry_30_ms() -> None:
    jb = JitterBuffer(max_wait=0.0)
    jb.put(pkt(0, ts=0, payload_len=240), 0.0)
    jb.put(pkt(2, ts=480, payload_len=240), 0.0)
    out = jb.pop(0.0)
    assert seqs(out) == [0, ("lost", 1, 1, 240), 2]


def test_sequence_and_timestamp_wrap_around_without_a_false_loss() -> None:
    jb = JitterBuffer(max_wait=0.0)
    out = []
    for seq in range(65533, 65539):
        jb.put(pkt(seq, ts=0xFFFFFFFF - 3 * FRAME + (seq - 65533) * FRAME), 0.0)
        out += jb.pop(0.0)
    assert seqs(out) == [65533, 65534, 65535, 0, 1, 2]
    assert jb.stats.lost == 0


def test_loss_across_the_wrap_reports_the_right_span() -> None:
    jb = JitterBuffer(max_wait=0.0)
    jb.put(pkt(65535, ts=0xFFFFFF60), 0.0)
    jb.put(pkt(1, ts=160), 0.0)
    assert seqs(jb.pop(0.0)) == [65535, ("lost", 0, 1, FRAME), 1]


def test_a_huge_sequence_jump_restarts_the_buffer() -> None:
    jb = JitterBuffer()
    jb.put(pkt(100), 0.0)
    jb.pop(0.0)
    assert jb.put(pkt(30000), 0.02) is PutResult.RESTARTED
    assert seqs(jb.pop(0.02)) == [30000]
    assert jb.stats.restarts == 1


def test_flush_releases_everything_declaring_the_gaps() -> None:
    jb = JitterBuffer(max_wait=10.0)
    jb.put(pkt(0), 0.0)
    jb.put(pkt(2), 0.0)
    assert seqs(jb.flush()) == [0, ("lost", 1, 1, FRAME), 2]
    assert len(jb) == 0


def test_zero_sample_packets_such_as_telephone_events_do_not_move_the_audio_clock() -> None:
    jb = JitterBuffer(max_wait=0.0)
    jb.put(pkt(0, ts=0), 0.0)
    jb.put(pkt(1, ts=160, payload_len=4), 0.0, samples=0)  # an RFC 4733 event
    jb.put(pkt(3, ts=320), 0.0)
    out = jb.pop(0.0)
    assert seqs(out) == [0, 1, ("lost", 2, 1, FRAME), 3]


def test_invalid_configuration_is_refused() -> None:
    with pytest.raises(ValueError, match="capacity"):
        JitterBuffer(capacity=0)
    with pytest.raises(ValueError, match="max_wait"):
        JitterBuffer(max_wait=-1)


def test_the_fast_path_takes_only_the_next_packet_when_nothing_waits() -> None:
    jb = JitterBuffer(max_wait=0.0)
    assert not jb.take_if_next(0, 0, FRAME)  # nothing received yet: no expectation
    jb.put(pkt(0), 0.0)
    jb.pop(0.0)
    assert jb.take_if_next(1, FRAME, FRAME)
    assert not jb.take_if_next(3, 3 * FRAME, FRAME)  # a gap: must go through put()
    jb.put(pkt(3), 0.0)
    assert not jb.take_if_next(2, 2 * FRAME, FRAME)  # something is queued
    # The fast-path packet counts, and the loss span after it is still right.
    assert seqs(jb.pop(0.0)) == [("lost", 2, 1, FRAME), 3]
    assert jb.stats.released == 3
    assert jb.stats.lost == 1

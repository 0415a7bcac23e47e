"""RTP packets, the jitter buffer and RFC 4733 key presses, packet by packet."""

from __future__ import annotations

import struct

import pytest

from callwright.server.sip.rtp import (
    MAX_GAP_FILL,
    JitterBuffer,
    RtpError,
    RtpPacket,
    TelephoneEvents,
    is_rtcp,
    parse_rtp,
)


def test_packet_round_trip_and_wrap():
    p = RtpPacket(0, 65535, 2**32 - 80, 0xDEADBEEF, b"\xff" * 160, marker=True)
    q = parse_rtp(p.to_bytes())
    assert q == p
    assert parse_rtp(RtpPacket(8, 65536 + 3, 2**32 + 5, 1, b"x").to_bytes()).seq == 3


def test_csrc_extension_and_padding_are_skipped():
    header = struct.pack("!BBHII", 0x80 | 0x20 | 0x10 | 1, 0, 7, 160, 9)
    data = header + b"CSRC" + struct.pack("!HH", 0xBEDE, 1) + b"EXT!" + b"payload" + b"\x00\x00\x03"
    assert parse_rtp(data).payload == b"payload"


@pytest.mark.parametrize(
    "data, why",
    [
        (b"\x80\x00", "not an RTP packet"),
        (b"\x40" + b"\x00" * 11, "version 1"),
        (b"\x8f" + b"\x00" * 11, "longer than the packet"),
        (b"\x90" + b"\x00" * 11, "truncated"),
        (b"\x80" * 1600, "not an RTP packet"),
    ],
)
def test_bad_packets(data, why):
    with pytest.raises(RtpError, match=why):
        parse_rtp(data)


def test_rtcp_is_recognised():
    assert is_rtcp(bytes([0x80, 200]) + b"\x00" * 6) and not is_rtcp(bytes([0x80, 0]) + b"\x00" * 10)


def test_jitter_buffer_reorders():
    jb = JitterBuffer()
    for seq in (10, 12, 11, 13):
        jb.push(seq, bytes([seq]), 0.0)
    assert jb.pop(0.0) == [bytes([s]) for s in (10, 11, 12, 13)]


def test_duplicates_and_late_packets_are_dropped():
    jb = JitterBuffer()
    jb.push(1, b"a", 0.0)
    jb.push(1, b"a", 0.0)
    assert jb.pop(0.0) == [b"a"] and jb.duplicates == 1
    jb.push(0, b"late", 0.01)
    jb.push(2, b"b", 0.01)
    jb.push(2, b"b", 0.01)
    assert jb.pop(0.01) == [b"b"] and jb.late == 1 and jb.duplicates == 2


def test_a_gap_waits_then_counts_as_lost():
    jb = JitterBuffer(depth=5, max_wait_s=0.06)
    jb.push(100, b"a", 0.0)
    assert jb.pop(0.0) == [b"a"]
    jb.push(102, b"c", 0.02)  # 101 is missing
    assert jb.pop(0.03) == []  # still waiting for it
    assert jb.pop(0.09) == [b"", b"c"]  # given up: one silent frame, then c
    assert jb.lost == 1
    jb.push(101, b"b", 0.1)  # arrives after all: too late
    assert jb.pop(0.1) == [] and jb.late == 1


def test_depth_is_bounded():
    jb = JitterBuffer(depth=3, max_wait_s=10.0)
    jb.push(0, b"0", 0.0)
    jb.pop(0.0)
    for seq in (2, 3, 4):  # 1 never comes; the buffer is full at 3
        jb.push(seq, bytes([seq]), 0.0)
    assert jb.pop(0.0) == [b"", b"\x02", b"\x03", b"\x04"]


def test_a_long_gap_fills_at_most_max_gap_fill_frames():
    jb = JitterBuffer(depth=1)
    jb.push(0, b"0", 0.0)
    jb.pop(0.0)
    jb.push(500, b"x", 0.0)
    out = jb.pop(1.0)
    assert out.count(b"") == MAX_GAP_FILL and out[-1] == b"x"


def test_sequence_wraps_and_restarts():
    jb = JitterBuffer()
    for seq in (65534, 65535, 0, 1):
        jb.push(seq, b"%d" % seq, 0.0)
    assert jb.pop(0.0) == [b"65534", b"65535", b"0", b"1"]
    jb.push(30000, b"new", 0.1)  # a sender that restarted far away is followed
    assert jb.pop(0.1) == [b"new"]


def test_telephone_event_placeholders_keep_the_sequence():
    jb = JitterBuffer()
    jb.push(1, b"a", 0.0)
    jb.push(2, None, 0.0)
    jb.push(3, b"c", 0.0)
    assert jb.pop(0.0) == [b"a", None, b"c"]


def ev(key: int, end: bool, duration: int = 400) -> bytes:
    return struct.pack("!BBH", key, (0x80 if end else 0) | 10, duration)


def test_one_key_per_press_with_retransmitted_ends():
    te = TelephoneEvents()
    got = []
    for payload in (ev(5, False), ev(5, False), ev(5, True), ev(5, True), ev(5, True)):
        got += te.receive(1600, payload)
    assert got == ["5"]


def test_the_same_key_twice_is_two_presses():
    te = TelephoneEvents()
    got = te.receive(1600, ev(1, True)) + te.receive(1600, ev(1, True)) + te.receive(4800, ev(1, True))
    assert got == ["1", "1"]


def test_a_press_whose_end_was_lost_is_reported_when_the_next_starts():
    te = TelephoneEvents()
    assert te.receive(100, ev(11, False)) == []  # '#' starts, its ends are lost
    assert te.receive(900, ev(10, False)) == ["#"]
    assert te.receive(900, ev(10, True)) == ["*"]


def test_other_events_and_short_payloads_are_ignored():
    te = TelephoneEvents()
    assert te.receive(1, ev(16, True)) == []  # flash hook: not a key
    assert te.receive(2, b"\x01") == []
    assert te.receive(3, ev(15, True)) == ["D"]

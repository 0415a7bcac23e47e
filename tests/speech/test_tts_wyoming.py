"""Speech as a service, the TTS side (issue 14, item 6): `callwright speech-server` serves
espeak-ng over Wyoming, `WyomingSynthesizer` speaks prompts from any Wyoming TTS server, and
a server that is down, hangs, trickles, closes mid-stream or talks nonsense is a clear
CallwrightError within bounded time (all on 127.0.0.1, free ports, the real engine).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from callwright.errors import CallwrightError
from callwright.speech.asr.wyoming import encode_event
from callwright.speech.audio import read_audio
from callwright.speech.tts import CachedSynthesizer, SynthesisError, get_synthesizer, synthesizer_engine
from callwright.speech.tts.wyoming import WyomingSynthesizer
from callwright.speech.tts.wyoming_server import SERVE_RATE, SynthesisService
from tests.wyoming_background import Background

ROOT = Path(__file__).resolve().parents[2]
src_path = str(ROOT / "src")  # the children run this checkout's code
PROMPT = "Welcome to Acme. For billing, press one."


@pytest.fixture(scope="module")
def served(engine) -> Iterator[Background]:
    bg = Background(None, services=[SynthesisService(engine)])
    yield bg
    bg.stop()


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))


# --- interoperability: the `wyoming` package's own client against our server --------------------


def test_the_wyoming_package_client_gets_info_and_audio(served) -> None:
    from wyoming.audio import AudioChunk, AudioStart, AudioStop
    from wyoming.client import AsyncTcpClient
    from wyoming.info import Describe, Info
    from wyoming.tts import Synthesize, SynthesizeVoice

    async def talk() -> tuple[Info, AudioStart, list[AudioChunk], AudioStop]:
        async with AsyncTcpClient("127.0.0.1", served.port) as client:
            await client.write_event(Describe().event())
            info_ev = await asyncio.wait_for(client.read_event(), 10)
            assert info_ev is not None and Info.is_type(info_ev.type)
            info = Info.from_event(info_ev)
            await client.write_event(Synthesize(PROMPT, voice=SynthesizeVoice(name="en-us")).event())
            start, chunks = None, []
            while True:
                ev = await asyncio.wait_for(client.read_event(), 30)
                assert ev is not None
                if AudioStart.is_type(ev.type):
                    start = AudioStart.from_event(ev)
                elif AudioChunk.is_type(ev.type):
                    chunks.append(AudioChunk.from_event(ev))
                elif AudioStop.is_type(ev.type):
                    assert start is not None
                    return info, start, chunks, AudioStop.from_event(ev)

    info, start, chunks, stop = asyncio.run(talk())
    (program,) = info.tts
    assert program.installed and program.name == "callwright-espeak-ng"
    names = {v.name for v in program.voices}
    assert {"en-us", "es"} <= names
    assert info.asr == []  # this server was started without a recogniser
    assert (start.rate, start.width, start.channels) == (SERVE_RATE, 2, 1)
    samples = np.frombuffer(b"".join(c.audio for c in chunks), dtype="<i2")
    duration = samples.size / start.rate
    assert 1.0 < duration < 6.0, duration  # a dozen words at 175 words per minute
    assert stop.timestamp == int(1000 * duration) and rms(samples) > 300


# --- our client ------------------------------------------------------------------------------


@pytest.mark.parametrize("rate", [8000, 16000])
def test_the_client_gets_the_same_speech_as_the_engine_in_process(served, engine, rate: int) -> None:
    remote = WyomingSynthesizer(served.address)
    audio = remote.synthesize(PROMPT, voice="en-us", sample_rate=rate)
    local = engine.synthesize(PROMPT, voice="en-us", sample_rate=rate)
    assert audio.rate == rate and audio.channels == 1
    assert 1.0 < audio.duration_s < 6.0
    assert abs(audio.duration_s - local.duration_s) < 0.02  # one engine, resampled once either way
    assert rms(audio.samples) > 300


def test_voices_rate_and_language_reach_the_server(served, engine) -> None:
    remote = WyomingSynthesizer(served.address)
    assert remote.settings(language="es").voice == "es"
    settings = remote.settings(voice="en-gb", rate_wpm=150)
    local = engine.settings(voice="en-gb")  # the same voice as the engine picks in-process
    assert (settings.voice, settings.language, settings.rate_wpm) == (
        local.voice.rsplit("/", 1)[-1],
        local.language,
        150,
    )
    assert settings.engine.startswith("wyoming:callwright-espeak-ng/")
    slow = remote.synthesize(PROMPT, rate_wpm=110).duration_s
    fast = remote.synthesize(PROMPT, rate_wpm=300).duration_s
    assert slow > 1.5 * fast  # the speaking rate went to the engine on the server


def test_a_bad_voice_is_a_clear_error_and_the_server_goes_on(served) -> None:
    remote = WyomingSynthesizer(served.address)
    with pytest.raises(SynthesisError, match="unknown TTS voice 'no-such-voice'"):
        remote.synthesize("hello", voice="no-such-voice")  # resolved against the server's voices
    before = served.server.services[0].served
    remote.synthesize("hello", voice="en-us")
    assert served.server.services[0].served == before + 1


def test_the_cache_stands_in_front_of_the_server(served, tmp_path) -> None:
    synth = get_synthesizer(served.address, cache_dir=tmp_path)
    assert isinstance(synth, CachedSynthesizer) and isinstance(synth.inner, WyomingSynthesizer)
    before = served.server.services[0].served
    first = synth.synthesize(PROMPT)
    second = synth.synthesize(PROMPT)
    assert (synth.misses, synth.hits) == (1, 1) and served.server.services[0].served == before + 1
    assert np.array_equal(first.samples, second.samples)
    synth.synthesize("I heard 4 1 1 1.", cache=False)  # caller data: rendered, never stored
    assert served.server.services[0].served == before + 2 and len(list(tmp_path.glob("??/*.wav"))) == 1


def test_engine_specs() -> None:
    assert type(synthesizer_engine("espeak")).__name__ == "Pyttsx3Synthesizer"
    remote = synthesizer_engine("wyoming://127.0.0.1:10200")
    assert isinstance(remote, WyomingSynthesizer) and remote.address.port == 10200
    for bad in ("piper", "wyoming://", "wyoming://host:99999"):
        with pytest.raises(CallwrightError):
            synthesizer_engine(bad)


# --- the server refuses bad requests ---------------------------------------------------------


def talk(port: int, data: bytes, timeout: float = 10) -> list[dict]:
    """Send raw bytes; the events answered (headers with data merged) until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        raw = b""
        while chunk := s.recv(65536):
            raw += chunk
    out, rest = [], raw
    while rest:
        line, _, rest = rest.partition(b"\n")
        header = json.loads(line)
        extra, rest = rest[: header.get("data_length", 0)], rest[header.get("data_length", 0) :]
        rest = rest[header.get("payload_length", 0) :]
        out.append({**header, **(json.loads(extra) if extra else {})})
    return out


@pytest.mark.parametrize(
    ("event", "says"),
    [
        (encode_event("synthesize", {"text": "  "}), "needs a text"),
        (encode_event("synthesize", {"text": "x" * 5001}), "over 5000 characters"),
        (encode_event("synthesize", {"text": "hi", "voice": "en-us"}), "must be an object"),
        (encode_event("synthesize", {"text": "hi", "rate_wpm": "fast"}), "words per minute"),
        (encode_event("transcribe") + encode_event("audio-stop"), "no recogniser"),
    ],
)
def test_the_server_answers_bad_requests_with_an_error_and_goes_on(served, event: bytes, says: str) -> None:
    events = talk(served.port, event)
    assert events[-1]["type"] == "error" and says in events[-1]["text"], events
    assert WyomingSynthesizer(served.address).synthesize("still here").duration_s > 0.2


def test_a_rate_out_of_range_fails_that_request_only(served) -> None:
    events = talk(
        served.port,
        encode_event("synthesize", {"text": "hi", "rate_wpm": 9000})
        + encode_event("synthesize", {"text": "hi"}),
    )
    kinds = [e["type"] for e in events]
    assert kinds[0] == "error" and "words per minute" in events[0]["text"]
    assert kinds[1] == "audio-start" and kinds[-1] == "audio-stop"


# --- servers that misbehave --------------------------------------------------------------------


class FakeServer:
    """A TCP server on 127.0.0.1 that reads one request, then does `reply(conn)`."""

    def __init__(self, reply: Callable[[socket.socket], None]) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.address = f"wyoming://127.0.0.1:{self.sock.getsockname()[1]}"
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
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        try:
            conn.recv(65536)
            self._reply(conn)
        except OSError:
            pass

    def close(self) -> None:
        self.sock.close()
        for c in self._conns:
            c.close()


INFO = encode_event(
    "info",
    {
        "tts": [
            {
                "name": "fake",
                "version": "1",
                "installed": True,
                "voices": [{"name": "v", "languages": ["en"]}],
            }
        ]
    },
)
FMT = {"rate": 16000, "width": 2, "channels": 1}


def answering(*parts: bytes, then: str = "close") -> Callable[[socket.socket], None]:
    """Answer `describe` with INFO and `synthesize` with `parts`, then close, hold or trickle."""

    def reply(conn: socket.socket) -> None:
        conn.sendall(INFO)  # the client's first connection is its describe
        conn.close()

    def render(conn: socket.socket) -> None:
        for part in parts:
            conn.sendall(part)
        if then == "hold":
            time.sleep(30)
        elif then == "trickle":
            conn.sendall(b'{"type": "audio-chunk", "data": {"rate": 16000, "width": 2, "channels": 1}')
            for _ in range(300):
                conn.sendall(b" ")  # never a whole header line
                time.sleep(0.1)
        conn.close()

    count = {"n": 0}

    def dispatch(conn: socket.socket) -> None:
        count["n"] += 1
        (reply if count["n"] == 1 else render)(conn)

    return dispatch


@pytest.mark.parametrize(
    ("parts", "then", "says"),
    [
        ((encode_event("audio-start", FMT), b'{"type": "audio-chunk", "payload_length": 3200}\n' + b"\0" * 100),
         "close", "closed the connection in the middle of an event"),
        ((encode_event("audio-start", FMT),), "close", "closed the connection without answering"),
        ((encode_event("audio-start", FMT),), "hold", "did not answer within 0.5 s"),
        ((encode_event("audio-start", FMT),), "trickle", "did not finish within 2 s"),
        ((b"HTTP/1.1 400 Bad Request\r\n\r\n",), "close", "not a Wyoming event"),
        ((json.dumps({"type": "audio-chunk", "payload_length": 1 << 30}).encode() + b"\n",), "close",
         "over the limit"),
        ((encode_event("error", {"text": "voice not loaded"}),), "close", "answered an error: voice not loaded"),
        ((encode_event("audio-start", FMT), encode_event("audio-stop")), "close", "answered with no audio"),
        ((encode_event("audio-chunk", {**FMT, "width": 1}, b"\0\0"), encode_event("audio-stop")), "close",
         "only 16-bit audio"),
        ((encode_event("audio-chunk", FMT, b"\0\0\0"), encode_event("audio-stop")), "close",
         "not whole 16-bit frames"),
    ],
)  # fmt: skip
def test_a_server_that_misbehaves_is_a_clear_error_in_bounded_time(parts, then, says) -> None:
    fake = FakeServer(answering(*parts, then=then))
    try:
        remote = WyomingSynthesizer(
            fake.address, reply_timeout_s=0.5 if then == "hold" else 5, render_timeout_s=2
        )
        started = time.monotonic()
        with pytest.raises(SynthesisError, match=says) as err:
            remote.synthesize("hello", sample_rate=8000)
        assert fake.address in str(err.value)
        assert time.monotonic() - started < 6
    finally:
        fake.close()


def test_a_dead_server_and_an_asr_only_server_are_named() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"wyoming://127.0.0.1:{s.getsockname()[1]}"
    with pytest.raises(SynthesisError, match=f"cannot reach the Wyoming TTS server {dead}") as err:
        WyomingSynthesizer(dead).synthesize("hello")
    assert "speech-server" in str(err.value)
    fake = FakeServer(
        lambda conn: conn.sendall(encode_event("info", {"asr": [{"name": "whisper"}], "tts": []}))
    )
    try:
        with pytest.raises(SynthesisError, match="offers no text-to-speech"):
            WyomingSynthesizer(fake.address).voices()
    finally:
        fake.close()


def test_a_server_with_a_single_stereo_voice_is_mixed_to_mono() -> None:
    stereo = np.stack([np.full(1600, 1000, "<i2"), np.full(1600, 3000, "<i2")], axis=1)
    fmt = {"rate": 16000, "width": 2, "channels": 2}
    fake = FakeServer(
        answering(encode_event("audio-start", fmt), encode_event("audio-chunk", fmt, stereo.tobytes()),
                  encode_event("audio-stop"))
    )  # fmt: skip
    try:
        audio = WyomingSynthesizer(fake.address).synthesize("hello", voice="v", sample_rate=16000)
        assert audio.rate == 16000 and audio.samples.shape == (1600,) and int(audio.samples[800]) == 2000
    finally:
        fake.close()


# --- the commands ----------------------------------------------------------------------------


def cli(*args: str, **kw) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": src_path, "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "callwright", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        **kw,
    )


def test_speech_server_serves_espeak_and_callwright_tts_speaks_through_it(tmp_path) -> None:
    scratch = tmp_path / "tmp"  # the server's temp directory: empty again once it has stopped
    scratch.mkdir()
    env = {**os.environ, "PYTHONPATH": src_path, "HF_HUB_OFFLINE": "1", "TMPDIR": str(scratch)}
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "callwright", "speech-server", "--engine", "none",
         "--listen", f"tcp://127.0.0.1:{port}"],
        env=env, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        assert f"espeak-ng TTS on tcp://127.0.0.1:{port}" in line, line
        out = tmp_path / "hello.wav"
        result = cli(
            "tts", PROMPT, "--tts", f"wyoming://127.0.0.1:{port}", "-o", str(out), "--json",
            "--cache-dir", str(tmp_path / "cache"),
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        summary = json.loads(result.stdout)
        audio = read_audio(out)
        assert audio.rate == 8000 and summary["sample_rate"] == 8000 and summary["voice"] == "en-us"
        assert 1.0 < audio.duration_s < 6.0 and rms(audio.samples) > 300
        assert [p.name for p in scratch.iterdir()] != []  # the espeak-ng worker's scratch directory
    finally:
        proc.terminate()  # SIGTERM, as a service manager stops it
        code = proc.wait(30)
    assert code == 0, proc.stderr.read()
    assert list(scratch.iterdir()) == []


def test_serve_with_a_tts_server_that_is_down_says_so_before_answering(tmp_path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"wyoming://127.0.0.1:{s.getsockname()[1]}"
    result = cli(
        "serve", str(ROOT / "flows" / "inbound.yaml"), "--http", "127.0.0.1:0", "--tts", dead,
        "--db", str(tmp_path / "c.db"),
    )  # fmt: skip
    assert result.returncode == 1 and f"cannot reach the Wyoming TTS server {dead}" in result.stderr
    assert "Traceback" not in result.stderr


def test_piper_style_voices_are_found_by_language() -> None:
    voices = [
        {"name": "de_DE-thorsten-low", "languages": ["de_DE"], "installed": True},
        {"name": "en_US-lessac-medium", "languages": ["en_US"], "installed": True},
        {"name": "en_GB-alan-low", "languages": ["en_GB"], "installed": False},  # not installed: left out
    ]
    info = encode_event(
        "info", {"tts": [{"name": "piper", "version": "1.5", "installed": True, "voices": voices}]}
    )
    fake = FakeServer(lambda conn: conn.sendall(info))
    try:
        remote = WyomingSynthesizer(fake.address)
        assert [v.id for v in remote.voices()] == ["de_DE-thorsten-low", "en_US-lessac-medium"]
        assert remote.settings().voice == "en_US-lessac-medium"  # the default en-us
        assert remote.settings(language="en").voice == "en_US-lessac-medium"
        assert remote.settings(language="de").voice == "de_DE-thorsten-low"
        assert remote.settings(voice="en_US-lessac-medium").engine == "wyoming:piper/1.5"
        with pytest.raises(SynthesisError, match="no voice of the Wyoming TTS server speaks language 'fr'"):
            remote.settings(language="fr")
    finally:
        fake.close()

"""Acceptance: baresip calls the inbound sample flow over SIP on loopback and reaches the
right queue, by RFC 4733 keys and by speech; the call log and the recording show it.

The server side here is test glue, not `callwright serve`: each call the SIP server hands
over runs `ivr.runner.run_call` on a thread of its own with the real engine, the real
recogniser (Whisper) and synthesiser (espeak-ng), the SQLite call log, over a channel that
is the microphone channel with the SIP call as its line (out-of-band keys and the far end's
hang-up added). The clock is real, but its wall time is a Monday morning so that the flow's
business hours are open whatever the time of the run.

baresip is driven by what the IVR says: the test waits for a prompt to start, then types
keys (RFC 4733) or switches baresip's microphone to a WAV of the caller's answer."""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from callwright.flows.loader import load_flow
from callwright.ivr.channels.audio import AudioLine
from callwright.ivr.channels.mic import MicChannel
from callwright.ivr.clock import RealClock
from callwright.ivr.engine import FlowEngine
from callwright.ivr.events import Dtmf, Hangup, Say
from callwright.ivr.runner import run_call
from callwright.server.sip import SipCall, SipConfig, SipServer
from callwright.speech.audio import Audio, write_wav
from callwright.speech.tts import PromptAudio, default_synthesizer
from callwright.store.calllog import CallLog
from callwright.store.db import open_db
from tests.server.sip.baresip_caller import Baresip, available
from tests.server.sip.test_sip_baresip import best_correlation

ROOT = Path(__file__).resolve().parents[3]
RATE = 8000
MONDAY_10AM_NEW_YORK = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)

pytestmark = pytest.mark.skipif(
    not available(), reason="baresip-core is not installed (scripts/setup.sh installs it)"
)


class OpenHoursClock(RealClock):
    """Real time for timeouts; a fixed open-hours wall time for the flow's hours check."""

    def __init__(self) -> None:
        self._t0 = time.monotonic()

    def wall(self) -> datetime:
        return MONDAY_10AM_NEW_YORK + timedelta(seconds=time.monotonic() - self._t0)


class SipLine:
    """A SIP call seen as the microphone channel's sound device; keys and hang-up queued."""

    def __init__(self, call: SipCall) -> None:
        self.call = call
        self.rate = call.rate
        self.events: queue.Queue = queue.Queue()

    def start(self, on_input) -> None:
        self.call.start(on_input, self.events.put)

    def play(self, samples: np.ndarray) -> None:
        self.call.play(samples)

    def stop_playback(self) -> None:
        self.call.stop_playback()

    @property
    def playing(self) -> bool:
        return self.call.playing

    def close(self) -> None:
        self.call.close()


class SipTestChannel(MicChannel):
    """MicChannel plus what a network line adds: out-of-band keys stop the prompt and are
    returned at once; the far end's BYE is a Hangup."""

    name = "sip"

    def __init__(self, line: AudioLine, device: SipLine, clock) -> None:
        self.sip = device
        super().__init__(line, device, clock)

    def receive(self, session):
        while True:
            try:
                ev = self.sip.events.get_nowait()
            except queue.Empty:
                ev = None
            if isinstance(ev, Hangup):
                return ev
            if isinstance(ev, Dtmf):
                if self.device.playing:
                    self.device.stop_playback()
                self._prompt_pending = False
                return ev
            if self.sip.call.ended.is_set():
                return Hangup()
            result = self._receive_until(session, 0.1)
            if result is not _WINDOW:
                return result  # an event, or None: the session's deadline passed

    def _receive_until(self, session, window_s: float):
        """MicChannel.receive for at most window_s (so keys are looked at in between)."""
        end = time.monotonic() + window_s
        real_get = self.frames.get

        def get(timeout=None):
            left = end - time.monotonic()
            if left <= 0:
                raise _Window
            return real_get(timeout=min(timeout or left, left))

        self.frames.get = get  # type: ignore[method-assign]
        try:
            return MicChannel.receive(self, session)
        except _Window:
            return _WINDOW
        finally:
            self.frames.get = real_get  # type: ignore[method-assign]


class _Window(Exception):
    pass


_WINDOW = object()  # _receive_until's "nothing yet"


class Ivr:
    """Runs each SIP call through the flow on its own thread, as the server would."""

    def __init__(self, flow: Path, db: Path, recordings: Path, synth, recognizer) -> None:
        self.flow = load_flow(flow)
        self.db = db
        self.recordings = recordings
        self.synth = synth
        self.recognizer = recognizer
        self.channels: list[SipTestChannel] = []
        self.sessions: list = []
        self.recording_paths: list[Path] = []
        self.errors: list[BaseException] = []
        self.done = threading.Event()

    def __call__(self, call: SipCall) -> None:
        threading.Thread(target=self._run, args=(call,), daemon=True).start()

    def _run(self, call: SipCall) -> None:
        try:
            engine = FlowEngine(self.flow)
            line = AudioLine(RATE, self.recognizer, PromptAudio(self.synth, RATE, base_dir=ROOT / "flows"))
            clock = OpenHoursClock()
            channel = SipTestChannel(line, SipLine(call), clock)
            self.channels.append(channel)
            log = CallLog.open(self.db)
            session = run_call(
                engine, channel, clock, calllog=log, called_number=call.dialled, caller_id="5550100"
            )
            path = line.save_recording(self.recordings / f"{session.call_id}.wav", session.elapsed)
            log.set_recording(session.call_id, str(path))
            self.recording_paths.append(path)
            self.sessions.append(session)
        except BaseException as err:  # the test reports it
            self.errors.append(err)
        finally:
            call.close()
            self.done.set()

    def said(self, text: str) -> bool:
        return any(text in s for c in self.channels for s in list(c.dialogue))


def wait_for(cond, timeout: float, what: str, ivr: Ivr) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if ivr.errors:
            raise ivr.errors[0]
        if time.monotonic() > deadline:
            dialogue = [s for c in ivr.channels for s in c.dialogue]
            raise AssertionError(f"{what} not seen in {timeout} s; dialogue so far: {dialogue}")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    return default_synthesizer(tmp_path_factory.mktemp("tts"))


@pytest.fixture(scope="module")
def recognizer():
    from callwright.speech.asr import get_recognizer

    return get_recognizer("whisper")


def caller_wav(path: Path, audio: Audio | None, tail_s: float = 90.0) -> Path:
    """baresip's microphone: the words (if any), then silence long enough that the file
    never ends mid-call (baresip hangs up when its source file ends)."""
    parts = [np.zeros(int(0.3 * RATE), np.int16)]
    if audio is not None:
        parts.append(audio.samples)
    parts.append(np.zeros(int(tail_s * RATE), np.int16))
    write_wav(path, Audio(np.concatenate(parts), RATE))
    return path


def run_call_with_baresip(tmp_path: Path, ivr: Ivr, script) -> Baresip:
    """Dial the flow from baresip, run `script(bs)` while the call is up, wait for the end."""

    async def main():
        async with SipServer(SipConfig(port=0), ivr) as srv:
            bs = Baresip(tmp_path / "baresip", caller_wav(tmp_path / "silence.wav", None))
            try:
                bs.dial(f"sip:100@127.0.0.1:{srv.port}")
                await asyncio.to_thread(bs.wait_event, "CALL_ESTABLISHED", 10)
                await asyncio.to_thread(script, bs)
                await asyncio.to_thread(ivr.done.wait, 60)
                await asyncio.to_thread(bs.wait_event, "CALL_CLOSED", 10)
                await srv.drain(3)
                assert srv.calls == {}
                print("RTP send timing (ms late):", srv.send_jitter_ms())
            finally:
                bs.close()
        return bs

    return asyncio.run(asyncio.wait_for(main(), 150))


def chunk_correlations(heard: np.ndarray, prompt: np.ndarray, chunk_s: float = 0.25) -> list[float]:
    """How well each voiced quarter second of the prompt is found in what baresip heard.

    Chunks and not the whole prompt: baresip's adaptive jitter buffer may drop or add a
    frame while the machine is busy (speech recognition on the same two cores), which
    shifts the rest of the prompt by 20 ms and spoils one long correlation."""
    n = int(chunk_s * RATE)
    return [
        round(best_correlation(heard, prompt[a : a + n]), 2)
        for a in range(0, len(prompt) - n, n)
        if np.abs(prompt[a : a + n]).max() > 2000
    ]


def check_call_log(db: Path, call_id: str, queue_name: str, recording: Path) -> list[tuple[str, str]]:
    """The calls row says sip, the number dialled, the queue and the recording; returns the
    (state, mode) of every caller input the log holds."""
    conn = open_db(db).conn
    row = conn.execute(
        "select channel, called_number, outcome, queue, recording_path from calls where id = ?", [call_id]
    ).fetchone()
    inputs = [
        (r[0], r[1])
        for r in conn.execute(
            "select state, mode from call_events where call_id = ? and kind = 'input' order by seq", [call_id]
        )
    ]
    assert row is not None
    assert tuple(row[:4]) == ("sip", "100", "transferred", queue_name), row
    assert row[4] == str(recording)
    return inputs


def test_by_rfc4733_keys_to_the_billing_queue(tmp_path, synth, recognizer):
    ivr = Ivr(ROOT / "flows" / "inbound.yaml", tmp_path / "calls.db", tmp_path, synth, recognizer)

    def caller(bs: Baresip) -> None:
        for prompt, keys in (
            ("For English, press 1", "1"),
            ("Main menu", "1"),
            ("account number", "4111#"),
            ("Is that right", "1"),
        ):
            wait_for(lambda p=prompt: ivr.said(p), 40, prompt, ivr)
            time.sleep(0.5)
            bs.keys(keys, gap_s=0.3)

    bs = run_call_with_baresip(tmp_path, ivr, caller)
    assert not ivr.errors, ivr.errors
    session = ivr.sessions[0]
    assert (session.outcome, session.queue) == ("transferred", "billing"), ivr.channels[0].dialogue
    inputs = check_call_log(tmp_path / "calls.db", session.call_id, "billing", ivr.recording_paths[0])
    assert [state for state, _ in inputs][:2] == ["choose-language", "main-menu"]
    assert {mode for _, mode in inputs} == {"dtmf"}
    # the recording: stereo, caller left, IVR right; the IVR's side holds the prompts
    rec, rate = sf.read(ivr.recording_paths[0], dtype="int16")
    assert rate == RATE and rec.ndim == 2 and np.abs(rec[:, 1]).max() > 1000
    # and the prompts reached baresip: the welcome prompt is in what it heard
    welcome = ivr.channels[0].line.render(
        Say("Welcome to Acme Telecom. Calls are recorded for quality.", "en", "welcome")
    )
    heard, _ = sf.read(bs.recording(), dtype="int16")
    chunks = chunk_correlations(heard, welcome.samples)
    assert float(np.median(chunks)) > 0.8, chunks


def test_by_speech_to_the_sales_queue(tmp_path, synth, recognizer):
    """The caller says "English", then "new service" (a sales phrase: espeak-ng's lone
    "sales" is not understood well at 8 kHz): baresip's microphone is switched to each
    answer when the IVR asks (barge-in takes it mid-prompt). Whatever the recogniser's
    exact reading, the flow must take the sales choice."""
    ivr = Ivr(ROOT / "flows" / "inbound.yaml", tmp_path / "calls.db", tmp_path, synth, recognizer)
    english = caller_wav(
        tmp_path / "english.wav", synth.synthesize("English.", voice="en-us", sample_rate=RATE)
    )
    sales = caller_wav(
        tmp_path / "sales.wav", synth.synthesize("New service.", voice="en-us", sample_rate=RATE)
    )

    def caller(bs: Baresip) -> None:
        wait_for(lambda: ivr.said("For English, press 1"), 40, "the language menu", ivr)
        bs.command("ausrc", f"aufile,{english}")
        wait_for(lambda: ivr.said("Main menu"), 40, "the main menu", ivr)
        bs.command("ausrc", f"aufile,{sales}")

    run_call_with_baresip(tmp_path, ivr, caller)
    assert not ivr.errors, ivr.errors
    session = ivr.sessions[0]
    assert (session.outcome, session.queue) == ("transferred", "sales"), "\n".join(ivr.channels[0].dialogue)
    inputs = check_call_log(tmp_path / "calls.db", session.call_id, "sales", ivr.recording_paths[0])
    assert inputs == [("choose-language", "speech"), ("main-menu", "speech")]
    rec, _ = sf.read(ivr.recording_paths[0], dtype="int16")
    assert np.abs(rec[:, 0]).max() > 1000  # the caller's words are on the left channel

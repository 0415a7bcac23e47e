"""Voicemail: a `record` state beeps, takes the caller's message until silence, the terminator,
a hang-up or its limit, keeps it as its own private WAV, and lists it per mailbox (issue 16 item 5)."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from callwright.flows.loader import load_flow
from callwright.ivr.channels.audio import AudioLine
from callwright.ivr.channels.live import LiveChannel
from callwright.ivr.channels.message import BEEP_HZ, MESSAGE_MODE, MessageTaker, beep, message_path
from callwright.ivr.clock import RealClock
from callwright.ivr.engine import FlowEngine
from callwright.ivr.events import Dtmf, Hangup
from callwright.ivr.runner import run_call
from callwright.speech.audio import read_audio, resample
from callwright.speech.tts import PromptAudio, default_synthesizer
from callwright.store.calllog import CallLog, messages

RATE = 8000
FRAME = 160
ROOT = Path(__file__).resolve().parents[2]

FLOW = """\
flow: mailbox-test
start: leave
states:
  leave:
    type: record
    prompt: "Leave a message after the tone."
    max_duration: {max}
    final_silence: 1s
    mailbox: sales
    transcribe: {transcribe}
    into: message
    next: bye
  bye:
    type: hangup
    prompt: "Thank you."
"""


@pytest.fixture(scope="module")
def synth():
    return default_synthesizer()


@pytest.fixture(scope="module")
def speech(synth) -> np.ndarray:
    """About two seconds of a real synthesised voice at the line's rate."""
    audio = synth.synthesize("please call me back about my order tomorrow morning")
    return resample(audio, RATE).samples


def flow_file(tmp_path: Path, max_s: str = "10s", transcribe: bool = False) -> Path:
    path = tmp_path / "mailbox.yaml"
    path.write_text(FLOW.format(max=max_s, transcribe=str(transcribe).lower()))
    return path


class ScriptedLine:
    """A `LineDevice` that plays instantly and, once the beep has played, sends the caller's
    frames (and then an event) as fast as the call takes them."""

    rate = RATE

    def __init__(self, audio: np.ndarray, then: Dtmf | Hangup | None = None, silence_s: float = 3.0):
        tail = np.zeros(int(silence_s * RATE), np.int16)
        self.audio = np.concatenate([audio.astype(np.int16), tail])
        self.then = then
        self.plays: list[np.ndarray] = []

    def start(self, on_input, on_event) -> None:
        self.on_input, self.on_event = on_input, on_event

    def play(self, samples: np.ndarray) -> None:
        self.plays.append(samples)
        if len(self.plays) == 2:  # the prompt, then the beep: the caller speaks
            threading.Thread(target=self._send, daemon=True).start()

    def _send(self) -> None:
        for i in range(0, self.audio.size, FRAME):
            self.on_input(self.audio[i : i + FRAME])
        if self.then is not None:
            self.on_event(self.then)

    def stop_playback(self) -> None: ...

    @property
    def playing(self) -> bool:
        return False

    def close(self) -> None: ...


@pytest.fixture(scope="module")
def recognizer():
    from callwright.speech.asr import get_recognizer

    return get_recognizer("whisper")


@pytest.fixture
def call(recognizer, synth):
    def _call(tmp_path: Path, device: ScriptedLine, **flow_args):
        return _run(tmp_path, device, recognizer, synth, **flow_args)

    return _call


def _run(tmp_path: Path, device: ScriptedLine, recognizer, synth, **flow_args):
    engine = FlowEngine(load_flow(flow_file(tmp_path, **flow_args)))
    line = AudioLine(RATE, recognizer, PromptAudio(synth, rate=RATE))
    line.messages_dir = tmp_path / "recordings" / "messages"
    log = CallLog.open(tmp_path / "cw.db")
    channel = LiveChannel(line, device, RealClock())
    session = run_call(engine, channel, RealClock(), calllog=log)
    recorded = [e for e in session.events if e.kind == "recorded"]
    assert len(recorded) == 1, [e.kind for e in session.events]
    return session, recorded[0].data, log


def test_the_beep_is_a_clean_tone():
    tone = beep(RATE)
    spectrum = np.abs(np.fft.rfft(tone))
    assert abs(np.argmax(spectrum) * RATE / tone.size - BEEP_HZ) < 10
    assert abs(int(tone[0])) < 100 and abs(int(tone[-1])) < 400  # ramped: no click


def test_a_message_ends_after_the_final_silence_and_keeps_the_speech(speech):
    taker = MessageTaker(RATE, 0.0, max_s=30.0, final_silence_s=1.0)
    audio = np.concatenate([np.zeros(RATE // 2, np.int16), speech, np.zeros(3 * RATE, np.int16)])
    ended = None
    for i in range(0, audio.size, FRAME):
        ended = taker.feed(audio[i : i + FRAME], i / RATE)
        if ended:
            break
    assert ended == "silence" and taker.heard_speech
    speech_s = speech.size / RATE
    assert speech_s + 0.5 <= taker.duration_s <= speech_s + 0.5 + 1.0 + 0.5  # ended ~1 s after the speech


def test_a_message_is_cut_at_its_maximum(speech):
    taker = MessageTaker(RATE, 0.0, max_s=1.0, final_silence_s=1.0)
    ended = None
    for i in range(0, speech.size, FRAME):
        ended = taker.feed(speech[i : i + FRAME], i / RATE)
        if ended:
            break
    assert ended == "max_duration" and taker.duration_s == pytest.approx(1.0, abs=0.001)


def test_silence_alone_ends_an_empty_message():
    taker = MessageTaker(RATE, 0.0, max_s=30.0, final_silence_s=1.0)
    ended, i = None, 0
    while ended is None and i < 10 * RATE:
        ended = taker.feed(np.zeros(FRAME, np.int16), i / RATE)
        i += FRAME
    assert ended == "silence" and not taker.heard_speech and taker.duration_s <= 1.5


def test_message_files_are_named_per_call_and_state(tmp_path):
    assert message_path(tmp_path, "c1", "leave/../x").name == "c1-leave____x.wav"


def test_a_live_message_is_saved_privately_logged_and_listed(call, tmp_path, speech):
    session, data, log = call(tmp_path, ScriptedLine(speech))
    path = Path(data["audio"])
    assert path.parent == tmp_path / "recordings" / "messages"
    assert stat.S_IMODE(path.stat().st_mode) == MESSAGE_MODE
    kept = read_audio(path)
    assert kept.samples.size / RATE >= speech.size / RATE  # the whole message, then the final silence
    assert data["ended"] == "silence" and data["mailbox"] == "sales"
    assert session.vars["message"] == str(path)
    assert session.state == "bye"
    listed = messages(log.db, "sales")
    assert [m.call_id for m in listed] == [session.call_id] and listed[0].audio == str(path)
    assert messages(log.db, "support") == []


def test_the_terminator_ends_the_message_at_once(call, tmp_path, speech):
    session, data, _ = call(tmp_path, ScriptedLine(speech, then=Dtmf("#"), silence_s=0.0))
    assert data["ended"] == "terminator"
    assert read_audio(Path(data["audio"])).samples.size >= speech.size * 0.9


def test_a_caller_who_hangs_up_leaves_the_message(call, tmp_path, speech):
    session, data, _ = call(tmp_path, ScriptedLine(speech, then=Hangup(), silence_s=0.0))
    assert data["ended"] == "hangup"
    assert read_audio(Path(data["audio"])).samples.size >= speech.size * 0.9
    # the message counts: the flow goes on to its next state (here the goodbye) as if it had ended
    # by silence; a flow that asked more after it would get the hang-up next
    assert session.state == "bye" and session.outcome == "self_served"


def test_a_transcribed_message_has_words_and_is_listed_with_them(call, tmp_path, speech):
    session, data, log = call(tmp_path, ScriptedLine(speech), transcribe=True)
    assert data["text"].strip()  # real Whisper on real speech: some words (not asserted exactly)
    assert messages(log.db)[0].text == data["text"]


def test_voicemail_list_cli(call, tmp_path, speech):
    session, data, _ = call(tmp_path, ScriptedLine(speech))
    out = subprocess.run(
        [sys.executable, "-m", "callwright", "voicemail", "list", "--db", tmp_path / "cw.db", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert rows[0]["call_id"] == session.call_id and rows[0]["mailbox"] == "sales"
    empty = subprocess.run(
        [
            sys.executable,
            "-m",
            "callwright",
            "voicemail",
            "list",
            "--db",
            tmp_path / "cw.db",
            "--mailbox",
            "x",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert empty.returncode == 0 and "no messages in mailbox 'x'" in empty.stdout


def test_a_scripted_audio_caller_leaves_a_message_too(tmp_path, recognizer, synth, speech):
    """The file channel (`callwright call --audio`) takes the message the same way."""
    from callwright.ivr.channels.audio import ScriptedAudioChannel
    from callwright.ivr.channels.script import Turn
    from callwright.ivr.clock import FakeClock
    from callwright.speech.audio import Audio, write_wav

    wav = write_wav(tmp_path / "msg.wav", Audio(speech, RATE))
    engine = FlowEngine(load_flow(flow_file(tmp_path)))
    line = AudioLine(RATE, recognizer, PromptAudio(synth, rate=RATE))
    line.messages_dir = tmp_path / "messages"
    clock = FakeClock()
    channel = ScriptedAudioChannel([Turn("wav", str(wav))], line, clock, synthesizer=synth)
    session = run_call(engine, channel, clock)
    data = next(e.data for e in session.events if e.kind == "recorded")
    assert data["ended"] == "silence" and "(beep)" in " ".join(channel.dialogue)
    kept = read_audio(Path(data["audio"]))
    assert speech.size <= kept.samples.size <= speech.size + 2 * RATE

"""Acceptance (issue 14): baresip calls the inbound sample flow over SIP on loopback, through
`callwright serve`'s server (ServerApp, CallServer, the SIP service), and reaches the right
queue by RFC 4733 keys and by speech; the call log and the recording show it.

Everything is real: the SIP server, baresip, the engine, Whisper, espeak-ng, SQLite. The
clock is real time dated on a Monday morning (tests/server/conftest.py) so the flow's
business hours are open whenever the suite runs.

baresip answers what the IVR asks: the test watches the call log for the latest prompt (it is
written after every turn) and answers each new one shortly after it starts (barging in), by
typing keys (baresip sends RFC 4733 events) or by switching baresip's microphone to a WAV of
the caller's words."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from callwright.server.app import ServerApp
from callwright.server.calls import CallServer
from callwright.server.events import EventLog
from callwright.server.routing import build_routes
from callwright.server.sip import SipConfig
from callwright.server.sip.service import SipService
from callwright.speech.audio import Audio, write_wav
from callwright.speech.tts import PromptAudio
from tests.conftest import FLOWS
from tests.server.conftest import OpenHoursClock, Running
from tests.server.sip.baresip_caller import Baresip, available
from tests.server.sip.test_sip_baresip import best_correlation

RATE = 8000
INBOUND = FLOWS / "inbound.yaml"
ANSWER_DELAY_S = 0.4  # the caller answers this long after a prompt is logged (barging in)

pytestmark = pytest.mark.skipif(
    not available(), reason="baresip-core is not installed (scripts/setup.sh installs it)"
)


@contextmanager
def sip_server(tmp_path: Path, synth, recognizer, flow: Path = INBOUND) -> Iterator[Running]:
    """`callwright serve flows/inbound.yaml --sip udp:127.0.0.1:0`, in a thread."""
    table = build_routes([flow], [])
    lines: list[str] = []
    calls = CallServer(
        table,
        db_path=tmp_path / "calls.db",
        recordings=tmp_path / "recordings",
        recognizer=recognizer,
        prompts=lambda name: PromptAudio(synth, RATE, base_dir=Path(table.flows[name].path).parent),
        max_calls=2,
        clock_factory=OpenHoursClock,
        events=EventLog(lines.append),
    )
    service = SipService(SipConfig(port=0))
    app = ServerApp(calls, services=[service], grace_s=5.0)
    thread = threading.Thread(target=lambda: asyncio.run(app.run()), daemon=True)
    thread.start()
    assert app.ready.wait(10), "the server did not start"
    assert app.listening["sip"] == f"udp:127.0.0.1:{service.port}"
    run = Running(app, calls, service.port, tmp_path / "calls.db", tmp_path / "recordings")
    run.lines = lines
    run.thread = thread
    try:
        yield run
    finally:
        app.request_stop(grace_s=0.0)
        thread.join(timeout=30)
        assert not thread.is_alive(), "the server did not stop"
        assert calls.in_progress == 0, "a call slot leaked"
        assert service.server is not None and service.server.calls == {}, "a SIP call slot leaked"


def caller_wav(path: Path, audio: Audio | None, tail_s: float = 90.0) -> Path:
    """baresip's microphone: the words (if any), then silence long enough that the file
    never ends mid-call (baresip hangs up when its source file ends)."""
    parts = [np.zeros(int(0.3 * RATE), np.int16)]
    if audio is not None:
        parts.append(audio.samples)
    parts.append(np.zeros(int(tail_s * RATE), np.int16))
    write_wav(path, Audio(np.concatenate(parts), RATE))
    return path


Answer = Callable[[Baresip], None]


def keys(digits: str) -> Answer:
    return lambda bs: bs.keys(digits, gap_s=0.25)


def words(wav: Path) -> Answer:
    return lambda bs: bs.command("ausrc", f"aufile,{wav}")


def call_through(
    run: Running, tmp_path: Path, answer: Callable[[str, str], Answer | None]
) -> tuple[str, Baresip]:
    """Dial the flow from baresip and answer each new prompt until the IVR hangs up."""
    bs = Baresip(tmp_path / "baresip", caller_wav(tmp_path / "silence.wav", None))
    try:
        bs.dial(f"sip:100@127.0.0.1:{run.port}")
        bs.wait_event("CALL_ESTABLISHED", 10)
        deadline = time.monotonic() + 15
        while not run.events("call_start"):
            assert time.monotonic() < deadline, run.events()
            time.sleep(0.05)
        call_id = run.events("call_start")[0]["call_id"]
        answered = -1
        deadline = time.monotonic() + 120
        while not any(e.get("type") == "CALL_CLOSED" for e in bs.events):
            assert time.monotonic() < deadline, f"the call did not end: {run.events()}"
            rows = run.query(
                "select seq, state, text from call_events where call_id = ? and kind = 'prompt'"
                " order by seq desc limit 1",
                (call_id,),
            )
            if rows and rows[0][0] > answered:
                seq, state, text = rows[0]
                answered = seq
                act = answer(state, text or "")
                if act is not None:
                    time.sleep(ANSWER_DELAY_S)
                    act(bs)
            bs._read(0.1)
        run.wait_idle()
        return call_id, bs
    finally:
        bs.close()


def logged(run: Running, call_id: str) -> tuple[tuple, list[tuple[str, str]]]:
    row = run.query(
        "select channel, called_number, outcome, queue, recording_path from calls where id = ?", (call_id,)
    )[0]
    inputs = run.query(
        "select state, mode from call_events where call_id = ? and kind = 'input' order by seq", (call_id,)
    )
    return row, [(s, m) for s, m in inputs]


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


def test_by_rfc4733_keys_to_the_billing_queue(tmp_path, synth, recognizer):
    def answer(state: str, text: str) -> Answer | None:
        if state in ("choose-language", "main-menu"):
            return keys("1")
        if state == "account-number":
            return keys("1") if text.startswith("I heard") else keys("4111#")
        return None

    with sip_server(tmp_path, synth, recognizer) as run:
        call_id, bs = call_through(run, tmp_path, answer)
        row, inputs = logged(run, call_id)
    assert row[:4] == ("sip", "100", "transferred", "billing"), (row, inputs)
    assert [s for s, _ in inputs][:2] == ["choose-language", "main-menu"]
    assert {m for _, m in inputs} == {"dtmf"}  # out-of-band keys, not tones in the audio
    # the recording: stereo, caller left, IVR right; the prompts are on the IVR's side
    recording, rate = sf.read(row[4], dtype="int16")
    assert rate == RATE and recording.ndim == 2 and np.abs(recording[:, 1]).max() > 1000
    # and the prompts reached baresip: the last prompt (played out in full before the IVR
    # hangs up; earlier ones are cut short by the caller's keys) is in what it heard
    last = PromptAudio(synth, RATE).render("Connecting you to billing.")
    heard, _ = sf.read(bs.recording(), dtype="int16")
    chunks = chunk_correlations(heard, last.samples)
    assert float(np.median(chunks)) > 0.8, chunks


def test_by_speech_to_the_sales_queue(tmp_path, synth, recognizer):
    """The caller says "English", then "new service" (a sales phrase: espeak-ng's lone
    "sales" is not understood well at 8 kHz). Whatever the recogniser's exact reading, the
    flow must take the sales choice, by speech."""
    english = caller_wav(
        tmp_path / "english.wav", synth.synthesize("English.", voice="en-us", sample_rate=RATE)
    )
    sales = caller_wav(
        tmp_path / "sales.wav", synth.synthesize("New service.", voice="en-us", sample_rate=RATE)
    )

    def answer(state: str, text: str) -> Answer | None:
        if state == "choose-language":
            return words(english)
        if state == "main-menu":
            return words(sales)
        return None

    with sip_server(tmp_path, synth, recognizer) as run:
        call_id, bs = call_through(run, tmp_path, answer)
        row, inputs = logged(run, call_id)
    assert row[:4] == ("sip", "100", "transferred", "sales"), (row, inputs)
    assert inputs == [("choose-language", "speech"), ("main-menu", "speech")]
    recording, _ = sf.read(row[4], dtype="int16")
    assert np.abs(recording[:, 0]).max() > 1000  # the caller's words are on the left channel
    # barge-in as the caller hears it: from the onset of the first answer (spoken over the
    # welcome prompt) in what baresip sent to the prompt going quiet in what it heard. Both
    # dumps start with the call's audio; later in the call baresip's jitter buffer drops a
    # frame now and then from what it heard, so only the first answer is timed.
    sent, _ = sf.read(bs.recording("enc"), dtype="int16")
    heard, _ = sf.read(bs.recording(), dtype="int16")
    reactions = barge_in_reactions(sent, heard)
    print("barge-in as heard by baresip (s):", reactions)
    assert len(reactions) == 2 and 0.0 < reactions[0] < 0.5, reactions


def barge_in_reactions(sent: np.ndarray, heard: np.ndarray, frame: int = 160) -> list[float]:
    """For each utterance onset in `sent`: seconds until `heard` has 300 ms of quiet."""

    def loud(x: np.ndarray) -> np.ndarray:
        n = len(x) // frame
        return np.sqrt(np.mean(x[: n * frame].reshape(n, frame).astype(float) ** 2, axis=1)) > 300

    talk, play = loud(sent), loud(heard)
    onsets = [i for i in range(1, len(talk)) if talk[i] and not talk[max(0, i - 25) : i].any()]
    out = []
    for i in onsets:
        j = i
        while j < len(play) and play[j : j + 15].any():
            j += 1
        out.append(round((j - i) * frame / RATE, 2))
    return out


def test_serve_refuses_a_call_beyond_its_slots_as_busy(tmp_path, synth, recognizer):
    """The call server's slot limit reaches SIP as 486 before any answer: baresip's third
    call (max_calls is 2) is refused, the first two are answered."""
    with sip_server(tmp_path, synth, recognizer) as run:
        callers = [
            Baresip(tmp_path / f"baresip{i}", caller_wav(tmp_path / f"s{i}.wav", None)) for i in range(3)
        ]
        try:
            for bs in callers[:2]:
                bs.dial(f"sip:100@127.0.0.1:{run.port}")
                bs.wait_event("CALL_ESTABLISHED", 10)
            deadline = time.monotonic() + 10
            while run.calls.in_progress < 2:
                assert time.monotonic() < deadline
                time.sleep(0.05)
            callers[2].dial(f"sip:100@127.0.0.1:{run.port}")
            closed = callers[2].wait_event("CALL_CLOSED", 10)
            assert "486" in str(closed.get("param", "")) or "Busy" in str(closed), closed
            assert [e["reason"] for e in run.events("call_refused")] == ["all call slots are in use"]
            for bs in callers[:2]:
                bs.hangup()
                bs.wait_event("CALL_CLOSED", 10)
            run.wait_idle()
        finally:
            for bs in callers:
                bs.close()
        rows = run.query("select channel, outcome from calls")
    assert sorted(rows) == [("sip", "abandoned"), ("sip", "abandoned")]


def test_a_flow_transfer_to_a_sip_uri_is_a_refer_that_baresip_follows(tmp_path, synth, recognizer):
    """A flow whose `transfer` state names a SIP URI: the server REFERs baresip there,
    baresip calls that number (here another SIP server), and the result is logged."""
    agent_calls: list = []

    async def agent_main(ready: threading.Event, stop: threading.Event, port: list) -> None:
        from callwright.server.sip import SipServer

        def on_call(call):
            agent_calls.append(call.dialled)
            call.start(lambda frame: None, lambda ev: None)

        async with SipServer(SipConfig(port=0), on_call) as agent:
            port.append(agent.port)
            ready.set()
            while not stop.is_set():
                await asyncio.sleep(0.05)

    ready, stop, agent_port = threading.Event(), threading.Event(), []
    agent = threading.Thread(target=lambda: asyncio.run(agent_main(ready, stop, agent_port)), daemon=True)
    agent.start()
    try:
        assert ready.wait(10)
        flow = tmp_path / "handoff.yaml"
        flow.write_text(
            "flow: handoff\nversion: 1\ndirection: inbound\nlanguages: [en]\ndefault_language: en\n"
            "start: out\nstates:\n  out:\n    type: transfer\n"
            f'    to: "sip:200@127.0.0.1:{agent_port[0]}"\n    prompt: "Transferring you."\n'
        )
        with sip_server(tmp_path, synth, recognizer, flow=flow) as run:
            call_id, _ = call_through(run, tmp_path, lambda state, text: None)
            row, _ = logged(run, call_id)
            results = run.events("transfer_result")
    finally:
        stop.set()
        agent.join(10)
    assert row[:4] == ("sip", "100", "transferred", f"sip:200@127.0.0.1:{agent_port[0]}"), row
    assert [(r["call_id"], r["result"]) for r in results] == [(call_id, "transferred")]
    assert agent_calls == ["200"]


def test_a_caller_that_never_sends_audio_gets_the_no_input_path_and_a_bye(tmp_path, synth, recognizer):
    """A SIP client that answers nothing and sends no RTP at all: the flow's no-input timers
    still run (the live channel watches the clock, not the audio), the flow says goodbye
    and the server hangs up with a BYE; the slot is freed."""
    from tests.server.conftest import quick_with_short_prompts
    from tests.server.sip.test_sip_uas import UA

    with sip_server(tmp_path, synth, recognizer, flow=quick_with_short_prompts(tmp_path)) as run:
        ua = UA(run.port)
        try:

            async def call() -> str:
                ok = await ua.call()
                assert ok.status == 200
                bye = await ua.final(timeout=30)
                return bye.method or ""

            assert asyncio.run(asyncio.wait_for(call(), 40)) == "BYE"
            run.wait_idle()
            rows = run.query("select channel, outcome, disposition from calls")
        finally:
            ua.close()
    assert len(rows) == 1 and rows[0][0] == "sip" and rows[0][2] == "no_input", rows

"""A person calls the inbound sample flow from a browser: headless Chromium (the Debian
package), its microphone a fake capture file of espeak-ng speech, driven by Playwright.

The server is what `callwright serve FLOW --http 127.0.0.1:PORT` runs (the call server with
the call page added by `add_browser_calls`, on a free 127.0.0.1 port), with the real engine,
recogniser (Whisper) and call log; only the date is pinned (a Monday at 10:00 in New York) so
the inbound line is open. The tests check the route the keys and speech chose, the call log
rows, the recording (stereo, caller left) and what the page showed. No exact ASR reading is asserted: only the closed-set choice the flow made.
Every wait is bounded; the browser is closed whatever happens.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from callwright.server.app import Address, ServerApp
from callwright.server.calls import CallServer
from callwright.server.events import EventLog
from callwright.server.routing import build_routes
from callwright.server.webrtc.service import WebRtcService, add_browser_calls
from callwright.speech.audio import read_audio
from callwright.store.db import open_db
from tests.server.conftest import INBOUND, OpenHoursClock

CHROMIUM = Path("/usr/bin/chromium")
CAPTURE_RATE = 48000  # what Chromium's fake capture plays (16 kHz files work too)
LEAD_S, GAP_S = 7.0, 7.0
"""The caller's file: 7 s of silence, "billing", 7 s of silence, looped by Chromium. The first
"billing" lands in the main menu (reached by key 1 about 2 s into the call); if a slow machine
gets there late, the next one, 14.6 s later, still falls in its prompt plus no-input window."""
STEP_MS = 30_000  # the longest wait for one thing on the page
CALL_END_S = 60.0

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs the chromium Debian package")


@pytest.fixture(scope="module")
def caller_wav(tmp_path_factory) -> Path:
    from callwright.speech.tts import default_synthesizer

    word = default_synthesizer().synthesize("billing", voice="en-us", sample_rate=CAPTURE_RATE).samples
    silence = np.zeros(int(LEAD_S * CAPTURE_RATE), np.int16)
    samples = np.concatenate([silence, word, np.zeros(int(GAP_S * CAPTURE_RATE), np.int16)])
    path = tmp_path_factory.mktemp("caller") / "caller.wav"
    with wave.open(str(path), "wb") as w:  # 16-bit PCM mono: what Chromium's fake device reads
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(CAPTURE_RATE)
        w.writeframes(samples.tobytes())
    return path


@dataclass
class Served:
    app: ServerApp
    calls: CallServer
    service: WebRtcService
    url: str
    db: Path
    log: list[str]

    def ended(self, seen: int) -> dict:
        """The next call's end from the server log (after `seen` earlier ends), once logged."""
        deadline = time.monotonic() + CALL_END_S
        while time.monotonic() < deadline:
            ends = [e for e in map(json.loads, list(self.log)) if e["event"] == "call_end"]
            if len(ends) > seen:
                return ends[seen]
            time.sleep(0.05)
        raise AssertionError(f"no call ended: {self.log}")

    def ends(self) -> int:
        return sum(json.loads(line)["event"] == "call_end" for line in list(self.log))


@pytest.fixture(scope="module")
def server(tmp_path_factory, synth, recognizer) -> Iterator[Served]:  # the server suite's engines
    from callwright.speech.tts import PromptAudio

    tmp = tmp_path_factory.mktemp("server")
    routes = build_routes([INBOUND], [f"100={INBOUND}"])
    log: list[str] = []
    calls = CallServer(
        routes,
        db_path=tmp / "calls.db",
        recordings=tmp / "recordings",
        recognizer=recognizer,
        prompts=lambda name: PromptAudio(synth, 8000, base_dir=INBOUND.parent),
        max_calls=4,
        clock_factory=OpenHoursClock,
        events=EventLog(log.append),
    )
    app = ServerApp(calls, services=[], http=Address("127.0.0.1", 0), grace_s=5.0)
    service = add_browser_calls(app, routes)  # what `callwright serve --http` does
    thread = threading.Thread(target=lambda: asyncio.run(app.run()), daemon=True)
    thread.start()
    try:
        assert app.ready.wait(10), "the server did not start"
        yield Served(app, calls, service, f"http://{app.http_address}/call/", tmp / "calls.db", log)
    finally:
        app.request_stop(grace_s=0.0)
        thread.join(timeout=30)
    assert not thread.is_alive(), "the server did not stop"
    assert calls.in_progress == 0 and service.endpoint.lines == {}, "a call slot leaked"


@pytest.fixture(scope="module")
def browser(caller_wav) -> Iterator[Any]:
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            timeout=STEP_MS,
            args=[
                "--no-sandbox",
                "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
                "--autoplay-policy=no-user-gesture-required",  # the test's own Web Audio taps
                f"--use-file-for-fake-audio-capture={caller_wav}",
            ],
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser, server) -> Iterator[Any]:
    # bypass_csp: Playwright's waits evaluate script, which the page's policy forbids
    context = browser.new_context(bypass_csp=True)
    context.set_default_timeout(STEP_MS)
    context.add_init_script(KEEP_MICROPHONE)
    page = context.new_page()
    try:
        page.goto(server.url)
        page.wait_for_selector("#number option[value='100']", state="attached")
        page.select_option("#number", "100")  # the routed number (the first option is the default flow)
        yield page
    finally:
        context.close()


# Test-only instrumentation (not in the page): keep the page's microphone stream so the test can
# listen to both directions in the browser.
KEEP_MICROPHONE = """
window.__mics = [];
const gum = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
navigator.mediaDevices.getUserMedia = async (c) => { const s = await gum(c); window.__mics.push(s); return s; };
"""

# The caller's barge-in as the browser lives it: Web Audio analysers on the microphone and on
# the speaker's stream, read every 5 ms; from the microphone's speech onset (the fake capture's
# word) to the last sound of the prompt, once the speaker has stayed quiet for QUIET_MS
# (longer than the pauses inside a prompt).
MEASURE_BARGE_IN = """
async ([limitMs, quietMs]) => {
  const ctx = new AudioContext();
  await ctx.resume();
  const tap = (stream) => {
    const an = ctx.createAnalyser();
    an.fftSize = 256;
    ctx.createMediaStreamSource(stream).connect(an);
    const buf = new Float32Array(an.fftSize);
    return () => { an.getFloatTimeDomainData(buf); return buf.reduce((m, v) => Math.max(m, Math.abs(v)), 0); };
  };
  const mic = tap(window.__mics[window.__mics.length - 1]);
  const speaker = tap(document.getElementById("speaker").srcObject);
  const t0 = performance.now();
  let onset = null, lastLoud = null;
  try {
    while (performance.now() - t0 < limitMs) {
      await new Promise((r) => setTimeout(r, 5));
      const now = performance.now();
      if (onset === null) { if (mic() > 0.02) onset = now; continue; }
      if (speaker() > 0.01) lastLoud = now;
      else if (now - (lastLoud ?? onset) >= quietMs) return (lastLoud ?? onset) - onset;
    }
    return null;
  } finally {
    ctx.close();
  }
}
"""
QUIET_MS = 500


def prompt(page: Any, text: str) -> None:
    page.wait_for_selector(f"#dialogue li.ivr >> text={text}")


def press(page: Any, keys: str) -> None:
    for key in keys:
        page.click(f"#keypad button[data-key='{key}']")


def call_row(server: Served, call_id: str) -> tuple[dict, list[dict]]:
    db = open_db(server.db)
    try:
        row = next(db.query("select * from calls where id = ?", [call_id]))
        events = list(db.query("select * from call_events where call_id = ? order by seq", [call_id]))
    finally:
        db.close()
    return row, events


def active_seconds(track: np.ndarray, rate: int, floor: float = 300.0) -> np.ndarray:
    """Start times (s) of the 100 ms windows whose RMS is over `floor`."""
    n = rate // 10
    windows = track[: track.size // n * n].astype(float).reshape(-1, n)
    return np.nonzero(np.sqrt((windows**2).mean(axis=1)) > floor)[0] / 10


def test_a_browser_caller_reaches_billing_by_speech_and_keys(page, server):
    seen = server.ends()
    started = time.monotonic()
    page.click("#call")
    page.wait_for_selector("body[data-call=connected]")
    connected_s = time.monotonic() - started
    page.wait_for_function("document.getElementById('heard').value > 0.01", polling=20)
    first_heard_s = time.monotonic() - started
    prompt(page, "For English, press 1")
    press(page, "1")  # a key stops the prompt at once
    prompt(page, "Main menu")
    # the caller's file says "billing" (the first time around 7 s into the call), over the prompt
    barge_in_ms = page.evaluate(MEASURE_BARGE_IN, [STEP_MS, QUIET_MS])
    prompt(page, "account number")
    press(page, "4111#")
    prompt(page, "Is that right?")
    press(page, "1")
    page.wait_for_selector("body[data-call=ended]", timeout=int(CALL_END_S * 1000))
    dialogue = page.inner_text("#dialogue")
    end = server.ended(seen)
    assert (end["channel"], end["outcome"], end["queue"], end.get("error")) == (
        "webrtc",
        "transferred",
        "billing",
        None,
    )
    assert end["barge_ins"] >= 1  # the voice stopped the main menu
    # the call log: one row for the call, on the webrtc channel, with its recording
    row, events = call_row(server, end["call_id"])
    assert (row["flow"], row["channel"], row["called_number"]) == ("acme-inbound", "webrtc", "100")
    assert (row["outcome"], row["queue"]) == ("transferred", "billing")
    by_speech = [
        e for e in events if e["kind"] == "input" and e["state"] == "main-menu" and e["mode"] == "speech"
    ]
    chosen = [
        json.loads(e["data"])["value"] for e in events if e["kind"] == "match" and e["state"] == "main-menu"
    ]
    assert by_speech and chosen == ["billing"]  # main menu answered by voice
    keys = [json.loads(e["data"])["key"] for e in events if e["kind"] == "input" and e["mode"] == "dtmf"]
    assert keys[:1] == ["1"] and keys[1:6] == ["[DIGIT]"] * 4 + ["#"] and keys[-1] == "1"
    confirmed = [
        json.loads(e["data"]) for e in events if e["kind"] == "match" and e["state"] == "account-number"
    ]
    assert confirmed[0] == {"value": "[REDACTED]", "confidence": 1.0, "confirm": True}
    assert "4111" not in json.dumps(events) and "4111" not in dialogue  # the account number stays masked
    # the page showed the dialogue as it happened: prompts' display text and the caller's words
    assert "Main menu. For billing, press 1" in dialogue and "Connecting you to billing." in dialogue
    assert page.locator("#dialogue li.caller").count() >= 1
    assert "[call ended: transferred (billing)]" in dialogue

    # the recording: stereo 8 kHz, the caller on the left, the IVR's prompts on the right
    audio = read_audio(row["recording_path"])
    assert (audio.rate, audio.channels) == (8000, 2)
    caller, ivr = audio.samples[:, 0], audio.samples[:, 1]
    spoke = active_seconds(caller, audio.rate)
    asked = next(e["t"] for e in events if e["kind"] == "prompt" and e["state"] == "main-menu")
    said = by_speech[0]["t"]  # when the recogniser's answer came (after its decoding), in call seconds
    assert spoke.size and np.any((spoke > asked) & (spoke < said)), (spoke, asked, said)
    assert active_seconds(ivr, audio.rate).size > 50  # over 5 s of prompts
    assert active_seconds(caller, audio.rate).size < 20  # the caller's side is not the prompts

    print(
        f"\nwebrtc figures: connected {connected_s:.2f} s and first prompt heard {first_heard_s:.2f} s "
        f"after the Call click; barge-in in the browser, speech onset in the microphone -> prompt "
        f"quiet in the speaker {barge_in_ms and round(barge_in_ms)} ms"
    )


def test_hanging_up_mid_prompt_ends_the_call_and_frees_its_slot(page, server):
    seen = server.ends()
    page.click("#call")
    prompt(page, "Welcome to Acme Telecom")
    page.click("#hangup")
    assert page.inner_text("#status") == "You hung up."
    end = server.ended(seen)
    assert end["outcome"] == "abandoned"
    row, events = call_row(server, end["call_id"])
    assert row["outcome"] == "abandoned" and row["ended_at"] and events[-1]["kind"] == "call_end"
    deadline = time.monotonic() + 10
    while (server.service.endpoint.lines or server.calls.in_progress) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.service.endpoint.lines == {} and server.calls.in_progress == 0


def test_keys_alone_reach_sales_on_the_default_flow(page, server):
    seen = server.ends()
    page.select_option("#number", "")  # "acme-inbound (default)": what an unrouted number reaches
    page.click("#call")
    prompt(page, "For English, press 1")
    press(page, "1")
    prompt(page, "Main menu")
    press(page, "3")
    page.wait_for_selector("body[data-call=ended]", timeout=int(CALL_END_S * 1000))
    end = server.ended(seen)
    assert (end["outcome"], end["queue"]) == ("transferred", "sales")
    row, _ = call_row(server, end["call_id"])
    assert (row["channel"], row["outcome"], row["queue"]) == ("webrtc", "transferred", "sales")
    assert (row["flow"], row["called_number"]) == ("acme-inbound", None)


def test_closing_the_page_hangs_up_at_once(page, server):
    seen = server.ends()
    page.click("#call")
    prompt(page, "Welcome to Acme Telecom")
    closed = time.monotonic()
    page.close(run_before_unload=True)
    end = server.ended(seen)
    assert (
        end["outcome"] == "abandoned" and time.monotonic() - closed < 10
    )  # not the ~30 s ICE consent expiry

"""The demo: everything that is built so far, offline, in one command (`make demo`).

1. checks and tests the sample flows, and draws them;
2. runs text calls through the inbound line, the survey and the reminder;
3. runs audio calls: synthesised callers (several voices, telephone band, noise) and
   key tones through the inbound line, with the real recogniser, recording each call;
4. prints what landed in the database and where to look.
"""

from __future__ import annotations

import io
import random
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "out"


def step(title: str) -> None:
    print(f"\n== {title}", flush=True)


def main() -> None:
    from callwright.flows.loader import load_flow
    from callwright.ivr.channels.text import TextChannel
    from callwright.ivr.clock import FakeClock
    from callwright.ivr.engine import FlowEngine
    from callwright.ivr.runner import run_call
    from callwright.ivr.session import QueueStatus
    from callwright.store.calllog import CallLog, outcome_summary, survey_stats
    from callwright.store.db import open_db

    OUT.mkdir(exist_ok=True)
    db_path = OUT / "demo.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(db_path) + suffix).unlink(missing_ok=True)
    cw = [sys.executable, "-m", "callwright"]
    flows = sorted(str(p) for p in (ROOT / "flows").glob("*.yaml"))

    step("check the sample flows")
    subprocess.run([*cw, "flow", "check", *flows], check=True)
    step("run the flow test scenarios")
    subprocess.run([*cw, "flow", "test", str(ROOT / "flows" / "tests")], check=True)
    step("draw the flows")
    for f in flows:
        out = OUT / (Path(f).stem + ".svg")
        subprocess.run([*cw, "flow", "graph", f, "-o", str(out)], check=True)

    db = open_db(db_path)
    log = CallLog(db)
    rng = random.Random(2026)
    step("text calls: 200 inbound, 60 surveys, 60 reminders")
    inbound = FlowEngine(load_flow(ROOT / "flows" / "inbound.yaml"))
    survey = FlowEngine(load_flow(ROOT / "flows" / "survey.yaml"))
    reminder = FlowEngine(load_flow(ROOT / "flows" / "outbound-reminder.yaml"))
    start = datetime.fromisoformat("2026-11-16T08:00:00-05:00")
    menu = ["#1", "billing", "#2", "tech support", "#3", "sales", "#0", "banana", ""]
    for _ in range(200):
        when = start + timedelta(hours=rng.randrange(0, 24 * 7), minutes=rng.randrange(60))
        lines = [rng.choice(["#1", "english", "#2", "español", ""]), rng.choice(menu),
                 rng.choice(["#4111#", "four one one one", "#12#", ""]), rng.choice(["yes", "#1", "no"]),
                 rng.choice(["#1", "yes", "#2", ""]), "#1"]
        if rng.random() < 0.08:
            lines = lines[:2] + ["/hangup"]
        waits = {"billing": rng.choice([20, 60, 300]), "support": rng.choice([30, 200])}
        channel = TextChannel(io.StringIO("\n".join(lines) + "\n"), io.StringIO())
        run_call(inbound, channel, FakeClock(when), calllog=log, caller_id=f"+1555{rng.randrange(10**7):07d}",
                 queue_status=QueueStatus(waits))
    for i in range(60):
        answers = [f"#{rng.choice([1, 2, 3, 4, 4, 5, 5])}", rng.choice(["yes", "no", "#1"]),
                   f"#{rng.randrange(11)}"]
        run_call(survey, TextChannel(io.StringIO("\n".join(answers) + "\n"), io.StringIO()),
                 FakeClock(start + timedelta(hours=i)), calllog=log)
    for i in range(60):
        lines = [rng.choice(["yes", "#1", "no"]), rng.choice(["#1", "confirm", "#2", "#9", "stop calling"]),
                 rng.choice(["friday", "#1", "yes"]), "#1"]
        run_call(reminder, TextChannel(io.StringIO("\n".join(lines) + "\n"), io.StringIO()),
                 FakeClock(start + timedelta(minutes=7 * i)), calllog=log)

    step("audio calls: synthesised callers and key tones through the inbound line")
    try:
        audio_calls(inbound, log)
    except Exception as err:  # the demo goes on; the message says what failed
        print(f"audio calls skipped: {err}")

    step("what landed in the database")
    for r in outcome_summary(db):
        print(f"  {r['flow']:<28} {r['outcome']:<12} {r['detail']:<20} {r['n']:>4}")
    n_events = db["call_events"].count
    mean, n = survey_stats(db, "csat")
    print(f"  {db['calls'].count} calls, {n_events} events; CSAT mean {mean:.2f} over {n} answers")
    print(f"\nDatabase: {db_path}  (browse it: .venv/bin/datasette {db_path})")
    print(f"Diagrams: {OUT}/*.svg    Recordings: {ROOT / 'recordings'}")
    print("Try a call yourself: .venv/bin/callwright call flows/inbound.yaml --text")


def audio_calls(engine, log) -> None:
    from callwright.ivr.channels.audio import Turn
    from callwright.speech.asr import get_recognizer
    from callwright.speech.audio import write_wav
    from callwright.speech.degrade import telephone
    from callwright.speech.tts import default_synthesizer

    synth = default_synthesizer()
    recognizer = get_recognizer("auto")
    rate = 8000
    tmp = OUT / "callers"
    tmp.mkdir(exist_ok=True)
    scripts = {
        "en-us": ["english", "billing", "four one one one", "yes"],
        "en-gb": ["english", "technical support", "five five five one", "yes"],
        "en-us+f3": ["english", "sales"],
    }
    when = datetime.fromisoformat("2026-11-23T10:00:00-05:00")
    for i, (voice, texts) in enumerate(scripts.items()):
        turns = []
        for j, text in enumerate(texts):
            wav = tmp / f"{voice}-{j}.wav"
            write_wav(wav, telephone(synth.synthesize(text, voice=voice, sample_rate=16000),
                                     snr_db=20, seed=j))
            turns.append(Turn("wav", wav))
        _run(engine, log, synth, recognizer, rate, turns, when + timedelta(minutes=i), voice)
    keys = [Turn("dtmf", k) for k in ("2", "3")]
    _run(engine, log, synth, recognizer, rate, keys, when + timedelta(minutes=9), "keypad")


def _run(engine, log, synth, recognizer, rate, turns, when, label) -> None:
    from callwright.ivr.channels.audio import AudioLine, ScriptedAudioChannel
    from callwright.ivr.clock import FakeClock
    from callwright.ivr.runner import run_call
    from callwright.speech.tts import PromptAudio

    line = AudioLine(rate, recognizer, PromptAudio(synth, rate))
    clock = FakeClock(when)
    channel = ScriptedAudioChannel(turns, line, clock, synthesizer=synth)
    t = time.perf_counter()
    s = run_call(engine, channel, clock, calllog=log)
    rec = line.save_recording(ROOT / "recordings" / f"{s.call_id}.wav", s.elapsed)
    log.set_recording(s.call_id, str(rec))
    heard = [d.strip() for d in channel.dialogue if d.strip().startswith("heard")]
    print(f"  {label:<10} {s.outcome} {s.queue or ''}  ({s.elapsed:.0f} s of call in "
          f"{time.perf_counter() - t:.1f} s)  {'; '.join(heard)}")


if __name__ == "__main__":
    main()

"""The demo: the whole story, offline, in one command (`make demo`).

1. checks and tests the sample flows, and draws them;
2. a week of text calls through the inbound line, and an outbound reminder campaign
   (each call a dial; some numbers never answer);
3. audio calls: synthesised callers (several voices, telephone band, noise) and key
   tones through the inbound line, with the real recogniser, recording each call;
4. the queue: the calls the IVR transferred go through the seeded ACD simulation
   (agents with skills, patience, callbacks), and answered callers take the
   post-call survey (CSAT, resolved, NPS) about their call;
5. QA: the sample agent recordings and the IVR's own recordings are transcribed,
   redacted, measured and scored into the same database;
6. the report: every KPI over the week, one self-contained HTML file.
"""

from __future__ import annotations

import io
import json
import random
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "out"
WEEK_START = datetime.fromisoformat("2026-11-16T08:00:00-05:00")
REPORT_RANGE = ("2026-11-16", "2026-11-22")
# A small line: four agents, so that callers sometimes wait and the queue KPIs have something to say.
TEAMS = {"ana": "north", "chloe": "north", "dev": "south", "gus": "sales"}
# Support routes on the caller's language (skill "{language}" in flows/inbound.yaml): chloe is bilingual.
SKILLS = {
    "ana": {"billing", "general"},
    "chloe": {"billing", "en", "es"},
    "dev": {"en"},
    "gus": {"sales", "general"},
}


def step(title: str) -> None:
    print(f"\n== {title}", flush=True)


def main() -> None:
    from callwright.ivr.engine import load_engine
    from callwright.store.calllog import CallLog
    from callwright.store.db import open_db

    t0 = time.perf_counter()
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
    inbound = load_engine(ROOT / "flows" / "inbound.yaml")
    survey = load_engine(ROOT / "flows" / "survey.yaml")
    reminder = load_engine(ROOT / "flows" / "outbound-reminder.yaml")

    step("a week of text calls: 320 inbound, and a reminder campaign of 90 dials")
    text_calls(inbound, log, rng)
    reminder_campaign(reminder, log, db, rng)

    step("audio calls: synthesised callers and key tones through the inbound line")
    ivr_recordings = audio_calls(inbound, log)

    step("the queue: transferred calls through the ACD simulation, then post-call surveys")
    queue_and_surveys(db, log, survey, rng)

    step("QA: sample agent calls and the IVR's own recordings, transcribed, redacted and scored")
    qa(db_path, ivr_recordings)

    step("the report")
    report = write_report(db)
    print(f"\nDone in {time.perf_counter() - t0:.0f} s.")
    print(f"Report:     {report}")
    print(f"Database:   {db_path}  (browse it: .venv/bin/datasette {db_path})")
    print(f"Diagrams:   {OUT}/*.svg    Recordings: {ROOT / 'recordings'}")
    print(f"QA review:  .venv/bin/callwright qa show inbound-card-payment --db {db_path}")
    print("Try a call: .venv/bin/callwright call flows/inbound.yaml --text")


def _when(rng: random.Random) -> datetime:
    """A time in the demo week, weighted to office hours."""
    day = rng.randrange(7)
    hour = rng.choice([0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 7, 8, 9, 11, 13])
    return WEEK_START + timedelta(days=day, hours=hour, minutes=rng.randrange(60), seconds=rng.randrange(60))


def text_calls(inbound, log, rng: random.Random) -> None:
    from callwright.ivr.channels.text import TextChannel
    from callwright.ivr.clock import FakeClock
    from callwright.ivr.runner import run_call
    from callwright.ivr.session import QueueStatus

    menu = ["#1", "billing", "#1", "billing", "#2", "tech support", "#2", "#3", "sales", "#0", "banana", ""]
    customers = [f"+1555{rng.randrange(10**7):07d}" for _ in range(220)]  # some call more than once
    for _ in range(320):
        lines = [
            rng.choice(["#1", "english", "#1", "#2", "español", ""]),
            rng.choice(menu),
            rng.choice(["#4111#", "four one one one", "#55501#", "#12#", ""]),
            rng.choice(["yes", "#1", "yes", "no"]),
            rng.choice(["#1", "yes", "#2", ""]),
            "#1",
        ]
        if rng.random() < 0.08:
            lines = lines[:2] + ["/hangup"]
        waits = {"billing": rng.choice([20, 60, 60, 300]), "support": rng.choice([30, 30, 200])}
        channel = TextChannel(io.StringIO("\n".join(lines) + "\n"), io.StringIO())
        run_call(
            inbound,
            channel,
            FakeClock(_when(rng)),
            calllog=log,
            caller_id=rng.choice(customers),
            queue_status=QueueStatus(waits),
        )


def reminder_campaign(reminder, log, db, rng: random.Random) -> None:
    """Outbound reminders: every attempt is a dial; the answered ones run the reminder flow."""
    from callwright.ivr.channels.text import TextChannel
    from callwright.ivr.clock import FakeClock
    from callwright.ivr.runner import run_call
    from callwright.store.dials import Dial, save_dials

    dials = []
    for i in range(90):
        when = _when(rng)
        customer = f"+1555{rng.randrange(10**7):07d}"
        result = rng.choices(["connected", "no_answer", "busy", "voicemail"], [60, 20, 5, 15])[0]
        if result != "connected":
            dials.append(Dial(f"dial-{i:03d}", "dental-reminders", when.isoformat(), result, customer))
            continue
        lines = [
            rng.choice(["yes", "#1", "yes", "no"]),
            rng.choice(["#1", "confirm", "#1", "#2", "#9", "stop calling"]),
            rng.choice(["friday", "#1", "yes"]),
            "#1",
        ]
        s = run_call(
            reminder,
            TextChannel(io.StringIO("\n".join(lines) + "\n"), io.StringIO()),
            FakeClock(when),
            calllog=log,
            caller_id=customer,
        )
        dials.append(
            Dial(
                f"dial-{i:03d}",
                "dental-reminders",
                when.isoformat(),
                "connected",
                customer,
                call_id=s.call_id,
                talk_s=round(s.elapsed, 1),
                disposition=s.disposition,
                converted=s.disposition in ("confirmed", "rescheduled"),
                opted_out=s.disposition == "opted_out",
            )
        )
    save_dials(db, dials)
    print(f"  {len(dials)} dials, {sum(d.result == 'connected' for d in dials)} answered")


def queue_and_surveys(db, log, survey, rng: random.Random) -> None:
    from callwright.ivr.channels.text import TextChannel
    from callwright.ivr.clock import FakeClock
    from callwright.ivr.runner import run_call
    from callwright.reports import acd
    from callwright.store.queue import HandleSplit, save_simulation, transferred_callers

    arrivals = transferred_callers(db)
    if arrivals.base is None:
        print("  no transferred calls")
        return
    queues = sorted({c.queue for c in arrivals.callers})
    model = acd.AcdModel(
        queues=tuple(
            acd.QueueSpec(
                q,
                handle_time=acd.LogNormal(300.0 if q == "support" else 240.0, 0.6),
                patience=acd.Exponential(180.0),
                callback=acd.CallbackOffer(threshold_s=600.0, take_rate=0.5),
            )
            for q in queues
        ),
        agents=tuple(acd.AgentSpec(a, frozenset(skills)) for a, skills in SKILLS.items()),
    )
    result = acd.simulate(model, seed=7, callers=arrivals.callers)
    n = save_simulation(
        db, result, arrivals.base, teams=TEAMS, split=HandleSplit(hold_share=0.08, acw_share=0.15)
    )
    answered = [c for c in result.calls if c.answered_s is not None]
    print(f"  {n} calls queued ({', '.join(queues)}); {len(answered)} answered by an agent")

    taken = 0
    for c in answered:
        if rng.random() > 0.6:  # not everyone stays for the survey
            continue
        wait = c.wait_s or 0.0
        csat = max(1, min(5, round(rng.gauss(4.4 - wait / 120.0, 0.8))))
        resolved = "#1" if rng.random() < (0.55 + 0.08 * csat) else "#2"
        nps = max(0, min(10, round(rng.gauss(2.2 * csat - 1.0, 1.5))))
        answers = f"#{csat}\n{resolved}\n#{nps}\n"
        when = arrivals.base + timedelta(seconds=c.completed_s or c.arrived_s)
        run_call(
            survey,
            TextChannel(io.StringIO(answers), io.StringIO()),
            FakeClock(when),
            calllog=log,
            variables={"rated_call_id": c.call_id},
        )
        taken += 1
    print(f"  {taken} post-call surveys")


def audio_calls(engine, log) -> list[str]:
    """Synthesised callers and key tones through the inbound line; returns the recordings."""
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
        "en-gb-x-rp": ["english", "sales"],
    }
    when = datetime.fromisoformat("2026-11-20T10:00:00-05:00")
    recordings: list[str] = []
    for i, (voice, texts) in enumerate(scripts.items()):
        turns = []
        for j, text in enumerate(texts):
            wav = tmp / f"{voice}-{j}.wav"
            write_wav(
                wav, telephone(synth.synthesize(text, voice=voice, sample_rate=16000), snr_db=20, seed=j)
            )
            turns.append(Turn("wav", wav))
        when_i = when + timedelta(minutes=i)
        recordings.append(_run(engine, log, synth, recognizer, rate, turns, when_i, voice))
    keys = [Turn("dtmf", k) for k in ("1", "1", "4111#", "1")]
    recordings.append(_run(engine, log, synth, recognizer, rate, keys, when + timedelta(minutes=9), "keypad"))
    return recordings


def _run(engine, log, synth, recognizer, rate, turns, when, label) -> str:
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
    print(
        f"  {label:<10} {s.outcome} {s.queue or ''}  ({s.elapsed:.0f} s of call in "
        f"{time.perf_counter() - t:.1f} s)  {'; '.join(heard)}"
    )
    return str(rec)


def qa(db_path: Path, ivr_recordings: list[str]) -> None:
    """Score the rendered sample calls (inbound and outbound scorecards) and the IVR recordings."""
    from callwright.qa.samples import make_samples
    from callwright.qa.scorecard import load_scorecard
    from callwright.store.qa_batch import score_batch

    samples = OUT / "samples"
    t = time.perf_counter()
    written = make_samples(out_dir=samples)
    wavs = [p for p in written if p.suffix == ".wav"] or sorted(samples.glob("*.wav"))
    rng = random.Random(5)
    for wav in wavs:  # date the samples into the demo week, keeping their agents and teams
        sidecar = wav.with_suffix(".json")
        if sidecar.is_file():
            meta = json.loads(sidecar.read_text())
            meta["started_at"] = _when(rng).isoformat()
            sidecar.write_text(json.dumps(meta, indent=1))
    print(f"  rendered {len(wavs)} sample calls in {time.perf_counter() - t:.0f} s")
    manifest = OUT / "ivr-recordings.json"
    manifest.write_text(
        json.dumps(
            [
                {"call_id": Path(r).stem, "direction": "inbound", "channels": ["customer", "agent"]}
                for r in ivr_recordings
            ]
        )
    )
    # the agent calls in one batch, each with the scorecard for its direction; the IVR's own
    # recordings (inbound too) against the self-service scorecard
    jobs = [
        (("inbound-service", "outbound-sales"), wavs, None),
        (("ivr-self-service",), [Path(r) for r in ivr_recordings], manifest),
    ]
    for cards, paths, mf in jobs:
        if not paths:
            continue
        scorecards = [load_scorecard(ROOT / "scorecards" / f"{card}.yaml") for card in cards]
        t = time.perf_counter()
        summary = score_batch(paths, scorecards, db_path, workers=2, manifest=mf)
        errors = summary.of("error")
        print(
            f"  {' + '.join(cards)}: {len(summary.of('scored'))} scored, {len(errors)} errors "
            f"({summary.audio_s:.0f} s of audio in {time.perf_counter() - t:.0f} s)"
        )
        for e in errors:
            print(f"    {e.path}: {e.reason}")
    print_sample_outcomes(db_path, [w.stem for w in wavs])


def print_sample_outcomes(db_path: Path, call_ids: list[str]) -> None:
    """What the scored sample calls got against their scripts' expected verdicts, as this machine
    scored them: tiny.en reads these synthetic calls at the edge of what it hears, so a call or two
    can come out otherwise on another machine (docs/benchmarks/robustness.md)."""
    import sqlite3

    from callwright.qa.samples import SAMPLES_DIR, expect_mismatches, load_scripts

    scripts = {s.call_id: s for s in load_scripts(SAMPLES_DIR) if s.call_id in call_ids}
    con = sqlite3.connect(db_path)
    met, differing, checks, checks_met = 0, [], 0, 0
    for cid, script in scripts.items():
        row = con.execute("select auto_failed from scores where call_id = ?", [cid]).fetchone()
        if row is None:
            differing.append(f"{cid} (not scored)")
            continue
        verdicts = dict(con.execute("select item_id, verdict from item_scores where call_id = ?", [cid]))
        off = {
            k: v
            for k, v in expect_mismatches(script, verdicts, bool(row[0]), None).items()
            if not k.startswith("metric ")
        }  # verdicts only: the metrics table keeps a summary
        n = len(script.expect.get("items") or {}) + 1
        checks += n
        checks_met += n - len(off)
        if off:
            differing.append(
                f"{cid} (" + "; ".join(f"{k}: {got}, expected {want}" for k, (got, want) in off.items()) + ")"
            )
        else:
            met += 1
    con.close()
    print(
        f"  sample calls: {met} of {len(scripts)} met their expected verdicts "
        f"({checks_met} of {checks} checks)" + ("" if not differing else "; differing:")
    )
    for d in differing:
        print(f"    {d}")


def write_report(db) -> Path:
    from callwright.reports import html
    from callwright.reports.kpis import build_report, make_params

    report = build_report(db, make_params(*REPORT_RANGE, group_by="queue"))
    path = OUT / "report.html"
    path.write_text(html.render(report), encoding="utf-8")
    i, q, o, a = report.inbound_total, report.queue_total, report.outbound_total, report.qa_total

    def pct(x):
        return "-" if x is None else f"{x:.1f} %"

    def sec(x):
        return "-" if x is None else f"{x:.0f} s"

    nps = "-" if i.nps is None else f"{i.nps:+.0f}"
    print(
        f"  inbound: CSAT {pct(i.csat)} over {i.csat_n} answers, NPS {nps},"
        f" FCR {pct(i.fcr_survey)} (survey) / {pct(i.fcr_repeat)} (no repeat in 7 days),"
        f" IVR containment {pct(i.containment)}"
    )
    print(
        f"  queues:  {q.offered} offered, ASA {sec(q.asa_s)}, service level {pct(q.service_level)},"
        f" abandoned {pct(q.abandon_rate)}, AHT {sec(q.aht_s)}"
    )
    print(
        f"  outbound: {o.dials} dials, connect rate {pct(o.connect_rate)},"
        f" conversion {pct(o.conversion_rate)} of connects, {o.opt_outs} opt-outs"
    )
    avg = "-" if a.avg_score is None else f"{a.avg_score:.1f}"
    print(
        f"  QA:      {a.scored} calls scored, average {avg},"
        f" auto-fail {pct(a.auto_fail_rate)}, compliance {pct(a.compliance_rate)}"
    )
    return path


if __name__ == "__main__":
    main()

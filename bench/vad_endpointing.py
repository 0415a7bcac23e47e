"""VAD / endpointer benchmark: region accuracy vs noise, end-of-speech decision delay, speed.

Run:  .venv/bin/python bench/vad_endpointing.py
Writes the "vad" section of docs/benchmarks/speech_io.md.

Ground truth: espeak-ng phrases passed through the telephone band (no noise)
and trimmed 35 dB below their loudest 10 ms, separated by known silences.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

import numpy as np

from callwright.speech.audio import Audio, concat, frames, silence, trim_silence
from callwright.speech.degrade import add_noise, telephone
from callwright.speech.vad import Endpointer, EndpointParams, SpeechEnded, SpeechStarted

sys.path.insert(0, str(Path(__file__).resolve().parent))
from speech_io_doc import machine, write_section  # noqa: E402

COMMAND = ".venv/bin/python bench/vad_endpointing.py"
VOICES = ("en-us", "en-gb", "en-us-nyc", "en-gb-scotland", "es", "de", "fr", "ko")
PHRASES = (
    "I would like to pay my bill",
    "yes please",
    "billing",
    "can I speak to somebody about my account",
    "four seven two nine",
    "no",
    "technical support",
    "I have a question about my last invoice",
)
SNRS = (None, 30, 20, 15, 10)
EOS_S = 0.8


def build(tts, voice: str, rng: np.random.Generator) -> tuple[Audio, list[tuple[float, float]]]:
    clips = [
        trim_silence(telephone(tts.synthesize(p, voice=voice, sample_rate=16000), mulaw=False))
        for p in PHRASES
    ]
    parts, truth, t = [], [], 0.0
    for clip in clips:
        gap = float(rng.uniform(1.0, 2.5))  # longer than the end-of-speech timeout
        parts += [silence(gap, 8000), clip]
        truth.append((t + gap, t + gap + clip.duration_s))
        t += gap + clip.duration_s
    parts.append(silence(2.0, 8000))
    return concat(parts), truth


def run(audio: Audio) -> tuple[list[SpeechStarted], list[SpeechEnded], float]:
    ep = Endpointer(audio.rate, EndpointParams(end_of_speech_s=EOS_S, no_input_timeout_s=None))
    starts, ends = [], []
    t0 = time.perf_counter()
    for i, f in enumerate(frames(audio, 20)):
        for ev in ep.feed(f, i * 0.02):
            if isinstance(ev, SpeechStarted):
                starts.append(ev)
            elif isinstance(ev, SpeechEnded):
                ends.append(ev)
    return starts, ends, time.perf_counter() - t0


def pct(values: list[float], q: float) -> str:
    return f"{1000 * float(np.percentile(values, q)):.0f}" if values else "-"


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    from callwright.speech.tts import Pyttsx3Synthesizer

    rng = np.random.default_rng(11)
    with Pyttsx3Synthesizer() as tts:
        calls = [build(tts, v, rng) for v in VOICES]
    rows = []
    for snr in SNRS:
        start_err, end_err, decide, barge = [], [], [], []
        missed = extra = utterances = 0
        seconds = cpu = 0.0
        for i, (audio, truth) in enumerate(calls):
            x = audio if snr is None else add_noise(audio, snr, seed=100 + i)
            starts, ends, elapsed = run(x)
            seconds += x.duration_s
            cpu += elapsed
            utterances += len(truth)
            for t0, t1 in truth:
                s = [e for e in starts if abs(e.t - t0) < 0.5]
                e = [e for e in ends if abs(e.t_end_of_speech - t1) < 0.5]
                if not s or not e:
                    missed += 1
                    continue
                start_err.append(s[0].t - t0)
                barge.append(s[0].t_decided - t0)
                end_err.append(e[0].t_end_of_speech - t1)
                decide.append(e[0].t_decided - t1)
            extra += max(0, len(starts) - len(truth))
        rows.append(
            (
                "clean" if snr is None else f"{snr} dB",
                utterances,
                missed,
                extra,
                f"{pct(start_err, 50)} / {pct(start_err, 95)}",
                f"{pct(end_err, 5)} / {pct(end_err, 50)}",
                f"{pct(barge, 50)} / {pct(barge, 95)}",
                f"{pct(decide, 50)} / {pct(decide, 95)}",
                f"{cpu / seconds:.4f}",
            )
        )
        logging.info("%s", rows[-1])
    lines = [
        "## Voice activity and endpointing (`callwright.speech.vad`)",
        "",
        f"Command: `{COMMAND}` (machine: {machine()}).",
        "",
        f"{len(VOICES)} espeak-ng voices x {len(PHRASES)} phrases on an 8 kHz telephone channel, "
        "1.0-2.5 s apart; white noise at the SNR (relative to active speech). Endpointer "
        f"defaults (WebRTC mode 2, 20 ms frames, noise gate 3 dB, min speech 100 ms) with "
        f"end_of_speech_s = {EOS_S}. Truth: the band-limited phrase trimmed 35 dB below its peak. "
        "Times in ms, given as p50 / p95 (end error as p5 / p50: negative means the endpointer "
        "put the end earlier than the truth, usually a quiet final consonant under the noise).",
        "",
        "| Noise | Utterances | Missed | Extra | Start error | End error | Barge-in decided "
        "after speech start | End decided after actual end | CPU real-time factor |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    lines += [
        "",
        '"End decided after actual end" is the endpointing part of the IVR\'s response time: '
        'the configured silence plus the detector\'s own lag. "Barge-in decided" is how long '
        "after the caller starts speaking a prompt can be stopped (before audio-device latency).",
    ]
    print(write_section("vad", "\n".join(lines)))


if __name__ == "__main__":
    main()

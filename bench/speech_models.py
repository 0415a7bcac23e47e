"""The registry's speech models side by side: accuracy, speed and memory, to choose defaults per use.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/speech_models.py [--models tiny.en base vosk-ko]
        [--fsdd-limit 200] [--calls N] [--rounds 2] [--threads 1] [--json FILE]

Per model and round, in a fresh process each (so memory is the model's own):
- load: seconds to load (wall and CPU), resident memory added (MB);
- digits: FSDD (real 8 kHz speakers, ../shared/data/fsdd), streamed in 20 ms frames with the
  ten digit words as phrases, as the IVR does (bench/asr_fsdd.py's loop): accuracy, rejected, and
  the finish latency p50/p95 (the IVR's turn cost: the time `finish()` takes after the endpoint),
  wall and CPU; CPU seconds of all decoding per audio second — skipped when the data is not there;
- calls: the rendered sample calls (recordings/samples scripts, espeak-ng voices through the
  telephone band, rendered once for every model) transcribed whole with the scorecard phrases as
  context, as QA's first reading: word error rate against the scripts (bench/qa_transcript_wer.py's
  normalisation) and the real-time factor, CPU and wall seconds per audio second.

Speed on a shared machine: wall time depends on what else runs, CPU time much less (a process
that waits for a core is not charged for it). `--rounds N` runs every model N times, the order
rotated each round (round 1: a b c, round 2: b c a), so a burst of load falls on all models alike;
the table gives each speed figure's median over the rounds and its spread (min-max). Accuracy is
the same every round (same files, deterministic decoding); a difference is reported.

`vosk-ko` is the only Vosk model that ships as a package; it is Korean, so its English accuracy
means nothing (its digits are listened for with the Korean digit words, and not scored): its row
shows Vosk's speed and memory on the same audio.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
DEFAULT_FSDD = ROOT.parent / "shared" / "data" / "fsdd"  # as bench/asr_fsdd.py

SPEED = (
    "load_s",
    "load_cpu_s",
    "digits_finish_p50_ms",
    "digits_finish_p50_cpu_ms",
    "digits_finish_p95_ms",
    "digits_cpu_rtf",
    "calls_cpu_rtf",
    "calls_wall_rtf",
    "rss_mb",
)
ACCURACY = ("digits_accuracy", "digits_rejected", "calls_wer")


def rss_mb() -> float:
    """Resident memory now (Linux /proc), MB."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * resource.getpagesize() / 1e6


def scored(model: str) -> bool:
    """Whether the model's English accuracy means anything (a Korean model's does not)."""
    from callwright.speech.asr.registry import MULTILINGUAL, REGISTRY

    langs = REGISTRY[model].languages if model in REGISTRY else ("en",)
    return any(lang.split("-")[0] in ("en", MULTILINGUAL) for lang in langs)


def measure(
    model: str, fsdd: Path, fsdd_limit: int, calls_dir: Path | None, calls: int, threads: int, seed: int
) -> dict:
    """One model's row (runs in its own process: see main)."""
    from callwright.speech.asr.factory import get_recognizer, with_model

    row: dict = {"model": model, "load_avg_1m": round(os.getloadavg()[0], 1)}
    before = rss_mb()
    t0, c0 = time.perf_counter(), time.process_time()
    recognizer = get_recognizer(with_model("auto", model), cpu_threads=threads)
    stream = recognizer.open(8000, ["one"])  # the first stream loads the model
    stream.finish()
    row["load_s"] = round(time.perf_counter() - t0, 2)
    row["load_cpu_s"] = round(time.process_time() - c0, 2)
    row["rss_mb"] = round(rss_mb() - before)

    files = sorted(fsdd.glob("recordings/*.wav")) or sorted(fsdd.glob("*.wav"))
    if files and fsdd_limit:
        random.Random(seed).shuffle(files)
        row.update(_digits(recognizer, files[:fsdd_limit], scored(model)))
    if calls_dir is not None and calls:
        row.update(_calls(recognizer, calls_dir, calls, scored(model)))
    return row


def _digits(recognizer, files: list[Path], score: bool) -> dict:
    """The IVR's loop (bench/asr_fsdd.py run) with CPU time per utterance as well as wall time."""
    from asr_fsdd import DIGITS, KOREAN_DIGITS, percentile, predict

    from callwright.speech.audio import frames, read_audio

    stream = recognizer.open(8000, DIGITS if score else KOREAN_DIGITS)
    finish_wall: list[float] = []
    finish_cpu: list[float] = []
    cpu_total = audio_s = 0.0
    correct = rejected = 0
    for f in files:
        audio = read_audio(f)
        audio_s += audio.n_samples / audio.rate
        c_start = time.process_time()
        for frame in frames(audio, 20):
            stream.accept(frame)
        t0, c0 = time.perf_counter(), time.process_time()
        result = stream.finish()
        t1, c1 = time.perf_counter(), time.process_time()
        finish_wall.append(t1 - t0)
        finish_cpu.append(c1 - c0)
        cpu_total += c1 - c_start
        guess = predict(result.text)
        correct += guess == f.stem.split("_")[0]
        rejected += guess is None
    row: dict = {
        "digits_files": len(files),
        "digits_finish_p50_ms": round(1000 * statistics.median(finish_wall)),
        "digits_finish_p50_cpu_ms": round(1000 * statistics.median(finish_cpu)),
        "digits_finish_p95_ms": round(1000 * percentile(finish_wall, 95)),
        "digits_cpu_rtf": round(cpu_total / audio_s, 3),
    }
    if score:
        row["digits_accuracy"] = round(correct / len(files), 4)
        row["digits_rejected"] = rejected
    return row


def render_calls(limit: int) -> Path:
    """The first `limit` sample calls rendered once, for every model and round."""
    from callwright.qa.samples import SAMPLES_DIR, load_scripts, make_samples

    scripts = [s.call_id for s in load_scripts(SAMPLES_DIR)[:limit]]
    folder = Path(tempfile.mkdtemp(prefix="speech-models-"))
    make_samples(SAMPLES_DIR, folder, only=scripts)
    return folder


def _calls(recognizer, folder: Path, limit: int, score: bool) -> dict:
    """First-reading WER and speed on the rendered sample calls (as bench/qa_transcript_wer.py)."""
    from qa_transcript_wer import edits, normalise, references

    from callwright.qa import ingest
    from callwright.qa.pipeline import asr_context
    from callwright.qa.samples import SAMPLES_DIR, load_scripts
    from callwright.qa.scorecard import load_scorecard
    from callwright.speech.asr.base import TranscribeOptions

    scripts = {s.call_id: s for s in load_scripts(SAMPLES_DIR)[:limit]}
    cards = {
        d: load_scorecard(ROOT / "scorecards" / f)
        for d, f in (("inbound", "inbound-service.yaml"), ("outbound", "outbound-sales.yaml"))
    }
    errors = words = 0
    audio_s = wall_s = cpu_s = 0.0
    for cid, script in scripts.items():
        path = folder / f"{cid}.wav"
        call = ingest.load_call(path, ingest.resolve_meta(path))
        ctx = asr_context(cards[script.meta.direction])
        refs = references(script)
        for role, track in call.tracks.items():
            t0, c0 = time.perf_counter(), time.process_time()
            segments = recognizer.transcribe(track, TranscribeOptions.of(ctx.get(role)))
            wall_s += time.perf_counter() - t0
            cpu_s += time.process_time() - c0
            ref = normalise(refs[role])
            errors += edits(ref, normalise(" ".join(s.text for s in segments)))
            words += len(ref)
        audio_s += call.duration_s
    row: dict = {
        "calls": len(scripts),
        "calls_audio_s": round(audio_s, 1),
        "calls_cpu_rtf": round(cpu_s / audio_s, 3),
        "calls_wall_rtf": round(wall_s / audio_s, 3),
    }
    if score:
        row["calls_wer"] = round(errors / max(words, 1), 3)
    return row


def summarise(runs: dict[str, list[dict]]) -> list[dict]:
    """Per model: the accuracy figures (with any round that differs noted) and each speed
    figure's median over the rounds with its spread."""
    out = []
    for model, rows in runs.items():
        summary: dict = {"model": model, "rounds": len(rows)}
        for key in ACCURACY:
            values = {r[key] for r in rows if key in r}
            if values:
                summary[key] = rows[0][key]
                if len(values) > 1:
                    summary[f"{key}_differs"] = sorted(values)
        for key in SPEED:
            values = [r[key] for r in rows if key in r]
            if values:
                summary[key] = round(statistics.median(values), 3)
                summary[f"{key}_range"] = [min(values), max(values)]
        summary["load_avg_1m"] = [r["load_avg_1m"] for r in rows]
        out.append(summary)
    return out


def table(summary: list[dict]) -> str:
    """The speed table of docs/speech-models.md (median, min-max over rounds)."""

    def cell(row: dict, key: str, fmt: str) -> str:
        if key not in row:
            return "-"
        lo, hi = row[f"{key}_range"]
        mid = format(row[key], fmt)
        return mid if lo == hi or len(row["load_avg_1m"]) < 2 else f"{mid} ({lo:{fmt}}-{hi:{fmt}})"

    lines = [
        "| model | calls: CPU s per audio s | calls: wall s per audio s | digits: finish p50 wall ms "
        "| digits: finish p50 CPU ms | digits: CPU s per audio s | load s (wall) | memory added MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in summary:
        lines.append(
            f"| `{row['model']}` | {cell(row, 'calls_cpu_rtf', '.3f')} | {cell(row, 'calls_wall_rtf', '.3f')} "
            f"| {cell(row, 'digits_finish_p50_ms', '.0f')} | {cell(row, 'digits_finish_p50_cpu_ms', '.0f')} "
            f"| {cell(row, 'digits_cpu_rtf', '.3f')} | {cell(row, 'load_s', '.1f')} | {cell(row, 'rss_mb', '.0f')} |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=["tiny.en", "base", "vosk-ko"])
    ap.add_argument("--fsdd", type=Path, default=DEFAULT_FSDD, help="the FSDD folder (default: %(default)s)")
    ap.add_argument("--fsdd-limit", type=int, default=200)
    ap.add_argument("--calls", type=int, default=10, help="how many sample calls (0: none)")
    ap.add_argument("--rounds", type=int, default=2, help="runs per model, alternating the models")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--one", help=argparse.SUPPRESS)  # internal: measure this model and print JSON
    ap.add_argument("--calls-dir", type=Path, help=argparse.SUPPRESS)  # internal: rendered calls
    args = ap.parse_args()
    if args.one:
        row = measure(
            args.one, args.fsdd, args.fsdd_limit, args.calls_dir, args.calls, args.threads, args.seed
        )
        print(json.dumps(row))
        return
    if args.fsdd_limit and not any(args.fsdd.glob("**/*.wav")):
        print(f"no FSDD recordings in {args.fsdd}: digits skipped (give --fsdd)", file=sys.stderr)
    started = time.strftime("%Y-%m-%d %H:%M")
    loads = [os.getloadavg()[0]]
    calls_dir = render_calls(args.calls) if args.calls else None
    runs: dict[str, list[dict]] = {m: [] for m in args.models}
    for r in range(args.rounds):
        order = args.models[r % len(args.models) :] + args.models[: r % len(args.models)]
        for model in order:
            cmd = [sys.executable, __file__, "--one", model, "--fsdd", str(args.fsdd), "--fsdd-limit", str(args.fsdd_limit),
                   "--calls", str(args.calls), "--threads", str(args.threads), "--seed", str(args.seed)]  # fmt: skip
            if calls_dir is not None:
                cmd += ["--calls-dir", str(calls_dir)]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
            row = json.loads(out.strip().splitlines()[-1])
            row["round"] = r + 1
            runs[model].append(row)
            loads.append(os.getloadavg()[0])
            print(json.dumps(row), flush=True)
    summary = summarise(runs)
    for row in summary:
        print(json.dumps(row), flush=True)
    print(table(summary))
    print(
        f"started {started}, ended {time.strftime('%Y-%m-%d %H:%M')}; "
        f"load average (1 min) {min(loads):.1f}-{max(loads):.1f}",
        file=sys.stderr,
    )
    if args.json:
        args.json.write_text(json.dumps({"runs": runs, "summary": summary}, indent=1))


if __name__ == "__main__":
    main()

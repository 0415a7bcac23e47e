"""The registry's speech models side by side: accuracy, speed and memory, to choose defaults per use.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/speech_models.py [--models tiny.en base]
        [--fsdd-limit 200] [--calls N] [--threads 1] [--json FILE]

Per model, in one process each (so memory is the model's own):
- load: seconds to load, resident memory added (MB);
- digits: FSDD (real 8 kHz speakers, ../shared/data/fsdd), streamed in 20 ms frames with the
  ten digit words as phrases, as the IVR does (bench/asr_fsdd.py's loop): accuracy, rejected, finish
  p50/p95 (the IVR's turn cost) — skipped when the data is not there;
- calls: the rendered sample calls (recordings/samples scripts, espeak-ng voices through the
  telephone band) transcribed whole with the scorecard phrases as context, as QA's first reading:
  word error rate against the scripts (bench/qa_transcript_wer.py's normalisation) and the real-time
  factor (audio seconds per second of ASR).
The same seeded file sample for every model; run on a quiet machine and note the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def rss_mb() -> float:
    """Resident memory now (Linux /proc), MB."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * resource.getpagesize() / 1e6


def measure(model: str, fsdd_limit: int, calls: int, threads: int, seed: int) -> dict:
    """One model's row (runs in its own process: see main)."""
    from asr_fsdd import DEFAULT_DATA, DIGITS, percentile, run

    from callwright.speech.asr.factory import get_recognizer, with_model

    row: dict = {"model": model}
    before = rss_mb()
    t0 = time.perf_counter()
    recognizer = get_recognizer(with_model("auto", model), cpu_threads=threads)
    stream = recognizer.open(8000, ["one"])  # the first stream loads the model
    stream.finish()
    row["load_s"] = round(time.perf_counter() - t0, 2)
    row["rss_mb"] = round(rss_mb() - before)

    files = sorted(DEFAULT_DATA.glob("recordings/*.wav")) or sorted(DEFAULT_DATA.glob("*.wav"))
    if files and fsdd_limit:
        random.Random(seed).shuffle(files)
        files = files[:fsdd_limit]
        tally = run(recognizer, files, DIGITS, True)
        row["digits_files"] = tally.n
        row["digits_accuracy"] = round(tally.correct / tally.n, 4)
        row["digits_rejected"] = tally.rejected
        row["digits_finish_p50_ms"] = round(1000 * percentile(tally.latencies, 50))
        row["digits_finish_p95_ms"] = round(1000 * percentile(tally.latencies, 95))
    if calls:
        row.update(_calls(recognizer, calls))
    return row


def _calls(recognizer, limit: int) -> dict:
    """First-reading WER and speed on the rendered sample calls (as bench/qa_transcript_wer.py)."""
    import tempfile

    from qa_transcript_wer import edits, normalise, references

    from callwright.qa import ingest
    from callwright.qa.pipeline import asr_context
    from callwright.qa.samples import SAMPLES_DIR, load_scripts, make_samples
    from callwright.qa.scorecard import load_scorecard
    from callwright.speech.asr.base import TranscribeOptions

    scripts = {s.call_id: s for s in load_scripts(SAMPLES_DIR)[:limit]}
    cards = {
        d: load_scorecard(ROOT / "scorecards" / f)
        for d, f in (("inbound", "inbound-service.yaml"), ("outbound", "outbound-sales.yaml"))
    }
    folder = Path(tempfile.mkdtemp(prefix="speech-models-"))
    make_samples(SAMPLES_DIR, folder, only=list(scripts))
    errors = words = 0
    audio_s = asr_s = 0.0
    for cid, script in scripts.items():
        path = folder / f"{cid}.wav"
        call = ingest.load_call(path, ingest.resolve_meta(path))
        ctx = asr_context(cards[script.meta.direction])
        refs = references(script)
        for role, track in call.tracks.items():
            t0 = time.perf_counter()
            segments = recognizer.transcribe(track, TranscribeOptions.of(ctx.get(role)))
            asr_s += time.perf_counter() - t0
            ref = normalise(refs[role])
            errors += edits(ref, normalise(" ".join(s.text for s in segments)))
            words += len(ref)
        audio_s += call.duration_s
    return {
        "calls": len(scripts),
        "calls_wer": round(errors / max(words, 1), 3),
        "calls_real_time_x": round(audio_s / asr_s, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=["tiny.en", "base"])
    ap.add_argument("--fsdd-limit", type=int, default=200)
    ap.add_argument("--calls", type=int, default=10, help="how many sample calls (0: none)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--one", help=argparse.SUPPRESS)  # internal: measure this model and print JSON
    args = ap.parse_args()
    if args.one:
        print(json.dumps(measure(args.one, args.fsdd_limit, args.calls, args.threads, args.seed)))
        return
    rows = []
    for model in args.models:
        cmd = [sys.executable, __file__, "--one", model, "--fsdd-limit", str(args.fsdd_limit),
               "--calls", str(args.calls), "--threads", str(args.threads), "--seed", str(args.seed)]  # fmt: skip
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
        print(json.dumps(rows[-1]), flush=True)
    print(f"load average: {os.getloadavg()[0]:.1f}", file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()

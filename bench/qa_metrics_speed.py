"""Speed and memory of ingest + conversation metrics (no ASR), in audio hours per CPU hour.

    .venv/bin/python bench/qa_metrics_speed.py [--hour]

Times, on one core, each stage QA runs before transcription: load_call (read,
content hash, split channels), the 16 kHz tracks for the recogniser, and
metrics_from_audio (VAD + music detection + metrics) over the rendered sample
calls (recordings/samples; run scripts/make_sample_calls.py first). With
--hour it also builds a one-hour stereo call from the samples back to back and
reports its times and the process's peak memory, measured in a fresh child
process so the figure is the cost of one hour-long call.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def measure(paths: list[Path]) -> dict[str, float]:
    from callwright.qa.ingest import load_call
    from callwright.qa.metrics import metrics_from_audio

    audio_s = load_s = resample_s = metrics_s = 0.0
    wall0 = time.perf_counter()
    for p in paths:
        t0 = cpu()
        call = load_call(p)
        t1 = cpu()
        _ = call.tracks_16k
        t2 = cpu()
        metrics_from_audio(call)
        t3 = cpu()
        audio_s += call.duration_s
        load_s, resample_s, metrics_s = load_s + t1 - t0, resample_s + t2 - t1, metrics_s + t3 - t2
    return {
        "audio_s": audio_s,
        "load_cpu_s": load_s,
        "resample_cpu_s": resample_s,
        "metrics_cpu_s": metrics_s,
        "wall_s": time.perf_counter() - wall0,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def build_hour(out: Path) -> Path:
    """Sample calls back to back until an hour of stereo audio (they are real speech, holds and silences)."""
    import soundfile as sf

    samples = sorted((ROOT / "recordings" / "samples").glob("*.wav"))
    stereo = [sf.read(p, dtype="int16")[0] for p in samples]
    stereo = [x for x in stereo if x.ndim == 2]
    written = 0
    with sf.SoundFile(out, "w", 8000, 2, "PCM_16") as fh:
        while written < 3600 * 8000:
            for x in stereo:
                part = x[: 3600 * 8000 - written]
                fh.write(part)
                written += len(part)
                if written >= 3600 * 8000:
                    break
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hour", action="store_true", help="also time one hour-long call in a child process")
    ap.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(measure([args.child])))
        return 0
    paths = sorted((ROOT / "recordings" / "samples").glob("*.wav"))
    if not paths:
        print("no sample calls: run scripts/make_sample_calls.py first", file=sys.stderr)
        return 1
    measure(paths[:1])  # warm imports
    r = measure(paths)
    rows = [("sample calls", len(paths), r)]
    if args.hour:
        with tempfile.TemporaryDirectory() as tmp:
            hour = build_hour(Path(tmp) / "hour.wav")
            out = subprocess.run(
                [sys.executable, __file__, "--child", str(hour)], capture_output=True, text=True, check=True
            )
            rows.append(("one hour-long call", 1, json.loads(out.stdout)))
    lines = [
        "| input | audio | load_call | 16 kHz tracks | metrics_from_audio | all three: audio h / CPU h | peak RSS |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, n, m in rows:
        total = m["load_cpu_s"] + m["resample_cpu_s"] + m["metrics_cpu_s"]
        lines.append(
            f"| {name} ({n} file{'s' if n > 1 else ''}) | {m['audio_s'] / 60:.1f} min | {m['load_cpu_s']:.2f} s "
            f"| {m['resample_cpu_s']:.2f} s | {m['metrics_cpu_s']:.2f} s | {m['audio_s'] / total:.0f}x "
            f"| {m['peak_rss_mb']:.0f} MB |"
        )
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())

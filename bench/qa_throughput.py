"""Whole QA pipeline throughput vs raw ASR throughput on the same files, and memory per worker.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/qa_throughput.py [--workers 2] [--samples DIR]

Renders the ten sample calls (espeak-ng, 8 kHz stereo) unless --samples gives a
folder of them, then times, with the same number of worker processes (one
thread each, models loaded once per worker, startup included in both):

1. raw ASR: each call read and split, every channel transcribed exactly as the pipeline does
   (our voice activity per channel, then `transcribe_tracks` with the scorecard's phrases as
   context), nothing else;
2. the pipeline: one `score_batch` (ASR, redaction, sentiment, metrics, scoring,
   SQLite) given scorecards/inbound-service.yaml and outbound-sales.yaml: each
   call is scored with the one for its direction.

Reports audio hours per wall-clock hour (x real time) for both, their ratio,
and the peak RSS of each worker. Figures go into docs/benchmarks/qa_pipeline.md.

Ten calls are 13 minutes of audio, and each pipeline worker spends about 6 s
loading torch and MiniLM (the recogniser alone, under 1 s); `--copies N` scores
N copies of every call (its own call id, and its first sample moved inaudibly, so
its content hash differs: the batch never scores the same recording twice), for the
throughput of a batch long enough for that start to matter as little as it does
in an hour of calls.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_rec = None


def _init_asr() -> None:
    global _rec
    os.environ["OMP_NUM_THREADS"] = "1"
    import torch

    torch.set_num_threads(1)
    from callwright.qa.pipeline import get_engines

    _rec = get_engines("whisper", 1).recognizer


def _transcribe(path: str) -> tuple[float, int, float]:
    """The pipeline's ASR step alone: the same recogniser call, with the same scorecard context."""
    from callwright.qa.ingest import load_call, resolve_meta
    from callwright.qa.metrics import track_activity
    from callwright.qa.pipeline import asr_context, transcribe_tracks
    from callwright.qa.scorecard import load_scorecard

    meta = resolve_meta(Path(path))
    name = "inbound-service" if meta.direction == "inbound" else "outbound-sales"
    call = load_call(path, meta)
    speech = {role: track_activity(track)[0] for role, track in call.tracks.items()}  # what Whisper decodes
    context = asr_context(load_scorecard(ROOT / "scorecards" / f"{name}.yaml"))
    transcribe_tracks(call, _rec, context, speech)  # type: ignore[arg-type]
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return call.duration_s, os.getpid(), rss


def raw_asr(paths: list[Path], workers: int) -> dict:
    t0 = time.perf_counter()
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_asr) as pool:
        results = list(pool.map(_transcribe, map(str, paths)))
    wall = time.perf_counter() - t0
    rss: dict[int, float] = {}
    for _, pid, mb in results:
        rss[pid] = max(mb, rss.get(pid, 0.0))
    audio = sum(d for d, _, _ in results)
    return {
        "audio_s": audio,
        "wall_s": wall,
        "x_real_time": audio / wall,
        "peak_rss_mb": sorted(rss.values()),
    }


def pipeline(paths: list[Path], workers: int, db: Path, second_listen: bool = True) -> dict:
    """One batch with both sample scorecards: each call gets the one for its direction."""
    from callwright.qa.scorecard import load_scorecard
    from callwright.store.qa_batch import score_batch

    cards = [
        load_scorecard(ROOT / "scorecards" / f"{name}.yaml") for name in ("inbound-service", "outbound-sales")
    ]
    t0 = time.perf_counter()
    s = score_batch(paths, cards, db, workers=workers, engine="whisper", second_listen=second_listen)
    wall = time.perf_counter() - t0
    assert not s.of("error"), s.of("error")
    return {
        "audio_s": s.audio_s,
        "wall_s": wall,
        "x_real_time": s.audio_s / wall,
        "peak_rss_mb": sorted(s.worker_peak_rss_mb.values()),
    }


def _copies(paths: list[Path], n: int, out: Path) -> list[Path]:
    """`n` copies of each call and its sidecar: call id suffixed, and copy k's first sample moved
    by 64k (of 32768: inaudible, but a new content hash, in the file's own encoding)."""
    import hashlib

    import numpy as np
    import soundfile as sf

    out.mkdir(parents=True)
    copies, seen = [], set()
    for path in paths:
        meta = json.loads(path.with_suffix(".json").read_text())
        data, rate = sf.read(str(path), dtype="int16", always_2d=True)
        subtype = sf.info(str(path)).subtype
        first = int(data[0, 0])
        for k in range(n):
            name = f"{path.stem}-{k}"
            data[0, 0] = np.int16(first + 64 * k if first < 0 else first - 64 * k)
            sf.write(str(out / f"{name}.wav"), data, rate, subtype=subtype)
            digest = hashlib.sha256((out / f"{name}.wav").read_bytes()).hexdigest()
            assert digest not in seen, f"{name}: the copy has the same content as another"
            seen.add(digest)
            (out / f"{name}.json").write_text(json.dumps({**meta, "call_id": name}))
            copies.append(out / f"{name}.wav")
    return copies


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--samples", type=Path, default=None, help="folder of rendered sample calls")
    ap.add_argument("--no-second-listen", action="store_true", help="score the first reading only")
    ap.add_argument("--copies", type=int, default=1, help="score N copies of every call (a longer batch)")
    args = ap.parse_args()
    from callwright.qa.samples import make_samples

    work = Path(tempfile.mkdtemp(prefix="qa-bench-"))
    try:
        src = args.samples or work / "samples"
        if args.samples is None:
            make_samples(out_dir=src)
        paths = sorted(src.glob("*.wav"))
        if args.copies > 1:
            paths = _copies(paths, args.copies, work / "copies")
        asr = raw_asr(paths, args.workers)
        pipe = pipeline(paths, args.workers, work / "qa.db", not args.no_second_listen)
        out = {
            "files": len(paths),
            "workers": args.workers,
            "cores": len(os.sched_getaffinity(0)),
            "raw_asr": asr,
            "pipeline": pipe,
            "pipeline_over_asr": pipe["x_real_time"] / asr["x_real_time"],
        }
        print(json.dumps(out, indent=2))
        print(
            f"\n| | audio (s) | wall (s) | x real time | peak RSS per worker (MB) |\n|---|---:|---:|---:|---|\n"
            f"| raw ASR | {asr['audio_s']:.0f} | {asr['wall_s']:.1f} | {asr['x_real_time']:.1f} | "
            f"{', '.join(f'{m:.0f}' for m in asr['peak_rss_mb'])} |\n"
            f"| pipeline | {pipe['audio_s']:.0f} | {pipe['wall_s']:.1f} | {pipe['x_real_time']:.1f} | "
            f"{', '.join(f'{m:.0f}' for m in pipe['peak_rss_mb'])} |\n\n"
            f"pipeline / raw ASR = {out['pipeline_over_asr']:.2f}"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

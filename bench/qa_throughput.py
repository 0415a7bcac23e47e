"""Whole QA pipeline throughput vs raw ASR throughput on the same files, and memory per worker.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/qa_throughput.py [--workers 2] [--samples DIR]
        [--copies N] [--no-second-listen] [--raw plain asr-step] [--compare SRC ...]
        [--variant NAME=VALUE[,NAME=VALUE] ...] [--raw-env NAME=VALUE[,NAME=VALUE] ...]

Renders the ten sample calls (espeak-ng, 8 kHz stereo) unless --samples gives a
folder of them, then times, with the same number of worker processes (one
thread each, models loaded once per worker, startup included in all):

1. raw ASR, `--raw plain` (the issue's measure): plain faster-whisper tiny.en with its
   default `transcribe` settings (beam 5, temperature fallback, no VAD, no word times;
   int8 on one thread, as the pipeline loads it) on each channel of each file, as
   `decode_audio(path, split_stereo=True)` reads it (a mono file: its one channel);
2. raw ASR, `--raw asr-step`: each call read and split, every channel transcribed exactly as
   the pipeline does (our voice activity per channel, then `transcribe_tracks` with the
   scorecard's phrases as context), nothing else;
3. the pipeline: one `score_batch` (ASR, redaction, sentiment, metrics, scoring,
   SQLite) given scorecards/inbound-service.yaml and outbound-sales.yaml: each
   call is scored with the one for its direction.

`--compare SRC` also runs the pipeline with another source tree's `callwright` (a
subprocess with PYTHONPATH=SRC, e.g. /work/wt/base/src), alternating with this
tree's, on the same files in the same run, so a change is measured against what it
changes under the same load. `--variant NAME=VALUE` runs this tree again with those environment
settings (e.g. `CT2_FORCE_CPU_ISA=AVX2`, CTranslate2's kernels), alternating with the rest;
`--raw-env NAME=VALUE` times each raw ASR measure again with those settings (plain faster-whisper
on the kernels the pipeline now asks for: `whisper_decoder.choose_kernels`). Every pipeline run is a fresh process (as a `callwright qa
score` is), so each pays its workers' start. The load average is printed before and after.

Reports audio hours per wall-clock hour (x real time) for each, the pipeline's ratio to
each raw ASR measure, the CPU seconds used (this process and its joined children: on a
shared machine the fairer comparison, as other work stretches the wall clock) and the
same ratio per CPU second, and the peak RSS of each worker; and whether every pipeline run gave every
call the same score, auto-fail and item verdicts as this tree's first run (read back from each run's
database), with the items a second listen made pass. Figures go into docs/benchmarks/qa_pipeline.md.

Ten calls are 13 minutes of audio, and each pipeline worker spends about 6 s
loading torch and MiniLM (the recogniser alone, under 1 s); `--copies N` scores
N copies of every call (its own call id, and its first sample moved inaudibly, so
its content hash differs: the batch never scores the same recording twice), for the
throughput of a batch long enough for that start to matter as little as it does
in an hour of calls.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
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


_plain = None


def _init_plain() -> None:
    global _plain
    os.environ["OMP_NUM_THREADS"] = "1"
    from faster_whisper import WhisperModel

    from callwright.speech.asr.model_paths import whisper_model_path

    _plain = WhisperModel(str(whisper_model_path(None)), device="cpu", compute_type="int8", cpu_threads=1)


def _transcribe_plain(path: str) -> tuple[float, int, float]:
    """Plain faster-whisper, default settings, on each channel of the file."""
    import soundfile as sf
    from faster_whisper.audio import decode_audio

    info = sf.info(path)
    channels = decode_audio(path, split_stereo=info.channels == 2)
    for samples in channels if isinstance(channels, tuple) else (channels,):
        segments, _ = _plain.transcribe(samples)  # type: ignore[union-attr]
        list(segments)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return info.frames / info.samplerate, os.getpid(), rss


def _cpu() -> float:
    """CPU seconds of this process and of its waited-for children (the workers, once joined), and of
    the batch's forkserver with the workers it forked and reaped (`qa.batch` forks its workers from
    one, which is this process's child but not their parent)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime + _forkserver_cpu()


def _forkserver_cpu() -> float:
    """The forkserver's own CPU seconds and its reaped children's, from /proc (0 when none runs)."""
    from multiprocessing import forkserver

    pid = getattr(forkserver._forkserver, "_forkserver_pid", None)
    if not pid:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # after the command name: state is field 3, utime 14, stime 15, cutime 16, cstime 17
    return sum(int(fields[i]) for i in (11, 12, 13, 14)) / os.sysconf("SC_CLK_TCK")


def raw_asr(paths: list[Path], workers: int, kind: str = "asr-step") -> dict:
    c0 = _cpu()
    t0 = time.perf_counter()
    ctx = multiprocessing.get_context("spawn")
    init, work = (_init_plain, _transcribe_plain) if kind == "plain" else (_init_asr, _transcribe)
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=init) as pool:
        results = list(pool.map(work, map(str, paths)))
    wall = time.perf_counter() - t0
    cpu = _cpu() - c0
    rss: dict[int, float] = {}
    for _, pid, mb in results:
        rss[pid] = max(mb, rss.get(pid, 0.0))
    audio = sum(d for d, _, _ in results)
    return {
        "audio_s": audio,
        "wall_s": wall,
        "cpu_s": cpu,
        "x_real_time": audio / wall,
        "x_real_time_per_cpu_s": audio / cpu,
        "peak_rss_mb": sorted(rss.values()),
    }


def pipeline_elsewhere(
    src: str,
    paths: list[Path],
    workers: int,
    db: Path,
    second_listen: bool,
    env: dict[str, str] | None = None,
) -> dict:
    """`pipeline` run by another source tree's `callwright` (PYTHONPATH=src), in a subprocess, with
    `env` added to its environment."""
    import subprocess

    code = (
        "import json, sys; from pathlib import Path; a = json.loads(sys.argv[1]); sys.path.insert(0, a[0]); "
        "import qa_throughput as q; "
        "print(json.dumps(q.pipeline([Path(p) for p in a[1]], a[2], Path(a[3]), a[4])))"
    )
    args = json.dumps([str(ROOT / "bench"), [str(p) for p in paths], workers, str(db), second_listen])
    env = {**os.environ, **(env or {}), "PYTHONPATH": src}
    out = subprocess.run(
        [sys.executable, "-c", code, args], env=env, check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def pipeline(paths: list[Path], workers: int, db: Path, second_listen: bool = True) -> dict:
    """One batch with both sample scorecards: each call gets the one for its direction."""
    from callwright.qa.scorecard import load_scorecard
    from callwright.store.qa_batch import score_batch

    cards = [
        load_scorecard(ROOT / "scorecards" / f"{name}.yaml") for name in ("inbound-service", "outbound-sales")
    ]
    c0 = _cpu()
    t0 = time.perf_counter()
    s = score_batch(paths, cards, db, workers=workers, engine="whisper", second_listen=second_listen)
    wall = time.perf_counter() - t0
    cpu = _cpu() - c0
    assert not s.of("error"), s.of("error")
    return {
        "verdicts": verdicts(db),
        "audio_s": s.audio_s,
        "wall_s": wall,
        "cpu_s": cpu,
        "x_real_time": s.audio_s / wall,
        "x_real_time_per_cpu_s": s.audio_s / cpu,
        "peak_rss_mb": sorted(s.worker_peak_rss_mb.values()),
    }


def verdicts(db: Path) -> dict[str, dict]:
    """Per call: its score, auto-fail, every item's verdict, and the items a second listen made pass
    (read from the database, so that two trees' runs can be compared call by call)."""
    import sqlite3

    con = sqlite3.connect(db)
    try:
        out: dict[str, dict] = {
            call: {"score": score, "auto_failed": bool(af), "items": {}, "heard_again": []}
            for call, score, af in con.execute("SELECT call_id, score, auto_failed FROM scores")
        }
        rows = con.execute(
            "SELECT call_id, item_id, verdict, evidence FROM item_scores ORDER BY call_id, item_id"
        )
        for call, item, verdict, evidence in rows:
            out[call]["items"][item] = verdict
            if "heard again" in (evidence or ""):
                out[call]["heard_again"].append(item)
    finally:
        con.close()
    return out


def _differences(runs: dict[str, list[dict]]) -> list[str]:
    """Where any run's verdicts differ from this tree's first run (empty: the same everywhere)."""
    ref = runs["this"][0]["verdicts"]
    out = []
    for tree, rs in runs.items():
        for k, r in enumerate(rs):
            for call in sorted(set(ref) | set(r["verdicts"])):
                a, b = ref.get(call), r["verdicts"].get(call)
                if a != b:
                    out.append(f"{tree} run {k + 1}, {call}: {b} (this tree, run 1: {a})")
    return out


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


def _env(spec: str) -> dict[str, str]:
    """`NAME=VALUE[,NAME=VALUE]` as a dict (a bad one stops the bench with its text)."""
    out = {}
    for part in spec.split(","):
        name, eq, value = part.partition("=")
        if not eq or not name.strip():
            raise SystemExit(f"--variant {spec!r}: expected NAME=VALUE[,NAME=VALUE]")
        out[name.strip()] = value.strip()
    return out


@contextlib.contextmanager
def _environ(env: dict[str, str]) -> Iterator[None]:
    """This process's environment with `env` added, for as long as the block runs."""
    before = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for k, v in before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def _row(name: str, r: dict, raw: dict) -> str:
    ratio = ", ".join(f"{r['x_real_time'] / v['x_real_time']:.2f}" for v in raw.values())
    per_cpu = ", ".join(
        f"{r['x_real_time_per_cpu_s'] / v['x_real_time_per_cpu_s']:.2f}" for v in raw.values()
    )
    return (
        f"| {name} | {r['audio_s']:.0f} | {r['wall_s']:.1f} | {r['x_real_time']:.1f} | {ratio} | "
        f"{r['cpu_s']:.1f} | {per_cpu} | {', '.join(f'{m:.0f}' for m in r['peak_rss_mb'])} |"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--samples", type=Path, default=None, help="folder of rendered sample calls")
    ap.add_argument("--no-second-listen", action="store_true", help="score the first reading only")
    ap.add_argument("--copies", type=int, default=1, help="score N copies of every call (a longer batch)")
    ap.add_argument(
        "--raw",
        nargs="*",
        default=["plain", "asr-step"],
        choices=["plain", "asr-step"],
        help="raw ASR measures (none: the pipelines only)",
    )
    ap.add_argument("--compare", nargs="*", default=[], metavar="SRC", help="other source trees' pipelines")
    ap.add_argument("--rounds", type=int, default=1, help="pipeline runs per tree, alternating")
    ap.add_argument(
        "--variant",
        nargs="*",
        default=[],
        metavar="NAME=VALUE[,NAME=VALUE]",
        help="this tree's pipeline again with these environment settings",
    )
    ap.add_argument(
        "--raw-env",
        nargs="*",
        default=[],
        metavar="NAME=VALUE[,NAME=VALUE]",
        help="each raw ASR measure again with these environment settings",
    )
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
        variants = {f"this+{v}": _env(v) for v in args.variant}
        load_before = _load()
        raw = {kind: raw_asr(paths, args.workers, kind) for kind in args.raw}
        for spec in args.raw_env:
            for kind in args.raw:
                with _environ(_env(spec)):  # the spawned workers inherit it
                    raw[f"{kind}, {spec}"] = raw_asr(paths, args.workers, kind)
        runs: dict[str, list[dict]] = {}
        n = 0
        for _ in range(args.rounds):
            for tree in ["this", *args.compare, *variants]:
                n += 1
                db = work / f"qa-{n}.db"
                sl = not args.no_second_listen
                # every run in a fresh process, as a `callwright qa score` would be (worker start included)
                src = str(ROOT / "src") if tree == "this" or tree in variants else tree
                r = pipeline_elsewhere(src, paths, args.workers, db, sl, variants.get(tree))
                runs.setdefault(tree, []).append(r)
        out = {
            "files": len(paths),
            "workers": args.workers,
            "cores": len(os.sched_getaffinity(0)),
            "load_average": {"before": load_before, "after": _load()},
            "raw_asr": raw,
            "pipeline": runs["this"][0],
            "pipelines": runs,
            "pipeline_over_asr": {
                k: runs["this"][0]["x_real_time"] / v["x_real_time"] for k, v in raw.items()
            },
        }
        out["verdict_differences"] = _differences(runs)
        heard = sorted(
            f"{call}: {', '.join(v['heard_again'])}"
            for call, v in runs["this"][0]["verdicts"].items()
            if v["heard_again"]
        )
        for rs in runs.values():
            for r in rs:
                r.pop("verdicts")
        print(json.dumps(out, indent=2))
        print(
            f"\nload average before {load_before}, after {out['load_average']['after']}\n\n"
            f"| | audio (s) | wall (s) | x real time | of raw ASR ({', '.join(raw)}) | CPU (s) | "
            f"of raw ASR per CPU s | peak RSS per worker (MB) |\n|---|---:|---:|---:|---:|---:|---:|---|"
        )
        for kind, r in raw.items():
            print(_row(f"raw ASR ({kind})", r, raw))
        for tree, rs in runs.items():
            for k, r in enumerate(rs):
                print(_row(f"pipeline ({tree}, run {k + 1})", r, raw))
        n_runs = sum(len(rs) for rs in runs.values())
        diff = out["verdict_differences"]
        print(
            "\nverdicts (score, auto-fail, every item): "
            + (f"the same in all {n_runs} pipeline runs" if not diff else "DIFFER:\n  " + "\n  ".join(diff))
        )
        print(f"passed by a second listen: {'; '.join(heard) or 'none'}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

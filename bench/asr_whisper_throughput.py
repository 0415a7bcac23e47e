"""Raw faster-whisper decode cost: latency for 1-2 s utterances, threads, and batching.

Answers three capacity questions for the IVR's recogniser worker, on real
FSDD speech padded to fixed lengths:

1. decode latency (WhisperStream.finish) for 1 s and 2 s utterances,
   with 1 and 2 CPU threads per decode;
2. throughput (utterances/s) with one decode at a time vs two in parallel
   (num_workers=2, one thread each);
3. whether batching several utterances into one encoder/decoder call helps
   (raw CTranslate2 calls, greedy, prompt as in the engine, no rescoring).

    .venv/bin/python bench/asr_whisper_throughput.py --n 24
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from callwright.speech.asr.whisper import WhisperRecognizer, WhisperSettings
from callwright.speech.audio import Audio, concat, read_audio, resample, silence

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "fsdd"
DIGITS = "zero one two three four five six seven eight nine".split()


def utterances(n: int, seconds: float, seed: int) -> list[Audio]:
    """FSDD clips centred in `seconds` of 8 kHz audio (what an endpointer would cut)."""
    files = random.Random(seed).sample(sorted(DATA.glob("*.wav")), n)
    out = []
    for f in files:
        clip = read_audio(f)
        rest = max(0.0, seconds - clip.duration_s)
        out.append(concat([silence(rest / 2, 8000), clip, silence(rest / 2, 8000)]))
    return out


def decode_latency(rec: WhisperRecognizer, clips: list[Audio]) -> dict[str, float]:
    times = []
    for clip in clips:
        stream = rec.open(8000, DIGITS)
        stream.accept(clip.samples)
        t0 = time.perf_counter()
        stream.finish()
        times.append(time.perf_counter() - t0)
    times.sort()
    return {
        "p50_ms": round(1000 * statistics.median(times), 1),
        "p95_ms": round(1000 * times[min(len(times) - 1, int(0.95 * (len(times) - 1) + 0.5))], 1),
    }


def throughput(rec: WhisperRecognizer, clips: list[Audio], workers: int) -> float:
    def one(clip: Audio) -> None:
        stream = rec.open(8000, DIGITS)
        stream.accept(clip.samples)
        stream.finish()

    t0 = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, clips))
    return round(len(clips) / (time.perf_counter() - t0), 2)


def batched(rec: WhisperRecognizer, clips: list[Audio], batch: int) -> float:
    """Utterances/s when `batch` utterances share one encode and one generate call."""
    import ctranslate2
    from faster_whisper.audio import pad_or_trim

    from callwright.speech.asr.whisper_utterance import phrase_prompt

    dec = rec.decoder
    model = dec._model  # batching is beyond the decoder's one-window operations: the raw model
    prompt = phrase_prompt(dec, DIGITS, rec.settings.prompt_style)
    feats = []
    for clip in clips:
        x = resample(clip, 16000).samples.astype(np.float32) / 32768.0
        feats.append(pad_or_trim(dec.features(x), 3000))
    t0 = time.perf_counter()
    for i in range(0, len(feats), batch):
        group = np.ascontiguousarray(np.stack(feats[i : i + batch]))
        encoded = model.model.encode(ctranslate2.StorageView.from_array(group))
        model.model.generate(encoded, [prompt] * group.shape[0], beam_size=1, max_length=len(prompt) + 24)
    return round(len(feats) / (time.perf_counter() - t0), 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=24, help="utterances per measurement")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    results: dict[str, object] = {}
    for threads in (1, 2):
        rec = WhisperRecognizer(settings=WhisperSettings(cpu_threads=threads))
        decode_latency(rec, utterances(2, 1.0, args.seed + 1))  # warm-up
        for seconds in (1.0, 2.0):
            clips = utterances(args.n, seconds, args.seed)
            results[f"latency_{seconds:g}s_{threads}thread"] = decode_latency(rec, clips)
    clips = utterances(args.n, 1.0, args.seed)
    serial = WhisperRecognizer(settings=WhisperSettings(cpu_threads=2))
    results["throughput_1_worker_2_threads_utt_per_s"] = throughput(serial, clips, 1)
    parallel = WhisperRecognizer(settings=WhisperSettings(cpu_threads=1, num_workers=2))
    results["throughput_2_workers_1_thread_utt_per_s"] = throughput(parallel, clips, 2)
    for batch in (1, 4, 8):
        results[f"batched_{batch}_utt_per_s"] = batched(serial, clips, batch)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()

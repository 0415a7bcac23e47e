"""How well conversation metrics measured from audio match the sample scripts, by line noise.

    .venv/bin/python bench/qa_metrics_accuracy.py [--snr 30 20 10] [--out docs/benchmarks/qa_metrics.md]

Renders every stereo sample in recordings/samples at each SNR (white noise
relative to each side's speech level, G.711 mu-law), runs ingest + voice
activity + metrics, and compares with the metrics of the scripted timeline:
turn onsets and ends, talk time, over-talk (count, interrupter), dead air and
holds. Also prints the steady-pitch share behind hold-music detection for the
sample music, espeak-ng speech and real FSDD voices (when ../shared/data/fsdd
is present). Prints a markdown section; --out writes it to a file.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FSDD = (ROOT / ".." / "shared" / "data" / "fsdd").resolve()


def steady_share(samples: np.ndarray, rate: int) -> float:
    from callwright.qa.metrics import pitch_steadiness
    from callwright.speech.audio import Audio

    level, steady = pitch_steadiness(Audio(samples, rate))
    loud = level > np.percentile(level, 10) + 6 if level.min() < 40 else np.ones(len(level), bool)
    return float(steady[loud].mean())


def music_table(calls) -> list[str]:
    from callwright.qa.samples import hold_music
    from callwright.speech.audio import Audio, read_audio, trim_silence
    from callwright.speech.degrade import add_noise, mulaw_round_trip

    rows = []
    music = Audio(np.round(hold_music(60, seed=3)).astype(np.int16), 8000)
    rows.append(
        (
            "sample hold music, 25 dB SNR, mu-law",
            steady_share(mulaw_round_trip(add_noise(music, 25)).samples, 8000),
        )
    )
    for call, ingested in calls[:3]:
        for role, track in ingested.tracks.items():
            speech = np.concatenate(
                [
                    track.samples[int(t.start * 8000) : int(t.end * 8000)]
                    for t in call.turns
                    if t.speaker == role
                ]
            )
            rows.append(
                (
                    f"espeak-ng {call.script.voices[role].voice} ({call.script.call_id})",
                    steady_share(speech, 8000),
                )
            )
    if FSDD.is_dir():
        for speaker in sorted({p.stem.split("_")[1] for p in FSDD.glob("*.wav")}):
            clips = sorted(FSDD.glob(f"*_{speaker}_1*.wav"))[:30]
            x = np.concatenate([trim_silence(read_audio(p)).samples for p in clips])
            rows.append(
                (f"FSDD {speaker}: 30 digits back to back ({len(x) / 8000:.0f} s)", steady_share(x, 8000))
            )
    out = ["| audio | steady-pitch share |", "|---|---:|"]
    out += [f"| {name} | {share:.2f} |" for name, share in rows]
    return out


def compare(call, ingested) -> dict[str, float]:
    from callwright.qa.metrics import activity_from_audio, conversation_metrics, metrics_from_audio

    music = [(h.start, h.end) for h in call.holds if h.music]
    truth = conversation_metrics(call.activity(), call.audio.duration_s, music=music)
    found = metrics_from_audio(ingested)
    activity = activity_from_audio(ingested)
    onset, offset = [], []
    for role, spans in call.activity().items():
        regions = activity[role]
        for s, e in spans:
            onset.append(min((abs(a - s) for a, _ in regions), default=99.0))
            offset.append(min((abs(b - e) for _, b in regions), default=99.0))
    return {
        "onset_med": statistics.median(onset),
        "onset_max": max(onset),
        "offset_med": statistics.median(offset),
        "offset_max": max(offset),
        "talk_ratio": sum(found.talk_s.values()) / sum(truth.talk_s.values()),
        "overtalk_truth": len(truth.overtalk),
        "overtalk_ok": sum(
            1
            for t in truth.overtalk
            if any(
                f.start < t.end and f.end > t.start and f.interrupter == t.interrupter for f in found.overtalk
            )
        ),
        "overtalk_extra": max(0, len(found.overtalk) - len(truth.overtalk)),
        "dead_truth": len(truth.dead_air),
        "dead_found": len(found.dead_air),
        "hold_truth": len(truth.holds),
        "hold_found": len(found.holds),
    }


def main(argv: list[str] | None = None) -> int:
    from callwright.qa.ingest import load_call
    from callwright.qa.samples import SAMPLES_DIR, load_scripts, render, write_call
    from callwright.speech.tts import default_synthesizer

    ap = argparse.ArgumentParser()
    ap.add_argument("--snr", type=float, nargs="+", default=[30.0, 20.0, 10.0])
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    synth = default_synthesizer()
    scripts = [s for s in load_scripts(SAMPLES_DIR) if not s.mono]
    lines = [
        "## Conversation metrics from audio vs the sample scripts",
        "",
        f"{len(scripts)} stereo sample calls ({', '.join(s.call_id for s in scripts)}), rendered at each SNR; "
        "onset/end = distance from each scripted line's start/end to the nearest detected region edge "
        "on its channel; talk = measured / scripted talk time (the script counts the pauses between "
        "sentences as talk, the VAD does not).",
        "",
        "| SNR dB | onset median / max (s) | end median / max (s) | talk measured/scripted | "
        "over-talk found (overlapping the scripted one, right interrupter) | extra over-talk | dead air found | holds found |",
        "|---:|---|---|---:|---|---:|---|---|",
    ]
    first_calls = []
    with tempfile.TemporaryDirectory() as tmp:
        for snr in args.snr:
            rows = []
            for s in scripts:
                call = render(dataclasses.replace(s, noise_snr_db=snr), synth)
                ingested = load_call(write_call(call, Path(tmp) / f"{snr:g}"))
                rows.append(compare(call, ingested))
                if snr == args.snr[0]:
                    first_calls.append((call, ingested))
            lines.append(
                f"| {snr:g} | {statistics.median(r['onset_med'] for r in rows):.2f} / {max(r['onset_max'] for r in rows):.2f} "
                f"| {statistics.median(r['offset_med'] for r in rows):.2f} / {max(r['offset_max'] for r in rows):.2f} "
                f"| {min(r['talk_ratio'] for r in rows):.2f}-{max(r['talk_ratio'] for r in rows):.2f} "
                f"| {sum(r['overtalk_ok'] for r in rows)}/{sum(r['overtalk_truth'] for r in rows)} "
                f"| {sum(r['overtalk_extra'] for r in rows)} "
                f"| {sum(r['dead_found'] for r in rows)}/{sum(r['dead_truth'] for r in rows)} "
                f"| {sum(r['hold_found'] for r in rows)}/{sum(r['hold_truth'] for r in rows)} |"
            )
            print(lines[-1], file=sys.stderr, flush=True)
        lines += [
            "",
            "Hold-music cue (`callwright.qa.metrics.music_regions`): share of 100 ms frames whose "
            "strongest 150-3400 Hz peak stays in the same 10 Hz bin as the previous frame; a loud run of "
            "8 s or more with a share of 0.5 or more is music.",
            "",
        ]
        lines += music_table(first_calls)
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Whole-call transcription of the sample calls: word error rate against the scripts, ASR time,
and (with --score) how many of each script's `expect` entries the scored call meets.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/qa_transcript_wer.py [--samples DIR] [--config NAME ...]
        [--only CALL_ID ...] [--score] [--json] [--variant N]

The scripts in recordings/samples are the ground truth: each channel's reference
is the text of that side's lines in order (a mono call's is every line). Text is
compared after normalising case, punctuation, numerals ("84" -> "eighty four",
"1985" -> "nineteen eighty five"), a few contractions and titles, so WER counts
misheard words, not spelling conventions. WER = (substitutions + deletions +
insertions) / reference words, summed over every channel of every call.

Each --config is a preset below: the faster-whisper arguments (`overrides`) or piece
settings (`pieces`) given to `WhisperRecognizer.transcribe`, and whether the scorecard's phrases go in as
context (the pipeline's `asr_context`). One process, one ASR thread: ASR time is
comparable between configs on a quiet machine. Figures in docs/benchmarks/qa_transcripts.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

from callwright.speech.asr.base import NO_OPTIONS, TranscribeOptions
from callwright.speech.asr.whisper_pieces import PieceSettings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]

_PAD = {"speech_pad_ms": 300, "min_silence_duration_ms": 500}
_FALLBACK = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)  # faster-whisper's default; the pipeline has none since session 5
CONFIGS: dict[str, dict] = {
    # the settings before this bench: beam 5, temperature fallback, Silero VAD defaults, no context
    "beam5": {"options": {"beam_size": 5, "temperature": _FALLBACK}, "context": False},
    "beam1": {"options": {"beam_size": 1, "temperature": _FALLBACK}, "context": False},
    "beam5-t0": {"options": {"beam_size": 5, "temperature": 0.0}, "context": False},
    "beam1-t0": {"options": {"beam_size": 1, "temperature": 0.0}, "context": False},
    "beam5-t0-nots": {
        "options": {"beam_size": 5, "temperature": 0.0, "without_timestamps": True},
        "context": False,
    },
    "beam5-t0-pad": {
        "options": {"beam_size": 5, "temperature": 0.0, "vad_parameters": _PAD},
        "context": False,
    },
    "beam5-t0+ctx": {"options": {"beam_size": 5, "temperature": 0.0}, "context": True},
    "beam5+ctx": {"options": {"beam_size": 5, "temperature": _FALLBACK}, "context": True},
    "beam1+ctx": {"options": {"beam_size": 1, "temperature": _FALLBACK}, "context": True},
    "beam5-t0-cond": {
        "options": {"beam_size": 5, "temperature": 0.0, "condition_on_previous_text": True},
        "context": False,
    },
    "beam5+ctx-speech": {
        "options": {"beam_size": 5, "no_speech_threshold": None, "temperature": _FALLBACK},
        "context": True,
    },
    "beam1+ctx-speech": {
        "options": {"beam_size": 1, "no_speech_threshold": None, "temperature": _FALLBACK},
        "context": True,
    },
    "beam5+ctx+own-vad": {
        "options": {"beam_size": 5, "temperature": _FALLBACK},
        "context": True,
        "own_vad": True,
    },
    "beam1+ctx+own-vad": {
        "options": {"beam_size": 1, "temperature": _FALLBACK},
        "context": True,
        "own_vad": True,
    },
    # our own voice activity, each piece decoded alone in a window of its length but at least N s
    **{
        f"pieces-w{w}": {
            "options": {"pieces": PieceSettings(min_window_s=w)},
            "context": True,
            "own_vad": True,
        }
        for w in (0, 10, 15, 20, 30)
    },
    "pieces-w15-beam1": {
        "options": {"pieces": PieceSettings(min_window_s=15, beam_size=1)},
        "context": True,
        "own_vad": True,
    },
    # the pipeline's decode, scored without (first-listen) and with (pipeline) the second listen
    "first-listen": {"options": {}, "context": True, "own_vad": True, "listen": False},
    "pipeline": {"options": {}, "context": True, "own_vad": True},  # what the pipeline uses now
}

_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen".split()
)
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_ORDINALS = {
    "one": "first",
    "two": "second",
    "three": "third",
    "five": "fifth",
    "eight": "eighth",
    "nine": "ninth",
    "twelve": "twelfth",
    "twenty": "twentieth",
    "thirty": "thirtieth",
}
_EXPAND = {
    "i'm": "i am",
    "it's": "it is",
    "that's": "that is",
    "you're": "you are",
    "we're": "we are",
    "let's": "let us",
    "don't": "do not",
    "can't": "cannot",
    "i've": "i have",
    "we've": "we have",
    "i'll": "i will",
    "you'll": "you will",
    "we'll": "we will",
    "what's": "what is",
    "there's": "there is",
    "isn't": "is not",
    "didn't": "did not",
    "won't": "will not",
    "i'd": "i would",
    "you'd": "you would",
    "mrs": "missus",
    "ms": "miz",
    "mr": "mister",
    "okay": "ok",
    "o'clock": "oclock",
    "check-up": "check up",
    "set-up": "setup",
}


def _say(n: int) -> str:
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    if n < 1000:
        rest = n % 100
        return _ONES[n // 100] + " hundred" + (" and " + _say(rest) if rest else "")
    if 1100 <= n < 2000 or (2010 <= n < 2100):  # years
        return _say(n // 100) + " " + (_say(n % 100) if n % 100 >= 10 else "oh " + _say(n % 100))
    if n < 1_000_000:
        rest = n % 1000
        return _say(n // 1000) + " thousand" + (" " + _say(rest) if rest else "")
    return " ".join(_ONES[int(d)] for d in str(n))


def _ordinal(words: str) -> str:
    last = words.split()[-1]
    head = words[: -len(last)]
    if last in _ORDINALS:
        return head + _ORDINALS[last]
    return head + (last[:-1] + "ieth" if last.endswith("y") else last + "th")


def normalise(text: str) -> list[str]:
    text = text.lower().replace("\u2019", "'").replace("%", " percent")
    text = re.sub(r"[$£€]\s*(\d+)", r"\1", text)
    text = re.sub(r"(\d),(\d{3})", r"\1\2", text)
    text = re.sub(r"(\d+)(st|nd|rd|th)\b", lambda m: " " + _ordinal(_say(int(m.group(1)))) + " ", text)
    text = re.sub(r"(\d+):(\d+)", lambda m: f" {_say(int(m.group(1)))} {_say(int(m.group(2)))} ", text)
    text = re.sub(r"\d+", lambda m: " " + _say(int(m.group(0))) + " ", text)
    out: list[str] = []
    for w in re.findall(r"[a-z]+(?:['-][a-z]+)*", text):
        out.extend(_EXPAND.get(w, w).replace("-", " ").split())
    return out


def edits(ref: list[str], hyp: list[str]) -> int:
    """Levenshtein distance over words."""
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1]


def references(script) -> dict[str, str]:
    from callwright.qa.samples import Line

    lines = [s for s in script.steps if isinstance(s, Line)]
    if script.mono:
        return {"unknown": " ".join(s.text for s in lines)}
    return {role: " ".join(s.text for s in lines if s.speaker == role) for role in script.channels}


class _Configured:
    """A recogniser whose whole-call `transcribe` uses one preset."""

    def __init__(self, rec, options, context: bool, own_vad: bool = False) -> None:
        self.rec, self.context, self.own_vad = rec, context, own_vad
        self.pieces = options.get("pieces")
        self.overrides = {k: v for k, v in options.items() if k != "pieces"}
        self.name, self.capabilities = rec.name, rec.capabilities
        self.calls: list[tuple[str, float, str]] = []  # (role hint, seconds, text)

    def transcribe(self, audio, given=NO_OPTIONS):
        t0 = time.perf_counter()
        chosen = given.phrases if self.context else None
        speech = None
        if self.own_vad:
            from callwright.qa.metrics import track_activity

            speech = given.speech or track_activity(audio)[0]
        options = TranscribeOptions.of(chosen, speech)
        segs = self.rec.transcribe(audio, options, pieces=self.pieces, overrides=self.overrides)
        self.calls.append(("", time.perf_counter() - t0, " ".join(s.text for s in segs)))
        return segs

    def second_listen(self, audio, phrases, offset_s=0.0):
        return self.rec.second_listen(audio, phrases, offset_s)

    def screen_listen(self, audio, phrases):
        return self.rec.screen_listen(audio, phrases)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=Path, help="folder with the rendered sample WAVs (default: render)")
    ap.add_argument("--config", nargs="+", default=["beam5", "pipeline"], choices=list(CONFIGS))
    ap.add_argument("--only", nargs="+", default=(), metavar="CALL_ID")
    ap.add_argument("--score", action="store_true", help="also score each call and compare with expect")
    ap.add_argument("--json", action="store_true")
    ap.add_argument(
        "--variant",
        type=int,
        default=0,
        help="render the samples with another line noise (as CALLWRIGHT_SAMPLE_SEED in the tests)",
    )
    ap.add_argument("--show", action="store_true", help="print reference and recognised text per channel")
    args = ap.parse_args(argv)

    os.environ["OMP_NUM_THREADS"] = "1"
    import torch

    torch.set_num_threads(1)
    from callwright.qa import ingest
    from callwright.qa.pipeline import Engines, PipelineOptions, asr_context, score_path
    from callwright.qa.samples import (
        SAMPLES_DIR,
        expect_entries,
        expect_mismatches,
        load_scripts,
        make_samples,
    )
    from callwright.qa.scorecard import load_scorecard
    from callwright.qa.second_listen import SecondListenSettings
    from callwright.speech.asr.whisper import WhisperRecognizer, WhisperSettings

    scripts = {s.call_id: s for s in load_scripts(SAMPLES_DIR) if not args.only or s.call_id in args.only}
    folder = args.samples
    if folder is None:
        folder = Path(tempfile.mkdtemp(prefix="qa-wer-"))
        make_samples(SAMPLES_DIR, folder, only=list(scripts), variant=args.variant)
    cards = {
        d: load_scorecard(ROOT / "scorecards" / f)
        for d, f in (("inbound", "inbound-service.yaml"), ("outbound", "outbound-sales.yaml"))
    }
    rec = WhisperRecognizer(settings=WhisperSettings(cpu_threads=1))
    report = {}
    for name in args.config:
        preset = CONFIGS[name]
        total_err = total_ref = 0
        asr_s = audio_s = cpu_s = 0.0
        rows = {}
        for cid, script in scripts.items():
            path = folder / f"{cid}.wav"
            card = cards[script.meta.direction]
            refs = references(script)
            call = ingest.load_call(path, ingest.resolve_meta(path))
            ctx = asr_context(card)
            conf = _Configured(rec, preset["options"], preset["context"], preset.get("own_vad", False))
            err = n = 0
            t_asr = cpu = 0.0
            texts = {}
            for role, track in call.tracks.items():
                t0, c0 = time.perf_counter(), time.process_time()
                segs = conf.transcribe(track, TranscribeOptions.of(ctx.get(role)))
                t_asr += time.perf_counter() - t0
                cpu += time.process_time() - c0
                hyp = " ".join(s.text for s in segs)
                texts[role] = hyp
                r = normalise(refs[role])
                err += edits(r, normalise(hyp))
                n += len(r)
            row = {
                "wer": round(err / n, 4),
                "ref_words": n,
                "asr_s": round(t_asr, 2),
                "asr_cpu_s": round(cpu, 2),
                "audio_s": round(call.duration_s, 1),
            }
            if args.score:
                engines = Engines("whisper")
                engines._recognizer = conf  # type: ignore[assignment]
                listen = SecondListenSettings() if preset.get("listen", True) else None
                options = PipelineOptions(engine="whisper", second_listen=listen)
                outcome = score_path(path, card, engines, options=options)
                result = outcome.scored.result
                wrong = expect_mismatches(
                    script,
                    {r.item_id: r.verdict for r in result.items},
                    result.auto_failed,
                    outcome.scored.metrics,
                    outcome.scored.transcript.diarization,
                )
                expected = expect_entries(script)
                row["expect_met"] = f"{expected - len(wrong)}/{expected}"
                row["expect_off"] = {k: list(v) for k, v in wrong.items()}
            rows[cid] = row
            total_err += err
            total_ref += n
            asr_s += t_asr
            cpu_s += cpu
            audio_s += call.duration_s
            if not args.json:
                extra = f"  expect {row['expect_met']} {row['expect_off'] or ''}" if args.score else ""
                print(
                    f"{name:16} {cid:26} WER {row['wer']:.3f}  ASR {t_asr:5.1f} s ({cpu:5.1f} CPU s){extra}",
                    flush=True,
                )
                if args.show:
                    for role, hyp in texts.items():
                        print(f"    {role} REF: {refs[role]}\n    {role} HYP: {hyp}")
        summary = {
            "wer": round(total_err / total_ref, 4),
            "asr_s": round(asr_s, 1),
            "asr_cpu_s": round(cpu_s, 1),
            "audio_s": round(audio_s, 1),
            "x_real_time": round(audio_s / asr_s, 1),
            "x_real_time_per_cpu": round(audio_s / cpu_s, 1),
        }
        report[name] = {"summary": summary, "calls": rows}
        if not args.json:
            print(
                f"{name:16} ALL WER {summary['wer']:.3f}  ASR {asr_s:.1f} s for {audio_s:.0f} s audio "
                f"({summary['x_real_time']}x wall, one thread); {cpu_s:.1f} CPU s "
                f"({summary['x_real_time_per_cpu']}x per CPU second)",
                flush=True,
            )
    if args.json:
        print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

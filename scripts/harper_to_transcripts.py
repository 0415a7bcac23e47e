"""Convert Harper Valley bank calls (Gridspace-Stanford, Apache-2.0) to Callwright's transcript import format.

    .venv/bin/python scripts/harper_to_transcripts.py [SRC] OUT

SRC is the dataset folder with `transcripts/<sid>.json` and `metadata/<sid>.json` (default: the
first `shared/data/harper-dev` found above this repository, or $HARPER_DEV_DIR). OUT gets one
`<sid>.json` per call, read by `callwright qa score OUT` (src/callwright/qa/ingest.py):

    {"call_id": sid, "direction": "inbound", "agent": "Elizabeth", "queue": "replace-card",
     "campaign": "little-harper-valley-3", "started_at": "...", "duration_s": 50.6,
     "segments": [{"speaker": "agent", "start": 1.669, "end": 4.339, "text": "...",
                   "words": [{"word": "hello", "start": 1.669, "end": 2.119}, ...]}, ...]}

Why each choice:
- the text is the human transcript (the dataset's ASR text is poor); marks such as `[noise]`,
  `<unk>` and cut-off words (`wou~`) are dropped, and a segment left empty is dropped;
- the dataset's word times belong to its ASR words, not the human ones: human words are aligned
  to the ASR words (difflib over the word lists) and take their times; a human word with no ASR
  counterpart is placed by interpolation between its aligned neighbours (within the segment);
- a segment that appears twice (same speaker, start and text) is kept once;
- the caller's name is not written (it is personal data; `--caller-name` writes it into
  `customer` for redaction work): `customer` is the dataset's caller speaker id.

Never copy the dataset (or this script's output) into the repository: see SOURCE.md beside it.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

DATASET = Path("shared/data/harper-dev")
MARK = re.compile(r"^(\[[^\]]*\]|<[^>]*>|\S*~)$")  # [noise], <unk>, cut-off words


def find_dataset(start: Path | None = None) -> Path | None:
    """$HARPER_DEV_DIR, else the first `shared/data/harper-dev` in this folder or one above it."""
    env = os.environ.get("HARPER_DEV_DIR")
    if env:
        return Path(env) if (Path(env) / "transcripts").is_dir() else None
    here = (start or Path(__file__)).resolve()
    for parent in [here, *here.parents]:
        cand = parent / DATASET
        if (cand / "transcripts").is_dir() and (cand / "metadata").is_dir():
            return cand
    return None


def clean_words(text: str) -> list[str]:
    return [w for w in text.split() if not MARK.match(w)]


def align_times(
    human: list[str], asr: list[str], asr_times: list[tuple[float, float]], start: float, end: float
) -> list[tuple[float, float]]:
    """A (start, end) per human word: the aligned ASR word's time, else interpolated between neighbours."""
    times: list[tuple[float, float] | None] = [None] * len(human)
    if len(asr) == len(asr_times):
        sm = difflib.SequenceMatcher(a=human, b=asr, autojunk=False)
        for block in sm.get_matching_blocks():
            for k in range(block.size):
                times[block.a + k] = asr_times[block.b + k]
    out: list[tuple[float, float]] = []
    i = 0
    while i < len(human):
        if times[i] is not None:
            out.append(times[i])  # type: ignore[arg-type]
            i += 1
            continue
        j = i
        while j < len(human) and times[j] is None:
            j += 1
        lo = out[-1][1] if out else start
        hi = times[j][0] if j < len(human) else end  # type: ignore[index]
        hi = max(hi, lo)
        n = j - i
        out.extend((lo + (hi - lo) * k / n, lo + (hi - lo) * (k + 1) / n) for k in range(n))
        i = j
    return [(round(a, 3), round(max(a, b), 3)) for a, b in out]


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def convert_call(
    segments: list[dict[str, Any]], metadata: dict[str, Any], *, caller_name: bool = False
) -> dict:
    """One call in the import format (see the module docstring)."""
    seen: set[tuple[str, int, str]] = set()
    out_segments = []
    for seg in sorted(segments, key=lambda s: (s["start_ms"], s.get("index", 0))):
        key = (seg["speaker_role"], seg["start_ms"], seg["human_transcript"])
        if key in seen:
            continue
        seen.add(key)
        words = clean_words(seg["human_transcript"])
        if not words:
            continue
        start = seg["start_ms"] / 1000
        end = (seg["start_ms"] + seg["duration_ms"]) / 1000
        asr = seg.get("transcript", "").split()
        asr_times = [
            (start + o / 1000, start + (o + d) / 1000)
            for o, d in zip(seg.get("word_offsets_ms", []), seg.get("word_durations_ms", []), strict=False)
        ]
        times = align_times(words, asr, asr_times, start, end)
        out_segments.append(
            {
                "speaker": "agent" if seg["speaker_role"] == "agent" else "customer",
                "start": round(start, 3),
                "end": round(max(end, times[-1][1]), 3),
                "text": " ".join(words),
                "words": [{"word": w, "start": a, "end": b} for w, (a, b) in zip(words, times, strict=True)],
            }
        )
    tasks = metadata.get("tasks") or [{}]
    task = tasks[0].get("task_type", "")
    call: dict[str, Any] = {
        "call_id": metadata["sid"],
        "direction": "inbound",
        "agent": metadata.get("agent", {}).get("metadata", {}).get("agent_name"),
        "queue": slug(task) or None,
        "campaign": slug(metadata.get("session", "")) or None,
    }
    caller = metadata.get("caller", {})
    if caller_name:
        call["customer"] = caller.get("metadata", {}).get("first and last name")
    elif caller.get("speaker_id") is not None:
        call["customer"] = f"caller-{caller['speaker_id']}"
    if metadata.get("start_time_ms"):
        call["started_at"] = datetime.fromtimestamp(metadata["start_time_ms"] / 1000, UTC).isoformat()
    call["duration_s"] = max((s["end"] for s in out_segments), default=0.0)
    call["segments"] = out_segments
    return {k: v for k, v in call.items() if v is not None}


def convert_folder(src: Path, out: Path, *, caller_name: bool = False) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for tpath in sorted((src / "transcripts").glob("*.json")):
        mpath = src / "metadata" / tpath.name
        segments = json.loads(tpath.read_text("utf-8"))
        metadata = json.loads(mpath.read_text("utf-8"))
        target = out / tpath.name
        target.write_text(json.dumps(convert_call(segments, metadata, caller_name=caller_name), indent=1))
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], usage="%(prog)s [-h] [--caller-name] [SRC] OUT"
    )
    ap.add_argument(
        "paths", nargs="+", metavar="PATH", help="[SRC] OUT: dataset folder (optional), output folder"
    )
    ap.add_argument("--caller-name", action="store_true", help="write the caller's name as customer")
    args = ap.parse_args(argv)
    if len(args.paths) > 2:
        ap.error("give at most SRC and OUT")
    src = Path(args.paths[0]) if len(args.paths) == 2 else find_dataset()
    out = Path(args.paths[-1])
    if src is None or not (src / "transcripts").is_dir() or not (src / "metadata").is_dir():
        print(
            f"error: no Harper Valley dataset at {src or DATASET} (transcripts/ and metadata/)",
            file=sys.stderr,
        )
        return 2
    written = convert_folder(src, out, caller_name=args.caller_name)
    print(f"wrote {len(written)} transcripts to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

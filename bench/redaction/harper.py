"""Per-kind recall and precision of redaction on real bank calls: the 30 Harper Valley dev calls.

The calls (../shared/data/harper-dev, see its SOURCE.md) are read from there and never
copied; harper_labels.tsv holds only hand labels by position (call, segment, words). Each
call is redacted as the QA pipeline does it: both speakers' words of the whole call together
(`redact_conversation`), the caller's name from the call's metadata as `names=`. The human
transcripts have no word times, so each segment's words are spread evenly over it.

A company's address in a pay-bill call is labelled "business": it is not personal data, so a
redaction there counts neither for nor against precision, and is reported on its own line.

With --ner, a named-entity model (spaCy's small English pipeline, installed as a package; see
src/callwright/redaction/ner.py) adds the person names it finds, sparing the agent's name from
the metadata.

    PYTHONPATH=src .venv/bin/python bench/redaction/harper.py [--data DIR] [--show] [--no-names] [--ner]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from labelled import Gold, Tally, table  # noqa: E402

from callwright.redaction import names_from_metadata, redact_conversation, spacy_person_finder  # noqa: E402

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
DATA = (REPO / ".." / "shared" / "data" / "harper-dev").resolve()
if not DATA.exists():
    DATA = (REPO / ".." / ".." / "shared" / "data" / "harper-dev").resolve()
LABELS = HERE / "harper_labels.tsv"


@dataclass(frozen=True)
class W:
    word: str
    start: float
    end: float
    segment: int
    position: int


def load_labels() -> dict[str, list[tuple[int, str, int, int]]]:
    out: dict[str, list[tuple[int, str, int, int]]] = defaultdict(list)
    for line in LABELS.read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        sid, index, _role, kind, a, b = line.split("\t")
        out[sid].append((int(index), kind, int(a), int(b)))
    return out


def call_words(segments: list[dict]) -> tuple[dict[str, list[W]], dict[int, list[str]]]:
    """Per speaker, the call's words with times spread over their segment; each segment's words."""
    by_role: dict[str, list[W]] = defaultdict(list)
    texts: dict[int, list[str]] = {}
    seen = set()
    for seg in sorted(segments, key=lambda s: (s["start_ms"], s["index"])):
        if seg["index"] in seen:  # "a segment can appear twice"
            continue
        seen.add(seg["index"])
        words = seg["human_transcript"].split()
        texts[seg["index"]] = words
        if not words:
            continue
        a, d = seg["start_ms"] / 1000, max(seg["duration_ms"], 1) / 1000
        step = d / len(words)
        for k, w in enumerate(words):
            by_role[seg["speaker_role"]].append(W(w, a + k * step, a + (k + 1) * step, seg["index"], k))
    for ws in by_role.values():
        ws.sort(key=lambda w: w.start)
    return by_role, texts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--show", action="store_true", help="list misses and false alarms (quotes call text)")
    ap.add_argument("--no-names", action="store_true", help="without the caller's name from metadata")
    ap.add_argument("--ner", action="store_true", help="add a named-entity model's person names")
    args = ap.parse_args()
    finder = spacy_person_finder() if args.ner else None
    if not (args.data / "transcripts").is_dir():
        sys.exit(f"{args.data}: no transcripts/ here (see --data)")
    labels = load_labels()
    tally, business_hit, business_n, cpu = Tally(), 0, 0, 0.0
    calls = sorted(p.stem for p in (args.data / "transcripts").glob("*.json"))
    for sid in calls:
        segments = json.loads((args.data / "transcripts" / f"{sid}.json").read_text())
        meta = json.loads((args.data / "metadata" / f"{sid}.json").read_text())
        caller = meta["caller"]["metadata"].get("first and last name")
        names = () if args.no_names else names_from_metadata({"caller_name": caller})
        agent = meta["agent"]["metadata"].get("agent_name") or ""
        by_role, texts = call_words(segments)
        roles = list(by_role)
        t0 = time.process_time()
        redacted, _ = redact_conversation(
            [by_role[r] for r in roles], names=names, person_finder=finder, keep_names=[agent]
        )
        cpu += time.process_time() - t0
        marked: dict[tuple[int, int], str] = {}
        for role, rws in zip(roles, redacted, strict=True):
            for rw in rws:
                if rw.kind is None:
                    continue
                for w in by_role[role]:
                    if rw.start - 1e-9 <= w.start and w.end <= rw.end + 1e-9:
                        marked[(w.segment, w.position)] = rw.kind.value
        gold_by_seg: dict[int, list[tuple[str, int, int]]] = defaultdict(list)
        for index, kind, a, b in labels[sid]:
            gold_by_seg[index].append((kind, a, b))
        for index, words in texts.items():
            starts, pos = [], 0
            for w in words:
                starts.append(pos)
                pos += len(w) + 1
            text = " ".join(words)

            def chars(
                a: int, b: int, starts: list[int] = starts, words: list[str] = words
            ) -> tuple[int, int]:
                return starts[a], starts[b] + len(words[b])

            gold = [Gold(k, *chars(a, b)) for k, a, b in gold_by_seg.get(index, []) if k != "business"]
            business = [chars(a, b) for k, a, b in gold_by_seg.get(index, []) if k == "business"]
            spans: list[tuple[str, int, int]] = []
            k = 0
            while k < len(words):
                kind = marked.get((index, k))
                if kind is None:
                    k += 1
                    continue
                m = k
                while m + 1 < len(words) and marked.get((index, m + 1)) == kind:
                    m += 1
                spans.append((kind, *chars(k, m)))
                k = m + 1
            for a, b in business:
                business_n += 1
                business_hit += all(
                    any(x <= c < y for _, x, y in spans) for c in range(a, b) if text[c] != " "
                )
            spans = [s for s in spans if not any(s[1] < b and s[2] > a for a, b in business)]
            tally.add(text, gold, spans, f"{sid}#{index}")
    title = f"Harper Valley dev, {len(calls)} real calls" + (" (no names given)" if args.no_names else "")
    title += " + named-entity model" if args.ner else ""
    print(table(tally, title))
    print()
    print(f"business addresses (not personal data) redacted whole: {business_hit} of {business_n}")
    print(f"redaction CPU: {cpu:.3f} s for {len(calls)} calls ({cpu / len(calls) * 1000:.1f} ms a call)")
    if args.show:
        for line in tally.misses:
            print("  miss:", line)
        for line in tally.false_alarms:
            print("  false alarm:", line)
        for line in tally.spilled:
            print("  spilled:", line[:200])


if __name__ == "__main__":
    main()

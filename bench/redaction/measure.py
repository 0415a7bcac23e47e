"""Per-kind recall and precision of `redact_text` on the labelled sentences (dev and held-out).

heldout.txt was written before the bank-grade detectors and never tuned on;
dev.txt is what tuning looked at. See labelled.py for the markup and scoring.

    PYTHONPATH=src .venv/bin/python bench/redaction/measure.py [--split dev|heldout|both] [--show] [--ner]
        [--vader ../shared/data/vader]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from labelled import Tally, load, table  # noqa: E402

from callwright.redaction import PersonFinder, redact_text, spacy_person_finder  # noqa: E402

HERE = Path(__file__).resolve().parent
SPLITS = {"dev": HERE / "dev.txt", "heldout": HERE / "heldout.txt"}


def measure(path: Path, finder: PersonFinder | None = None) -> tuple[Tally, int, float]:
    """The tally over one split, its size, and the CPU seconds redaction took."""
    tally = Tally()
    examples = load(path)
    cpu = 0.0
    for ex in examples:
        t0 = time.process_time()
        red = redact_text(ex.text, names=ex.names, person_finder=finder)
        cpu += time.process_time() - t0
        tally.add(ex.text, ex.gold, [(s.kind.value, s.start, s.end) for s in red.spans], ex.where)
    return tally, len(examples), cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", choices=["dev", "heldout", "both"], default="both")
    ap.add_argument("--show", action="store_true", help="list every miss and false alarm")
    ap.add_argument("--ner", action="store_true", help="add a named-entity model's person names (ner.py)")
    ap.add_argument(
        "--vader",
        type=Path,
        metavar="DIR",
        help="also count what is redacted in ordinary text: the VADER sentences in DIR "
        "(../shared/data/vader), where every bank-grade redaction is listed for inspection",
    )
    args = ap.parse_args()
    finder = spacy_person_finder() if args.ner else None
    names = list(SPLITS) if args.split == "both" else [args.split]
    for name in names:
        tally, n, cpu = measure(SPLITS[name], finder)
        print(table(tally, f"{name} ({n} sentences)" + (" + named-entity model" if finder else "")))
        print()
        print(f"{cpu * 1000 / n:.3f} ms CPU a sentence")
        print()
        if args.show:
            for line in tally.misses:
                print("  miss:", line)
            for line in tally.false_alarms:
                print("  false alarm:", line)
            for line in tally.spilled:
                print("  spilled:", line)
            print()
    if args.vader:
        ordinary_text(args.vader, finder)


BANK_KINDS = {"account", "routing", "iban", "dob", "pin", "address", "name"}


def ordinary_text(folder: Path, finder: PersonFinder | None) -> None:
    """Redactions per kind in VADER's review and social-media sentences (no labels: each bank-grade
    one is printed to be judged by eye)."""
    from collections import Counter

    counts: Counter[str] = Counter()
    n = 0
    for path in sorted(folder.glob("*_GroundTruth.txt")):
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            parts = line.split("\t")
            if len(parts) < 3:
                continue
            text = parts[2]
            n += 1
            for span in redact_text(text, person_finder=finder).spans:
                counts[span.kind.value] += 1
                if span.kind.value in BANK_KINDS:
                    print(f"  {span.kind.value}: ...{text[max(0, span.start - 30) : span.end + 15]}...")
    print(f"ordinary text: {n} VADER sentences, redacted spans by kind: {dict(sorted(counts.items()))}")


if __name__ == "__main__":
    main()

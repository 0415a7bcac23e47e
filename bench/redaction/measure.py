"""Per-kind recall and precision of `redact_text` on the labelled sentences (dev and held-out).

heldout.txt was written before the bank-grade detectors and never tuned on;
dev.txt is what tuning looked at. See labelled.py for the markup and scoring.

    PYTHONPATH=src .venv/bin/python bench/redaction/measure.py [--split dev|heldout|both] [--show]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from labelled import Tally, load, table  # noqa: E402

from callwright.redaction import redact_text  # noqa: E402

HERE = Path(__file__).resolve().parent
SPLITS = {"dev": HERE / "dev.txt", "heldout": HERE / "heldout.txt"}


def measure(path: Path) -> tuple[Tally, int]:
    tally = Tally()
    examples = load(path)
    for ex in examples:
        red = redact_text(ex.text, names=ex.names)
        tally.add(ex.text, ex.gold, [(s.kind.value, s.start, s.end) for s in red.spans], ex.where)
    return tally, len(examples)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", choices=["dev", "heldout", "both"], default="both")
    ap.add_argument("--show", action="store_true", help="list every miss and false alarm")
    args = ap.parse_args()
    names = list(SPLITS) if args.split == "both" else [args.split]
    for name in names:
        tally, n = measure(SPLITS[name])
        print(table(tally, f"{name} ({n} sentences)"))
        print()
        if args.show:
            for line in tally.misses:
                print("  miss:", line)
            for line in tally.false_alarms:
                print("  false alarm:", line)
            print()


if __name__ == "__main__":
    main()

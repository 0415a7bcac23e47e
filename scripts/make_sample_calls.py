"""Render the sample calls in recordings/samples/*.yaml to stereo 8 kHz WAVs with sidecars.

    python scripts/make_sample_calls.py [--out recordings/samples] [--only CALL_ID ...]
                                        [--transcripts DIR] [--variant N]

Idempotent: the TTS cache and seeded noise make every rerun write the same
bytes, and a rerun takes a few seconds. See docs/qa-samples.md.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    from callwright.errors import CallwrightError
    from callwright.qa.samples import SAMPLES_DIR, make_samples

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scripts", type=Path, default=SAMPLES_DIR, help="folder of conversation scripts")
    ap.add_argument("--out", type=Path, default=None, help="where to write WAV + JSON (default: --scripts)")
    ap.add_argument("--only", nargs="+", default=(), metavar="CALL_ID", help="render only these calls")
    ap.add_argument(
        "--transcripts",
        type=Path,
        default=None,
        help="also write each call's reference transcript (import format) here",
    )
    ap.add_argument(
        "--variant",
        type=int,
        default=0,
        help="another rendering of the same calls: other line noise and hold tune (0: the committed one)",
    )
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    try:
        paths = make_samples(
            args.scripts, args.out, only=args.only, transcripts_dir=args.transcripts, variant=args.variant
        )
    except CallwrightError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    for p in paths:
        print(p)
    return 0


if __name__ == "__main__":
    sys.exit(main())

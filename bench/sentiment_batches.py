"""CPU seconds a call for the sentiment model's batching on real calls' utterances.

Run:  HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1 .venv/bin/python bench/sentiment_batches.py [--rounds 3] [--group 8]

The utterances are the human transcripts of the 30 Harper Valley calls (../shared/data/harper-dev,
or $HARPER_DEV_DIR; never copied into the repo). Each way of batching rates every call's
utterances, in turns within one process (the machine is shared: compare within a run), and the
least of --rounds is reported, with how far each way's probabilities and labels are from the
reference (one length-sorted batch a call, as before the padding-aware cut).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]


def load_calls(folder: Path) -> list[list[str]]:
    calls = []
    for f in sorted((folder / "transcripts").glob("*.json")):
        calls.append(
            [s["human_transcript"] for s in json.loads(f.read_text()) if s["human_transcript"].strip()]
        )
    return calls


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--data",
        type=Path,
        default=Path(os.environ.get("HARPER_DEV_DIR", ROOT.parent / "shared/data/harper-dev")),
    )
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--group", type=int, default=8)
    ap.add_argument("--batch-size", type=int, default=64)
    args = ap.parse_args()
    if not (args.data / "transcripts").is_dir():
        raise SystemExit(f"no Harper Valley transcripts in {args.data} (--data or HARPER_DEV_DIR)")

    from callwright.nlp.sentiment import get_sentiment_model

    model = get_sentiment_model()
    encoder = type(model.encoder)
    calls = load_calls(args.data)
    bs = args.batch_size

    def per_call() -> list[np.ndarray]:
        return [model.probabilities(c, bs) for c in calls]

    def grouped() -> list[np.ndarray]:
        out = []
        for g in range(0, len(calls), args.group):
            group = calls[g : g + args.group]
            p = model.probabilities([t for c in group for t in c], bs)
            i = 0
            for c in group:
                out.append(p[i : i + len(c)])
                i += len(c)
        return out

    def remembered() -> list[np.ndarray]:
        """As `qa score` rates a batch now: each group warmed (`SentimentModel.warm`), which
        computes only the texts no earlier group had, then read back."""
        model.forget()
        out = []
        for g in range(0, len(calls), args.group):
            group = calls[g : g + args.group]
            model.warm([t for c in group for t in c], bs)
            kept = model._recalled([t for c in group for t in c])
            out.extend(np.stack([kept[t] for t in c]) for c in group)
        return out

    def setting(
        pad_aware: bool, lean: bool, run: Callable[[], list[np.ndarray]], stacked: bool = False
    ) -> Callable[[], list[np.ndarray]]:
        def go() -> list[np.ndarray]:
            saved = encoder.pad_aware, encoder.lean, encoder.stacked
            encoder.pad_aware, encoder.lean, encoder.stacked = pad_aware, lean, stacked
            try:
                return run()
            finally:
                encoder.pad_aware, encoder.lean, encoder.stacked = saved

        return go

    ways = {
        "one length-sorted batch a call, transformers forward (before)": setting(False, False, per_call),
        "lean forward only": setting(False, True, per_call),
        "padding-aware cut, a call at a time": setting(True, True, per_call),
        f"groups of {args.group}, length-sorted batches": setting(False, True, grouped),
        f"groups of {args.group}, padding-aware cut (qa score before round six)": setting(
            True, True, grouped
        ),
        f"groups of {args.group}, stacked into one pass": setting(True, True, grouped, stacked=True),
        f"groups of {args.group}, stacked, earlier groups' texts kept (qa score now)": setting(
            True, True, remembered, stacked=True
        ),
    }
    cpu: dict[str, list[float]] = {name: [] for name in ways}
    outs: dict[str, list[np.ndarray]] = {}
    for _ in range(args.rounds):
        for name, run in ways.items():
            t = time.process_time()
            outs[name] = run()
            cpu[name].append(time.process_time() - t)
    ref = outs[next(iter(ways))]
    result = {
        "calls": len(calls),
        "utterances": sum(map(len, calls)),
        "threads": os.environ.get("OMP_NUM_THREADS"),
        "load_average": [round(x, 2) for x in os.getloadavg()[:2]],
        "ways": {
            name: {
                "cpu_s_per_call": round(min(cpu[name]) / len(calls), 4),
                "max_abs_diff": float(max(np.abs(a - b).max() for a, b in zip(ref, outs[name], strict=True))),
                "label_flips": int(
                    sum((a.argmax(1) != b.argmax(1)).sum() for a, b in zip(ref, outs[name], strict=True))
                ),
            }
            for name in ways
        },
    }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()

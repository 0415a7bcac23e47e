"""Scoring speed of imported real calls (no ASR) with the bank scorecard, per matching lever.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/qa_real/speed.py [--workers 2] [--off LEVER] [--encoder DIR]

The 30 Harper Valley calls (converted, read through the real import) are scored by
`--workers` processes, each with one torch thread and its own matcher whose vector
cache knows the scorecard's examples but not the calls ("new call": every stretch
of speech an item looks at is embedded, as in a batch). Sentiment is not part of it
(the pipeline rates utterances before scoring; see bench/sentiment_throughput.py).
Reported: calls per second over all workers (wall), and CPU seconds per call.
`--repeat N` scores the set N times in each worker with a fresh cache per round.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from evaluate import LEVERS, ROOT, card_text, load_script  # noqa: E402


def _work(args: tuple[list[str], str, list[str], str | None, int]) -> tuple[int, float, float]:
    paths, card_yaml, off, encoder, repeat = args
    import torch

    torch.set_num_threads(1)
    from callwright.nlp.embeddings import get_encoder
    from callwright.qa.ingest import read_transcript, resolve_meta
    from callwright.qa.scorecard import PhraseMatcher, loads_scorecard, matching, score
    from callwright.qa.scorecard.model import PhraseRule

    if "short-windows" in off:
        matching.SHORT_WINDOW_WORDS = 0
    card = loads_scorecard(card_yaml, "bank.yaml")
    calls = [(read_transcript(p, m), m) for p in paths for m in [resolve_meta(p)]]
    enc = get_encoder(encoder) if encoder else get_encoder()
    done, wall, cpu = 0, 0.0, 0.0
    for _ in range(repeat):
        matcher = PhraseMatcher(enc)
        from callwright.qa.scorecard.placeholders import call_values, fill_examples

        for _t, meta in calls:  # the scorecard's examples are embedded once per batch, not per call
            values = call_values(card.values, meta)
            for it in card.items:
                if isinstance(it.rule, PhraseRule):
                    texts = [f for _, f in fill_examples((*it.rule.phrases, *it.rule.not_phrases), values)]
                    matcher.vectors([" ".join(matching.normalise(x)) for x in texts])
        w0, c0 = time.perf_counter(), time.process_time()
        for t, meta in calls:
            score(card, t, None, meta, matcher=matcher)
        wall += time.perf_counter() - w0
        cpu += time.process_time() - c0
        done += len(calls)
    return done, wall, cpu


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--off", action="append", default=[], choices=LEVERS)
    ap.add_argument("--encoder", type=str)
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args(argv)
    convert = load_script("harper_to_transcripts", ROOT / "scripts" / "harper_to_transcripts.py")
    src = args.data or convert.find_dataset(ROOT)
    if src is None:
        print("no Harper Valley dataset found", file=sys.stderr)
        return 2
    card_yaml = card_text(ROOT / "scorecards" / "bank.yaml", set(args.off))
    with tempfile.TemporaryDirectory() as tmp:
        paths = [str(p) for p in convert.convert_folder(src, Path(tmp))]
        shares = [paths[i :: args.workers] for i in range(args.workers)]
        t0 = time.perf_counter()
        with mp.get_context("spawn").Pool(args.workers) as pool:
            out = pool.map(_work, [(s, card_yaml, args.off, args.encoder, args.repeat) for s in shares])
        total_wall = time.perf_counter() - t0
    done = sum(o[0] for o in out)
    scoring_wall = max(o[1] for o in out)
    cpu = sum(o[2] for o in out)
    result = {
        "workers": args.workers,
        "off": sorted(args.off),
        "encoder": args.encoder or "all-MiniLM-L6-v2 (packaged)",
        "calls": done,
        "calls_per_s": round(done / scoring_wall, 1),
        "cpu_s_per_call": round(cpu / done, 4),
        "wall_with_model_load_s": round(total_wall, 1),
        "load_average": os.getloadavg()[0],
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

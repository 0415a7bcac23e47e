"""Scoring speed of imported real calls (no ASR) with the bank scorecard, per matching lever.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/qa_real/speed.py [--workers 2] [--off LEVER] [--encoder DIR]

The 30 Harper Valley calls (converted, read through the real import) are scored by
`--workers` processes, each with one torch thread and its own matcher whose vector
cache knows the scorecard's examples but not the calls ("new call": every stretch
of speech an item looks at is embedded, as in a batch). Sentiment is not part of it
(the pipeline rates utterances before scoring; see bench/sentiment_throughput.py).
Reported: calls per second over all workers (wall), and CPU seconds per call.
`--repeat N` scores the set N times in each worker with a fresh cache per round.
`--compare` also scores with the matcher as it was before (main at a555aaf: the same code
with its switches off) in the same run and diffs every verdict, point and evidence span.
`--group N` adds a variant that embeds N calls' texts in one encoder call before scoring
them (`PhraseMatcher.warm`): what a batch could gain by preparing calls in groups.
`--pipeline` adds what `callwright qa score` does per imported call in a worker (read, redact,
sentiment, score: `qa.batch._run`, one by one as before round four) and, with `--group`, the
batch's grouped path (`qa.batch._run_group`, groups of at most N, as `qa.batch.groups` cuts
them); their verdicts and evidence are compared with the others'.
The "_new" variants are the same paths after round six (2026-12-03, pathspeed6): the encoder's
batches stacked into one forward pass (`Encoder.stacked`), the sentiment of recurring utterances
kept from group to group (`SentimentModel.remember`; forgotten at each round's start, as the
matcher's cache is new each round) and a group's calls scored from the `CallText` prepared to
warm the matcher (`qa.batch.PREPARED_ONCE`). `pipeline_grouped_new` is compared with
`pipeline_grouped` on verdicts and evidence and on every utterance's redacted text, sentiment
label and score (`sentiment_...` in the output: scores are stored to 4 places, so a 1e-6
difference may move the last one).
The "_r7" variants are round seven's (2026-12-03, speed7): the counter-examples' partial ratios
only for the windows an example still counts on (`CallText.counter_where_needed`), and the
texts a conduct model rates whose vectors are cached rated in the matcher's one stacked pass
(`PhraseMatcher.rate_cached_in_pass`), diffed with the "_new" ones like them. `--bf16` adds
`grouped_bf16` and `pipeline_grouped_bf16`: "_r7" with the encoder's matrix products in bfloat16
(`Encoder.products`; since session 9 the default on a CPU that multiplies bfloat16 natively, while
every other variant here runs float32, as main did before), `--int8` adds `grouped_int8` and
`pipeline_grouped_int8`: the same in int8 (since session 13 the default where the CPU has VNNI
but not bfloat16). Their numbers differ, so their differences from the "_r7" variant are
reported (how many, which verdicts or scores, the sentiment labels) but do not fail the run.
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
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from evaluate import LEVERS, ROOT, card_text, load_script  # noqa: E402

# The matcher's switches (class attributes) per variant. "straightforward": before the first
# speedup of 2026-12-03 (wording one utterance at a time, full encoder batches of 64);
# "before": main at a555aaf (wording of all of a rule's utterances per window size, batches
# cut by padding cost); "now": also the lean BERT forward (same bits), one encoder call per
# call for everything its rules need (stretches, the call's filled examples), and the
# windows of a rule's utterances concatenated once per call; "grouped": "now" with `--group`
# calls embedded together before they are scored.
SWITCHES = ("batched", "pad_aware", "lean", "one_pass", "shared_windows")
ROUND_SIX = ("stacked", "remember", "prepared_once")  # off in every variant but the "_new" ones
ROUND_SEVEN = ("counter_where_needed", "rate_cached_in_pass")  # on only in the "_r7" variants
OFF = dict.fromkeys(SWITCHES + ROUND_SIX + ROUND_SEVEN, False)
VARIANTS: dict[str, dict[str, bool | str]] = {
    "straightforward": OFF,
    "before": {**OFF, "batched": True, "pad_aware": True},
    **{
        v: {**OFF, **dict.fromkeys(SWITCHES, True)}
        for v in ("now", "grouped", "pipeline", "pipeline_grouped")
    },
    **{
        v: {**OFF, **dict.fromkeys(SWITCHES + ROUND_SIX, True)}
        for v in ("grouped_new", "pipeline_grouped_new")
    },
    **{
        v: dict.fromkeys(SWITCHES + ROUND_SIX + ROUND_SEVEN, True)
        for v in ("grouped_r7", "pipeline_grouped_r7")
    },
    # `--bf16` / `--int8`: round seven's grouped paths with the matrix products in bfloat16 or int8
    # (`Encoder.products`), other numbers: their differences are reported, not counted against
    # "identical"
    **{
        f"{path}_{suffix}": {**dict.fromkeys(SWITCHES + ROUND_SIX + ROUND_SEVEN, True), "products": kind}
        for path in ("grouped", "pipeline_grouped")
        for suffix, kind in (("bf16", "bfloat16"), ("int8", "int8"))
    },
}
BF16 = ("grouped_bf16", "pipeline_grouped_bf16")  # since session 9 the default where the CPU has it
INT8 = ("grouped_int8", "pipeline_grouped_int8")  # since session 13 the default where VNNI is and bf16 not
GROUPED = ("grouped", "grouped_new", "grouped_r7", "grouped_bf16", "grouped_int8")
PIPELINE_GROUPED = (
    "pipeline_grouped",
    "pipeline_grouped_new",
    "pipeline_grouped_r7",
    "pipeline_grouped_bf16",
    "pipeline_grouped_int8",
)
# what each variant's verdicts, evidence (and, for the whole path, utterances) are diffed with
REFERENCE = {
    "pipeline_grouped": "pipeline",
    "pipeline_grouped_new": "pipeline_grouped",
    "pipeline_grouped_r7": "pipeline_grouped_new",
    "grouped_r7": "grouped_new",
    "pipeline_grouped_bf16": "pipeline_grouped_r7",
    "grouped_bf16": "grouped_r7",
    "pipeline_grouped_int8": "pipeline_grouped_r7",
    "grouped_int8": "grouped_r7",
}


def _switch(variant: str) -> None:
    from callwright.nlp.embeddings import Encoder, Products
    from callwright.nlp.sentiment import SentimentModel
    from callwright.qa import batch
    from callwright.qa.scorecard.matching import CallText, PhraseMatcher

    flags = VARIANTS[variant]
    CallText.batched = flags["batched"]
    CallText.one_pass = flags["one_pass"]
    CallText.shared_windows = flags["shared_windows"]
    Encoder.pad_aware = flags["pad_aware"]
    Encoder.lean = flags["lean"]
    Encoder.stacked = flags["stacked"]
    SentimentModel.remember = flags["remember"]
    batch.PREPARED_ONCE = flags["prepared_once"]
    CallText.counter_where_needed = flags["counter_where_needed"]
    PhraseMatcher.rate_cached_in_pass = flags["rate_cached_in_pass"]
    Encoder.products = Products(flags.get("products", "float32"))


def _wanted(variant: str, args: argparse.Namespace) -> bool:
    """Whether a grouped variant runs: the bfloat16 and int8 ones only when asked for."""
    return (args.bf16 or variant not in BF16) and (args.int8 or variant not in INT8)


def _utterances(scored: Any) -> list[tuple[str, int, str, float | None, str | None]]:
    """Per utterance of a scored call: call id, index, redacted text, sentiment score and label."""
    t = scored.transcript
    return [(t.call_id, i, u.text, u.sentiment, u.sentiment_label) for i, u in enumerate(t.utterances)]


def _work(
    args: tuple[list[str], str, list[str], str | None, int, tuple[str, ...], int],
) -> dict[str, tuple[int, float, float, list[Any], list[Any]]]:
    """Per variant: calls scored, scoring wall s, CPU s, and the first round's results and
    utterances (`_utterances`, the pipeline's). The variants take turns in each round, so a
    change in the machine's load hits both alike."""
    paths, card_yaml, off, encoder, repeat, variants, group = args
    import torch

    torch.set_num_threads(1)
    from callwright.nlp.embeddings import get_encoder
    from callwright.qa.ingest import read_transcript, resolve_meta
    from callwright.qa.scorecard import PhraseMatcher, loads_scorecard, matching, score
    from callwright.qa.scorecard.placeholders import call_values, fill_examples
    from callwright.qa.scorecard.scoring import phrase_rules

    if "short-windows" in off:
        matching.SHORT_WINDOW_WORDS = 0
    card = loads_scorecard(card_yaml, "bank.yaml")
    calls = [(read_transcript(p, m), m) for p in paths for m in [resolve_meta(p)]]
    enc = get_encoder(encoder) if encoder else get_encoder()
    rules = phrase_rules(card)
    # the scorecard's own examples are embedded once per batch, not per call; examples that
    # name call metadata ({agent}) are new on each call and embedded while it is scored
    constants = [
        " ".join(matching.normalise(f))
        for r in rules
        for _, f in fill_examples((*r.phrases, *r.not_phrases), dict(card.values))
    ]
    jobs: list[Any] = []
    if any(v.startswith("pipeline") for v in variants):
        from callwright.qa import batch
        from callwright.qa.pipeline import PipelineOptions

        batch._init_in_process([card], PipelineOptions(second_listen=None), 1)
        engines = batch._worker_state["engines"]
        engines.sentiment  # noqa: B018 - loaded before the timing, as a worker does once
        jobs = [batch._Job(p, p, m, card.id, card.version) for p, (_, m) in zip(paths, calls, strict=True)]
    out: dict[str, tuple[int, float, float, list[Any], list[Any]]] = {
        v: (0, 0.0, 0.0, [], []) for v in variants
    }
    rounds: dict[str, list[float]] = {v: [] for v in variants}  # CPU s a call, per round
    for _ in range(repeat):
        for variant in variants:
            _switch(variant)
            matcher = PhraseMatcher(enc)
            matcher.vectors(constants)
            if jobs:
                engines.sentiment.forget()
            w0, c0 = time.perf_counter(), time.process_time()
            results, utterances = [], []
            if variant.startswith("pipeline"):
                engines._matcher = matcher
                chunks = batch.groups(jobs, 1, size=group) if variant in PIPELINE_GROUPED else [jobs]
                for chunk in chunks:
                    run = batch._run_group(chunk) if variant in PIPELINE_GROUPED else map(batch._run, chunk)
                    for d in run:
                        results.append(d.outcome.scored.result)
                        utterances.extend(_utterances(d.outcome.scored))
            step = group if variant in GROUPED else len(calls)
            for i in range(0, 0 if variant.startswith("pipeline") else len(calls), step):
                chunk = calls[i : i + group] if variant in GROUPED else calls
                prepared: list[Any] = [None] * len(chunk)
                if variant in GROUPED:
                    prepared = [
                        matcher.prepare(t, call_values(card.values, meta), rules) for t, meta in chunk
                    ]
                    matcher.warm(prepared)
                    if not VARIANTS[variant]["prepared_once"]:
                        prepared = [None] * len(chunk)
                results.extend(
                    score(card, t, None, meta, matcher=matcher, prepared=p)
                    for (t, meta), p in zip(chunk, prepared, strict=True)
                )
            rounds[variant].append((time.process_time() - c0) / max(1, len(calls)))
            done, wall, cpu, first, said = out[variant]
            out[variant] = (
                done + len(calls),
                wall + time.perf_counter() - w0,
                cpu + time.process_time() - c0,
                first or results,
                said or utterances,
            )
    for variant in variants:  # the least CPU s a call of a round, in the CPU's place of a "rounds:" key
        out[f"rounds:{variant}"] = (0, 0.0, min(rounds[variant]), [], [])
    return out


def sentiment_differences(old: list[Any], new: list[Any]) -> dict[str, Any]:
    """Utterances whose redacted text or sentiment label differ (must be none), and how far the
    sentiment scores (stored to 4 places) are apart."""
    text = [f"{a[0]} #{a[1]}: {a[2]!r} != {b[2]!r}" for a, b in zip(old, new, strict=True) if a[2] != b[2]]
    label = [f"{a[0]} #{a[1]}: {a[4]} != {b[4]}" for a, b in zip(old, new, strict=True) if a[4] != b[4]]
    apart = [abs((a[3] or 0.0) - (b[3] or 0.0)) for a, b in zip(old, new, strict=True)]
    return {
        "utterances": len(old),
        "text_differences": text[:20],
        "label_differences": label[:20],
        "scores_differing": sum(d > 0 for d in apart),
        "largest_score_difference": round(max(apart, default=0.0), 6),
    }


def _floats_differ(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) > 1e-6
    if isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b):
        return any(_floats_differ(x, y) for x, y in zip(a, b, strict=True))
    return a != b


def differences(old: list[Any], new: list[Any]) -> list[str]:
    """Every item verdict, point, score and evidence field that differs (floats: by more than 1e-6)."""
    out = []
    for a, b in zip(old, new, strict=True):
        for field in ("call_id", "score", "raw_score", "auto_failed"):
            if _floats_differ(getattr(a, field), getattr(b, field)):
                out.append(f"{a.call_id} {field}: {getattr(a, field)} != {getattr(b, field)}")
        for ia, ib in zip(a.items, b.items, strict=True):
            for field in ("item_id", "verdict", "points", "max_points", "auto_fail"):
                if _floats_differ(getattr(ia, field), getattr(ib, field)):
                    out.append(
                        f"{a.call_id} {ia.item_id} {field}: {getattr(ia, field)} != {getattr(ib, field)}"
                    )
            if len(ia.evidence) != len(ib.evidence):
                out.append(f"{a.call_id} {ia.item_id}: {len(ia.evidence)} != {len(ib.evidence)} evidence")
            for ea, eb in zip(ia.evidence, ib.evidence, strict=False):
                for field in vars(ea):
                    if _floats_differ(getattr(ea, field), getattr(eb, field)):
                        out.append(
                            f"{a.call_id} {ia.item_id} evidence {field}: {getattr(ea, field)!r} != {getattr(eb, field)!r}"
                        )
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--off", action="append", default=[], choices=LEVERS)
    ap.add_argument("--encoder", type=str)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument(
        "--compare",
        action="store_true",
        help="also score with the matcher as it was before in the same run and diff every verdict",
    )
    ap.add_argument("--group", type=int, default=0, help="also score with N calls embedded together")
    ap.add_argument(
        "--straightforward", action="store_true", help="also the matcher before the first speedup"
    )
    ap.add_argument(
        "--bf16",
        action="store_true",
        help="also the grouped paths with bfloat16 matrix products (other numbers: diffed, not failed)",
    )
    ap.add_argument(
        "--int8",
        action="store_true",
        help="also the grouped paths with int8 matrix products (other numbers: diffed, not failed)",
    )
    ap.add_argument(
        "--pipeline",
        action="store_true",
        help="also the batch's whole path per call (redaction, sentiment), one by one and grouped",
    )
    args = ap.parse_args(argv)
    convert = load_script("harper_to_transcripts", ROOT / "scripts" / "harper_to_transcripts.py")
    src = args.data or convert.find_dataset(ROOT)
    if src is None:
        print("no Harper Valley dataset found", file=sys.stderr)
        return 2
    card_yaml = card_text(ROOT / "scorecards" / "bank.yaml", set(args.off))
    variants = (
        *(("straightforward",) if args.straightforward else ()),
        *(("before",) if args.compare else ()),
        "now",
        *(v for v in GROUPED if args.group > 0 and _wanted(v, args)),
        *(("pipeline",) if args.pipeline else ()),
        *(v for v in PIPELINE_GROUPED if args.pipeline and args.group > 0 and _wanted(v, args)),
    )
    with tempfile.TemporaryDirectory() as tmp:
        paths = [str(p) for p in convert.convert_folder(src, Path(tmp))]
        shares = [paths[i :: args.workers] for i in range(args.workers)]
        load_before = os.getloadavg()[0]
        t0 = time.perf_counter()
        with mp.get_context("spawn").Pool(args.workers) as pool:
            out = pool.map(
                _work,
                [(s, card_yaml, args.off, args.encoder, args.repeat, variants, args.group) for s in shares],
            )
        total_wall = time.perf_counter() - t0
    result: dict[str, Any] = {
        "workers": args.workers,
        "off": sorted(args.off),
        "encoder": args.encoder or "all-MiniLM-L6-v2 (packaged)",
        "wall_with_model_load_s": round(total_wall, 1),
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }
    for variant in variants:
        done = sum(o[variant][0] for o in out)
        cpu = sum(o[variant][2] for o in out)
        result[variant] = {
            "calls": done,
            "calls_per_s": round(done / max(o[variant][1] for o in out), 1),
            "cpu_s_per_call": round(cpu / done, 4),
            # each worker's least CPU a call over the rounds, averaged: what a shared machine's
            # load inflates least
            "cpu_s_per_call_best_round": round(sum(o[f"rounds:{variant}"][2] for o in out) / len(out), 4),
            "calls_per_s_on_2_idle_cores": round(2 * done / cpu, 1),
        }
    diffs: list[str] = []
    if len(variants) > 1:
        now = [r for o in out for r in o["now"][3]]
        for other in variants:
            # the batch's path rates sentiment, which the scorer alone does not: its two forms
            # are compared with each other
            ref = REFERENCE.get(other, "now")
            exact = other not in BF16 + INT8  # their differences are their figures
            if other != ref and other != "pipeline":
                d = differences([r for o in out for r in o[other][3]], [r for o in out for r in o[ref][3]])
                result[f"differences_{other}_vs_{ref}"] = d[:20]
                if not exact:
                    result[f"count_differences_{other}_vs_{ref}"] = len(d)
                    result[f"verdicts_and_scores_{other}_vs_{ref}"] = [
                        x
                        for x in d
                        if any(f" {f}:" in x for f in ("verdict", "points", "score", "raw_score"))
                    ]
                diffs += d if exact else []
            if other in ("pipeline_grouped_new", "pipeline_grouped_r7", *BF16[1:], *INT8[1:]):
                said = sentiment_differences(
                    [u for o in out for u in o[ref][4]], [u for o in out for u in o[other][4]]
                )
                result[f"sentiment_{other}_vs_{ref}"] = said
                diffs += said["text_differences"] + said["label_differences"] if exact else []
        result["results_compared"] = len(now)
        result["identical"] = not diffs
    print(json.dumps(result))
    return 1 if diffs else 0


if __name__ == "__main__":
    raise SystemExit(main())

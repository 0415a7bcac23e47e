"""Agreement of the bank scorecard with hand labels on real calls (Harper Valley), per item.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/qa_real/evaluate.py [--data DIR] [--markdown | --json]
        [--split standard|heldoutN] [--scorecard FILE] [--encoder MODEL_DIR] [--off LEVER ...]
        [--errors dev|held-out|heldoutN|all] [--calibrate] [--products float32|bfloat16|int8]

The 30 calls are converted (scripts/harper_to_transcripts.py), written as transcript files and
read back through the real import (`qa.ingest.read_transcript`), then every edited copy of
bench/qa_real/edits.py is made; each is scored with scorecards/bank.yaml (sentiment from the
project's model, as the pipeline does) and compared with its labels (bench/qa_real/labels.yaml).

Per item and split (dev: tune on it; held-out: fixed by call id hash, never tuned on):
agreement, false passes (machine pass, label fail), false fails (machine fail, label pass).
A `review` or `na` verdict where the label is pass/fail counts as a disagreement of neither kind.

Levers can be switched off one at a time to measure each (`--off LEVER`):
- not-phrases: drop every `not_phrases:` list;
- placeholders: `{agent}` becomes a fixed name ("alex"), as a scorecard without placeholders would say;
- thresholds: every item at the default threshold (0.6) instead of its calibrated one;
- elliptical: drop the short elliptical examples ("anything else?");
- short-windows: meaning is compared over 10-word windows only (not also 5-word ones);
- classifier: drop every `classifier:` (the conduct classifier on forbidden items);
- cues: drop every `cues:` (cue words said verbatim, on phrase items);
and `--encoder DIR` swaps the sentence encoder (a Hugging Face directory, e.g. all-mpnet-base-v2).

Needs the dataset (../shared/data/harper-dev, or $HARPER_DEV_DIR); it is never copied into the repo.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import yaml  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from edits import H2_INSERTED, HELDOUT_FILES, held_out, heldout2_variants, load_heldout, variants  # noqa: E402

LEVERS = ("not-phrases", "placeholders", "thresholds", "elliptical", "short-windows", "classifier", "cues")
FIXED_NAME = "alex"
ELLIPTICAL_WORDS = 3  # examples shorter than this are the elliptical ones ("anything else?")
COMPLIANCE = ("no-credential-request", "no-dismissive")
SPLITS = {"standard": ("dev", "held-out"), **{name: (name,) for name in HELDOUT_FILES}}


def load_script(name: str, path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def card_text(path: Path, off: set[str]) -> str:
    """The scorecard with the levers in `off` switched off."""
    data = yaml.safe_load(path.read_text("utf-8"))
    for section in data["sections"]:
        for item in section["items"]:
            if "not-phrases" in off:
                item.pop("not_phrases", None)
            if "cues" in off:
                item.pop("cues", None)
            if "classifier" in off:
                item.pop("classifier", None)
                item.pop("classifier_threshold", None)
            if "thresholds" in off:
                item.pop("threshold", None)
            if "placeholders" in off and "phrases" in item:
                item["phrases"] = [p.replace("{agent}", FIXED_NAME) for p in item["phrases"]]
            if "elliptical" in off and "phrases" in item:
                item["phrases"] = [
                    p for p in item["phrases"] if len(p.replace("?", " ").split()) >= ELLIPTICAL_WORDS
                ] or item["phrases"]
    if "thresholds" in off:
        data.setdefault("defaults", {}).pop("threshold", None)
    return yaml.safe_dump(data, sort_keys=False)


def _warn_if_trained_on(split: str, pools: dict[str, list[str]]) -> None:
    """Say so when a held-out set's sentences are the conduct classifiers' training data (the seen
    sets heldout2-11 are, since session 12): its forbidden-item figures then measure fit, not
    generalisation."""
    from callwright.nlp import conduct

    read = sorted({p for name in conduct.SPECS for p in conduct.data_paths(name)})
    training = {s for lists in conduct.load_sentences(read).values() for s in lists}
    inserted = [s for pool in H2_INSERTED for s in pools.get(pool, [])]
    share = sum(s in training for s in inserted) / max(len(inserted), 1)
    if share > 0:
        print(
            f"note: {share:.0%} of {split}'s inserted sentences are what the conduct classifiers "
            f"were trained on ({', '.join(p.name for p in read)}): its forbidden-item figures are "
            "not held-out figures",
            file=sys.stderr,
        )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, help="Harper Valley folder (default: found above the repo)")
    ap.add_argument("--scorecard", type=Path, default=ROOT / "scorecards" / "bank.yaml")
    ap.add_argument("--labels", type=Path, default=Path(__file__).resolve().parent / "labels.yaml")
    ap.add_argument("--encoder", type=Path, help="sentence encoder directory (default: the packaged MiniLM)")
    ap.add_argument("--off", action="append", default=[], choices=LEVERS, help="switch a lever off")
    ap.add_argument("--markdown", action="store_true", help="print the per-item table for the docs")
    ap.add_argument(
        "--errors",
        choices=("dev", "held-out", *HELDOUT_FILES, "all"),
        help="list the disagreements of a split",
    )
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--calibrate", action="store_true", help="print each item's best threshold range on dev")
    ap.add_argument("--torch-threads", type=int, default=1)
    kinds = ap.add_mutually_exclusive_group()
    kinds.add_argument(
        "--products",
        choices=("float32", "bfloat16", "int8"),
        help="what the encoder's matrix products multiply in (`Encoder.products`; default: the "
        "product's choice for this CPU, `embeddings.products`)",
    )
    kinds.add_argument(
        "--bf16", action="store_const", const="bfloat16", dest="products", help="--products bfloat16"
    )
    kinds.add_argument(
        "--float32", action="store_const", const="float32", dest="products", help="--products float32"
    )
    ap.add_argument(
        "--split",
        choices=("standard", *HELDOUT_FILES),
        default="standard",
        help="standard: originals and edits, dev and held-out; heldout2 / heldout3: the sentence "
        "held-out sets (heldout2_sentences.yaml, heldout3*_sentences.yaml), each written before a "
        "round of tuning: run each once, at the end of its round",
    )
    ap.add_argument("--dry-run", action="store_true", help="count the edited calls, score nothing")
    args = ap.parse_args(argv)

    convert = load_script("harper_to_transcripts", ROOT / "scripts" / "harper_to_transcripts.py")
    src = args.data or convert.find_dataset(ROOT)
    if src is None:
        print("no Harper Valley dataset found (set --data or HARPER_DEV_DIR)", file=sys.stderr)
        return 2

    import torch

    torch.set_num_threads(args.torch_threads)
    from callwright.nlp.embeddings import Encoder, Products, get_encoder, products

    Encoder.products = Products(args.products) if args.products else None  # None: as `products` decides
    from callwright.nlp.sentiment import get_sentiment_model
    from callwright.qa.ingest import read_transcript, resolve_meta
    from callwright.qa.scorecard import PhraseMatcher, loads_scorecard, score

    if "short-windows" in args.off:
        from callwright.qa.scorecard import matching

        matching.SHORT_WINDOW_WORDS = 0
    card = loads_scorecard(card_text(args.scorecard, set(args.off)), str(args.scorecard))
    labels = yaml.safe_load(args.labels.read_text("utf-8"))["calls"]
    matcher = PhraseMatcher(get_encoder(args.encoder) if args.encoder else None)
    sentiment_model = get_sentiment_model()
    sentiment: dict[str, tuple[float, str]] = {}

    counts: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    by_edit: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    errors = []
    sims: dict[tuple[str, str], list[tuple[float, str]]] = defaultdict(list)
    rates: dict[tuple[str, str], list[tuple[float, str]]] = defaultdict(list)  # classifier
    scored = 0
    score_s = 0.0
    originals: dict[str, tuple[dict[str, Any], dict[str, str]]] = {}
    for sid, call_labels in sorted(labels.items()):
        segs = json.loads((src / "transcripts" / f"{sid}.json").read_text("utf-8"))
        meta_raw = json.loads((src / "metadata" / f"{sid}.json").read_text("utf-8"))
        originals[sid] = (
            convert.convert_call(segs, meta_raw),
            {item: v[0] for item, v in call_labels.items()},
        )
    if args.split in HELDOUT_FILES:
        pools = load_heldout(args.split)
        _warn_if_trained_on(args.split, pools)
        todo = [(args.split, sid, var) for sid, var in heldout2_variants(originals, pools)]
    else:
        todo = [
            ("held-out" if held_out(sid) else "dev", sid, var)
            for sid, (call, plain) in originals.items()
            for var in variants(call, plain)
        ]
    if args.dry_run:
        names: dict[str, int] = defaultdict(int)
        for _, _, var in todo:
            names[var.name] += 1
        print(json.dumps({"transcripts": len(todo), "by_edit": dict(sorted(names.items()))}, indent=1))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        for k, (split, sid, var) in enumerate(todo):
            path = Path(tmp) / f"{sid}-{k}.json"
            path.write_text(json.dumps(var.call))
            meta = resolve_meta(path)
            transcript = read_transcript(path, meta)
            texts = list(dict.fromkeys(u.text for u in transcript.utterances if u.text not in sentiment))
            for text, r in zip(texts, sentiment_model.predict(texts) if texts else [], strict=True):
                sentiment[text] = (r.score, r.label)
            for u in transcript.utterances:
                u.sentiment, u.sentiment_label = sentiment[u.text]
            t0 = time.perf_counter()
            result = score(card, transcript, None, meta, matcher=matcher)
            score_s += time.perf_counter() - t0
            scored += 1
            for it in result.items:
                want = var.labels.get(it.item_id)
                # each item is judged on the originals and on the edits made for it (an item's
                # label left unchanged by another item's edit would only repeat the original's)
                if want is None or (
                    it.item_id not in var.judged
                    if var.judged
                    else var.name != "original" and var.name.split(":")[1] != it.item_id
                ):
                    continue
                if it.kind in ("phrase", "forbidden"):
                    shown = it.evidence if it.kind == "forbidden" else it.evidence[:1]
                    best = max((e.similarity or 0.0 for e in shown), default=0.0)
                    sims[(split, it.item_id)].append((best, want))
                    rated = [e.value or 0.0 for e in it.evidence if "classifier rates" in e.note]
                    if rated:
                        rates[(split, it.item_id)].append((max(rated), want))
                c = counts[(split, it.item_id)]
                e = by_edit[(split, var.name.split(":")[0])]
                c["n"] += 1
                e["n"] += 1
                c[f"label_{want}"] += 1
                if it.verdict == want:
                    c["agree"] += 1
                    e["agree"] += 1
                    continue
                kind = (
                    "false_pass"
                    if it.verdict == "pass" and want == "fail"
                    else "false_fail"
                    if it.verdict == "fail" and want == "pass"
                    else "other"
                )
                c[kind] += 1
                ev = it.evidence[0] if it.evidence else None
                errors.append(
                    {
                        "call": sid,
                        "split": split,
                        "edit": var.name,
                        "item": it.item_id,
                        "machine": it.verdict,
                        "label": want,
                        "evidence": (ev.text[:100] if ev else ""),
                        "note": (ev.note[:160] if ev else ""),
                        # the held-out sentence the edit carries (None on the standard split's edits)
                        **({"sentence": var.sentence} if var.sentence is not None else {}),
                    }
                )

    items = [it.id for it in card.items]
    rows = []
    for item in items:
        row: dict[str, Any] = {"item": item, "kind": card.item(item).kind}
        for split in SPLITS[args.split]:
            c = counts.get((split, item), {})
            n = c.get("n", 0)
            row[split] = {
                "n": n,
                "agreement": round(c.get("agree", 0) / n, 3) if n else None,
                "false_pass": c.get("false_pass", 0),
                "label_fail": c.get("label_fail", 0),
                "false_fail": c.get("false_fail", 0),
                "label_pass": c.get("label_pass", 0),
                "other": c.get("other", 0),
            }
        rows.append(row)
    speed = scored / score_s if score_s else 0.0
    summary = {
        "scorecard": str(
            args.scorecard.relative_to(ROOT)
            if args.scorecard.is_absolute() and args.scorecard.is_relative_to(ROOT)
            else args.scorecard
        ),
        "encoder": str(args.encoder or "all-MiniLM-L6-v2 (packaged)"),
        "off": sorted(args.off),
        "products": str(products()),
        "transcripts_scored": scored,
        "scoring_calls_per_s": round(speed, 1),
        "items": rows,
        "by_edit": {f"{s}/{e}": dict(v) for (s, e), v in sorted(by_edit.items())},
    }
    if args.json:
        print(json.dumps(summary, indent=1))
    elif args.markdown:
        print(markdown(rows, SPLITS[args.split]))
    else:
        print(markdown(rows, SPLITS[args.split]))
        print(
            f"\n{scored} transcripts scored, {speed:.1f} calls/s (scoring only, new and repeated text mixed)"
        )
        for key, v in sorted(by_edit.items()):
            print(f"  {key[0]:8s} {key[1]:10s} agreement {v['agree'] / v['n']:.3f} over {v['n']} item labels")
    if args.calibrate:
        print("\nthresholds that maximise dev agreement (a range: any value in it does as well):")
        for item in items:
            pairs = sims.get(("dev", item))
            if pairs:
                print(f"  {item}: {calibrate(pairs, card.item(item).kind)}")
            pairs = rates.get(("dev", item))
            if pairs:
                print(f"  {item} classifier_threshold: {calibrate(pairs, 'forbidden')}")
    if args.errors:
        for e in errors:
            if args.errors in ("all", e["split"]):
                print(json.dumps(e))
    return 0


def calibrate(pairs: list[tuple[float, str]], kind: str) -> str:
    """The threshold range with the fewest disagreements on these (best similarity, label) pairs."""
    want_high = "pass" if kind == "phrase" else "fail"  # a similarity at the threshold means this
    cands = sorted({round(x, 4) for x, _ in pairs} | {1.0001})
    scored = []
    for t in cands:
        wrong = sum((x >= t) != (lab == want_high) for x, lab in pairs)
        scored.append((wrong, t))
    least = min(w for w, _ in scored)
    best = [t for w, t in scored if w == least]
    lo = max((x for x, _ in pairs if x < best[0]), default=0.0)
    return f"wrong {least}/{len(pairs)} for thresholds in ({lo:.3f}, {best[0]:.3f}]" + (
        f" (also up to {best[-1]:.3f})" if len(best) > 1 else ""
    )


def _cell(d: dict[str, Any]) -> str:
    if not d["n"]:
        return "| – | – | – "
    fp = f"{d['false_pass']}/{d['label_fail']}" if d["label_fail"] else "0/0"
    ff = f"{d['false_fail']}/{d['label_pass']}" if d["label_pass"] else "0/0"
    return f"| {d['agreement']:.3f} ({d['n']}) | {fp} | {ff} "


def markdown(rows: list[dict[str, Any]], splits: tuple[str, ...] = ("dev", "held-out")) -> str:
    head = "| item | kind " + "".join(
        f"| {s} agreement (n) | {s} false pass | {s} false fail " for s in splits
    )
    lines = [head + "|", "|---|---" + "|---|---|---" * len(splits) + "|"]
    for r in rows:
        lines.append(f"| {r['item']} | {r['kind']} " + "".join(_cell(r[s]) for s in splits) + "|")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())

"""What an edit to a phrase item's cues does on the held-out sentence sets, checked before any
evaluation run (how rounds fifteen and seventeen vetted their further-help cues).

    .venv/bin/python bench/qa_real/cue_check.py pools --item further-help [--old-rev HEAD] [--new scorecards/bank.yaml]
    HF_HUB_OFFLINE=1 .venv/bin/python bench/qa_real/cue_check.py sentences --item further-help --split heldout16 [...]

`pools`: every sentence of every held-out set's *other* pools (polite, dismissive, credentials
and, for further help, closing; for closing, further help) that one of the new card's cue wordings
says and none of the old card's does. Stricter than the scorer: a question cue counts outside a
question and a negator does not cancel it; a `not_cue` said over it still does. Any hit is a
sentence of another kind that the new cue could pass, so a cue to reword or drop. Reads no model.

`sentences`: the item's own pool of one held-out split, each sentence in the calls it is put into
(`edits.heldout2_variants`, as `evaluate.py` does), scored with the old card and the new: the
sentences whose passes differ, and the totals. Reading a split's sentences this way makes it seen
for that item, as `evaluate.py --errors` does.

The old card is the scorecard at a git revision (`--old-rev`, default HEAD) or a file (`--old`).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from edits import H2_REPLACED, HELDOUT_FILES, heldout2_variants, load_heldout  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
CARD = ROOT / "scorecards" / "bank.yaml"
POOL_OF = {item: pool for pool, item in H2_REPLACED.items()}  # further-help -> further_help


def card_text(args: argparse.Namespace, which: str) -> tuple[str, str]:
    """(yaml text, name) of the old or the new card."""
    if which == "new":
        return args.new.read_text("utf-8"), str(args.new)
    if args.old is not None:
        return args.old.read_text("utf-8"), str(args.old)
    rel = CARD.relative_to(ROOT).as_posix()
    shown = subprocess.run(
        ["git", "show", f"{args.old_rev}:{rel}"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return shown.stdout, f"{args.old_rev}:{rel}"


def phrase_rule(text: str, name: str, item: str) -> Any:
    from callwright.qa.scorecard import loads_scorecard

    return loads_scorecard(text, name).item(item).rule


def hits(rule: Any, text: str) -> list[str]:
    """The cue wordings said in `text` that no not_cue wording is said over (as the matcher
    reads them, questions and negators aside)."""
    from callwright.qa.scorecard.matching import cue_wordings_said

    return cue_wordings_said(rule, text)


def check_pools(args: argparse.Namespace) -> int:
    old = phrase_rule(*card_text(args, "old"), args.item)
    new = phrase_rule(*card_text(args, "new"), args.item)
    own = POOL_OF[args.item]
    found = 0
    for split in HELDOUT_FILES:
        for pool, sentences in load_heldout(split).items():
            if pool == own:
                continue
            for sentence in sentences:
                if (fresh := hits(new, sentence)) and not hits(old, sentence):
                    found += 1
                    print(f"{split} {pool} {sorted(set(fresh))} | {sentence}")
    print(f"{found} sentence(s) of other pools said a new cue wording and no old one")
    return 1 if found else 0


def check_sentences(args: argparse.Namespace) -> int:
    import evaluate
    import yaml

    from callwright.qa.ingest import read_transcript, resolve_meta
    from callwright.qa.scorecard import PhraseMatcher, loads_scorecard, score

    convert = evaluate.load_script("harper_to_transcripts", ROOT / "scripts" / "harper_to_transcripts.py")
    src = args.data or convert.find_dataset(ROOT)
    if src is None:
        print("no Harper Valley dataset found (set --data or HARPER_DEV_DIR)", file=sys.stderr)
        return 2
    labels = yaml.safe_load((Path(__file__).resolve().parent / "labels.yaml").read_text("utf-8"))["calls"]
    originals = {}
    for sid, call_labels in sorted(labels.items()):
        segs = json.loads((src / "transcripts" / f"{sid}.json").read_text("utf-8"))
        meta = json.loads((src / "metadata" / f"{sid}.json").read_text("utf-8"))
        originals[sid] = (convert.convert_call(segs, meta), {i: v[0] for i, v in call_labels.items()})
    own = POOL_OF[args.item]
    pools = {own: load_heldout(args.split)[own]}
    cards = {which: loads_scorecard(*card_text(args, which)) for which in ("old", "new")}
    matcher = PhraseMatcher(None)
    passes: dict[str, dict[str, list[bool]]] = defaultdict(lambda: defaultdict(list))
    with tempfile.TemporaryDirectory() as tmp:
        for k, (_, var) in enumerate(heldout2_variants(originals, pools)):
            path = Path(tmp) / f"{k}.json"
            path.write_text(json.dumps(var.call))
            meta = resolve_meta(path)
            transcript = read_transcript(path, meta)
            for which, card in cards.items():
                result = score(card, transcript, None, meta, matcher=matcher)
                verdict = next(it.verdict for it in result.items if it.item_id == args.item)
                passes[str(var.sentence)][which].append(verdict == "pass")
    totals = {which: sum(sum(v[which]) for v in passes.values()) for which in cards}
    n = sum(len(v["old"]) for v in passes.values())
    for sentence, v in passes.items():
        if v["old"] != v["new"]:
            print(f"{sum(v['old'])}/{len(v['old'])} -> {sum(v['new'])}/{len(v['new'])}  {sentence}")
    print(f"{args.split} {args.item}: passes {totals['old']} -> {totals['new']} of {n}")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("what", choices=("pools", "sentences"))
    ap.add_argument("--item", choices=sorted(POOL_OF), default="further-help")
    ap.add_argument("--split", choices=list(HELDOUT_FILES), help="sentences: the held-out split")
    ap.add_argument("--old-rev", default="HEAD", help="the old card: scorecards/bank.yaml at this revision")
    ap.add_argument("--old", type=Path, help="the old card: this file (instead of --old-rev)")
    ap.add_argument("--new", type=Path, default=CARD, help="the new card (default: the working tree's)")
    ap.add_argument(
        "--data", type=Path, help="Harper Valley folder (sentences; default: found above the repo)"
    )
    args = ap.parse_args(argv)
    if args.what == "sentences":
        if args.split is None:
            ap.error("sentences needs --split")
        return check_sentences(args)
    return check_pools(args)


if __name__ == "__main__":
    raise SystemExit(main())

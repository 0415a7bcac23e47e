"""How far the dismissive item's held-out labels are a matter of opinion, and where the shipped
model's errors fall: on sentences any reader calls one way, or on ones readers argue about.

Two labellers, apart from each other and from the sets' writers, labelled every dismissive and
polite sentence of heldout12-14 (dismissive_second_labels.yaml). Their brief, in short: read only
the shuffled sentences (no pool, set or rating shown); label each `d` (rude, blaming, impatient,
sarcastic, condescending, stonewalling, threatening, passive-aggressive, mocking, or brushing the
caller off) or `p` (everything else an agent says mid-call: firm but polite refusals, bad news,
apologies, policy, hold and transfer talk, small talk, questions, identity checks), judging as a
bank's QA reviewer would whether the sentence marks the agent down on "nothing dismissive or
rude", with `sure` or `unsure`. The labellers are language-model helpers, like the writers, not
bank reviewers: their agreement bounds how consistent the pools are, not how people would judge.

This prints each labeller's agreement with the pools, the labellers' with each other, and the
shipped dismissive pair's sentence-level errors (each sentence alone, as heard, at the
scorecard's classifier threshold) split into "clear" sentences (both labellers agree with the
pool, both sure) and the rest.

Run:  HF_HUB_OFFLINE=1 .venv/bin/python bench/qa_real/label_agreement.py [--threshold T] [--no-model]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from edits import load_heldout  # noqa: E402

LABELS_FILE = HERE / "dismissive_second_labels.yaml"
SCORECARD = HERE.parents[1] / "scorecards" / "bank.yaml"
SPLITS = ("heldout12", "heldout13", "heldout14")
POOLS = {"dismissive": "d", "polite": "p"}


def sentences() -> list[tuple[str, str]]:
    """(sentence, its pool's label d/p) for the dismissive and polite pools of SPLITS."""
    out = []
    for split in SPLITS:
        pools = load_heldout(split)
        out += [(s, label) for pool, label in POOLS.items() for s in pools.get(pool, [])]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--threshold",
        type=float,
        help="the classifier's threshold (default: bank.yaml's no-dismissive item's)",
    )
    ap.add_argument("--no-model", action="store_true", help="the labels only")
    args = ap.parse_args(argv)
    second = yaml.safe_load(LABELS_FILE.read_text("utf-8"))
    rows = sentences()
    missing = [s for s, _ in rows if s not in second]
    if missing or len(second) != len(rows):
        print(f"{LABELS_FILE.name} does not cover the sets: {len(missing)} sentence(s) unlabelled")
        return 1
    n = len(rows)
    for who, col in (("A", 0), ("B", 2)):
        d_as_p = sum(1 for s, pool in rows if pool == "d" and second[s][col] == "p")
        p_as_d = sum(1 for s, pool in rows if pool == "p" and second[s][col] == "d")
        unsure = sum(1 for s, _ in rows if second[s][col + 1] == "unsure")
        print(
            f"labeller {who}: agrees with the pools on {n - d_as_p - p_as_d}/{n}; dismissive called "
            f"polite {d_as_p}, polite called dismissive {p_as_d}; unsure {unsure}"
        )
    apart = sum(1 for s, _ in rows if second[s][0] != second[s][2])
    print(f"labellers A and B disagree on {apart}/{n}")
    clear = {
        s
        for s, pool in rows
        if second[s][0] == second[s][2] == pool and second[s][1] == second[s][3] == "sure"
    }
    print(f"clear (both agree with the pool, both sure): {len(clear)}/{n}")
    if args.no_model:
        return 0

    from callwright.nlp import conduct, conduct_model
    from callwright.nlp.embeddings import get_encoder
    from callwright.qa.scorecard import load_scorecard

    if args.threshold is None:
        args.threshold = load_scorecard(SCORECARD).item("no-dismissive").rule.classifier_threshold
    encoder = get_encoder()
    pair = conduct_model.get_rater("dismissive", encoder)
    heard = [conduct.as_heard({"one": [s]})["one"][0] for s, _ in rows]  # each as the scorer hears it
    p = conduct_model.rate_texts(pair, encoder, heard)
    for pool, what, wrong in (
        ("d", "dismissive missed", lambda x: x < args.threshold),
        ("p", "polite flagged", lambda x: x >= args.threshold),
    ):
        errs = [s for (s, lab), x in zip(rows, p, strict=True) if lab == pool and wrong(x)]
        total = sum(1 for _, lab in rows if lab == pool)
        in_clear = sum(1 for s in errs if s in clear)
        print(f"model at {args.threshold:g}: {what} {len(errs)}/{total}, of which clear {in_clear}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""How well phrase items separate paraphrases from other speech, by threshold.

For every phrase intent in the sample scorecards, hand-written agent utterances
that say the same thing in other words (positives; none copies an example) and
utterances that say something else (negatives: the other intents' paraphrases and
general call-centre talk). Each utterance is a one-turn call scored by the real
matcher (MiniLM meaning + fuzzy wording). Prints recall on positives and false
matches on negatives for thresholds 0.50-0.80, and the sentences that go the wrong
way at the default threshold.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/scorecard_threshold.py

The paraphrases are the author's own, written before measuring; they are a
sanity check of the default threshold, not a benchmark of the encoder.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from callwright.qa.model import Transcript, Utterance  # noqa: E402
from callwright.qa.scorecard import PhraseMatcher, load_scorecard  # noqa: E402
from callwright.qa.scorecard.model import DEFAULT_THRESHOLD, PhraseRule  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

PARAPHRASES: dict[str, list[str]] = {
    "greeting": [
        "Hello and thanks for ringing Acme.",
        "Good morning, Acme Telecom, thanks for your call.",
        "Hi there, thanks for getting in touch with Acme.",
    ],
    "recording-disclosure": [
        "Just so you know, we record our calls to improve service.",
        "Please be aware that this conversation is recorded for training.",
        "Calls to Acme are recorded to help us improve.",
    ],
    "offer-help": [
        "What can I help you with this morning?",
        "How may I help?",
        "What's the reason for your call today?",
    ],
    "verify-identity": [
        "Before we go on, could you tell me your date of birth?",
        "Can I just take your postcode for security?",
        "I need to ask a couple of security questions first.",
    ],
    "empathy": [
        "Oh no, I'm really sorry that happened.",
        "I can imagine that's very annoying for you.",
        "Apologies for all the hassle you've had.",
    ],
    "hold-asked": [
        "Would it be okay if I put you on a brief hold?",
        "Bear with me, can I pop you on hold for a minute?",
        "Are you happy to hold while I look into it?",
    ],
    "anything-else": [
        "Is there something else I can do for you today?",
        "Anything more I can help with?",
        "Can I help you with anything else at all?",
    ],
    "caller-identification": [
        "Hi, it's Sam here from Acme Telecom.",
        "Good afternoon, this is Sam with Acme.",
        "Hello, my name's Sam, I work for Acme Telecom.",
    ],
    "opt-out-offer": [
        "If you'd rather we didn't call again, just say and I'll take you off the list.",
        "You can ask us to stop calling you at any time.",
        "Would you prefer not to get calls like this in future?",
    ],
    "discovery": [
        "Which company do you get your broadband from right now?",
        "What are you paying each month for internet at the moment?",
        "Who provides your internet currently?",
    ],
    "next-step": [
        "I'll email you all the details today.",
        "Do you want me to set that up now?",
        "I'll give you a ring next week to follow up.",
    ],
}

OTHER_TALK = [
    "Let me just pull up your account.",
    "Okay, one moment please.",
    "Right, I've made a note of that.",
    "Your engineer will arrive between eight and one.",
    "The router should have a green light on the front.",
    "Could you spell your surname for me?",
    "That's all updated on the system now.",
    "I'm afraid the line is quite bad, could you repeat that?",
    "Yes, I can see the payment went through.",
    "The outage in your area should be fixed by tonight.",
]


def main() -> int:
    cards = [load_scorecard(ROOT / "scorecards" / n) for n in ("inbound-service.yaml", "outbound-sales.yaml")]
    rules: dict[str, PhraseRule] = {
        it.id: it.rule
        for c in cards
        for it in c.items
        if it.id in PARAPHRASES and isinstance(it.rule, PhraseRule)
    }
    matcher = PhraseMatcher()
    pos: list[tuple[str, str, float]] = []
    neg: list[tuple[str, str, float]] = []
    for item_id, rule in rules.items():
        rule = PhraseRule(rule.phrases, "agent", rule.threshold)
        others = [s for k, v in PARAPHRASES.items() if k != item_id for s in v] + OTHER_TALK
        for sentences, bucket in ((PARAPHRASES[item_id], pos), (others, neg)):
            for text in sentences:
                call = matcher.prepare(Transcript("b", 10.0, [Utterance("agent", 0.0, 5.0, text)]))
                (m,) = call.matches(rule, 10.0)
                bucket.append((item_id, text, m.similarity))
    print(f"{len(rules)} intents, {len(pos)} paraphrases, {len(neg)} other (intent, sentence) pairs\n")
    print("| threshold | paraphrases matched | other sentences matched |")
    print("|---|---|---|")
    for t in (0.50, 0.55, 0.60, 0.65, 0.70, 0.75, 0.80):
        tp = sum(s >= t for *_, s in pos)
        fp = sum(s >= t for *_, s in neg)
        print(f"| {t:.2f} | {tp}/{len(pos)} ({tp / len(pos):.0%}) | {fp}/{len(neg)} ({fp / len(neg):.1%}) |")
    print(
        "\nper item, at its own threshold: paraphrases matched, other sentences matched, "
        "lowest paraphrase, highest other"
    )
    for item_id, rule in rules.items():
        p = [s for i, _, s in pos if i == item_id]
        n = [s for i, _, s in neg if i == item_id]
        print(
            f"  {item_id:24} t={rule.threshold:.2f}  {sum(s >= rule.threshold for s in p)}/{len(p)}  "
            f"{sum(s >= rule.threshold for s in n)}/{len(n)}  {min(p):.2f}  {max(n):.2f}"
        )
    t = DEFAULT_THRESHOLD
    print(f"\nmissed at {t}:")
    for item_id, text, s in sorted(pos, key=lambda r: r[2]):
        if s < t:
            print(f"  {s:.2f} {item_id}: {text}")
    print(f"false matches at {t}:")
    for item_id, text, s in sorted(neg, key=lambda r: -r[2]):
        if s >= t:
            print(f"  {s:.2f} {item_id}: {text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Calls scored per second on a 5-minute transcript, with the sample inbound scorecard.

Two cases:
- new call: a matcher that knows the scorecard's phrasings but not this call, so
  every stretch of speech the items look at is embedded (the cost of a call
  seen for the first time in a batch);
- warm: the matcher has already embedded this call's text (embeddings cached per
  utterance), as when one call is scored again with an edited scorecard or by a
  second scorecard: what remains is matching, fuzzy wording and the other items.

The transcript is synthetic but shaped like a service call: 80 turns alternating
agent and customer over 300 s, filled-in templates so that most turns are new text,
with sentiment values and metrics. Torch runs on one thread by default: two batch
workers on two cores each get one (two threads per process on a busy machine
made each small embedding batch about ten times slower here).

    HF_HUB_OFFLINE=1 .venv/bin/python bench/scorecard_speed.py [--calls N]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from callwright.qa.model import (  # noqa: E402
    CallMeta,
    ConversationMetrics,
    Silence,
    Transcript,
    Utterance,
)
from callwright.qa.scorecard import PhraseMatcher, load_scorecard, score  # noqa: E402
from callwright.qa.scorecard.matching import normalise  # noqa: E402
from callwright.qa.scorecard.model import OrderRule, PhraseRule, Rule  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

OPENING = (
    "Thank you for calling Acme Telecom, my name is Sam. This call may be recorded for quality and "
    "training purposes. How can I help you today?"
)
AGENT = [
    "Can you confirm your {what} for security please?",
    "Thank you. I can see on your account that there was {problem} on {day}.",
    "Let me just have a look at the {thing} for you, it will only take {time}.",
    "The engineer has checked the {thing} and it looks {state} from our side now.",
    "I'm sorry to hear that, I understand how frustrating {problem} must be.",
    "Could you restart the {thing} for me and tell me what the light on the front is doing?",
    "That's all updated on the system now and you should get {message} to confirm it by {day}.",
    "I can add a credit of {amount} pounds to your next bill for the trouble you've had.",
    "Okay, so the {thing} was {state} on {day}, is that right?",
    "Right, {time}, I'm just checking the {thing} now.",
]
CUSTOMER = [
    "Hi, my {thing} keeps {failing} every {when} and it's really annoying.",
    "Yes, it's the {nth} of {month} nineteen {year}.",
    "The light on the {thing} is {colour} and {failing}.",
    "I've already restarted the {thing} {count} times since {day} and it didn't help.",
    "That would be great, thank you, {when} is best for me.",
    "Sorry, could you say the bit about the {thing} again? The line is quite bad.",
    "I work from home so I really need the {thing} to work in the {when}.",
    "It started on {day} after {problem}, I think.",
]
SLOTS = {
    "what": ["date of birth", "postcode", "account number", "full name", "first line of your address"],
    "problem": ["an outage", "a fault on the line", "some maintenance", "a billing error", "a broken cable"],
    "day": ["monday", "tuesday", "wednesday", "thursday", "friday", "the weekend", "yesterday"],
    "thing": ["router", "line", "broadband", "phone line", "connection", "account", "bill", "wifi"],
    "time": ["a moment", "two minutes", "a second", "no time at all"],
    "state": ["stable", "fine", "down", "slow", "intermittent"],
    "message": ["a text message", "an email", "a letter"],
    "amount": ["ten", "fifteen", "twenty", "five", "twelve"],
    "failing": ["dropping out", "cutting off", "flashing", "going slow", "disconnecting"],
    "when": ["evening", "morning", "afternoon", "night", "weekend"],
    "nth": ["first", "fifth", "ninth", "twelfth", "twentieth", "third"],
    "month": ["may", "june", "march", "october", "january", "august"],
    "year": ["eighty", "seventy two", "ninety", "sixty five", "eighty eight"],
    "colour": ["orange", "red", "green", "blue", "off"],
    "count": ["two", "three", "four", "five"],
}


def _fill(template: str, rng: random.Random) -> str:
    return template.format(**{k: rng.choice(v) for k, v in SLOTS.items()})


def five_minute_call(seed: int = 7, turns: int = 80, duration: float = 300.0) -> Transcript:
    """Service-call-shaped text: scripted opening and close, filled-in templates between (mostly unique)."""
    rng = random.Random(seed)
    utts = []
    step = duration / turns
    for i in range(turns):
        speaker = "agent" if i % 2 == 0 else "customer"
        pool = AGENT if speaker == "agent" else CUSTOMER
        if i == 0:
            text = OPENING
        elif i == turns - 2:
            text = "Is there anything else I can help you with?"
        else:
            text = " ".join(_fill(rng.choice(pool), rng) for _ in range(rng.choice((1, 1, 2))))
        utts.append(
            Utterance(
                speaker,
                i * step,
                i * step + step * 0.9,
                text,
                sentiment=rng.uniform(-0.5, 0.8),
                sentiment_label="neutral",
            )
        )
    return Transcript("bench", duration, utts)


def metrics() -> ConversationMetrics:
    return ConversationMetrics(
        handle_time_s=300.0,
        talk_s={"agent": 150.0, "customer": 90.0},
        talk_listen_ratio=150 / 90,
        silence_total_s=60.0,
        silence_longest_s=12.0,
        dead_air=[Silence(100, 112)],
        holds=[],
        overtalk=[],
        speech_rate_wpm={"agent": 160.0, "customer": 140.0},
    )


def _phrases(rule: Rule) -> tuple[str, ...]:
    if isinstance(rule, PhraseRule):
        return rule.phrases
    if isinstance(rule, OrderRule):
        return rule.first.phrases + rule.then.phrases
    return ()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=20, help="calls per case")
    ap.add_argument(
        "--torch-threads",
        type=int,
        default=1,
        help="torch threads (default 1: what each of 2 batch workers on 2 cores gets)",
    )
    args = ap.parse_args()
    card = load_scorecard(ROOT / "scorecards" / "inbound-service.yaml")
    transcript, m, meta = five_minute_call(), metrics(), CallMeta("bench", "inbound")
    words = sum(len(u.text.split()) for u in transcript.utterances)

    warm = PhraseMatcher()
    t0 = time.perf_counter()
    score(card, transcript, m, meta, matcher=warm)  # loads the encoder, fills the cache
    import torch

    torch.set_num_threads(args.torch_threads)
    print(f"first call (includes loading MiniLM): {time.perf_counter() - t0:.1f} s")
    spans = len(warm.prepare(transcript).spans.texts)
    phrasings = [" ".join(normalise(p)) for it in card.items for p in _phrases(it.rule)]

    def new_call() -> PhraseMatcher:
        matcher = PhraseMatcher(warm.encoder)
        matcher.vectors(phrasings)
        return matcher

    rows = []
    for name, make in (
        ("new call (embeds the call's speech)", new_call),
        ("warm (embeddings cached per utterance)", lambda: warm),
    ):
        wall = cpu = 0.0
        for _ in range(args.calls):
            matcher = make()
            w0, c0 = time.perf_counter(), time.process_time()
            score(card, transcript, m, meta, matcher=matcher)
            wall += time.perf_counter() - w0
            cpu += time.process_time() - c0
        rows.append((name, args.calls / wall, wall / args.calls, cpu / args.calls))

    embedded = new_call()
    score(card, transcript, m, meta, matcher=embedded)
    print(f"torch threads: {args.torch_threads}")
    print(
        f"\n5-minute call: {len(transcript.utterances)} turns, {words} words, {spans} spans of which "
        f"{embedded.size - len(set(phrasings))} embedded (agent speech); scorecard {card.id}: "
        f"{len(card.items)} items, {len(set(phrasings))} phrasings"
    )
    print("\n| case | calls/s (wall) | s/call (wall) | CPU s/call |")
    print("|---|---|---|---|")
    for name, rate, per, cpu in rows:
        print(f"| {name} | {rate:.2f} | {per:.3f} | {cpu:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

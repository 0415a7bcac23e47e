"""Throughput of PII/PCI redaction: utterances per CPU second on one core.

Timed with process CPU time, not wall-clock, because the machine is shared:
redaction is single-threaded pure Python, so CPU seconds are what it costs.

Two corpora: seeded call-centre utterances in recogniser style (lower case,
number words; a third of them carry a card, SSN, phone or e-mail), and, when
../shared/data/vader is present, the 18,513 real review and social-media
sentences there (mostly without PII, so the figure shows the cost on ordinary
text; every redaction made there is listed with --show-hits for inspection).

    .venv/bin/python bench/redaction_speed.py [--repeat 3] [--show-hits]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from pathlib import Path

from callwright.redaction import redact_conversation, redact_text, redact_words, with_luhn_digit
from callwright.speech.asr.base import Word

REPO = Path(__file__).resolve().parents[1]
VADER = (REPO / ".." / "shared" / "data" / "vader").resolve()

DIGITS = "zero one two three four five six seven eight nine".split()
PLAIN = [
    "thank you for calling acme bank my name is sarah how can I help you today",
    "I'm calling about a charge on my statement from last week that I don't recognise",
    "okay let me just pull up your account one moment please",
    "the payment of forty nine ninety nine went out on the third of march",
    "can I put you on a brief hold while I check that with my supervisor",
    "thanks for holding I've removed the late fee of twenty five dollars",
    "is there anything else I can help you with today",
    "no that's everything thank you so much for your help",
    "your order number is four seven two nine one eight three and it ships tomorrow",
    "we're open from eight am to eight pm monday to friday",
    "I've been a customer for twelve years and this has never happened before",
    "this call may be recorded for quality and training purposes",
    "I understand your frustration and I'm sorry for the inconvenience",
    "the refund will take three to five business days to show",
    "press one for billing press two for technical support",
]
WRAPS = [
    "sure my card number is {}",
    "okay it's {} and that's a visa",
    "yes the long number on the front is {}",
    "my social is {}",
    "you can call me back on {}",
    "my email is {}",
]


def _luhn_card(rng: random.Random) -> str:
    return with_luhn_digit("".join(str(rng.randint(0, 9)) for _ in range(15)))


def _say(digits: str, rng: random.Random) -> str:
    if rng.random() < 0.3:
        return " ".join(digits[i : i + 4] for i in range(0, len(digits), 4))
    return " ".join(DIGITS[int(d)] for d in digits)


def call_corpus(n: int, seed: int = 5) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        if rng.random() < 2 / 3:
            out.append(rng.choice(PLAIN))
            continue
        k = rng.randrange(len(WRAPS))
        if k < 3:
            value = _say(_luhn_card(rng), rng)
        elif k == 3:
            value = _say("123456789", rng)
        elif k == 4:
            value = _say("2125550187", rng)
        else:
            value = "jane dot doe at example dot com"
        out.append(WRAPS[k].format(value))
    return out


def vader_corpus() -> list[str]:
    texts = []
    for path in sorted(VADER.glob("*_GroundTruth.txt")):
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            parts = line.split("\t")
            if len(parts) >= 3:
                texts.append(parts[2])
    return texts


def rate(texts: list[str], repeat: int) -> tuple[float, int]:
    """Best-of-`repeat` utterances per CPU second, and how many utterances were changed."""
    best, changed = float("inf"), 0
    for _ in range(repeat):
        t0 = time.process_time()
        changed = sum(1 for t in texts if redact_text(t).spans)
        best = min(best, time.process_time() - t0)
    return len(texts) / best, changed


def words_rate(texts: list[str], repeat: int) -> float:
    batches = [[Word(w, i * 0.4, i * 0.4 + 0.3, 0.9) for i, w in enumerate(t.split())] for t in texts]
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        for words in batches:
            redact_words(words)
        best = min(best, time.process_time() - t0)
    return len(texts) / best


def call_channels(texts: list[str]) -> list[list[Word]]:
    """Two channels of one long call: utterances alternate, 0.4 s a word, 3 s between turns."""
    channels: list[list[Word]] = [[], []]
    t = 0.0
    for i, text in enumerate(texts):
        for w in text.split():
            channels[i % 2].append(Word(w, t, t + 0.3, 0.9))
            t += 0.4
        t += 3.0
    return channels


def conversation_seconds(channels: list[list[Word]], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        redact_conversation(channels)
        best = min(best, time.process_time() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--utterances", type=int, default=5000)
    ap.add_argument("--show-hits", action="store_true", help="print every VADER redaction")
    args = ap.parse_args()

    calls = call_corpus(args.utterances)
    words = statistics.mean(len(t.split()) for t in calls)
    per_s, changed = rate(calls, args.repeat)
    print(f"call utterances: {len(calls)} (mean {words:.1f} words, {changed} with PII)")
    print(f"  redact_text : {per_s:,.0f} utterances per CPU s")
    print(f"  redact_words: {words_rate(calls, args.repeat):,.0f} utterances per CPU s")
    channels = call_channels(call_corpus(200, seed=1))
    talk_min = max(w.end for ws in channels for w in ws) / 60
    n_words = sum(map(len, channels))
    cpu = conversation_seconds(channels, args.repeat)
    print(f"one call, 2 channels, {n_words} words, {talk_min:.0f} min: redact_conversation {cpu:.2f} CPU s")
    if VADER.is_dir():
        texts = vader_corpus()
        per_s, changed = rate(texts, 1)
        words = statistics.mean(len(t.split()) for t in texts)
        print(f"vader sentences: {len(texts)} (mean {words:.1f} words)")
        print(f"  redact_text : {per_s:,.0f} utterances per CPU s, {changed} changed")
        if args.show_hits:
            for t in texts:
                red = redact_text(t)
                if red.spans:
                    print("   ", [(s.kind.value, t[s.start : s.end]) for s in red.spans], "|", t[:120])
    else:
        print(f"vader sentences: skipped ({VADER} not found)")


if __name__ == "__main__":
    main()

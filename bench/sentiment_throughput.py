"""Sentences per second for sentiment and embeddings on short, call-like utterances.

Run:  HF_HUB_OFFLINE=1 .venv/bin/python bench/sentiment_throughput.py [--n 2000] [--repeats 3]

The sentences are built from fixed call-centre templates (seeded), so every run scores
the same text. The best of --repeats timed passes is reported, after one warm-up pass,
because the machine is shared and the best pass is the least disturbed one; CPU
seconds (all threads) are reported too, as they depend less on other load.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

OPENERS = ["", "Okay, ", "Yes, ", "Well, ", "Sorry, ", "Right, ", "Hi, ", "Thanks, "]
BODIES = [
    "I'm calling about my last bill",
    "can you confirm your date of birth",
    "the engineer never turned up yesterday",
    "that's really helpful, thank you",
    "I've been on hold for forty minutes",
    "let me check that for you",
    "my internet keeps dropping every evening",
    "I'd like to cancel my subscription",
    "is there anything else I can help you with",
    "you charged me twice this month",
    "I just need to update my address",
    "that's brilliant, you've sorted it",
    "please hold while I transfer you",
    "this is the third time I've called",
    "your order will arrive on Tuesday",
    "I really appreciate your patience",
]
CLOSERS = ["", " please", " today", " again", " if that's okay", " to be honest"]


def call_sentences(n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    return [f"{rng.choice(OPENERS)}{rng.choice(BODIES)}{rng.choice(CLOSERS)}." for _ in range(n)]


def best_rate(fn, texts: list[str], repeats: int) -> tuple[float, float]:
    """(sentences per wall second, sentences per CPU second) of the best pass."""
    fn(texts[:128])  # warm-up: first-call allocations and lazy initialisation
    best_wall, best_cpu = float("inf"), float("inf")
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        fn(texts)
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    return len(texts) / best_wall, len(texts) / best_cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="sentences per timed pass")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()

    import torch

    from callwright.nlp.embeddings import get_encoder
    from callwright.nlp.sentiment import get_sentiment_model

    texts = call_sentences(args.n)
    t0 = time.perf_counter()
    model = get_sentiment_model()
    load_s = time.perf_counter() - t0
    encoder = get_encoder()
    tokens = sum(encoder.token_counts(texts)) / len(texts)
    sentiment = best_rate(lambda t: model.predict(t, batch_size=args.batch_size), texts, args.repeats)
    embed = best_rate(lambda t: encoder.embed(t, batch_size=args.batch_size), texts, args.repeats)
    result = {
        "sentences": len(texts),
        "mean_tokens": round(tokens, 1),
        "batch_size": args.batch_size,
        "torch_threads": torch.get_num_threads(),
        "cpus": os.cpu_count(),
        "load_seconds": round(load_s, 2),
        "sentiment_per_second": round(sentiment[0], 1),
        "sentiment_per_cpu_second": round(sentiment[1], 1),
        "embeddings_per_second": round(embed[0], 1),
        "embeddings_per_cpu_second": round(embed[1], 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "machine": platform.processor() or platform.machine(),
        "load_average_1min": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()

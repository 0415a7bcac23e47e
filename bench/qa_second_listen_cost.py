"""Where the second listen's time goes: per call, and per step of one listen.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/qa_second_listen_cost.py --samples DIR [--json]

Scores each sample call (render them with scripts/make_sample_calls.py) in this
process, one thread, as one pipeline worker does, and times the steps of
`whisper_second_listen.second_listen` by wrapping them: per stretch (cached, so an
utterance listened to for several items pays once) the 30 s encoder window (its log-mel
features, about 0.03 s, are left out), the
unprompted decode and its likelihood; per listen the primed decode (beam 5, five
hypotheses; the neutral-prompt retry included), the primed reading's likelihood
without the prompt, and its word alignment; and the screens (one quick greedy primed
reading per stretch, `whisper_second_listen.screen`) that decide which listens are
made. The first call also pays the models' loading, so its total is not comparable;
the step times are.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ["OMP_NUM_THREADS"] = "1"
ROOT = Path(__file__).resolve().parents[1]

STEPS = (
    "stretch: encoder (30 s window)",
    "stretch: unprompted decode",
    "stretch: unprompted likelihood",
    "listen: primed decode",
    "listen: primed likelihood",
    "listen: word alignment",
)


class _Clock:
    """Seconds and calls per step, attributed by where in `second_listen` a call happens."""

    def __init__(self) -> None:
        self.seconds: defaultdict[str, float] = defaultdict(float)
        self.calls: Counter[str] = Counter()
        self.in_stretch = False
        self.in_listen = False  # the first listen's decodes are not counted

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        t = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] += time.perf_counter() - t
            self.calls[name] += 1

    def wrap(self, owner: object, attr: str, inside: str, outside: str | None) -> None:
        original = getattr(owner, attr)

        def timed(*args: object, **kwargs: object) -> object:
            name = inside if self.in_stretch else outside if self.in_listen else None
            if name is None:
                return original(*args, **kwargs)
            with self.step(name):
                return original(*args, **kwargs)

        setattr(owner, attr, timed)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=Path, required=True, help="folder of rendered sample calls")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(1)
    from callwright.qa import ingest
    from callwright.qa.pipeline import Engines, PipelineOptions, score_path
    from callwright.qa.scorecard import load_scorecard
    from callwright.speech.asr import whisper_second_listen
    from callwright.speech.asr.whisper import WhisperRecognizer
    from callwright.speech.asr.whisper_decoder import WhisperDecoder

    cards = {
        d: load_scorecard(ROOT / "scorecards" / f)
        for d, f in (("inbound", "inbound-service.yaml"), ("outbound", "outbound-sales.yaml"))
    }
    engines = Engines("whisper", cpu_threads=1)
    clock = _Clock()
    stretch = whisper_second_listen._stretch

    def timed_stretch(*a: object, **k: object) -> object:
        clock.in_stretch = True
        try:
            return stretch(*a, **k)
        finally:
            clock.in_stretch = False

    whisper_second_listen._stretch = timed_stretch
    clock.wrap(WhisperDecoder, "encode", STEPS[0], None)
    clock.wrap(WhisperDecoder, "generate_all", STEPS[1], STEPS[3])
    clock.wrap(whisper_second_listen, "_log_likelihood", STEPS[2], STEPS[4])
    clock.wrap(WhisperDecoder, "aligned_words", STEPS[5], STEPS[5])
    listen = WhisperRecognizer.second_listen

    def timed_listen(*a: object, **k: object) -> object:
        clock.in_listen = True
        try:
            with clock.step("listens"):
                return listen(*a, **k)
        finally:
            clock.in_listen = False

    WhisperRecognizer.second_listen = timed_listen  # type: ignore[method-assign]
    screen = getattr(WhisperRecognizer, "screen_listen", None)  # a tree before the screen has none

    def timed_screen(*a: object, **k: object) -> object:
        with clock.step("screens"):
            return screen(*a, **k)  # type: ignore[misc]

    if screen is not None:
        WhisperRecognizer.screen_listen = timed_screen  # type: ignore[method-assign]

    rows = []
    for wav in sorted(args.samples.glob("*.wav")):
        meta = ingest.resolve_meta(wav)
        before = (
            clock.calls["listens"],
            clock.seconds["listens"],
            clock.calls[STEPS[1]],
            clock.calls["screens"],
            clock.seconds["screens"],
        )
        outcome = score_path(wav, cards[meta.direction], engines, options=PipelineOptions(engine="whisper"))
        rows.append(
            {
                "call": wav.stem,
                "audio_s": round(outcome.audio_s, 1),
                "total_s": round(outcome.total_s, 2),
                "first_asr_s": round(outcome.asr_s, 2),
                "listens": clock.calls["listens"] - before[0],
                "stretches": clock.calls[STEPS[1]] - before[2],
                "screens": clock.calls["screens"] - before[3],
                "screen_s": round(clock.seconds["screens"] - before[4], 2),
                "second_listen_s": round(
                    clock.seconds["listens"] - before[1] + clock.seconds["screens"] - before[4], 2
                ),
            }
        )
    steps = {
        name: {"seconds": round(clock.seconds[name], 2), "calls": clock.calls[name]}
        for name in (*STEPS, "screens")
    }
    if args.json:
        print(json.dumps({"calls": rows, "steps": steps}, indent=2))
        return 0
    print(
        f"{'call':28} {'audio s':>8} {'total s':>8} {'1st ASR s':>9} {'screens':>7} {'listens':>7} "
        f"{'stretches':>9} {'2nd listen s':>12}"
    )
    for r in rows:
        print(
            f"{r['call']:28} {r['audio_s']:8.1f} {r['total_s']:8.2f} {r['first_asr_s']:9.2f} {r['screens']:7d} "
            f"{r['listens']:7d} {r['stretches']:9d} {r['second_listen_s']:12.2f}"
        )
    tot = {
        k: sum(r[k] for r in rows)
        for k in ("audio_s", "first_asr_s", "screens", "listens", "second_listen_s")
    }
    print(
        f"{'all':28} {tot['audio_s']:8.1f} {'':8} {tot['first_asr_s']:9.2f} {tot['screens']:7d} "
        f"{tot['listens']:7d} {'':9} {tot['second_listen_s']:12.2f}"
    )
    print(f"\n{'step':34} {'seconds':>8} {'calls':>6} {'s/call':>7}")
    for name, v in steps.items():
        per = v["seconds"] / v["calls"] if v["calls"] else 0.0
        print(f"{name:34} {v['seconds']:8.2f} {v['calls']:6d} {per:7.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

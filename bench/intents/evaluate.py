"""Paraphrase routing on the inbound sample's main menu: routed right / wrong / re-prompted.

Each utterance goes through the whole interpretation of a menu state (keywords, global
commands, then the choices' examples through the sentence encoder), exactly as on a call
with a confident recogniser. Right: the expected choice; wrong: another choice or the
operator; re-prompted: no match, or help/repeat (the caller is asked again).
Latency per utterance on one core (torch limited to one thread), after the examples were
embedded once. Targets (issue 16): >= 90 % right, <= 2 % wrong, < 20 ms per utterance.

Labels besides the choices: `none` (right when the caller is asked again: no match, help or
repeat; wrong when sent to a choice or the operator) and `operator` (right when the operator
command is taken; wrong when sent to a choice). The headline figures are on the choices'
paraphrases (the issue's target); none/operator items are reported on a line of their own.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/intents/evaluate.py [--set heldout3|heldout2|heldout|dev|dev2]
        [--flow flows/inbound.yaml] [--state main-menu] [--threshold T --margin M] [--show] [--no-spelling]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import time
from pathlib import Path

import yaml

from callwright.flows.loader import load_flow
from callwright.flows.model import Ask, Intents
from callwright.ivr import interpret

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--set", default="heldout2", choices=["heldout3", "heldout2", "heldout", "dev", "dev2"])
    ap.add_argument("--flow", default=str(ROOT / "flows" / "inbound.yaml"))
    ap.add_argument("--state", default="main-menu")
    ap.add_argument("--threshold", type=float)
    ap.add_argument("--margin", type=float)
    ap.add_argument("--show", action="store_true", help="print every utterance not routed right")
    ap.add_argument("--no-spelling", action="store_true", help="measure without putting misspelt words right")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    data = yaml.safe_load((HERE / f"{args.set}.yaml").read_text())
    flow = load_flow(args.flow)
    st = flow.states[args.state]
    assert isinstance(st, Ask)
    intents = st.listening.intents
    if args.threshold is not None or args.margin is not None:
        intents = Intents(
            args.threshold if args.threshold is not None else intents.threshold,
            args.margin if args.margin is not None else intents.margin,
        )
        st = dataclasses.replace(st, listening=dataclasses.replace(st.listening, intents=intents))
    rules = interpret.Rules.of(st)
    if rules.router is not None and args.no_spelling:
        rules.router._known = None  # no speller: the utterance goes to the encoder as typed
    if rules.router is not None:
        rules.router.route("warm up")  # load the encoder and embed the examples once
    right = wrong = reprompt = 0
    other = {"right": 0, "wrong": 0, "re-prompted": 0}
    times, cpu = [], []
    for expected, utterances in data["utterances"].items():
        for text in utterances:
            t, c = time.perf_counter(), time.thread_time()
            result = interpret.speech(text, 1.0, rules)
            times.append((time.perf_counter() - t) * 1000)
            cpu.append((time.thread_time() - c) * 1000)
            chosen = result.choice.id if isinstance(result, interpret.Chosen) else None
            operator = isinstance(result, interpret.Command) and result.name == "operator"
            got = chosen or ("operator" if operator else None)
            if expected in ("none", "operator"):
                if got == (None if expected == "none" else "operator"):
                    other["right"] += 1
                    continue
                kind = "re-prompt" if got is None else f"WRONG -> {got}"
                other["wrong" if got is not None else "re-prompted"] += 1
            elif got == expected:
                right += 1
                continue
            elif got is not None:
                wrong += 1
                kind = f"WRONG -> {got}"
            else:
                reprompt += 1
                kind = "re-prompt"
            if args.show:
                print(f"  {kind:18} [{expected}] {text}")
    n = right + wrong + reprompt
    n_other = sum(other.values())
    times.sort()
    cpu.sort()
    print(f"set {args.set}: {n} utterances; threshold {intents.threshold}, margin {intents.margin}")
    print(
        f"routed right {right} ({100 * right / n:.1f} %), wrong {wrong} ({100 * wrong / n:.1f} %), "
        f"re-prompted {reprompt} ({100 * reprompt / n:.1f} %)"
    )
    if n_other:
        print(
            f"none/operator items: {n_other}; right {other['right']}, sent to a choice or the operator "
            f"{other['wrong']}, re-prompted {other['re-prompted']}"
        )
    print(
        f"CPU time per utterance (one thread): median {statistics.median(cpu):.1f} ms, "
        f"p95 {cpu[int(0.95 * (len(cpu) - 1))]:.1f} ms; load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"latency per utterance (one core): median {statistics.median(times):.1f} ms, "
        f"p95 {times[int(0.95 * (len(times) - 1))]:.1f} ms, max {times[-1]:.1f} ms"
    )


if __name__ == "__main__":
    main()

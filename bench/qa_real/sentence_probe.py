"""The dismissive model on whole held-out sentences alone: how well it separates the dismissive
pool from the others (AUC, and recall where 5 % / 10 % of the others are flagged), against heads
over frozen sentence vectors of other encoders.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/qa_real/sentence_probe.py [--splits heldout8,heldout9]
        [--frozen DIR ...] [--threads 2]

Each held-out sentence is read as the scorer hears it (`conduct.as_heard`: lower case, no
punctuation) and rated on its own by the shipped model (`conduct_model.rate_texts`). With
`--frozen DIR` (a Hugging Face encoder directory, e.g. the joined all-mpnet-base-v2 parts
unpacked outside the project), that encoder's mean-pooled unit vectors of the dismissive model's
own training set (`conduct.training_set`, rounds 1-6 with their windows) train a logistic head and
a 64-unit hidden-layer head (the product's head shapes, `conduct.fit_logistic` / `fit_ensemble`),
which are measured the same way; the packaged MiniLM is always measured frozen too. Embedding
the 45,000 training texts takes about 2 minutes with MiniLM and 25 with mpnet on 2 cores.
Also reported: the share of the Harper Valley dev calls' agent turns flagged at each cut.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

from edits import HELDOUT_FILES, load_heldout  # noqa: E402


def embed(path: str, texts: list[str]) -> np.ndarray:
    import torch
    from transformers import AutoModel, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path).eval()
    out = np.zeros((len(texts), model.config.hidden_size), np.float32)
    order = np.argsort([len(t) for t in texts])
    t0 = time.time()
    with torch.inference_mode():
        for i in range(0, len(texts), 64):
            idx = order[i : i + 64]
            b = tok(
                [texts[j] for j in idx], padding=True, truncation=True, max_length=128, return_tensors="pt"
            )
            h = model(**b).last_hidden_state
            mask = b["attention_mask"].unsqueeze(-1).float()
            out[idx] = torch.nn.functional.normalize((h * mask).sum(1) / mask.sum(1), dim=1).numpy()
    print(f"  {Path(path).name}: {len(texts)} texts embedded in {time.time() - t0:.0f} s", file=sys.stderr)
    return out


def report(name, score, ev, real) -> None:  # noqa: ANN001
    rows = [(s, score(pos), score(neg)) for s, (pos, neg) in ev.items()]
    flagged_real = score(real) if real else np.zeros(0)
    others = np.concatenate([sn for _, _, sn in rows])
    for share in (0.05, 0.10):
        cut = float(np.quantile(others, 1 - share))
        recall = " ".join(f"{s}:{float((sp >= cut).mean()):.2f}" for s, sp, _ in rows)
        real_share = float((flagged_real >= cut).mean()) if len(flagged_real) else float("nan")
        print(
            f"{name:26s} others flagged {share:.0%} (cut {cut:.3f}): real turns {real_share:.3f}; recall {recall}"
        )
    aucs = " ".join(
        f"{s}:{float((sp[:, None] > sn[None, :]).mean() + 0.5 * (sp[:, None] == sn[None, :]).mean()):.3f}"
        for s, sp, sn in rows
    )
    print(f"{name:26s} AUC {aucs}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--splits", default=",".join(HELDOUT_FILES))
    ap.add_argument(
        "--frozen", action="append", default=[], help="another encoder directory to measure frozen"
    )
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    from callwright.nlp import conduct, conduct_model
    from callwright.nlp.embeddings import default_encoder_path, get_encoder

    ev = {}
    for split in args.splits.split(","):
        pools = conduct.as_heard(load_heldout(split))
        ev[split] = (
            pools["dismissive"],
            pools["polite"] + pools["credential_mention"] + pools["credential_request"],
        )
    real = [t for t in conduct.real_agent_turns()[0] if len(t.split()) >= 3]
    encoder = get_encoder()
    model = conduct_model.get_model("dismissive", encoder)
    report(
        "fine-tuned MiniLM (shipped)", lambda t: conduct_model.rate_texts(model, encoder, list(t)), ev, real
    )
    ts = conduct.training_set("dismissive", conduct.load_sentences())
    for path in [str(default_encoder_path()), *args.frozen]:
        x = embed(path, ts.texts).astype(np.float64)
        w, b = conduct.fit_logistic(x, ts.y)
        w1, b1, w2, b2 = conduct.fit_ensemble(x, ts.y, 64, 3)
        cache: dict[tuple[str, ...], np.ndarray] = {}

        def vec(texts, path=path, cache=cache):  # noqa: ANN001, ANN202
            key = tuple(texts)
            if key not in cache:
                cache[key] = embed(path, list(texts)).astype(np.float64)
            return cache[key]

        name = Path(path).name
        report(
            f"{name} frozen, logistic",
            lambda t, w=w, b=b: 1 / (1 + np.exp(-(vec(t) @ w + b))).ravel(),
            ev,
            real,
        )
        report(
            f"{name} frozen, hidden layer",
            lambda t, w1=w1, b1=b1, w2=w2, b2=b2: (
                1 / (1 + np.exp(-(np.maximum(vec(t) @ w1 + b1, 0) @ w2 + b2)))
            ).ravel(),
            ev,
            real,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

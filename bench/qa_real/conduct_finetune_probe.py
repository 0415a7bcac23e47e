"""The shipped conduct models (callwright.nlp.conduct_model: MiniLM's top layers fine-tuned with a
linear layer), sentence by sentence on the seen held-out sets' conduct pools. Each is read at
matched false-alarm rates (the share of the other pools' sentences over its threshold), so the
curves compare with the pooled-vector MLP head this replaced (its figures are in
docs/qa-real-calls.md), and at the model's own cross-validated threshold.

Run:  HF_HUB_OFFLINE=1 .venv/bin/python bench/qa_real/conduct_finetune_probe.py [CLASSIFIER ...]
(default dismissive; a few seconds once the encoder is loaded).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from edits import load_heldout  # noqa: E402

from callwright.nlp import conduct, conduct_model  # noqa: E402
from callwright.nlp.embeddings import get_encoder  # noqa: E402

# heldout5 and heldout6: added once each had been run (sessions 6 and 7)
SPLITS = ("heldout2", "heldout3", "heldout4", "heldout5", "heldout6")
FALSE_ALARMS = (0.02, 0.05, 0.10)
POOLS = {  # the held-out pools that are the classifier's positives; the others are negatives
    "dismissive": ("dismissive",),
    "credential_request": ("credential_request",),
}
ALL_POOLS = ("dismissive", "polite", "credential_mention", "credential_request")


def test_set(split: str, name: str) -> tuple[list[str], np.ndarray]:
    pools = conduct.as_heard(load_heldout(split))
    pos = [s for p in POOLS[name] for s in pools.get(p, [])]
    neg = [s for p in ALL_POOLS if p not in POOLS[name] for s in pools.get(p, [])]
    return [*pos, *neg], np.array([1] * len(pos) + [0] * len(neg))


def curve(p: np.ndarray, y: np.ndarray) -> str:
    """Missed positive sentences at each matched false-alarm rate."""
    parts = []
    for rate in FALSE_ALARMS:
        neg = np.sort(p[y == 0])[::-1]
        threshold = neg[int(math.floor(rate * len(neg)))]
        parts.append(f"FF {rate:.0%}: FP {float((p[y == 1] <= threshold).mean()):.1%}")
    return "; ".join(parts)


def main() -> None:
    encoder = get_encoder()
    for name in sys.argv[1:] or ["dismissive"]:
        model = conduct_model.get_model(name, encoder)
        t = model.suggested_threshold
        for split in SPLITS:
            texts, y = test_set(split, name)
            p = conduct_model.rate_texts(model, encoder, texts)
            at = f"at {t:g}: FP {float((p[y == 1] < t).mean()):.1%}, FF {float((p[y == 0] >= t).mean()):.1%}"
            print(f"{name} model, {split} ({y.sum()} positive, {(y == 0).sum()} other): {curve(p, y)}; {at}")


if __name__ == "__main__":
    main()

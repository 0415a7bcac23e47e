"""A probe, not shipped: a dismissive classifier with MiniLM's top layers fine-tuned (as the
sentiment head is: bottom-layer states cached, the top layers and a linear layer trained),
against the shipped MLP head on pooled vectors, sentence by sentence on the held-out sets'
conduct pools (all three seen by now). Each is read at matched false-alarm rates (the share of
the other pools' sentences over its threshold), so the curves compare, not one threshold.

Run:  HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1 .venv/bin/python bench/qa_real/conduct_finetune_probe.py [TUNED_LAYERS] [EPOCHS]
(defaults 2 and 3: about 4 minutes on one core).
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from edits import load_heldout  # noqa: E402

from callwright.nlp import conduct  # noqa: E402
from callwright.nlp.embeddings import get_encoder  # noqa: E402
from callwright.nlp.head import pad_states  # noqa: E402
from callwright.nlp.towers import cloned_top, layer_list, restack  # noqa: E402
from callwright.nlp.training import BottomStates  # noqa: E402

SPLITS = ("heldout2", "heldout3", "heldout4")
FALSE_ALARMS = (0.02, 0.05, 0.10)
OTHER_POOLS = ("polite", "credential_mention", "credential_request")


def test_sets() -> dict[str, tuple[list[str], np.ndarray]]:
    out = {}
    for split in SPLITS:
        pools = conduct.as_heard(load_heldout(split))
        other = [s for name in OTHER_POOLS for s in pools[name]]
        out[split] = (
            [*pools["dismissive"], *other],
            np.array([1] * len(pools["dismissive"]) + [0] * len(other)),
        )
    return out


def curve(p: np.ndarray, y: np.ndarray) -> str:
    """Missed dismissive sentences at each matched false-alarm rate."""
    parts = []
    for rate in FALSE_ALARMS:
        neg = np.sort(p[y == 0])[::-1]
        threshold = neg[int(math.floor(rate * len(neg)))]
        parts.append(f"FF {rate:.0%}: FP {float((p[y == 1] <= threshold).mean()):.1%}")
    return "; ".join(parts)


class FineTuned:
    def __init__(self, tuned: int) -> None:
        self.encoder = get_encoder()
        base = self.encoder.model
        self.states = BottomStates(self.encoder, len(layer_list(base)) - tuned, None)
        self.top = cloned_top(base, tuned)
        self.view = restack(base, self.top, from_hidden_states=True)
        self.classifier = torch.nn.Linear(int(base.config.hidden_size), 2)
        self.params = [*self.top.parameters(), *self.classifier.parameters()]

    def logits(self, xs: list[torch.Tensor]) -> torch.Tensor:
        x, m = pad_states(xs)
        h = self.view(inputs_embeds=x, attention_mask=m).last_hidden_state
        mask = m.unsqueeze(-1).float()
        return self.classifier((h * mask).sum(1) / mask.sum(1))

    def fit_epoch(
        self, xs: list[torch.Tensor], y: torch.Tensor, opt: torch.optim.Optimizer, loss_fn
    ) -> float:
        self.top.train()
        perm = torch.randperm(len(xs)).tolist()
        loss = torch.tensor(0.0)
        for i in range(0, len(perm), 32):
            idx = perm[i : i + 32]
            loss = loss_fn(self.logits([xs[j] for j in idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.params, 1.0)
            opt.step()
        return float(loss.detach())

    def predict(self, texts: list[str]) -> np.ndarray:
        xs = [s.float() for s in self.states.get(texts)]
        self.top.eval()
        with torch.inference_mode():
            return np.concatenate(
                [torch.softmax(self.logits(xs[i : i + 64]), -1)[:, 1].numpy() for i in range(0, len(xs), 64)]
            )


def main() -> None:
    tuned = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    torch.manual_seed(7)
    torch.set_num_threads(1)
    tests = test_sets()
    encoder = get_encoder()
    head = conduct.get_head("dismissive")
    for split, (texts, y) in tests.items():
        p = head.probability(encoder.embed(texts))
        at = f"at 0.85: FP {float((p[y == 1] < 0.85).mean()):.1%}, FF {float((p[y == 0] >= 0.85).mean()):.1%}"
        print(
            f"shipped MLP head, {split} ({y.sum()} dismissive, {(y == 0).sum()} other): {curve(p, y)}; {at}"
        )

    ts = conduct.training_set("dismissive", conduct.load_sentences())
    model = FineTuned(tuned)
    xs = [s.float() for s in model.states.get(ts.texts)]
    y = torch.tensor(ts.y.astype(np.int64))
    weights = torch.tensor([len(y) / (2 * int((y == c).sum())) for c in (0, 1)], dtype=torch.float32)
    loss_fn = torch.nn.CrossEntropyLoss(weight=weights)
    opt = torch.optim.AdamW(model.params, lr=5e-5, weight_decay=0.01)
    started = time.time()
    for epoch in range(1, epochs + 1):
        loss = model.fit_epoch(xs, y, opt, loss_fn)
        print(f"epoch {epoch}: {time.time() - started:.0f} s, last batch loss {loss:.3f}", flush=True)
        for split, (texts, yy) in tests.items():
            print(
                f"  fine-tuned top {tuned}, epoch {epoch}, {split}: {curve(model.predict(texts), yy)}",
                flush=True,
            )


if __name__ == "__main__":
    main()

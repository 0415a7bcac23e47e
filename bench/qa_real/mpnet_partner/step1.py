"""Step 1 of RULES.md: S, X, T at 0.5 on the heldout12-15 pools (sentence level)."""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, "bench/qa_real")
from edits import load_heldout

from callwright.nlp import conduct, conduct_model
from callwright.nlp.embeddings import get_encoder

out = Path("out")
enc = get_encoder()
top2 = conduct_model.get_model("dismissive", enc)
top4 = conduct_model.load_model("dismissive", enc, partner=conduct.Partner(4))
POOLS = ("dismissive", "polite", "credential_mention", "credential_request")
T = 0.5
totals = {}
for split in ("heldout12", "heldout13", "heldout14", "heldout15"):
    pools = conduct.as_heard(load_heldout(split))
    row = {}
    for name in ("S", "X", "T"):
        row[name] = [0, 0, 0, 0]
    for pool in POOLS:
        texts = list(pools.get(pool, []))
        a = conduct_model.rate_texts(top2, enc, texts)
        b = conduct_model.rate_texts(top4, enc, texts)
        c = np.load(out / f"{split}-{pool}-mpnet1.npy")
        g = a >= conduct.PAIR_GATE
        cands = {
            "S": np.where(g, (a + b) / 2, a),
            "X": np.where(g, (a + c) / 2, a),
            "T": np.where(g, (a + b + c) / 3, a),
        }
        for name, p in cands.items():
            if pool == "dismissive":
                row[name][0] += int((p < T).sum())
                row[name][1] += len(p)
            else:
                row[name][2] += int((p >= T).sum())
                row[name][3] += len(p)
    for name, (m, n, f, k) in row.items():
        totals[name] = totals.get(name, 0) + m / n + f / k
        print(split, name, f"missed {m}/{n} ({m / n:.3f}) flagged {f}/{k} ({f / k:.3f})")
print({k: round(v, 4) for k, v in totals.items()})

"""Train the dismissive classifier's mpnet top-1 partner on all of its spec's rows (round sixteen's one-off driver: run from
the repository root; it writes out/models and out/<split>-<pool>-mpnet1.npy; the mpnet bottom states are cached in
/tmp/abp/states-mpnet1s16, round fifteen's probe folder)."""

import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, "bench/qa_real")
from callwright.nlp import conduct, conduct_model
from callwright.nlp.embeddings import Encoder
from callwright.nlp.training import BottomStates

THREADS = int(sys.argv[1]) if len(sys.argv) > 1 else 2
torch.set_num_threads(THREADS)
out = Path("out")
enc = Encoder(Path("/tmp/mpnet/model/all-mpnet-base-v2"))
name = "dismissive"
paths = conduct.data_paths(name)
sentences = conduct.load_sentences(paths)
ts = conduct.training_set(name, sentences)
print("rows", int(ts.y.sum()), len(ts.y) - int(ts.y.sum()), flush=True)
states = BottomStates(enc, 11, Path("/tmp/abp/states-mpnet1s16"))
t0 = time.perf_counter()
states.get(ts.texts)
t1 = time.perf_counter()
print("states", round(t1 - t0), flush=True)
model = conduct_model._Trainer(enc, states, 1, conduct_model.EPOCHS).fit(ts.texts, ts.y, name)
t2 = time.perf_counter()
print("fit", round(t2 - t1), flush=True)
model.meta.data_sha256 = conduct.data_hash(paths)
model.meta.training = {
    "rows": {"positive": int(ts.y.sum()), "negative": int(len(ts.y) - ts.y.sum())},
    "seconds": {"bottom_states": round(t1 - t0), "fit": round(t2 - t1)},
    "threads": THREADS,
}
conduct_model.save_model(model, out / "models")
from edits import load_heldout  # noqa: E402

for split in ("heldout12", "heldout13", "heldout14", "heldout15"):
    pools = conduct.as_heard(load_heldout(split))
    for pool in ("dismissive", "polite", "credential_mention", "credential_request"):
        texts = list(pools.get(pool, []))
        p = conduct_model.rate_texts(model, enc, texts)
        np.save(out / f"{split}-{pool}-mpnet1.npy", p)
print("done", flush=True)

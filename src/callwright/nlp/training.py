"""Training the sentiment head on human-rated texts, seeded and reproducible.

The bottom encoder layers stay frozen, so their token states are computed once per
text (and optionally cached on disk); each epoch then only runs and back-propagates
through the few top layers. On 2 CPU cores that is what makes fine-tuning affordable:
the full data set trains in minutes, a small subset in seconds.

The number of epochs is not a free knob tuned on test data: a seeded slice of the
*training* texts is held back as a dev set, and the epoch with the best dev macro-F1 is
kept. Leave-one-domain-out runs therefore never see the held-out domain at all.
"""

from __future__ import annotations

import hashlib
import logging
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from callwright.errors import CallwrightError
from callwright.nlp.embeddings import Encoder, length_sorted_batches
from callwright.nlp.head import HeadMeta, HeadRunner, SentimentHead, encoder_fingerprint, pad_states
from callwright.nlp.metrics import macro_f1
from callwright.nlp.ratings import (
    HELD_OUT_FRACTION,
    LABELS,
    NEUTRAL_BAND,
    SPLIT_SEED,
    RatedText,
    held_out_splits,
    load_rated_texts,
    split_held_out,
)
from callwright.nlp.towers import bottom, layer_list

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainConfig:
    """Training recipe; the defaults are the ones behind models/sentiment/."""

    tuned_layers: int = 4
    max_epochs: int = 2
    batch_size: int = 32
    learning_rate: float = 1e-4
    weight_decay: float = 0.01
    warmup_fraction: float = 0.06
    dev_fraction: float = 0.1
    neutral_band: float = NEUTRAL_BAND
    balance_classes: bool = True
    seed: int = 20240611


@dataclass
class TrainReport:
    """What happened during training; stored in head.json next to the weights."""

    n_train: int
    n_dev: int
    label_counts: dict[str, int]
    dev_macro_f1_by_epoch: list[float] = field(default_factory=list)
    best_epoch: int = 0
    seconds: float = 0.0
    config: dict = field(default_factory=dict)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


class BottomStates:
    """Token states after the frozen bottom layers, per text, optionally cached on disk.

    Cached per text (keyed by its hash), so different subsets and folds of the same data
    reuse each other's work.
    """

    def __init__(self, encoder: Encoder, n_bottom: int, cache_dir: Path | None = None) -> None:
        self.encoder = encoder
        self.n_bottom = n_bottom
        self.view = bottom(encoder.model, n_bottom)
        self.path: Path | None = None
        self.states: dict[str, torch.Tensor] = {}
        if cache_dir is not None:
            tag = encoder_fingerprint(encoder.model, n_bottom)
            self.path = Path(cache_dir) / f"bottom-states-{tag}-{n_bottom}.pt"
            if self.path.is_file():
                self.states = torch.load(self.path, weights_only=True)
                log.info("loaded %d cached token states from %s", len(self.states), self.path)

    @staticmethod
    def key(text: str) -> str:
        return hashlib.sha1(text.encode("utf-8", errors="replace")).hexdigest()

    def get(self, texts: Sequence[str], batch_size: int = 64) -> list[torch.Tensor]:
        missing = sorted({t for t in texts if self.key(t) not in self.states})
        if missing:
            log.info("computing bottom-layer states for %d texts", len(missing))
            counts = self.encoder.token_counts(missing)
            for idx in length_sorted_batches(counts, batch_size):
                batch = self.encoder.tokenize([missing[i] for i in idx])
                with torch.inference_mode():
                    h = self.view(**batch).last_hidden_state
                for row, i in enumerate(idx):
                    n = int(batch["attention_mask"][row].sum())
                    self.states[self.key(missing[i])] = h[row, :n].to(torch.float16).clone()
            if self.path is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                torch.save(self.states, self.path)
        return [self.states[self.key(t)] for t in texts]


def class_weights(labels: Sequence[int], n_classes: int) -> torch.Tensor:
    """Inverse-frequency weights, so a rare class (neutral in movie reviews) is not ignored."""
    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=n_classes).astype(float)
    weights = len(labels) / (n_classes * np.maximum(counts, 1.0))
    return torch.tensor(weights, dtype=torch.float32)


def bucketed_batches(
    lengths: Sequence[int], batch_size: int, generator: torch.Generator, pool: int = 50
) -> list[list[int]]:
    """Random batches of similar-length texts ("sortish" sampling).

    Shuffle, sort within pools of `pool` batches, then shuffle the batches: each epoch
    still sees a random order, but a batch is padded to a length close to its members',
    which halves the cost of an epoch on these mixed-length files.
    """
    order = torch.randperm(len(lengths), generator=generator).tolist()
    batches: list[list[int]] = []
    step = batch_size * pool
    for start in range(0, len(order), step):
        chunk = sorted(order[start : start + step], key=lambda i: lengths[i])
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    shuffled = torch.randperm(len(batches), generator=generator).tolist()
    return [batches[i] for i in shuffled]


def linear_schedule(warmup: int, total: int) -> Callable[[int], float]:
    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / max(1, warmup)
        return max(0.0, (total - step) / max(1, total - warmup))

    return factor


def train_head(
    rows: Sequence[RatedText],
    encoder: Encoder,
    config: TrainConfig = TrainConfig(),
    cache_dir: Path | None = None,
    states: BottomStates | None = None,
) -> tuple[SentimentHead, TrainReport]:
    """Fine-tune the top layers and a classifier on `rows`; returns the best-on-dev head."""
    started = time.perf_counter()
    seed_everything(config.seed)
    base = encoder.model
    n_layers = len(layer_list(base))
    if not 1 <= config.tuned_layers <= n_layers:
        raise CallwrightError(
            f"cannot fine-tune the top {config.tuned_layers} layers: the encoder has {n_layers}",
            hint=f"choose --tuned-layers 1..{n_layers}",
        )
    n_bottom = n_layers - config.tuned_layers
    if states is None:
        states = BottomStates(encoder, n_bottom, cache_dir)

    train_rows, dev_rows = split_held_out(rows, config.dev_fraction, config.seed, config.neutral_band)
    if not train_rows or not dev_rows:
        raise ValueError(f"need more rated texts to train (got {len(rows)})")
    y_train = [LABELS.index(r.label(config.neutral_band)) for r in train_rows]
    x_train = states.get([r.text for r in train_rows])
    x_dev = states.get([r.text for r in dev_rows])
    gold_dev = [r.label(config.neutral_band) for r in dev_rows]

    meta = HeadMeta(
        tuned_layers=config.tuned_layers,
        base_layers=n_layers,
        hidden_size=int(base.config.hidden_size),
        encoder_fingerprint=encoder_fingerprint(base, n_bottom),
        neutral_band=config.neutral_band,
    )
    head = SentimentHead(base, meta)
    runner = HeadRunner(base, head)
    weights = class_weights(y_train, len(LABELS)) if config.balance_classes else None
    loss_fn = torch.nn.CrossEntropyLoss(weight=weights)
    optimiser = torch.optim.AdamW(
        head.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    steps_per_epoch = math.ceil(len(train_rows) / config.batch_size)
    total = steps_per_epoch * config.max_epochs
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimiser, linear_schedule(int(total * config.warmup_fraction), total)
    )
    report = TrainReport(
        n_train=len(train_rows),
        n_dev=len(dev_rows),
        label_counts={lab: y_train.count(i) for i, lab in enumerate(LABELS)},
        config=asdict(config),
    )
    generator = torch.Generator().manual_seed(config.seed)
    y_tensor = torch.tensor(y_train)
    lengths = [s.shape[0] for s in x_train]
    best_state: dict[str, torch.Tensor] | None = None
    best_f1 = -1.0
    for epoch in range(1, config.max_epochs + 1):
        head.train()
        for idx in bucketed_batches(lengths, config.batch_size, generator):
            x, m = pad_states([x_train[i] for i in idx])
            loss = loss_fn(runner.logits(x, m), y_tensor[idx])
            optimiser.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(head.parameters(), 1.0)
            optimiser.step()
            scheduler.step()
        proba = runner.predict_proba(x_dev)
        f1 = macro_f1(gold_dev, [LABELS[i] for i in proba.argmax(axis=1)], LABELS)
        report.dev_macro_f1_by_epoch.append(round(f1, 4))
        log.info("epoch %d: dev macro-F1 %.3f (%.0f s)", epoch, f1, time.perf_counter() - started)
        if f1 > best_f1:
            best_f1, report.best_epoch = f1, epoch
            best_state = {k: v.detach().clone() for k, v in head.state_dict().items()}
    assert best_state is not None
    head.load_state_dict(best_state)
    head.eval()
    report.seconds = round(time.perf_counter() - started, 1)
    head.meta.training = asdict(report)
    return head, report


def train_default_head(
    data_dir: Path | None,
    out_dir: Path | None,
    config: TrainConfig = TrainConfig(),
    limit: int = 0,
    cache_dir: Path | None = None,
) -> tuple[Path, TrainReport]:
    """Train on the train part of every domain's held-out split and save the head.

    The test parts stay unseen, so `callwright sentiment-eval` can score the saved model
    on them.
    """
    from callwright.nlp.embeddings import get_encoder
    from callwright.nlp.head import default_head_dir

    splits = held_out_splits(load_rated_texts(data_dir), limit, config.neutral_band)
    rows = [r for train, _test in splits.values() for r in train]
    head, report = train_head(rows, get_encoder(), config, cache_dir=cache_dir)
    head.meta.training["data"] = {
        "domains": list(splits),
        "limit_per_domain": limit,
        "held_out_fraction": HELD_OUT_FRACTION,
        "split_seed": SPLIT_SEED,
    }
    out = head.save(out_dir if out_dir is not None else default_head_dir())
    log.info("wrote sentiment head to %s", out)
    return out, report

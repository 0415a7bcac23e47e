"""Measuring sentiment models against human ratings, side by side with VADER.

Two protocols, both scored on exactly the same texts for every system:
- held-out: a seeded, label-stratified 20 % of each file, never trained on;
- leave-one-domain-out: a fresh head trained on two files, tested on all of the third.
Each reports 3-class accuracy and macro-F1, and positive-against-negative accuracy and
macro-F1 on the texts whose rating is outside the neutral band (a system says
"positive" when its score is > 0).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from callwright.errors import CallwrightError
from callwright.nlp.metrics import Scores, score
from callwright.nlp.ratings import (
    LABELS,
    NEUTRAL_BAND,
    RatedText,
    held_out_splits,
    limited,
    load_rated_texts,
)

if TYPE_CHECKING:  # pragma: no cover
    from callwright.nlp.sentiment import SentimentModel
    from callwright.nlp.training import TrainConfig

log = logging.getLogger(__name__)

POLAR = ("negative", "positive")
VADER_NEUTRAL = 0.05  # VADER's documented compound threshold for neutral


@dataclass(frozen=True)
class Predictions:
    """A system's answer per text: a 3-way label and a signed score."""

    labels: list[str]
    scores: np.ndarray


@dataclass(frozen=True)
class EvalRow:
    """One system on one test set."""

    protocol: str
    domain: str
    system: str
    three_class: Scores
    pos_neg: Scores


def score_predictions(
    rows: Sequence[RatedText], pred: Predictions, band: float = NEUTRAL_BAND
) -> tuple[Scores, Scores]:
    gold = [r.label(band) for r in rows]
    three = score(gold, pred.labels, LABELS)
    polar = [i for i, g in enumerate(gold) if g != "neutral"]
    pos_neg = score(
        [gold[i] for i in polar],
        ["positive" if pred.scores[i] > 0 else "negative" for i in polar],
        POLAR,
    )
    return three, pos_neg


def vader_predictions(texts: Sequence[str]) -> Predictions:
    """VADER's compound score and its standard +/-0.05 neutral rule."""
    try:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
    except ImportError as err:
        raise CallwrightError(
            "the VADER baseline needs the vaderSentiment package",
            hint="pip install vaderSentiment==3.3.2 (a dev dependency)",
        ) from err
    analyser = SentimentIntensityAnalyzer()
    compound = np.array([analyser.polarity_scores(t)["compound"] for t in texts])
    labels = [
        "positive" if c >= VADER_NEUTRAL else "negative" if c <= -VADER_NEUTRAL else "neutral"
        for c in compound
    ]
    return Predictions(labels, compound)


def compare(
    protocol: str,
    domain: str,
    rows: Sequence[RatedText],
    systems: dict[str, Callable[[list[str]], Predictions]],
    band: float = NEUTRAL_BAND,
) -> list[EvalRow]:
    texts = [r.text for r in rows]
    out = []
    for name, predict in systems.items():
        three, pos_neg = score_predictions(rows, predict(texts), band)
        out.append(EvalRow(protocol, domain, name, three, pos_neg))
        log.info(
            "%s %s %s: 3-class F1 %.3f, pos/neg acc %.3f",
            protocol,
            domain,
            name,
            three.macro_f1,
            pos_neg.accuracy,
        )
    return out


def markdown_table(rows: Sequence[EvalRow]) -> str:
    head = (
        "| protocol | test domain | system | n | 3-class acc | 3-class macro-F1 "
        "| n (pos/neg) | pos/neg acc | pos/neg macro-F1 |\n"
        "|---|---|---|---:|---:|---:|---:|---:|---:|\n"
    )
    body = "".join(
        f"| {r.protocol} | {r.domain} | {r.system} | {r.three_class.n} "
        f"| {r.three_class.accuracy:.3f} | {r.three_class.macro_f1:.3f} | {r.pos_neg.n} "
        f"| {r.pos_neg.accuracy:.3f} | {r.pos_neg.macro_f1:.3f} |\n"
        for r in rows
    )
    return head + body


def means(rows: Sequence[EvalRow], protocol: str) -> dict[str, tuple[float, float, float, float]]:
    """Per system: mean of (3-class acc, 3-class F1, pos/neg acc, pos/neg F1) over domains."""
    out = {}
    for system in dict.fromkeys(r.system for r in rows if r.protocol == protocol):
        sel = [r for r in rows if r.protocol == protocol and r.system == system]
        acc3, f1_3, acc2, f1_2 = (
            float(np.mean(v))
            for v in zip(
                *[
                    (
                        r.three_class.accuracy,
                        r.three_class.macro_f1,
                        r.pos_neg.accuracy,
                        r.pos_neg.macro_f1,
                    )
                    for r in sel
                ],
                strict=True,
            )
        )
        out[system] = (acc3, f1_3, acc2, f1_2)
    return out


def model_predictions(model: SentimentModel) -> Callable[[list[str]], Predictions]:
    def predict(texts: list[str]) -> Predictions:
        results = model.predict(texts)
        return Predictions([r.label for r in results], np.array([r.score for r in results]))

    return predict


def run_evaluation(
    data_dir: Path | None,
    model: str | None = None,
    lodo: bool = True,
    limit: int = 0,
    cache_dir: Path | None = None,
    config: TrainConfig | None = None,
) -> list[EvalRow]:
    """The held-out table for `model` and, optionally, leave-one-domain-out retraining."""
    from callwright.nlp.embeddings import get_encoder
    from callwright.nlp.sentiment import HeadSentimentModel, get_sentiment_model
    from callwright.nlp.towers import layer_list
    from callwright.nlp.training import BottomStates, TrainConfig, train_head

    config = config or TrainConfig()
    data = load_rated_texts(data_dir)
    splits = held_out_splits(data, limit, config.neutral_band)
    rows: list[EvalRow] = []
    if lodo:
        encoder = get_encoder()
        states = BottomStates(encoder, len(layer_list(encoder.model)) - config.tuned_layers, cache_dir)
        data = limited(data, limit)
        for domain, test in data.items():
            train = [r for d, rs in data.items() if d != domain for r in rs]
            head, _ = train_head(train, encoder, config, states=states)
            fresh = HeadSentimentModel(head, encoder, name=f"trained without {domain}")
            systems = {"callwright": model_predictions(fresh), "vader": vader_predictions}
            rows += compare("leave-one-domain-out", domain, test, systems, config.neutral_band)
    # held-out last: a head being trained alongside a long LODO run is ready by then
    systems = {
        "callwright": model_predictions(get_sentiment_model(model)),
        "vader": vader_predictions,
    }
    for domain, (_train, test) in splits.items():
        rows += compare("held-out", domain, test, systems, config.neutral_band)
    return sorted(rows, key=lambda r: r.protocol != "held-out")

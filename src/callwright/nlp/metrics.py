"""Classification scores for the sentiment evaluation, as plain functions over label lists.

Kept free of scikit-learn so the evaluation runs with the project's declared
dependencies, and so the exact definitions (macro-F1 over a fixed label set, a class
absent from both gold and prediction contributing F1 = 0 rather than vanishing) are
written down where the figures in docs/sentiment.md come from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Scores:
    """Accuracy and macro-F1 of one system on one set of texts."""

    n: int
    accuracy: float
    macro_f1: float


def accuracy(gold: Sequence[str], pred: Sequence[str]) -> float:
    _check(gold, pred)
    if not gold:
        return float("nan")
    return sum(g == p for g, p in zip(gold, pred, strict=True)) / len(gold)


def f1_per_label(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> list[float]:
    _check(gold, pred)
    out = []
    for label in labels:
        tp = sum(g == label and p == label for g, p in zip(gold, pred, strict=True))
        fp = sum(g != label and p == label for g, p in zip(gold, pred, strict=True))
        fn = sum(g == label and p != label for g, p in zip(gold, pred, strict=True))
        out.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return out


def macro_f1(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> float:
    """Unweighted mean of per-label F1 over `labels` (every label counts, even rare ones)."""
    f1 = f1_per_label(gold, pred, labels)
    return sum(f1) / len(f1)


def score(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> Scores:
    return Scores(len(gold), accuracy(gold, pred), macro_f1(gold, pred, labels))


def _check(gold: Sequence[str], pred: Sequence[str]) -> None:
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold labels but {len(pred)} predictions")

"""Calibration per scorecard version and item: how often the machine agrees with the reviewers,
and reviewers with each other, as agreement and Cohen's kappa.

Automatic against human compares each reviewed item's automatic verdict with its verdict of
record (the latest review). Reviewer against reviewer compares, on the same call and item, every
pair of reviewers' latest verdicts. Manual items are kept apart: the machine never answers them
(their automatic verdict is "review"), so only reviewer against reviewer means anything there.
Kappa is None where chance agreement is total (every verdict the same kind): it is undefined.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any


def cohen_kappa(pairs: Sequence[tuple[str, str]]) -> float | None:
    """Cohen's kappa of two raters' labels, pair by pair (None: no pairs, or chance agreement is 1)."""
    n = len(pairs)
    if n == 0:
        return None
    observed = sum(a == b for a, b in pairs) / n
    first, second = Counter(a for a, _ in pairs), Counter(b for _, b in pairs)
    expected = sum(first[k] * second[k] for k in first.keys() | second.keys()) / (n * n)
    if expected >= 1.0:
        return None
    return round((observed - expected) / (1.0 - expected), 3)


@dataclass(frozen=True)
class Agreement:
    n: int
    agreed: int
    kappa: float | None

    @property
    def rate(self) -> float | None:
        return None if self.n == 0 else self.agreed / self.n


def agreement(pairs: Sequence[tuple[str, str]]) -> Agreement:
    return Agreement(len(pairs), sum(a == b for a, b in pairs), cohen_kappa(pairs))


@dataclass(frozen=True)
class ItemCalibration:
    scorecard_version: str
    item_id: str
    manual: bool
    auto_vs_human: Agreement  # empty for manual items
    reviewer_vs_reviewer: Agreement


def calibrate(rows: Iterable[dict[str, Any]]) -> list[ItemCalibration]:
    """From `store.reviews.calibration_verdicts` rows: one result per (version, item), automatic
    items first."""
    by_item: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_item[(r["scorecard_version"], r["item_id"])].append(r)
    out = []
    for (version, item), rs in by_item.items():
        manual = any(r["kind"] == "manual" for r in rs)
        auto = [] if manual else [(r["automatic"], r["human"]) for r in rs if r["of_record"]]
        per_call: dict[str, list[str]] = defaultdict(list)
        for r in rs:
            per_call[r["call_id"]].append(r["human"])
        peers = [(a, b) for verdicts in per_call.values() for a, b in combinations(verdicts, 2)]
        out.append(ItemCalibration(version, item, manual, agreement(auto), agreement(peers)))
    return sorted(out, key=lambda c: (c.manual, c.scorecard_version, c.item_id))


def compare_session(rows: Iterable[dict[str, Any]]) -> list[ItemCalibration]:
    """A blind calibration session's answers compared per item (`store.calibration_sessions.
    comparison_rows`): every pair of reviewers on the same call, and every reviewer's answer against
    the machine's verdict (automatic items only: a manual item's automatic verdict is "review").
    Unlike `calibrate`, every reviewer counts against the machine, not only the verdict of record."""
    by_item: dict[str, list[dict[str, Any]]] = defaultdict(list)
    version = ""
    for r in rows:
        by_item[r["item_id"]].append(r)
        version = r.get("scorecard_version", version)
    out = []
    for item, rs in by_item.items():
        manual = any(r["kind"] == "manual" for r in rs)
        auto = [] if manual else [(r["automatic"], r["human"]) for r in rs]
        per_call: dict[str, list[str]] = defaultdict(list)
        for r in sorted(rs, key=lambda r: (r["call_id"], r["reviewer"])):
            per_call[r["call_id"]].append(r["human"])
        peers = [(a, b) for verdicts in per_call.values() for a, b in combinations(verdicts, 2)]
        out.append(ItemCalibration(version, item, manual, agreement(auto), agreement(peers)))
    return sorted(out, key=lambda c: (c.manual, c.item_id))

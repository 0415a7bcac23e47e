"""A loaded scorecard: sections of items, each item with the rule of its kind.

The loader has already resolved defaults, order references and expressions, so
scoring never looks at YAML again and every rule is complete on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from callwright.common.expr import Expression
from callwright.common.source import PathKey

Speaker = Literal["agent", "customer", "any"]
Kind = Literal["phrase", "forbidden", "order", "metric", "sentiment", "manual"]

DEFAULT_THRESHOLD = 0.6  # 79% of paraphrases, 2% of other sentences (bench/scorecard_threshold.py)
DEFAULT_CLASSIFIER_THRESHOLD = 0.5  # probability at which a conduct classifier flags a stretch
MAX_CUE_WORDS = 4  # a cue is a word or a short phrase; longer wording is an example (phrases:)
DEFAULT_SENTIMENT_MIN = -0.25  # mean of p(positive) - p(negative); below this the end is negative
DEFAULT_SENTIMENT_CHANGE = 0.2  # first-to-last-quarter change that counts as a trend


@dataclass(frozen=True)
class PhraseRule:
    """Something a speaker should say (kind phrase) or must not say (kind forbidden), by meaning."""

    phrases: tuple[str, ...]
    speaker: Speaker
    threshold: float
    within_first_s: float | None = None
    within_last_s: float | None = None
    # counter-examples: a stretch closer to one of these than to every example does not count
    not_phrases: tuple[str, ...] = ()
    # phrase items: cue words or short phrases that count when said verbatim in the window (not
    # negated, not inside a counter-example), besides the examples (callwright.qa.scorecard.matching)
    cues: tuple[str, ...] = ()
    # words said over a cue that make it something else ("someone else" for the cue "else")
    not_cues: tuple[str, ...] = ()
    # forbidden items: a trained classifier over the same stretches (callwright.nlp.conduct), which
    # also fails the item where its probability reaches classifier_threshold
    classifier: str | None = None
    classifier_threshold: float = DEFAULT_CLASSIFIER_THRESHOLD


@dataclass(frozen=True)
class OrderRule:
    """`first` must be said before `then`; each is a phrase item's rule or an inline one."""

    first: PhraseRule
    then: PhraseRule
    first_ref: str | None = None  # the phrase item id, when referenced
    then_ref: str | None = None


@dataclass(frozen=True)
class MetricRule:
    metric: str
    min: float | None = None
    max: float | None = None


@dataclass(frozen=True)
class SentimentRule:
    check: Literal["end", "trajectory"]
    speaker: Literal["agent", "customer"]
    min: float  # check end
    last_n: int | None = None  # check end: None = last quarter of the call
    expect: Literal["improving", "not_worsening"] = "not_worsening"
    min_change: float = DEFAULT_SENTIMENT_CHANGE


@dataclass(frozen=True)
class ManualRule:
    question: str


Rule = PhraseRule | OrderRule | MetricRule | SentimentRule | ManualRule


@dataclass(frozen=True)
class Item:
    id: str
    section: str
    kind: Kind
    rule: Rule
    name: str = ""
    points: float = 1.0
    auto_fail: bool = False
    applies_if: Expression | None = None
    path: PathKey = ()

    @property
    def automatic(self) -> bool:
        """Scored by the machine (manual items wait for a reviewer)."""
        return self.kind != "manual"


@dataclass(frozen=True)
class Section:
    id: str
    name: str
    weight: float | None  # None: every section unweighted, items count by points alone
    items: tuple[Item, ...]


@dataclass(frozen=True)
class Scorecard:
    id: str
    name: str
    path: str
    version: str  # content hash: scores are keyed by it, so editing the rules rescores
    revision: str | None  # the designer's `version:` label
    applies_to: Literal["inbound", "outbound", "any"]
    sections: tuple[Section, ...]
    description: str = ""
    # constants for phrase placeholders (`{company}`); call metadata fills the others (`{agent}`)
    values: tuple[tuple[str, str], ...] = ()
    # which calls this scorecard is chosen for when a batch has several (None: by applies_to alone)
    assign_if: Expression | None = None
    # the calls' own metadata fields `assign_if` may read (name, what it holds): `ingest.ATTRIBUTES`
    attributes: tuple[tuple[str, str], ...] = ()

    @property
    def items(self) -> tuple[Item, ...]:
        return tuple(it for s in self.sections for it in s.items)

    def item(self, item_id: str) -> Item:
        for it in self.items:
            if it.id == item_id:
                return it
        raise KeyError(item_id)

    @property
    def weighted(self) -> bool:
        return any(s.weight is not None for s in self.sections)

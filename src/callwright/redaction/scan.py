"""The shared view of one text that every detector reads, and what detectors return.

Detectors run in a fixed order (IBANs, dates of birth, cued bank numbers and PINs,
cards, SSNs, phones, card details, addresses, e-mails, names; see text.py) and
each one skips tokens an earlier one claimed, so a card number is never also
reported as a phone number.
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from callwright.redaction.numbers import BACKCHANNEL_WORDS, NumberItem, Run, find_items, find_runs, item_at
from callwright.redaction.tokens import Token, find_phrases, phrase_words, tokenize


class Kind(StrEnum):
    """What was redacted; the value is the stable name used in options and storage."""

    CARD = "card"
    CVV = "cvv"
    EXPIRY = "expiry"
    SSN = "ssn"
    PHONE = "phone"
    EMAIL = "email"
    ACCOUNT = "account"
    ROUTING = "routing"
    IBAN = "iban"
    DOB = "dob"
    PIN = "pin"
    ADDRESS = "address"
    NAME = "name"

    @property
    def replacement(self) -> str:
        """The token that stands in the text where the value was: "[CARD]"."""
        return f"[{self.name}]"


@dataclass(frozen=True)
class Candidate:
    """A detected value covering tokens first..last (inclusive)."""

    kind: Kind
    first: int
    last: int
    digits: str = ""


@dataclass(frozen=True)
class Scan:
    """A text cut into tokens, number items and runs of numbers."""

    text: str
    tokens: list[Token]
    runs: list[Run]
    wide_runs: list[Run]
    """Runs also joined across back-channel words ("okay", "yes"), for card numbers
    read out in chunks while the agent acknowledges each one."""
    items: list[NumberItem] = field(default_factory=list)
    """Every number `find_items` read (amounts, counts and times left out)."""
    _hits: dict[frozenset[tuple[str, ...]], list[tuple[int, int]]] = field(
        default_factory=dict, repr=False, compare=False
    )

    @classmethod
    def of(cls, text: str) -> Scan:
        tokens = tokenize(text)
        items = find_items(tokens)
        return cls(
            text,
            tokens,
            find_runs(tokens, items),
            find_runs(tokens, items, extra_joiners=BACKCHANNEL_WORDS),
            items,
        )

    @functools.cached_property
    def _phrase_words(self) -> list[tuple[int, str]]:
        return phrase_words(self.tokens)

    @functools.cached_property
    def _item_by_first(self) -> dict[int, NumberItem]:
        return {it.first: it for it in self.items}

    def number_at(self, i: int) -> NumberItem | None:
        """The number starting at token i as `numbers.item_at` reads it (without the amount and
        count rules), taken from the items already read where there is one."""
        found = self._item_by_first.get(i)
        return found if found is not None else item_at(self.tokens, i)

    def phrase_hits(self, phrases: frozenset[tuple[str, ...]]) -> list[tuple[int, int]]:
        """(first, last) token index of every occurrence of any phrase (`tokens.find_phrases`);
        one search per phrase set and text, however many detectors ask."""
        hits = self._hits.get(phrases)
        if hits is None:
            hits = self._hits[phrases] = find_phrases(self.tokens, phrases, self._phrase_words)
        return hits

    def phrase_ends(self, phrases: frozenset[tuple[str, ...]]) -> list[int]:
        """Token index of the last word of every occurrence of any phrase, in ascending order."""
        return sorted(last for _, last in self.phrase_hits(phrases))

    def word(self, i: int) -> str:
        """The normalised token at i, or "" outside the text."""
        return self.tokens[i].norm if 0 <= i < len(self.tokens) else ""


def phrases(*texts: str) -> frozenset[tuple[str, ...]]:
    """Cue phrases from plain strings: phrases("security code", "cvv")."""
    return frozenset(tuple(t.split()) for t in texts)


def free(claimed: set[int], first: int, last: int) -> bool:
    """Whether no earlier detector took any token in first..last."""
    return not any(k in claimed for k in range(first, last + 1))


def claim(claimed: set[int], found: Iterable[Candidate]) -> None:
    for c in found:
        claimed.update(range(c.first, c.last + 1))


def cue_before(ends: Sequence[int], first: int, within: int) -> int | None:
    """The nearest cue ending at most `within` tokens before token `first`, if any.

    `ends` must be in ascending order (`phrase_ends` gives them so): the search is a
    bisection, so a very long utterance with thousands of cues stays linear overall.
    """
    k = bisect.bisect_left(ends, first) - 1
    return ends[k] if k >= 0 and ends[k] >= first - within else None


# "the phone on the account is ...": an account named only as where something else belongs.
PREPOSITIONS = {"on", "for", "from", "under", "with", "about", "in", "into", "onto"}
DETERMINERS = {"the", "my", "your", "this", "that", "our", "his", "her", "their", "an", "a"}


def is_aside(scan: Scan, first: int) -> bool:
    """Whether the phrase starting at token `first` follows "on the" / "for my": it names where
    something belongs ("the phone number on the account"), not what is about to be said."""
    k = first - 1
    if scan.word(k) in DETERMINERS:
        k -= 1
    return k < first - 1 and scan.word(k) in PREPOSITIONS

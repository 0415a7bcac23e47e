"""Misspelt words put right towards a menu's own words, before the sentence encoder.

Chat-like text and some recognisers give "my wiif isnt wrking" or "paymnet": the encoder
splits an unknown word into word pieces whose meaning is lost, and the caller is asked
again. A word is put right only when all of these hold, so that a misspelling is never
turned into another choice's word:

- it is not a word of the menu (its examples and keywords) and not a word the encoder knows
  whole (the tokenizer's vocabulary: about 20 000 English words), i.e. it is no real word;
- it has at least `MIN_LETTERS` letters (shorter words are too close to too many others),
  and its first letter is right (typists seldom miss the first one);
- exactly one of the menu's words is nearest to it, within `max_distance` edits (optimal
  string alignment: a swap of two neighbouring letters is one edit): one for words of up
  to 7 letters, two from 8; a 4-letter word only by a swap ("wiif" -> "wifi").
  Two menu words equally near ("chage": charge or change) leave the word as it was.

Pure functions over text; `Speller` holds the menu's words and the known ones.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable

from rapidfuzz.distance import OSA

MIN_LETTERS = 5
"""Words shorter than this are not put right (except a 4-letter one by a swap of letters)."""

LONG_WORD = 8
"""Words of at least this many letters may be two edits away; shorter ones one."""

_WORD = re.compile(r"[^\W\d_]+(?:['\u2019][^\W\d_]+)*")


def words(text: str) -> list[str]:
    """Lower-case words of a text, apostrophes dropped ("I'd" -> "id"), as the menu's are read."""
    return [w.replace("'", "").replace("\u2019", "") for w in _WORD.findall(text.lower())]


def max_distance(word: str) -> int:
    """How many edits a misspelling of `word`'s length may be from the right word."""
    if len(word) >= LONG_WORD:
        return 2
    return 1 if len(word) >= MIN_LETTERS - 1 else 0


class Speller:
    """Puts misspelt words of an utterance right, towards the words of one menu."""

    def __init__(self, targets: Iterable[str], known: Collection[str]) -> None:
        self.targets = sorted({w for w in targets if len(w) >= MIN_LETTERS - 1})
        self.known = known
        self._targets = set(self.targets)

    def fix(self, word: str) -> str | None:
        """The one menu word this misspelling stands for, or None (real word, or unsure)."""
        limit = max_distance(word)
        if limit == 0 or word in self._targets or word in self.known:
            return None
        best: list[tuple[int, str]] = []
        for target in self.targets:
            if target[0] != word[0] or abs(len(target) - len(word)) > limit:
                continue
            d = OSA.distance(word, target, score_cutoff=limit)
            if d <= limit:
                best.append((d, target))
        if not best:
            return None
        nearest = min(d for d, _ in best)
        found = [t for d, t in best if d == nearest]
        if len(found) != 1:
            return None  # two menu words equally near: leave it, never guess
        if len(word) < MIN_LETTERS and sorted(word) != sorted(found[0]):
            return None  # a short word only by a swap of letters
        return found[0]

    def correct(self, text: str) -> str:
        """The text with each misspelt word replaced by the menu word it stands for."""

        def one(m: re.Match[str]) -> str:
            word = m.group(0).lower().replace("'", "").replace("\u2019", "")
            return self.fix(word) or m.group(0)

        return _WORD.sub(one, text)

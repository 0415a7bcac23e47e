"""Tokens with their character offsets in the original text.

Redaction must cut spans out of the text exactly as it was written (or as the
recogniser produced it), so every later step works on tokens that remember
where they came from instead of on a normalised copy of the string.

Before tokenising, each character is folded on its own to what it means for
matching (`fold`): any Unicode decimal digit ("４", "٤", "४") to its ASCII
digit, a compatibility form (full-width "ｃｖｖ", "－", no-break space) to its
NFKC character, and invisible format characters (zero-width space, bidi
controls, soft hyphen) to a space. Folding one character into one character
keeps every offset valid, so spans still cut the original text; a card number
typed in Arabic-Indic digits or with a zero-width space in it is read like
any other.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

TokenKind = Literal["num", "word", "sym"]

# A letter, or a combining mark after one ("e" + U+0301 is "é" typed in two characters): the mark
# belongs to its word, so a name redacted whole leaves no stray accent beside "[NAME]".
LETTERS = r"[^\W\d_](?:[^\W\d_]|[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f])*"
# Numerals, words (letters with inner apostrophes) and any other single non-space character.
_TOKEN = re.compile(rf"(?P<num>\d+)|(?P<word>{LETTERS}(?:['\u2019]{LETTERS})*)|(?P<sym>\S)")


@dataclass(frozen=True)
class Token:
    """One token: `norm` is the lower-cased text used for matching."""

    text: str
    norm: str
    kind: TokenKind
    start: int
    end: int
    spaced: bool
    """Whether whitespace separates this token from the previous one."""


@functools.lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    """One character as matching sees it; always exactly one character (offsets stay valid)."""
    digit = unicodedata.decimal(ch, None)
    if digit is not None:
        return str(digit)
    if unicodedata.category(ch) == "Cf":
        return " "  # zero-width space, bidi marks, soft hyphen: invisible, so a gap at most
    folded = unicodedata.normalize("NFKC", ch)
    return folded if len(folded) == 1 else ch


def fold(text: str) -> str:
    """The text with every character folded for matching (same length, same offsets)."""
    if text.isascii():
        return text
    return "".join(_fold_char(ch) for ch in text)


def plain(word: str) -> str:
    """A word without accents, lower case ("José" -> "jose"): how names are compared.

    Callers, recognisers and metadata disagree about accents ("jose garcia" said,
    "José García" on file), so names match on letters alone. Only comparisons use
    this; spans still cut the original text.
    """
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def tokenize(text: str) -> list[Token]:
    """Split text into numerals, words and symbols, keeping offsets in the original text."""
    tokens: list[Token] = []
    prev_end = 0
    folded = fold(text)
    for m in _TOKEN.finditer(folded):
        kind: TokenKind = m.lastgroup  # type: ignore[assignment]
        raw = text[m.start() : m.end()]
        norm = m.group().lower().replace("\u2019", "'")
        tokens.append(Token(raw, norm, kind, m.start(), m.end(), m.start() > prev_end))
        prev_end = m.end()
    return tokens


def phrase_words(tokens: list[Token]) -> list[tuple[int, str]]:
    """(index, word) of the tokens phrases are matched on: no symbols, possessives dropped."""
    return [(i, t.norm.removesuffix("'s")) for i, t in enumerate(tokens) if t.kind != "sym"]


def find_phrases(
    tokens: list[Token],
    phrases: frozenset[tuple[str, ...]],
    words: list[tuple[int, str]] | None = None,
) -> list[tuple[int, int]]:
    """(first, last) token indices of every occurrence of any phrase, longest first per start.

    Phrases are tuples of normalised words, so "c v v" and "cvv" can both be
    listed; symbols between words (a hyphen in "e-mail") are skipped over and a
    possessive is dropped ("email's" matches "email").
    """
    if words is None:  # `phrase_words(tokens)`, given when one text is searched for many phrase sets
        words = phrase_words(tokens)
    by_first = _by_first_word(phrases)
    hits: list[tuple[int, int]] = []
    for k, (i, w) in enumerate(words):
        for n in by_first.get(w, ()):
            if k + n <= len(words) and tuple(x for _, x in words[k : k + n]) in phrases:
                hits.append((i, words[k + n - 1][0]))
                break
    return hits


@functools.cache
def _by_first_word(phrases: frozenset[tuple[str, ...]]) -> dict[str, list[int]]:
    """Phrase lengths by first word, longest first, so most words are skipped at once."""
    index: dict[str, set[int]] = {}
    for p in phrases:
        index.setdefault(p[0], set()).add(len(p))
    return {w: sorted(ns, reverse=True) for w, ns in index.items()}

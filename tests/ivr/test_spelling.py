"""Misspelt words put right towards a menu's words before the encoder (issue 16 item 2).

Why: typed or misrecognised words ("wrking", "servise", "paymnet") are split by the encoder
into meaningless pieces and the caller was asked again. Putting them right must never
turn a word into another choice's word: a real word stays as it is, and a misspelling two
menu words are equally near is left alone.
"""

from __future__ import annotations

import pytest

from callwright.ivr.spelling import Speller, max_distance, words

MENU_WORDS = ["payment", "service", "working", "wifi", "charge", "change", "modem", "internet", "billing"]
KNOWN = frozenset({"model", "serve", "charged", "the", "my", "isnt", "want", "sign", "for", "your"})


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("paymnet", "payment"),  # a swap of two letters is one edit
        ("servise", "service"),
        ("wrking", "working"),
        ("wiif", "wifi"),  # a 4-letter word by a swap only
        ("internnett", "internet"),  # 8+ letters: two edits
        ("chage", None),  # charge or change: equally near, never guessed
        ("model", None),  # a real word is never put right (not "modem")
        ("servce", "service"),
        ("xervice", None),  # the first letter must be right
        ("bil", None),  # too short
        ("wiff", None),  # a 4-letter word one edit away but not by a swap
        ("billingz", "billing"),
        ("payment", None),  # already a menu word
    ],
)
def test_fix(word: str, expected: str | None) -> None:
    assert Speller(MENU_WORDS, KNOWN).fix(word) == expected


def test_correct_keeps_the_rest_of_the_text() -> None:
    speller = Speller(MENU_WORDS, KNOWN)
    assert speller.correct("My wiif isnt wrking!") == "My wifi isnt working!"
    assert speller.correct("I want to sign up for your servise") == "I want to sign up for your service"
    assert speller.correct("chage my model") == "chage my model"


def test_words_read_like_the_menus() -> None:
    assert words("I'd like the 2 Wi-Fi plans") == ["id", "like", "the", "wi", "fi", "plans"]
    assert [max_distance(w) for w in ("bil", "wifi", "modem", "payment", "internet")] == [0, 1, 1, 1, 2]

"""Ordinary numbers and words in call-centre speech that must come through untouched."""

from __future__ import annotations

import pytest

from callwright.redaction import redact_text

UNTOUCHED = [
    # amounts
    "your balance is $1,234.56 and the minimum payment is $35",
    "the refund of one hundred twenty three dollars will post in three to five business days",
    "that comes to forty nine ninety nine a month",
    "I was charged 2,499.00 twice",
    "the fee is twelve pounds fifty",
    "we can offer you fifteen percent off",
    # dates and times
    "it will be delivered on march fifteenth between two and four pm",
    "the appointment is on 2024-03-15 at 10:30",
    "it was about ten thirty in the morning on the twenty third",
    "I called on 03/15/2024",
    "your contract started in two thousand nineteen",
    "we're open nine to five monday to friday",
    "it happened on september twenty seven",
    # order, reference and account-like numbers that fail Luhn or have no phone/SSN shape
    "your order number is 1234 5678 9012 3456",
    "order number four one one one one one one one one one one one one one one two",
    "the order number is 4111 1111 1111 1112",
    "your reference number is five five five one two three four five six seven",
    "confirmation code 8832 1190 4471",
    "the tracking number is 1Z999AA10123456784",
    "case number 00452318",
    "your claim number is 7 7 4 1 2 3 9",
    # quantities, counts, streets without a house number, and codes
    "I've been a customer for twelve years",
    "we have 3 accounts and 2 cards with you",
    "the last four digits please",
    # (a street address and a ZIP code after its cue are redacted since addresses are in scope:
    # tests/qa_redaction/test_redaction_bank.py)
    "the branch on main street opens at nine",
    "press one for billing or two for support",
    "it's on page 123 of the manual",
    "flight ba 2490 lands at 14:05",
    "that's item number 12 in the list of 40",
    # words that look like parts of e-mails or numbers
    "I bought it at amazon dot com for twenty dollars",
    "I'm looking at the website dot com page now",
    "oh okay I see, for sure, that's too bad",
    "we'll meet at noon",
    "one moment please while I look that up",
    "to be honest I ate before I called",
    # shapes met in real review and social-media text (VADER corpus) during development
    "I registered this unit at www.example-digital.com and listed the problem",
    "it says at one point in this movie that we don't care",
    "ha ha not at all. In fact I was calm when it happened",
    "all smiles and crossing fingers <3333333333",
    "3 car collision on the Veterans Exp at Kennedy and 275 ramp",
    "you can always reach us by e mail",  # a cue phrase cut off by the end of the text
]


@pytest.mark.parametrize("text", UNTOUCHED)
def test_ordinary_numbers_are_not_redacted(text: str) -> None:
    red = redact_text(text)
    assert red.text == text
    assert red.spans == []

"""PII and PCI redaction for call transcripts and recordings: cards, CVV, expiry, SSN, phone,
e-mail, bank account and routing numbers, IBAN, dates of birth, PINs, postal addresses and the
customer's name (given from the call's metadata as `names=`).

Everything here is a pure function of its input and runs before anything is
stored: `redact_text` for a transcript line, `redact_words` for recogniser
words with timestamps (returning the time ranges to silence),
`redact_conversation` for the channels of one call together (a cue on the
agent's channel, digits on the customer's), and `mute_ranges` and `mute_dtmf`
(keypad tones) for the redacted audio copy. What is and is not caught is in docs/redaction.md.
"""

from callwright.redaction.audio import ToneSpan, mute_dtmf, mute_ranges
from callwright.redaction.bank import aba_ok
from callwright.redaction.iban import iban_ok
from callwright.redaction.names import names_from_metadata
from callwright.redaction.ner import PersonFinder, spacy_person_finder
from callwright.redaction.payment import luhn_ok, with_luhn_digit
from callwright.redaction.scan import Kind
from callwright.redaction.ssn import ssn_ok
from callwright.redaction.text import ALL, RedactedSpan, Redaction, parse_kinds, redact_text
from callwright.redaction.words import (
    RedactedWord,
    TimeRange,
    WordLike,
    card_detail_windows,
    redact_conversation,
    redact_words,
)

__all__ = [
    "ALL",
    "aba_ok",
    "iban_ok",
    "names_from_metadata",
    "PersonFinder",
    "spacy_person_finder",
    "Kind",
    "RedactedSpan",
    "RedactedWord",
    "Redaction",
    "TimeRange",
    "ToneSpan",
    "WordLike",
    "card_detail_windows",
    "luhn_ok",
    "mute_dtmf",
    "mute_ranges",
    "parse_kinds",
    "redact_conversation",
    "redact_text",
    "redact_words",
    "ssn_ok",
    "with_luhn_digit",
]

"""Redaction of one text: find every sensitive value and replace it by a token.

Detectors run in order of how sure they are (a Luhn-valid card first, pieces
of that card said again before a 3-4 digit number is guessed to be its CVV, an
e-mail last) and each skips what an earlier one took. All detectors always run,
whatever `kinds` asks for, so that asking only for phones never mistakes a card
number for one; `kinds` only chooses which spans are replaced.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from callwright.errors import CallwrightError
from callwright.redaction.address import find_addresses
from callwright.redaction.bank import find_bank_numbers, find_bare_numbers
from callwright.redaction.cues import all_cues
from callwright.redaction.dates import find_dates_of_birth
from callwright.redaction.email import find_emails
from callwright.redaction.iban import find_ibans
from callwright.redaction.names import find_names
from callwright.redaction.ner import PersonFinder, find_model_names
from callwright.redaction.payment import (
    find_card_details,
    find_card_repeats,
    find_cards,
    find_cued_cards,
    find_cued_partial_cards,
)
from callwright.redaction.phone import find_phones
from callwright.redaction.pin import find_pins
from callwright.redaction.scan import Candidate, Kind, Scan
from callwright.redaction.ssn import find_ssns

ALL: frozenset[Kind] = frozenset(Kind)


@dataclass(frozen=True)
class RedactedSpan:
    """Where a value was in the original text ([start, end) characters) and what replaced it."""

    kind: Kind
    start: int
    end: int
    replacement: str


@dataclass(frozen=True)
class Redaction:
    """The redacted text and the spans (in the original text's offsets) that were replaced."""

    text: str
    spans: list[RedactedSpan]

    @property
    def changed(self) -> bool:
        return bool(self.spans)


def parse_kinds(kinds: Iterable[str | Kind]) -> frozenset[Kind]:
    """Kinds from user input ("card", "ssn", ...), with a clear error for an unknown one."""
    if isinstance(kinds, str):
        kinds = [kinds]
    out = set()
    for k in kinds:
        try:
            out.add(Kind(str(k).strip().lower()))
        except ValueError:
            names = ", ".join(k.value for k in Kind)
            raise CallwrightError(
                f"unknown redaction kind {k!r}", hint=f"use one or more of: {names}"
            ) from None
    return frozenset(out)


def detect(
    scan: Scan,
    names: Iterable[str] = (),
    person_finder: PersonFinder | None = None,
    keep_names: Iterable[str] = (),
) -> list[Candidate]:
    """Every sensitive value in the scanned text, in text order, without overlaps.

    The bank detectors that need no cue (IBAN's checksum) or read their own cue
    (a date of birth, an account, routing number or PIN after theirs) go first:
    "account number 0012 3456 7890" must not become a phone, nor a cued account
    number that happens to pass Luhn a card. Addresses come after the number
    detectors (a ZIP code is never a phone), then any long number still left (`find_bare_numbers`:
    a run of nine digits or more never stays in clear), the customer's name last, then what a named-entity
    model (`person_finder`, optional) finds, minus the agent's name (`keep_names`).
    """
    claimed: set[int] = set()
    cues = all_cues(scan)
    found = find_ibans(scan, claimed)
    found += find_dates_of_birth(scan, cues, claimed)
    found += find_bank_numbers(scan, cues, claimed)
    found += find_pins(scan, cues, claimed)
    cards = find_cards(scan, claimed)
    cards += find_cued_cards(scan, claimed)
    found += [*cards, *find_ssns(scan, claimed), *find_phones(scan, claimed)]
    found += find_card_repeats(scan, cards, claimed)
    found += find_card_details(scan, cards, claimed)
    found += find_cued_partial_cards(scan, claimed)  # after phones and details: they keep their kind
    found += find_addresses(scan, cues, claimed)
    found += find_emails(scan, claimed)
    found += find_bare_numbers(scan, cues, claimed)  # last of the numbers: whatever long run is left
    found += find_names(scan, names, claimed)
    if person_finder is not None:
        found += find_model_names(scan, person_finder, keep_names, names, claimed)
    return sorted(found, key=lambda c: c.first)


def apply_spans(text: str, spans: Iterable[RedactedSpan], offset: int = 0) -> str:
    """Text with each span replaced; `offset` is where `text` starts in the spans' coordinates."""
    out, pos = [], 0
    for s in sorted(spans, key=lambda s: s.start):
        start, end = max(s.start - offset, 0), min(s.end - offset, len(text))
        if end <= pos or start >= len(text):
            continue
        out += [text[pos:start], s.replacement]
        pos = end
    out.append(text[pos:])
    return "".join(out)


def spans_of(scan: Scan, found: Iterable[Candidate], wanted: frozenset[Kind]) -> list[RedactedSpan]:
    """The character spans of the detected values of the wanted kinds."""
    tokens = scan.tokens
    return [
        RedactedSpan(c.kind, tokens[c.first].start, tokens[c.last].end, c.kind.replacement)
        for c in found
        if c.kind in wanted
    ]


CONTEXT_JOIN = "\n"
"""What stands between the previous turn (`context`) and the text: a line break, so the two are
read as one conversation (a cue at the end of one, the value at the start of the other)."""


def _within(spans: Iterable[RedactedSpan], start: int, end: int) -> list[RedactedSpan]:
    """The spans cut to [start, end) and shifted so `start` is 0; spans outside it are dropped.

    A span that began in the context and runs on into the text (a number read
    across the two turns) keeps its part in the text: that part is still the value.
    """
    out = []
    for s in spans:
        a, b = max(s.start, start), min(s.end, end)
        if a < b:
            out.append(RedactedSpan(s.kind, a - start, b - start, s.replacement))
    return out


def redact_text(
    text: str,
    *,
    kinds: Iterable[str | Kind] = ALL,
    names: Iterable[str] = (),
    person_finder: PersonFinder | None = None,
    keep_names: Iterable[str] = (),
    context: str = "",
) -> Redaction:
    """Replace card numbers, CVVs, expiry dates, SSNs, phone numbers, e-mails, bank account and
    routing numbers, IBANs, dates of birth, PINs, postal addresses and the customer's name by tokens.

    Works on written text and on recogniser output (lower case, no punctuation,
    digits as words). `kinds` limits which of them are replaced; `names` are
    the customer's names from the call's metadata (names.py); `person_finder`
    an optional named-entity model (ner.py) whose names are redacted too,
    except words of `keep_names` (the agent's name).

    `context` is the text said just before (the previous turn, usually the agent's
    question): its cues count ("what's the routing number?" ... "it's 021000021"
    is a routing number) but nothing of it is returned; spans are in `text`'s offsets.
    """
    wanted = parse_kinds(kinds)
    if not context:
        scan = Scan.of(text)
        spans = spans_of(scan, detect(scan, tuple(names), person_finder, tuple(keep_names)), wanted)
        return Redaction(apply_spans(text, spans), spans)
    start = len(context) + len(CONTEXT_JOIN)
    scan = Scan.of(context + CONTEXT_JOIN + text)
    found = detect(scan, tuple(names), person_finder, tuple(keep_names))
    spans = _within(spans_of(scan, found, wanted), start, start + len(text))
    return Redaction(apply_spans(text, spans), spans)

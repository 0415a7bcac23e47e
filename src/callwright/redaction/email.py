"""E-mail addresses, written ("john.smith@example.com") or said ("john dot smith at
example dot com", "j o h n underscore smith at gmail").

A said address is recognised by its domain: "at" followed by labels joined by
"dot" and ending in a common top-level domain, or a well-known mail provider.
Because "at" is everywhere ("I bought it at amazon dot com"), a spoken local
part that is an ordinary word ("it", "them", "look") is not taken for an address
unless an e-mail cue ("my email is") comes just before it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from callwright.redaction.scan import Candidate, Kind, Scan, claim, cue_before, free, phrases
from callwright.redaction.tokens import fold

WRITTEN = re.compile(r"[\w.%+'-]+@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}")
AT_SUFFIXES = {"sign", "symbol"}
DOT_WORDS = {".", "dot", "period"}
LOCAL_SEPARATORS = DOT_WORDS | {"_", "underscore", "-", "dash", "hyphen", "+", "plus"}
DOMAIN_SEPARATORS = DOT_WORDS | {"-", "dash", "hyphen"}
# "registered at www.example.com" is a web site.
WEB_PREFIXES = {"www", "http", "https"}
TLDS = {
    "com", "net", "org", "edu", "gov", "mil", "io", "co", "uk", "us", "ca", "au", "de", "fr",
    "info", "biz", "me", "ai", "ie", "nz", "in", "es", "it", "nl", "eu", "app", "dev", "email",
}  # fmt: skip
PROVIDERS = {
    "gmail", "googlemail", "yahoo", "hotmail", "outlook", "aol", "icloud", "protonmail",
    "proton", "live", "msn", "comcast", "verizon", "att", "mail", "gmx", "zoho", "yandex",
}  # fmt: skip
EMAIL_CUES = phrases("email", "e mail", "email address", "e mail address", "mail address")
# Words the cue and the address may have between them: "my email is, um, ...".
CUE_FILLERS = {"is", "it's", "its", "it", "address", ":", "uh", "um", "that's", "thats", "-", ","}
CUE_TOKENS = 12
"""How far before the "at" an e-mail cue may be; the address then starts right after the cue."""
# Ordinary words that often stand before "at": "I bought it at amazon dot com".
NOT_LOCAL = {
    "it", "that", "this", "them", "me", "you", "him", "her", "us", "one", "something",
    "anything", "everything", "look", "looking", "online", "bought", "buy", "order",
    "ordered", "purchased", "there", "here", "available", "sold", "listed", "stuff",
    "went", "go", "was", "were", "is", "are", "be", "booked", "shopping", "shop", "item",
    "items", "price", "deal", "deals", "sale", "website", "site", "page", "up", "out", "off",
}  # fmt: skip


def _is_label(scan: Scan, i: int) -> bool:
    tok = scan.tokens[i] if 0 <= i < len(scan.tokens) else None
    if tok is None or tok.kind == "sym":
        return False
    return tok.norm not in LOCAL_SEPARATORS and tok.norm != "at"


def _separates(scan: Scan, k: int, separators: set[str]) -> bool:
    """A separator word ("dot"), or a mark ("." "_") written tight between two labels.

    A spaced "." is the end of a sentence ("my number. epenne at gmail"), not part of an address.
    """
    if scan.word(k) not in separators:
        return False
    tok = scan.tokens[k]
    tight = k + 1 < len(scan.tokens) and not tok.spaced and not scan.tokens[k + 1].spaced
    return tok.kind != "sym" or tight


def _domain_end(scan: Scan, i: int) -> int | None:
    """Last token of a said domain starting at i ("example dot co dot uk", "gmail"), if any."""
    if not _is_label(scan, i) or scan.word(i) in WEB_PREFIXES:
        return None
    end, labels = i, [scan.word(i)]
    while _separates(scan, end + 1, DOMAIN_SEPARATORS) and _is_label(scan, end + 2):
        end, labels = end + 2, [*labels, scan.word(end + 2)]
    if len(labels) > 1 and labels[-1] in TLDS:
        return end
    return i if labels[0] in PROVIDERS else None


def _local_start(scan: Scan, at: int) -> int | None:
    """First token of the said local part that ends just before the "at" at index `at`."""
    start = at - 1
    if not _is_label(scan, start):
        return None
    while _separates(scan, start - 1, LOCAL_SEPARATORS) and _is_label(scan, start - 2):
        start -= 2
    # spelled out: "j o h n smith"
    while start > 0 and _is_label(scan, start - 1) and len(scan.word(start - 1)) == 1:
        start -= 1
    return start


def _cue_start(scan: Scan, cue_ends: list[int], at: int) -> int | None:
    """Where the address begins when an e-mail cue comes shortly before its "at"."""
    cue = cue_before(cue_ends, at, CUE_TOKENS)
    if cue is None:
        return None
    k = cue + 1
    while k < at - 1 and scan.word(k) in CUE_FILLERS:
        k += 1
    return k


def _written(scan: Scan) -> list[tuple[int, int]]:
    """Token ranges of addresses written with "@" (the text a chat or form would hold)."""
    # Matched on the folded text (full-width "＠" too) with invisible characters taken out, so a
    # zero-width space inside an address does not hide it; `where` maps back to the original.
    folded = fold(scan.text)
    if "@" not in folded:
        return []
    if scan.text.isascii():
        where: Sequence[int] = range(len(scan.text))
        compact = scan.text
    else:
        where = [i for i, ch in enumerate(scan.text) if unicodedata.category(ch) != "Cf"]
        compact = "".join(folded[i] for i in where)
    spans = []
    for m in WRITTEN.finditer(compact):
        start, end = where[m.start()], where[m.end() - 1] + 1
        inside = [k for k, t in enumerate(scan.tokens) if t.end > start and t.start < end]
        if inside:
            spans.append((inside[0], inside[-1]))
    return spans


def _spoken(scan: Scan) -> list[tuple[int, int]]:
    """Token ranges of addresses said aloud: "<local> at <domain>"."""
    cue_ends = scan.phrase_ends(EMAIL_CUES)
    spans = []
    for at, tok in enumerate(scan.tokens):
        if tok.norm != "at":
            continue
        end = _domain_end(scan, at + 2 if scan.word(at + 1) in AT_SUFFIXES else at + 1)
        start = _local_start(scan, at)
        if end is None or start is None:
            continue
        cued = _cue_start(scan, cue_ends, at)
        if cued is not None:
            spans.append((min(start, cued), end))
        elif not (start == at - 1 and scan.word(start) in NOT_LOCAL):
            spans.append((start, end))
    return spans


def find_emails(scan: Scan, claimed: set[int]) -> list[Candidate]:
    found: list[Candidate] = []
    for start, end in _written(scan) + _spoken(scan):
        if free(claimed, start, end):
            found.append(Candidate(Kind.EMAIL, start, end))
            claim(claimed, found[-1:])
    return found

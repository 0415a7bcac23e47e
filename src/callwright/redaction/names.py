"""The customer's name, known from the call's metadata, wherever it is said or spelled.

Nothing in a transcript tells a name from any other word, but the call's
metadata often says whose call it is. Every word of that name (first, last,
middle; any case; "Brown's" as "Brown") is redacted wherever it occurs, and so
is the name spelled out letter by letter ("s m i t h", "S-M-I-T-H"). A name
word that is also an everyday word ("Will", "Rose", "Grant", "Brown") is only
taken beside another word of the name ("will rose") or after a name cue ("my
name is", "Mr", "this is"), so "I will be there" keeps its "will".

Without metadata no name is found: see docs/redaction.md for what a
named-entity model would add.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from callwright.redaction.scan import Candidate, Kind, Scan, claim, cue_before, free, phrases
from callwright.redaction.tokens import LETTERS, plain

HONORIFICS = {"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "madam", "jr", "sr", "ii", "iii", "iv"}
NAME_CUES = phrases(
    "my name is", "name is", "this is", "is this", "mr", "mrs", "ms", "miss", "dr", "speak to",
    "speaking to", "talk to", "called", "name's", "last name", "first name", "surname",
    "thank you", "thanks", "hi", "hello", "dear",
)  # fmt: skip
# Name words that are also everyday words: taken only beside another name word or after a cue.
EVERYDAY = {
    "will", "may", "june", "april", "august", "rose", "mark", "bill", "grant", "hope", "joy",
    "faith", "grace", "frank", "sue", "pat", "rob", "art", "jack", "jean", "chase", "dean", "drew",
    "guy", "hunter", "lane", "miles", "page", "ray", "rich", "young", "white", "brown", "green",
    "black", "gray", "grey", "king", "long", "hall", "wood", "price", "bell", "cook", "baker",
    "hill", "stone", "cash", "read", "reed", "field", "rice", "wells", "sharp", "love", "star",
    "summer", "winter", "dawn", "iris", "daisy", "ivy", "holly", "penny", "ruby", "pearl",
    "amber", "violet", "sunny", "earl", "major", "cliff", "glen", "wade", "buck", "sandy",
    "rusty", "bank", "banks", "banker", "card", "carter", "street", "march", "new", "best",
    "good", "little", "short", "small", "west", "north", "south", "east", "day", "lord", "light",
    "moore", "more", "case", "booker", "park", "fair", "hardy", "hart", "holmes",
    "house", "job", "land", "law", "lee", "bond", "savage", "kind",
    "an", "am", "as", "at", "be", "by", "do", "go", "he", "if", "in", "is", "it", "me", "my",
    "no", "of", "oh", "ok", "on", "or", "so", "to", "up", "us", "we", "the", "and", "you",
}  # fmt: skip
MIN_NAME_LETTERS = 2
MIN_SPELLED_LETTERS = 3
"""A name spelled out is matched only from this many letters up ("l i" would match too much)."""
SPELL_JOINERS = {"-", ".", ",", "dash", "then"}
NEIGHBOR_GAP = {"-", "'", ","}
CUE_TOKENS = 3
"""How close after a name cue ("my name is", "Mr") an everyday name word must be."""
_WORD = re.compile(rf"{LETTERS}(?:['\u2019]{LETTERS})*")
# Metadata keys that hold the customer's name (the first one present with letters in it is used).
NAME_FIELDS = ("customer_name", "caller_name", "name", "customer", "caller")


def name_words(names: Iterable[str]) -> frozenset[str]:
    """The words of the given names as matching sees them (lower case, no accents, no honorifics
    or initials): "José García" on file is "jose garcia" when said."""
    out: set[str] = set()
    for name in names:
        for m in _WORD.finditer(str(name)):
            w = plain(m.group()).replace("\u2019", "'")
            if len(w) >= MIN_NAME_LETTERS and w not in HONORIFICS:
                out.add(w)
    return frozenset(out)


PSEUDONYM = re.compile(r"name-[0-9a-f]{16}")
"""A customer's name as the database keeps it (`store.pseudonyms`): it stood for a name, but
is none to look for in what was said."""


def is_pseudonym(value: object) -> bool:
    return isinstance(value, str) and PSEUDONYM.fullmatch(value) is not None


def names_from_metadata(fields: Mapping[str, object]) -> tuple[str, ...]:
    """The customer's name from call metadata, when a name field holds letters (not an id).

    `customer` is an id or a number in most metadata ("C-1042", "+1 212 ..."): a value
    with a digit in it is not a name and is left out, as is a stored pseudonym.
    """
    out = []
    for key in NAME_FIELDS:
        value = fields.get(key)
        if is_pseudonym(value):
            continue
        if isinstance(value, str) and value.strip() and not any(ch.isdigit() for ch in value):
            if any(ch.isalpha() for ch in value):
                out.append(value.strip())
    return tuple(dict.fromkeys(out))


def _spelled(scan: Scan, words: frozenset[str]) -> list[tuple[int, int]]:
    """Token ranges where a name word is spelled out letter by letter ("m i l l e r")."""
    tokens = scan.tokens
    out: list[tuple[int, int]] = []
    i = 0
    while i < len(tokens):
        letters: list[tuple[str, int]] = []
        j = i
        while j < len(tokens):
            w = tokens[j].norm
            if tokens[j].kind == "word" and len(plain(w)) == 1:
                letters.append((plain(w), j))
            elif w == "double" and j + 1 < len(tokens) and len(tokens[j + 1].norm) == 1:
                letters += [(tokens[j + 1].norm, j), (tokens[j + 1].norm, j + 1)]
                j += 1
            elif not (w in SPELL_JOINERS and letters):
                break
            j += 1
        if len(letters) >= MIN_SPELLED_LETTERS:
            text = "".join(ch for ch, _ in letters)
            for word in words:
                bare = word.replace("'", "").replace("-", "")
                if len(bare) < MIN_SPELLED_LETTERS:
                    continue
                for m in re.finditer(re.escape(bare), text):
                    out.append((letters[m.start()][1], letters[m.end() - 1][1]))
        i = max(j, i + 1)
    return out


def find_names(scan: Scan, names: Iterable[str], claimed: set[int]) -> list[Candidate]:
    """The customer's name words, said or spelled, merged where they stand together."""
    words = name_words(names)
    if not words:
        return []
    tokens = scan.tokens
    said = [plain(t.norm).removesuffix("'s") for t in tokens]  # compared without accents
    hits = [i for i, t in enumerate(tokens) if t.kind == "word" and said[i] in words]
    hit_set = set(hits)
    cue_ends = sorted(scan.phrase_ends(NAME_CUES))

    def beside_name(i: int) -> bool:
        for step in (-1, 1):
            k = i + step
            while 0 <= k < len(tokens) and tokens[k].norm in NEIGHBOR_GAP:
                k += step
            if k in hit_set and said[k] not in EVERYDAY:
                return True
        return False

    def after_cue(i: int) -> bool:
        return cue_before(cue_ends, i, CUE_TOKENS) is not None

    ranges = [(i, i) for i in hits if said[i] not in EVERYDAY or beside_name(i) or after_cue(i)]
    ranges += _spelled(scan, words)
    found: list[Candidate] = []
    for first, last in sorted(ranges):
        if not free(claimed, first, last):
            continue
        prev = found[-1] if found else None
        between = range(prev.last + 1, first) if prev else range(0)
        if prev is not None and all(tokens[k].norm in NEIGHBOR_GAP for k in between):
            found[-1] = Candidate(Kind.NAME, prev.first, max(last, prev.last))
        else:
            found.append(Candidate(Kind.NAME, first, last))
    claim(claimed, found)
    return found

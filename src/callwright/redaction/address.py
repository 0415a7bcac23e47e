"""Postal addresses: a street line (house number, street name, street type), a unit, and
the city, state and ZIP code that follow it; a ZIP code after its cue; a P.O. box.

The street line is the anchor: a number (numerals or words as numbers.py reads
them: "1234", "four two one", "twelve thirty four", "twenty two hundred")
followed by one to four name words and a street type ("street", "ave",
"boulevard", ...). After an address cue ("my address is", "I live at") the name
may be longer and spelled out ("main that's m a i n street"). What follows the
street line is taken with it: "apartment 4B", "suite two hundred", a city of
up to three words before a state ("forest ranch california", "Springfield,
IL"), and a ZIP code. A city and state with a ZIP code and no street are taken
too; a city or state alone is not an address and stays.
"""

from __future__ import annotations

from callwright.redaction.cues import Cues, nearest_cue
from callwright.redaction.numbers import Run
from callwright.redaction.scan import Candidate, Kind, Scan, claim, cue_before, free, phrases

STREET_TYPES = {
    "street", "st", "avenue", "ave", "av", "road", "rd", "boulevard", "blvd", "lane", "ln",
    "drive", "dr", "court", "ct", "way", "place", "pl", "terrace", "ter", "circle", "cir",
    "parkway", "pkwy", "highway", "hwy", "trail", "trl", "square", "sq", "crescent", "cres",
    "close", "row", "alley", "plaza", "loop", "pike", "expressway", "freeway", "turnpike",
    "causeway", "grove", "gardens", "mews", "broadway",
}  # fmt: skip
EVERYDAY_TYPES = {
    "way", "drive", "place", "close", "square", "row", "loop", "court", "circle", "trail", "terrace",
    "plaza", "grove", "gardens", "mews", "alley", "crescent", "pike",
}  # fmt: skip
"""Street types that are everyday words ("one surefire way", "a 60 gig drive", "two last place"):
such a street line is taken only after an address cue, written in capitals ("42 Wallaby Way"), or
with a unit, city, state or ZIP after it."""
TYPE_IS_NAME = {"broadway"}
"""A street type that is also the whole name ("seventeen hundred broadway")."""
UNIT_WORDS = {
    "apartment", "apt", "unit", "suite", "ste", "flat", "floor", "fl", "room", "rm", "building",
    "bldg", "#",
}  # fmt: skip
STATES = {
    "alabama", "alaska", "arizona", "arkansas", "california", "colorado", "connecticut",
    "delaware", "florida", "georgia", "hawaii", "idaho", "illinois", "indiana", "iowa", "kansas",
    "kentucky", "louisiana", "maine", "maryland", "massachusetts", "michigan", "minnesota",
    "mississippi", "missouri", "montana", "nebraska", "nevada", "ohio", "oklahoma", "oregon",
    "pennsylvania", "tennessee", "texas", "utah", "vermont", "virginia", "washington",
    "wisconsin", "wyoming",
}  # fmt: skip
TWO_WORD_STATES = phrases(
    "new york", "new jersey", "new mexico", "new hampshire", "north carolina", "south carolina",
    "north dakota", "south dakota", "west virginia", "rhode island", "district of columbia",
)  # fmt: skip
STATE_CODES = {
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN", "IA",
    "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM",
    "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA",
    "WV", "WI", "WY",
}  # fmt: skip
ADDRESS_CUES = phrases(
    "address", "live at", "living at", "lives at", "reside at", "located at", "moved to",
    "send it to", "ship it to", "mail it to", "deliver it to", "residence",
)  # fmt: skip
PO_BOX = phrases("po box", "p o box", "post office box", "pob", "p o b")
# Words that are never part of a street name: "2 branches on first street" is not an address.
NOT_NAME = {
    "the", "a", "an", "and", "or", "but", "to", "of", "in", "on", "at", "from", "for", "with",
    "by", "down", "up", "into", "onto", "over", "under", "near", "past", "across", "along", "off",
    "out", "my", "your", "his", "her", "our", "their", "this", "that", "these", "those", "is",
    "are", "was", "were", "be", "i", "you", "he", "she", "we", "they", "it", "me", "him", "them",
    "us", "there", "here", "what", "which", "who", "when", "where", "how", "not", "no", "yes",
    "so", "then", "than", "too", "very", "just", "also", "only", "about", "after", "before",
    "all", "any", "some", "more", "blocks", "block", "miles", "mile", "minutes", "hours", "days",
    "weeks", "months", "years", "times", "kids", "cars", "people", "dollars", "branches",
    "branch", "accounts", "cards", "percent", "points", "have", "has", "had", "get", "got",
    "go", "went", "take", "took", "drive", "drove", "walk", "walked", "live", "lived", "am",
    "pm", "o'clock", "uh", "um", "thank", "thanks", "please", "okay", "ok", "if", "can", "will",
    "would", "should", "could", "do", "did", "does", "per", "each", "every",
}  # fmt: skip
CUED_EXTRA = {"that's", "thats", "spelled", "is", "like", "uh", "um", "-", ","}
NAME_WORDS = 4
CUED_NAME_WORDS = 8
HOUSE_DIGITS = range(1, 7)
CITY_WORDS = 3
ZIP_DIGITS = (5, 9, 10)
CUED_ZIP_DIGITS = range(3, 11)
"""After a ZIP cue a shorter or longer run is still taken (a digit misheard or dropped)."""
TOWN_WORDS = 2
"""How many words after a cued street line are taken for its town when no state or ZIP follows
("i live at forty two elm street springfield")."""
NOT_TOWN = {
    "now", "today", "currently", "anymore", "still", "though", "right", "yeah", "yep", "okay",
    "correct", "again", "already", "actually", "instead", "originally", "thanks", "sir", "ma'am",
    "maam", "since", "until", "til", "till", "lately", "recently", "previously", "before", "too",
    "as", "well", "mhm", "hmm", "please", "apartment", "apt", "unit", "suite", "anyway", "sorry",
    "last", "next", "month", "week", "year", "ago", "yesterday", "tonight", "night", "morning",
    "evening", "weekend", "soon", "later", "forever", "together", "alone", "permanently",
}  # fmt: skip
"""Words that end a sentence after an address without being a town ("i live at 42 elm street now")."""
TOWN_END = {",", ".", "?", "!", ";"}
BRIDGE = {",", ".", "and", "that's", "thats", "in", "uh", "um", "it's", "its", "the", "zip", "code", "is"}
ADDRESS_CUE_TOKENS = 8


class _Reader:
    def __init__(self, scan: Scan) -> None:
        self.scan = scan
        self.two_word_states = {first: last for first, last in scan_phrases(scan, TWO_WORD_STATES)}
        self.run_at = {run.first: run for run in scan.runs}

    def w(self, i: int) -> str:
        return self.scan.word(i)

    def state_end(self, i: int) -> int | None:
        """Last index of a state name at i ("california", "new york", "IL"), else None."""
        if i in self.two_word_states:
            return self.two_word_states[i]
        if self.w(i) in STATES:
            return i
        if 0 <= i < len(self.scan.tokens) and self.scan.tokens[i].text in STATE_CODES:
            return i
        return None

    def name_word(self, i: int, cued: bool) -> bool:
        tokens = self.scan.tokens
        if not 0 <= i < len(tokens):
            return False
        tok = tokens[i]
        if tok.kind == "num":  # "5th", "42nd"
            return (
                i + 1 < len(tokens)
                and tokens[i + 1].norm in {"st", "nd", "rd", "th"}
                and not tokens[i + 1].spaced
            )
        if tok.kind == "sym":
            return tok.norm in {"-", "'"} and not tok.spaced or (cued and tok.norm in CUED_EXTRA)
        if cued and (tok.norm in CUED_EXTRA or len(tok.norm) == 1):  # spelled: "main that's m a i n"
            return True
        return tok.norm not in NOT_NAME

    def street_end(self, j: int, cued: bool) -> int | None:
        """Last index of "<name words> <street type>" starting at j, else None."""
        if self.w(j) in TYPE_IS_NAME:
            return j
        limit = CUED_NAME_WORDS if cued else NAME_WORDS
        k, words = j, 0
        while words <= limit and k < len(self.scan.tokens):
            if self.w(k) in STREET_TYPES and words > 0:
                # "St." / "Ave." keep their full stop
                return k + 1 if self.w(k + 1) == "." and not self.scan.tokens[k + 1].spaced else k
            if not self.name_word(k, cued):
                return None
            if self.scan.tokens[k].kind != "sym":
                words += 1
            k += 1
        return None

    def unit_end(self, k: int) -> int | None:
        """Last index of "apartment 4B", "suite two hundred", "unit b" starting at k (after commas)."""
        i = self.skip(k, {",", "."})
        if self.w(i) not in UNIT_WORDS:
            return None
        i += 1
        if self.w(i) in {"number", "no", "#", "."}:
            i += 1
        run = self.run_at.get(i)
        end = None
        if run is not None:
            end = run.last
        elif len(self.w(i)) == 1 and self.scan.tokens[i].kind == "word":
            return i
        elif 0 <= i < len(self.scan.tokens) and self.scan.tokens[i].kind == "num":
            end = i
        if end is None:
            return None
        nxt = end + 1
        if len(self.w(nxt)) == 1 and nxt < len(self.scan.tokens) and self.scan.tokens[nxt].kind == "word":
            return nxt  # "4B", "four b"
        return end

    def skip(self, k: int, words: set[str]) -> int:
        while self.w(k) in words:
            k += 1
        return k

    def zip_end(self, k: int, cued: bool = False) -> int | None:
        """Last index of a ZIP code starting at k: 5 or 9 digits, the ZIP said twice (10), after a
        cue 3-10 (misheard), or the first five digits of a longer run ("... eleven uh nine ten")."""
        run = self.run_at.get(k)
        if run is None:
            return None
        n = len(run.variants()[0].digits)
        if n in ZIP_DIGITS or (cued and n in CUED_ZIP_DIGITS):
            return run.last
        digits = 0
        for item in run.items:
            digits += len(item.digits)
            if digits == ZIP_DIGITS[0]:
                return item.last
            if digits > ZIP_DIGITS[0]:
                break
        return None

    def postcode_end(self, k: int) -> int | None:
        """A written UK-style postcode ("LS6 2QX", "SW1A 1AA") in capitals, else None."""
        toks = self.scan.tokens
        end, chunks, chars = k - 1, 0, ""
        while end + 1 < len(toks) and chunks < 2:
            i, part = end + 1, ""
            while i < len(toks) and toks[i].kind in ("num", "word") and (i == end + 1 or not toks[i].spaced):
                part += toks[i].text
                i += 1
            if not part or not part.isupper() or not any(c.isdigit() for c in part) or len(part) > 4:
                break
            chars += part
            chunks += 1
            end = i - 1
        return end if chunks == 2 and len(chars) in range(5, 8) else None

    def place_end(self, k: int) -> int | None:
        """Last index of "<city> <state> [zip]" or a written "<City>[,] [postcode]" after a street line."""
        start = self.skip(k, BRIDGE - {"zip", "code"})
        i, words, end = start, 0, None
        while words <= CITY_WORDS and i < len(self.scan.tokens):
            s = self.state_end(i)
            if s is not None:
                end = s
                nxt = self.skip(s + 1, {","})
                s2 = self.state_end(nxt)  # "New York, NY"
                if s2 is not None:
                    end = s2
                break
            if self.w(i) == "," and words:  # "Springfield, IL"
                i += 1
                continue
            if self.scan.tokens[i].kind != "word" or self.w(i) in NOT_NAME:
                break
            i += 1
            words += 1
        if end is None:
            # a written city in capitals ("Sydney", "Little Whinging") right after the street line
            toks, i = self.scan.tokens, start
            capital = start < len(toks) and toks[start].kind == "word" and toks[start].text[:1].isupper()
            if not capital:
                return self.zip_after(k)
            while (
                i < len(toks)
                and i - start < CITY_WORDS
                and toks[i].kind == "word"
                and toks[i].text[:1].isupper()
            ):
                if self.postcode_end(i) is not None:
                    break
                i += 1
            if i == start:
                return None
            end = i - 1
            pc = self.postcode_end(self.skip(i, {","}))
            if pc is None and self.w(k) != ",":
                # "42 Wallaby Way, Sydney": a comma, or a postcode ("Hill Crescent Leeds LS6 2QX"),
                # says a city follows; "3rd place. You owe me" is no city
                return self.zip_after(k)
            return pc if pc is not None else end
        z = self.zip_after(end + 1)
        return z if z is not None else end

    def town_end(self, k: int) -> int | None:
        """Last index of a town said after a cued street line, when nothing else says it is one.

        Spoken addresses come in the usual order (street, town) without capitals or a
        state, so one or two plain words that end the sentence (the text, or a mark)
        after "I live at <street line>" are taken for the town; an ordinary word
        there ("now", "since ...") is not (`NOT_TOWN`, `NOT_NAME`).
        """
        toks = self.scan.tokens
        for n in range(1, TOWN_WORDS + 1):
            words = range(k, k + n)
            if any(
                i >= len(toks)
                or toks[i].kind != "word"
                or len(toks[i].norm) < 3
                or toks[i].norm in NOT_NAME | NOT_TOWN | UNIT_WORDS | STREET_TYPES
                for i in words
            ):
                return None
            nxt = k + n
            if nxt >= len(toks) or toks[nxt].norm in TOWN_END:
                return nxt - 1
        return None

    def unit_before(self, first: int) -> int | None:
        """First index of a unit said before the street line ("apartment 4B, 221 Baker Street",
        "flat 2 221 baker street"), else None."""
        k = first - 1
        while self.w(k) == ",":
            k -= 1
        if self.w(first - 1) in UNIT_WORDS:  # "flat 2 221": the unit's number read into the house number
            return first - 1
        for u in range(k, max(k - 4, -1), -1):
            if self.w(u) in UNIT_WORDS and self.unit_end(u) == k:
                return u
        return None

    def zip_after(self, k: int) -> int | None:
        i = self.skip(k, BRIDGE)
        return self.zip_end(i, cued=self.w(i - 1) in {"zip", "code", "is"})


def scan_phrases(scan: Scan, cues: frozenset[tuple[str, ...]]) -> list[tuple[int, int]]:
    return scan.phrase_hits(cues)


def _house_number(run: Run, scan: Scan) -> Run | None:
    """The end of the run read as a house number ("to 221" is "221"; "... eleven uh nine ten" is
    "nine ten": a pause word or mark divides it from what came before), or None when too long."""
    items = run.variants()[0].items
    after = run.last + 1
    if (
        after < len(scan.tokens)
        and scan.word(after) in {"st", "nd", "rd", "th"}
        and not scan.tokens[after].spaced
    ):
        return None  # "3rd place" is an ordinal
    for k in range(len(items)):
        paused = k == 0 or items[k - 1].last + 1 < items[k].first
        if paused and len("".join(i.digits for i in items[k:])) in HOUSE_DIGITS:
            return Run(items[k:])
    return None


def find_addresses(scan: Scan, cues: Cues, claimed: set[int]) -> list[Candidate]:
    """Street lines with what follows them, P.O. boxes, ZIP codes after a cue, city+state+ZIP."""
    r = _Reader(scan)
    address_ends = sorted(last for _, last in scan_phrases(scan, ADDRESS_CUES))
    found: list[Candidate] = []

    def take(first: int, last: int) -> None:
        if free(claimed, first, last):
            found.append(Candidate(Kind.ADDRESS, first, last))
            claim(claimed, found[-1:])

    def tail(end: int, cued: bool = False) -> int:
        unit = r.unit_end(end + 1)
        if unit is not None:
            end = unit
        place = r.place_end(end + 1)
        if place is None and cued:
            place = r.town_end(end + 1)
        return place if place is not None else end

    for whole in scan.runs:
        run = _house_number(whole, scan)
        if run is None or not free(claimed, run.first, run.last):
            continue
        cued = cue_before(address_ends, run.first, ADDRESS_CUE_TOKENS) is not None
        street = r.street_end(run.last + 1, cued)
        if street is None:
            continue
        end = tail(street, cued)
        kind_word = scan.word(street if scan.word(street) != "." else street - 1)
        titled = all(t.text[:1].isupper() for t in scan.tokens[run.last + 1 : street + 1] if t.kind == "word")
        unit = r.unit_before(run.first)
        if kind_word in EVERYDAY_TYPES and not (cued or titled or end > street or unit is not None):
            continue
        take(run.first if unit is None else unit, end)
    for first, last in scan_phrases(scan, PO_BOX):
        run = r.run_at.get(last + 1)
        if run is not None:
            take(first, tail(run.last))
    # ZIP codes after their cue, and "<city> <state> <zip>" with no street line
    for run in scan.runs:
        if not free(claimed, run.first, run.last):
            continue
        cue = nearest_cue(scan, cues, run.first)
        if cue is not None and cue.family == "zip" and r.zip_end(run.first, cued=True) is not None:
            take(run.first, run.last)
            continue
        k = run.first - 1
        while scan.word(k) == ",":
            k -= 1
        state_first = k
        if k - 1 in r.two_word_states and r.two_word_states[k - 1] == k:
            state_first = k - 1
        if r.state_end(state_first) == k and r.zip_end(run.first) is not None:
            city = state_first
            while city - 1 >= 0 and state_first - city < CITY_WORDS and scan.tokens[city - 1].kind == "word":
                if scan.word(city - 1) in NOT_NAME:
                    break
                city -= 1
            take(city, run.last)
    return found

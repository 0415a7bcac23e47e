"""Closed-set understanding: map what a caller said (or typed) onto what the state expects.

Recognisers only bias towards the expected phrases (a Vosk grammar, a Whisper
prompt), so their text still has to be checked against the choices, with
homophones ("to" for two), spoken digit idioms ("oh", "double five") and near
misses accepted, and anything else rejected so the IVR can re-prompt instead
of routing a caller to the wrong queue. All functions here are pure.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import jellyfish
from rapidfuzz import fuzz

# Two choices closer than this are a coin toss: better to re-prompt than to guess.
AMBIGUITY_MARGIN = 0.05
# A phrase found inside a longer utterance scores at least this (and below an exact 1.0).
CONTAINED_BASE = 0.9
# A fuzzy match against a few words of a longer utterance counts slightly less
# than one against the whole utterance, because the rest of it was ignored.
WINDOW_PENALTY = 0.95


@dataclass(frozen=True)
class Choice:
    """One answer an ask state accepts; `phrases` are the ways of saying it."""

    id: str
    phrases: tuple[str, ...]


@dataclass(frozen=True)
class ChoiceMatch:
    """The chosen answer and how sure the match is (0..1, 1 = an exact phrase)."""

    id: str
    score: float


_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
    "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17,
    "eighteen": 18, "nineteen": 19,
}  # fmt: skip
_TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50,
    "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
_SCALES = {"thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000}
# Words recognisers (and people) produce for a single digit.
_HOMOPHONES = {
    "to": 2, "too": 2, "tu": 2, "for": 4, "fore": 4, "won": 1, "wan": 1,
    "ate": 8, "niner": 9, "tree": 3,
}  # fmt: skip
# "oh"/"o" mean zero only inside digit strings ("four oh one"), not in numbers.
_ZERO_LETTERS = {"oh", "o", "nought", "naught", "nil"}
_REPEATS = {"double": 2, "triple": 3, "treble": 3}
# Words a caller wraps around digits without changing them ("um, it's 4 1 1").
_FILLERS = {
    "um", "umm", "uh", "er", "erm", "ah", "hmm", "its", "it", "is", "my", "the",
    "number", "pin", "code", "account", "please", "okay", "ok", "so", "and",
}  # fmt: skip

_DIGIT_WORDS = {str(v): k for k, v in _UNITS.items() if v < 10}

_YES = {
    "yes", "yeah", "yea", "yep", "yup", "ya", "yah", "correct", "right", "sure",
    "ok", "okay", "affirmative", "absolutely", "definitely", "exactly", "true",
    "certainly", "indeed", "uhhuh", "aye", "alright",
}  # fmt: skip
_NO = {
    "no", "nope", "nah", "wrong", "incorrect", "negative", "never", "false", "nay",
}  # fmt: skip
# Negators flip a following (or nearby) yes-word: "that's not right", "isn't correct".
_NEGATORS = {"not", "dont", "isnt", "aint", "doesnt", "wasnt", "arent", "didnt", "cant"}
# Neither yes nor no, even though they contain a negator.
_UNSURE = (("dont", "know"), ("not", "sure"), ("no", "idea"), ("no", "clue"))


def normalize(text: str) -> list[str]:
    """Lower-case word tokens with punctuation dropped, so "That's right!" == "thats right".

    Thousands separators inside numerals are removed first ("4,111" -> "4111")
    and hyphens split words ("twenty-three" -> "twenty three").
    """
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text.lower())
    text = text.replace("'", "").replace("\u2019", "").replace("uh-huh", "uhhuh")
    return re.sub(r"[^\w]+|_", " ", text).split()


def _canonical(tokens: list[str]) -> list[str]:
    """Spell single-digit numerals as words so "option 2" matches the phrase "option two"."""
    return [_DIGIT_WORDS.get(t, t) for t in tokens]


def canonical_words(text: str) -> list[str]:
    """`normalize`, with single-digit numerals spelled out: the words match_choice compares."""
    return _canonical(normalize(text))


def _contains(haystack: list[str], needle: list[str]) -> int | None:
    """Start index of `needle` as whole words inside `haystack`, or None."""
    n = len(needle)
    for i in range(len(haystack) - n + 1):
        if haystack[i : i + n] == needle:
            return i
    return None


def _similarity(a: list[str], b: list[str]) -> float:
    """Spelling similarity, raised when the words also sound alike (metaphone)."""
    spelled = fuzz.ratio(" ".join(a), " ".join(b)) / 100.0
    sound_a = " ".join(jellyfish.metaphone(t) for t in a)
    sound_b = " ".join(jellyfish.metaphone(t) for t in b)
    if not sound_a.strip() or not sound_b.strip():
        return spelled
    sounded = fuzz.ratio(sound_a, sound_b) / 100.0
    return max(spelled, (spelled + sounded) / 2)


def _fuzzy_score(utterance: list[str], phrase: list[str]) -> float:
    """Best similarity of the phrase to the whole utterance or to any few consecutive words."""
    best = _similarity(utterance, phrase)
    if len(utterance) > len(phrase):
        for size in {max(1, len(phrase) - 1), len(phrase), len(phrase) + 1}:
            for i in range(len(utterance) - size + 1):
                window = utterance[i : i + size]
                best = max(best, WINDOW_PENALTY * _similarity(window, phrase))
    return best


def match_choice(text: str, choices: Sequence[Choice], threshold: float = 0.75) -> ChoiceMatch | None:
    """The choice the text names, or None when nothing is close enough or two tie.

    Order: an exact phrase (score 1.0); a phrase inside the utterance as whole
    words ("I want billing please"), where a longer phrase covering a shorter
    one of another choice wins ("account balance" over "account"); otherwise
    fuzzy spelling plus metaphone similarity, rejected below `threshold`.
    A choice with no phrases is matched by its id.
    """
    utterance = _canonical(normalize(text))
    if not utterance or not choices:
        return None
    prepared = [(c.id, [_canonical(normalize(p)) for p in (c.phrases or (c.id,))]) for c in choices]

    for cid, phrases in prepared:
        if any(p == utterance for p in phrases):
            return ChoiceMatch(cid, 1.0)

    # Whole-word containment: (choice id, start, end) spans.
    spans: list[tuple[str, int, int]] = []
    for cid, phrases in prepared:
        for p in phrases:
            start = _contains(utterance, p) if p else None
            if start is not None:
                spans.append((cid, start, start + len(p)))
    if spans:
        # Drop spans lying inside a longer span of another choice.
        kept = [
            s
            for s in spans
            if not any(
                o[0] != s[0] and o[1] <= s[1] and s[2] <= o[2] and (o[2] - o[1]) > (s[2] - s[1])
                for o in spans
            )
        ]
        ids = {s[0] for s in kept}
        if len(ids) == 1:
            longest = max(e - b for _, b, e in kept)
            score = CONTAINED_BASE + (1 - CONTAINED_BASE) * longest / len(utterance)
            return ChoiceMatch(kept[0][0], round(score, 4))
        return None  # "billing or support": the caller named two things

    scored = sorted(
        (
            (max(_fuzzy_score(utterance, p) for p in phrases if p), cid)
            for cid, phrases in prepared
            if any(phrases)
        ),
        reverse=True,
    )
    if not scored or scored[0][0] < threshold:
        return None
    if len(scored) > 1 and scored[0][0] - scored[1][0] < AMBIGUITY_MARGIN:
        return None
    return ChoiceMatch(scored[0][1], round(scored[0][0], 4))


def _digit_value(token: str) -> int | None:
    if token in _UNITS and _UNITS[token] < 10:
        return _UNITS[token]
    if token in _HOMOPHONES:
        return _HOMOPHONES[token]
    if token in _ZERO_LETTERS:
        return 0
    return None


def parse_digits(text: str) -> str | None:
    """The digit string a caller spoke or typed, or None when it is not one.

    Accepts numerals ("4 1 1 1", "4111", "411-555"), digit words and their
    homophones (to/too, for, won, ate, niner), "oh" for zero, "double five" ->
    "55", "triple 2" -> "222", teens and tens ("twenty three" -> "23"), and
    filler words around them ("um, it's four one one"). Any other word means
    the utterance was not a digit string.
    """
    tokens = normalize(text)
    out: list[str] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok in _REPEATS:
            nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
            value = _digit_value(nxt)
            if value is None and not (nxt.isdigit() and len(nxt) == 1):
                return None
            out.append((str(value) if value is not None else nxt) * _REPEATS[tok])
            i += 2
            continue
        if tok.isdigit():
            out.append(tok)
        elif (value := _digit_value(tok)) is not None:
            out.append(str(value))
        elif tok in _UNITS:  # ten .. nineteen
            out.append(str(_UNITS[tok]))
        elif tok in _TENS:
            nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
            unit = _UNITS.get(nxt, _HOMOPHONES.get(nxt))
            if unit is not None and 0 < unit < 10:
                out.append(str(_TENS[tok] + unit))
                i += 1
            else:
                out.append(str(_TENS[tok]))
        elif tok == "hundred" and out:
            out.append("00")
        elif tok not in _FILLERS:
            return None
        i += 1
    return "".join(out) or None


def parse_yes_no(text: str) -> bool | None:
    """True for yes-like answers, False for no-like ones, None when unclear or both.

    A negator before a yes-word makes it a no ("that's not right"); "I don't
    know" and "not sure" are neither.
    """
    tokens = normalize(text)
    if not tokens:
        return None
    joined = " ".join(tokens)
    if any(" ".join(pair) in joined for pair in _UNSURE):
        return None
    if "uh huh" in joined:
        tokens = [t for t in tokens if t not in ("uh", "huh")] + ["uhhuh"]
    yes = no = False
    for i, tok in enumerate(tokens):
        if tok in _NO:
            no = True
        elif tok in _YES or (tok == "of" and tokens[i + 1 : i + 2] == ["course"]):
            negated = any(t in _NEGATORS for t in tokens[max(0, i - 2) : i])
            if negated:
                no = True
            else:
                yes = True
    if tokens in (["i", "do"], ["it", "is"], ["that", "is"]):
        yes = True  # a bare affirmative verb answer
    if yes == no:
        return None
    return yes


def parse_number(text: str) -> int | None:
    """The whole number in the text ("twenty three", "23", "a hundred and five"), else None.

    Only well-formed English cardinals are accepted: "five five" or
    "twenty eleven" are not numbers (use parse_digits for digit strings).
    """
    tokens = [t for t in normalize(text) if t not in ("um", "uh", "er", "erm")]
    if not tokens:
        return None
    if len(tokens) == 1 and tokens[0].isdigit():
        return int(tokens[0])
    total = 0
    current = 0
    last = ""  # kind of the previous token
    last_scale = None
    seen = False
    for i, tok in enumerate(tokens):
        value = _UNITS.get(tok, _HOMOPHONES.get(tok))
        if tok.isdigit():
            if last in ("unit", "tens", "numeral", "a"):
                return None
            current += int(tok)
            last = "numeral"
        elif value is not None:
            if last in ("unit", "numeral", "a") or (last == "tens" and value >= 10):
                return None
            if value == 0 and (seen or len(tokens) > 1):
                return None
            current += value
            last = "unit"
        elif tok in _TENS:
            if last in ("unit", "tens", "numeral", "a") or current % 100:
                return None
            current += _TENS[tok]
            last = "tens"
        elif tok == "a":
            nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
            if last not in ("", "and") or (nxt != "hundred" and nxt not in _SCALES):
                return None
            current = 1
            last = "a"
        elif tok == "hundred":
            if last not in ("unit", "numeral", "a") and not (last == "" and i == 0):
                return None
            if current >= 100:
                return None
            current = (current or 1) * 100
            last = "hundred"
        elif tok in _SCALES:
            scale = _SCALES[tok]
            if last_scale is not None and scale >= last_scale:
                return None
            if last in ("", "and"):
                return None
            total += (current or 1) * scale
            current = 0
            last_scale = scale
            last = "scale"
        elif tok == "and":
            if last not in ("hundred", "scale") or i == len(tokens) - 1:
                return None
            last = "and"
        else:
            return None
        seen = True
    if last == "and":
        return None
    return total + current

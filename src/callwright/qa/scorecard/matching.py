"""Did a speaker say something like this? Phrase matching by meaning and by wording.

A scorecard lists example phrasings; agents paraphrase them and the ASR garbles
them. Two measures cover both, and the higher one counts:

- meaning: cosine similarity between MiniLM sentence vectors of the example and
  of short stretches ("spans") of each utterance: its sentences, and windows of
  `WINDOW_WORDS` words, because a whole 40-word turn dilutes one clause's meaning;
- wording: rapidfuzz ratio between the example and every window of the
  utterance with about as many words (a word-aligned partial ratio), which keeps
  near-verbatim speech with recognition errors ("this goal may be recorded").
  Unrelated text of the same length already scores about 0.5 (shared letters),
  so the ratio is rescaled to put that at 0: only near-verbatim text scores high.

Both ignore a stretch whose negation differs from the example's ("this call is
not recorded" does not say "this call is recorded"): embeddings barely see a
"not", and a stretch closer to one of the rule's counter-examples (`not_phrases`:
"which account would you like to check" for an identity check) than to its
examples. Examples may name call metadata (`my name is {agent}`): the call's
values are put in before matching (`placeholders`). Vectors are cached by text,
so the same utterance text is embedded once per matcher, however many items and
scorecards look at it.

Every match carries the matched words: character offsets into the utterance's
text and their times (the words' own times when the transcript has them, else
spread evenly over the utterance, and the match says so).
"""

from __future__ import annotations

import functools
import itertools
import math
import re
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
from rapidfuzz import fuzz, process

from callwright.nlp.embeddings import Products, products
from callwright.qa.model import Transcript, Utterance
from callwright.qa.scorecard.model import PhraseRule
from callwright.qa.scorecard.placeholders import META_PLACEHOLDERS, PERSON_PLACEHOLDERS, fill_examples, names

if TYPE_CHECKING:  # pragma: no cover
    from callwright.nlp.embeddings import Encoder

WINDOW_WORDS = 10
STRIDE_WORDS = 5
SHORT_WINDOW_WORDS = 5  # also windows of 5 words every 2 (0: off), see span_ranges
SHORT_STRIDE_WORDS = 2
NEGATION_LOOKBACK = 3  # words before a stretch whose negation still applies to it ("we do not ...")
CHANCE_RATIO = 0.5  # rapidfuzz ratio of unrelated text of the same length: wording 0 here, 1 when verbatim
SHORT_EXAMPLE_WORDS = 3  # shorter examples count by wording only when the words are the same
CUE_NEGATION_LOOKBACK = 2  # words before a cue whose negation applies to it ("won't need any more")
QUESTION_LOOKBACK = 8  # words before a question cue ("other?") in which its question must open
MAX_CUE_FORMS = 200  # wordings one cue with alternatives may stand for ("(other|another) thing")
COUNTER_MARGIN = 0.05  # a stretch within this of a counter-example's similarity is taken as it
DEFAULT_CACHE = 20_000  # vectors (1.5 KB each): about 30 MB

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_LABEL = re.compile(r"\[[A-Z]+\]")  # a redaction label standing for what was said: "[NAME]"
_SENTENCE_END = (".", "!", "?", ";")
_CLAUSE_END = (*_SENTENCE_END, ",", ":")
_SUBJECTS = frozenset({"there", "you", "i", "we", "he", "she", "it", "they"})
# "no" before these is an idiom, not a negation: "no worries was that all you needed"
_NO_IDIOMS = frozenset({"problem", "problems", "worries", "worry", "bother", "trouble", "rush"})
# A question opens with an auxiliary before its subject ("is there", "did you", "does that")
# or with a question word ("what other questions"): what a question cue listens for
_AUXILIARIES = frozenset(
    {
        *"is are was were will would do does did can could may might shall should have has had".split(),
        *"isn't aren't wasn't weren't won't wouldn't don't doesn't didn't can't couldn't".split(),
        *"shouldn't haven't hasn't".split(),
    }
)
_QUESTION_SUBJECTS = _SUBJECTS | {"that", "this", "anything", "everything", "something", "someone", "anyone"}
# ...and a conditional invitation counts as asking: "if you've got other questions just shout"
_QUESTION_WORDS = frozenset({"what", "what's", "how", "how's", "which", "if", "unless"})
# An auxiliary after a subject is a statement ("we have that") only when the two agree: "thank
# you is there more" asks, since "you is" is no subject and verb (the auxiliaries of "he/it")
_SINGULAR_AUXILIARIES = frozenset({"is", "isn't", "has", "hasn't", "does", "doesn't"})
_PLURAL_SUBJECTS = frozenset({"you", "we", "they", "i"})
# An elliptical question drops its auxiliary and subject ("[do you have] any more questions for
# me", "[is there] anything besides that"): it opens with one of these at the start of a
# sentence, after nothing but discourse markers
_ELLIPTICAL_OPENERS = frozenset({"any", "anything", "something", "need", "want", "wanna"})
_DISCOURSE_MARKERS = frozenset(
    {
        *"okay ok alright all right so and well now great perfect sure then also lastly finally".split(),
        *"um uh er erm oh ah mm hmm mhm yeah yes cool lovely brilliant good fine excellent super".split(),
    }
)
_NEGATORS = frozenset(
    {
        "not",
        "never",
        "no",
        "nor",
        "cannot",
        "nothing",
        "nobody",
        "none",
        "neither",
        "don't",
        "doesn't",
        "didn't",
        "won't",
        "wouldn't",
        "can't",
        "couldn't",
        "shouldn't",
        "isn't",
        "aren't",
        "wasn't",
        "weren't",
        "haven't",
        "hasn't",
        "hadn't",
        "mustn't",
        "shan't",
        "ain't",
    }
)


@dataclass(frozen=True)
class Token:
    word: str  # lower case, punctuation stripped
    start: float
    end: float
    negator: bool
    cstart: int = 0  # character offsets of the word in the utterance text
    cend: int = 0
    label: bool = False  # a redaction label ("[NAME]" where the customer's name was said)


@dataclass(frozen=True)
class Match:
    """The best stretch of one utterance for a phrase rule."""

    utterance: int  # index into the transcript's utterances
    similarity: float  # max(meaning, wording), rounded to 4 places
    meaning: float
    wording: float
    example: str  # the example phrasing it matched best
    start: float  # time of the matched stretch
    end: float
    chars: tuple[int, int] | None = None  # character offsets of the matched words in the utterance text
    timed: bool = True  # start/end come from word times (False: spread evenly over the utterance)
    cue: str | None = None  # the rule's cue said here (similarity 1), as the scorecard writes it


def is_timed(u: Utterance) -> bool:
    """Whether the utterance's words carry their own times (one per piece of its text)."""
    return bool(u.words) and len(u.words) == len(u.text.split())


def tokens(u: Utterance) -> list[Token]:
    """Words of an utterance with times: the ASR's word times when they line up, else spread evenly."""
    pieces = list(re.finditer(r"\S+", u.text))
    raw = [m.group() for m in pieces]
    timed = is_timed(u)
    out: list[Token] = []
    clause_start: list[bool] = []  # per token: the first word of its raw piece opens a clause
    n = max(len(raw), 1)
    for i, (m, piece) in enumerate(zip(pieces, raw, strict=True)):
        lowered, at = fold(piece)
        found = list(_WORD.finditer(lowered))
        words = [f.group() for f in found]
        if not words:
            continue
        if timed:
            start, end = u.words[i].start, u.words[i].end
        else:
            start = u.start + (u.end - u.start) * i / n
            end = u.start + (u.end - u.start) * (i + 1) / n
        # "No," answers a question; a bare "no" negates ("there is no charge").
        interjection = lowered.rstrip(",.!?;:") != lowered and words == ["no"]
        for f in found:
            a, b = _piece_chars(piece, at, f.start(), f.end())
            label = lowered[f.start() - 1 : f.start()] == "[" and lowered[f.end() : f.end() + 1] == "]"
            if label:  # a redaction label is marked whole: "[ACCOUNT]", never "[ACCOUNT"
                a, b = at[f.start() - 1], at[f.end()] + 1
            negator = f.group() in _NEGATORS and not interjection
            out.append(Token(f.group(), start, end, negator, m.start() + a, m.start() + b, label))
        clause_start.append(i == 0 or raw[i - 1].endswith(_CLAUSE_END))
        clause_start.extend(False for _ in words[1:])
    return [
        replace(t, negator=False) if t.negator and (_asks(out, k, clause_start[k]) or _idiom(out, k)) else t
        for k, t in enumerate(out)
    ]


def fold(text: str) -> tuple[str, list[int]]:
    """`text` as the matcher reads it: lower case, accents dropped ("María" and "Mari\u0301a" are
    "maria"), curly apostrophes straight; and for each of its characters, the offset in `text` it
    came from. Words are found in the folded copy, so offsets into the text as written must be
    mapped back: the folded copy can be shorter (a combining accent) or longer ("ﬁ")."""
    if text.isascii():
        return text.lower(), list(range(len(text)))
    out: list[str] = []
    at: list[int] = []
    for i, ch in enumerate(text):
        for c in unicodedata.normalize("NFKD", ch.lower().replace("\u2019", "'")):
            if not unicodedata.combining(c):
                out.append(c)
                at.append(i)
    return "".join(out), at


def _piece_chars(piece: str, at: list[int], fa: int, fb: int) -> tuple[int, int]:
    """The offsets in `piece` of its folded characters [fa, fb), with the accents that follow the
    last one: the evidence marks the word as written ("[María]"), not the letters left after folding."""
    a, b = at[fa], at[fb - 1] + 1
    while b < len(piece) and unicodedata.combining(piece[b]):
        b += 1
    return a, b


def _idiom(toks: list[Token], k: int) -> bool:
    """ "No problem", "no worries": a courtesy, not a negation of what follows or precedes."""
    return toks[k].word == "no" and k + 1 < len(toks) and toks[k + 1].word in _NO_IDIOMS


def _asks(toks: list[Token], k: int, at_clause_start: bool) -> bool:
    """A negative question opening a clause ("Isn't there anything else?", "Don't you want
    the upgrade?") asks, it does not deny: "isn't there" in "it isn't there" does deny."""
    return (
        at_clause_start
        and toks[k].word.endswith("n't")
        and k + 1 < len(toks)
        and toks[k + 1].word in _SUBJECTS
    )


def normalise(text: str) -> list[str]:
    """The words of a text as the matcher compares them (`fold`: case and accents ignored)."""
    return _WORD.findall(fold(text)[0])


Said = tuple[tuple[str, ...], ...]  # word sequences a stretch must all say (`must_say`)


def must_say(example: str, values: Mapping[str, str | None]) -> Said:
    """The words a stretch must say for `example` to count on it: each call-metadata value the
    example names (`my name is {agent}`), a person's by the first name, others by all their words;
    a value that is a redaction label ("[NAME]") by the label. Meaning and wording barely tell one
    name from another ("hello my name is john" is 0.65 from "my name is maria" by meaning; "this is
    david speaking" 0.73 from "this is maria speaking" by wording), so without this an agent saying
    another name passes. A misheard name fails, as a reviewer reading the transcript would judge.
    Scorecard constants (`{company}`) need not be said verbatim: the brand is said in many forms."""
    from callwright.redaction.names import HONORIFICS  # "Dr Maria": her first name is Maria

    out: list[tuple[str, ...]] = []
    for name, _ in names(example):
        value = str(values.get(name) or "").strip()
        if name not in META_PLACEHOLDERS or not value:
            continue
        if _LABEL.fullmatch(value):
            out.append((value.lower(),))
            continue
        words = [w for w in normalise(value) if w not in HONORIFICS]
        if words:
            out.append(tuple(words[:1]) if name in PERSON_PLACEHOLDERS else tuple(words))
    return tuple(dict.fromkeys(out))


def _requirements(
    filled: list[tuple[str, str]], examples: list[str], values: Mapping[str, str | None]
) -> list[Said]:
    """`must_say` of each (normalised, filled) example; one filled alike from several phrasings
    needs only what the least demanding of them needs."""
    out: list[Said] = []
    for example in examples:
        needs = [must_say(o, values) for o, f in filled if " ".join(normalise(f)) == example]
        out.append(min(needs, key=len) if needs else ())
    return out


def _sentence_ends(u: Utterance) -> set[int]:
    """Token counts at which a sentence ends (from punctuation in the ASR text)."""
    ends, count = set(), 0
    for piece in u.text.split():
        count += len(normalise(piece))
        if piece.endswith(_SENTENCE_END):
            ends.add(count)
    return ends


_CUE_GROUP = re.compile(r"\(([^()]*)\)")


def is_question_cue(cue: str) -> bool:
    """A cue written with a final "?" counts only inside a question (`questions`)."""
    return cue.rstrip().endswith("?")


def cue_form_count(cue: str) -> int:
    """How many wordings `cue_forms` gives, counted without making them."""
    return math.prod(len(g.split("|")) for g in _CUE_GROUP.findall(cue))


def cue_forms(cue: str) -> list[str]:
    """The wordings a cue stands for: each `(a|b|c)` group is one of its alternatives, so
    "(other|another) (thing|question)?" is four cues; an empty alternative makes a group's words
    optional ("are you (all |)set"). The final "?" is left out (see `is_question_cue`)."""
    text = cue.rstrip()
    text = text[:-1] if text.endswith("?") else text
    parts = _CUE_GROUP.split(text)  # literal, group, literal, ...
    options = [[p] if i % 2 == 0 else p.split("|") for i, p in enumerate(parts)]
    forms = (" ".join("".join(choice).split()) for choice in itertools.product(*options))
    return list(dict.fromkeys(f for f in forms if f))


def _cue_name(original: str, form: str) -> str:
    """A cue as evidence names it: as the scorecard writes it, or the one form of its
    alternatives that was said ("another thing?" of "(other|another) (thing|question)?")."""
    if not _CUE_GROUP.search(original):
        return original
    return form + "?" if is_question_cue(original) else form


@functools.lru_cache(maxsize=1024)
def _cue_words(cue: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Each wording of a cue with its normalised words (cached: the same cues on every call)."""
    return tuple((form, said) for form in cue_forms(cue) if (said := tuple(normalise(form))))


_CueIndex = dict[str, list[tuple[str, tuple[str, ...], bool]]]


@functools.lru_cache(maxsize=256)
def _cue_index(cues: tuple[str, ...], values: tuple[tuple[str, str | None], ...]) -> _CueIndex:
    """A rule's cues by their first word (a cue with alternatives is many): (as the evidence names
    it, its words, whether it is a question cue). Cached per scorecard and call values: a bank
    item's cues stand for several hundred wordings, built once rather than on every call."""
    by_first: _CueIndex = {}
    for original, filled in fill_examples(cues, dict(values)):
        for form, said in _cue_words(filled):
            by_first.setdefault(said[0], []).append(
                (_cue_name(original, form), said, is_question_cue(original))
            )
    return by_first


@functools.lru_cache(maxsize=256)
def _not_cue_words(
    not_cues: tuple[str, ...], values: tuple[tuple[str, str | None], ...]
) -> tuple[tuple[str, ...], ...]:
    """The words of every wording of a rule's not_cues, with the call's values (cached as `_cue_index`)."""
    return tuple(
        said for _, filled in fill_examples(not_cues, dict(values)) for _, said in _cue_words(filled)
    )


def cue_wordings_said(
    rule: PhraseRule, text: str, values: Mapping[str, str | None] | None = None
) -> list[str]:
    """The wordings of `rule`'s cues said in `text` as whole words, each once per place, where no
    `not_cue` is said over it; unlike scoring, a question cue counts outside a question and a
    negator does not cancel a cue (the widest reading: what a cue could ever pass, as
    bench/qa_real/cue_check.py vets a cue edit against other kinds of sentence)."""
    filled = tuple(sorted((values or {}).items()))
    words = normalise(text)
    by_first = _cue_index(rule.cues, filled)
    excluded = _not_cue_words(rule.not_cues, filled) if rule.not_cues else ()
    said = {
        (a, cue)
        for a, word in enumerate(words)
        for _, cue, _ in by_first.get(word, ())
        if tuple(words[a : a + len(cue)]) == cue
        and not (excluded and _overlaps_said(words, a, a + len(cue), excluded))
    }
    return sorted(" ".join(cue) for _, cue in said)


def questions(u: Utterance, toks: list[Token]) -> list[bool]:
    """Per token, whether it is inside a question: its sentence ends with "?" (punctuated ASR
    text), or a question opens at it or in the `QUESTION_LOOKBACK` words before it within its sentence,
    with a question word ("what other questions"; also "if" and "unless", whose conditional
    invitations ask as much: "unless you've got more questions") or an auxiliary before a subject ("is there",
    "would you be needing", "does that cover"; not after a subject it agrees with: "we have that",
    while "thank you is there more" asks), which is how unpunctuated speech asks; or it is
    elliptical, opening its sentence after nothing but discourse markers with "any", "anything",
    "something", "need" or "want" ("okay so any more questions for me": the "do you have" left
    out; not "need to", whose "I" is left out), in a sentence that no full stop ends (unpunctuated
    speech; a "?" asks anyway)."""
    sentence: list[int] = []  # per token, the index of its sentence
    asked: list[bool] = []  # per sentence, whether it ends with "?"
    for piece in u.text.split():
        sentence.extend(len(asked) for _ in normalise(piece))
        if piece.endswith(_SENTENCE_END):
            asked.append(piece.endswith("?"))
    asked.append(False)
    if len(sentence) != len(toks):  # unusual whitespace: read the words alone
        sentence, asked = [0] * len(toks), [False]
    words = [t.word for t in toks]
    # per token, whether only discourse markers come before it in a sentence without a full stop
    # ("okay so any more..."; "Any questions about fees go to the branch." states)
    unended = len(asked) - 1  # the sentence after the last end mark
    leading, lead = [], True
    for k, word in enumerate(words):
        if k == 0 or sentence[k - 1] != sentence[k]:
            lead = True
        leading.append(lead and sentence[k] == unended)
        lead = lead and word in _DISCOURSE_MARKERS
    out = []
    for k in range(len(toks)):
        lo = k
        while lo > 0 and k - lo < QUESTION_LOOKBACK and sentence[lo - 1] == sentence[k]:
            lo -= 1
        opens = any(
            words[j] in _QUESTION_WORDS
            or (words[j] in _ELLIPTICAL_OPENERS and leading[j] and words[j + 1] != "to")  # "[I] need to"
            or (
                words[j] in _AUXILIARIES
                and words[j + 1] in _QUESTION_SUBJECTS
                and not _states(words, j)  # "we have that": no question
            )
            for j in range(lo, min(k + 1, len(toks) - 1))  # the cue's own first word may open it
        )
        out.append(asked[sentence[k]] or opens)
    return out


def _states(words: list[str], j: int) -> bool:
    """Whether the auxiliary at `j` follows its own subject, so it states rather than asks ("we
    have that"): a subject before it that agrees with it ("you is there" is no subject and verb)."""
    if j == 0 or words[j - 1] not in _QUESTION_SUBJECTS:
        return False
    return not (words[j - 1] in _PLURAL_SUBJECTS and words[j] in _SINGULAR_AUXILIARIES)


def _windows(n: int, size: int, stride: int) -> list[tuple[int, int]]:
    if n <= size:
        return [(0, n)] if n else []
    out = [(i, i + size) for i in range(0, n - size + 1, stride)]
    if out[-1][1] != n:
        out.append((n - size, n))
    return out


def span_ranges(u: Utterance, toks: list[Token]) -> list[tuple[int, int]]:
    """Token ranges compared by meaning. Punctuated text (Whisper): each sentence, windowed when
    long, and each pair of neighbouring sentences that fits a window (a phrase may straddle a
    full stop). Unpunctuated text (Vosk): overlapping windows."""
    n = len(toks)
    bounds = [0, *sorted(e for e in _sentence_ends(u) if 0 < e < n), n] if n else []
    sentences = [(a, b) for a, b in zip(bounds, bounds[1:], strict=False) if b > a]
    if len(sentences) <= 1:
        ranges = set(_windows(n, WINDOW_WORDS, STRIDE_WORDS))
        sentences = [(0, n)] if n else []
    else:
        ranges = {
            (a + x, a + y) for a, b in sentences for x, y in _windows(b - a, WINDOW_WORDS, STRIDE_WORDS)
        }
        ranges.update(
            (a, d) for (a, _), (_, d) in zip(sentences, sentences[1:], strict=False) if d - a <= WINDOW_WORDS
        )
    if SHORT_WINDOW_WORDS:
        # a short phrase inside a long unpunctuated turn ("... bank jennifer speaking how can i help")
        # is diluted in a 10-word window: short windows give it a stretch of its own size
        ranges.update(
            (a + x, a + y)
            for a, b in sentences
            if b - a > SHORT_WINDOW_WORDS
            for x, y in _windows(b - a, SHORT_WINDOW_WORDS, SHORT_STRIDE_WORDS)
        )
    return sorted(ranges)


def unit_ranges(u: Utterance, toks: list[Token], longest: int) -> list[tuple[int, int]]:
    """Token ranges of the whole sentences (by punctuation) and the whole turn that are longer than
    a window (`span_ranges` holds the shorter ones) and at most `longest` tokens: what a conduct
    classifier also rates as a whole (`CallText.rated_spans`)."""
    n = len(toks)
    if n <= WINDOW_WORDS:
        return []
    cuts = [0, *sorted(e for e in _sentence_ends(u) if 0 < e < n), n]
    ranges = {(a, b) for a, b in zip(cuts, cuts[1:], strict=False) if WINDOW_WORDS < b - a <= longest}
    if n <= longest:
        ranges.add((0, n))
    return sorted(ranges)


class PhraseMatcher:
    """Embeds texts through a bounded cache; share one across calls (and threads) in a batch."""

    # `embed_rated` also runs the texts to rate whose vectors are cached already (a scorecard
    # example said verbatim, "how can i help you today") through its one stacked pass, keeping
    # their cached vectors (False: a pass of their own afterwards, `ratings`, each costing a
    # forward pass's fixed cost)
    rate_cached_in_pass: bool = True

    def __init__(self, encoder: Encoder | None = None, cache_size: int = DEFAULT_CACHE) -> None:
        self._encoder = encoder
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self._ratings: OrderedDict[tuple[str, str], float] = OrderedDict()  # (classifier, text)
        self._products: Products | None = None  # what the cached vectors and ratings were computed in

    @property
    def encoder(self) -> Encoder:
        if self._encoder is None:
            from callwright.nlp.embeddings import get_encoder

            self._encoder = get_encoder()
        return self._encoder

    def vectors(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors for texts, embedding only those not seen before (in one batch)."""
        with self._lock:
            self._same_products()
            missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
            if missing:
                for text, vec in zip(missing, self.encoder.embed(missing), strict=True):
                    self._cache[text] = vec
            for t in texts:
                self._cache.move_to_end(t)
            out = np.stack([self._cache[t] for t in texts]) if texts else np.zeros((0, 1), np.float32)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return out

    @property
    def size(self) -> int:
        """How many texts have vectors in the cache."""
        return len(self._cache)

    def ratings(self, name: str, texts: Sequence[str]) -> np.ndarray:
        """Conduct model `name`'s probability of each text (callwright.nlp.conduct_model), rating
        only texts not rated before; texts rated in `embed_rated` cost nothing more here."""
        from callwright.nlp import conduct_model

        with self._lock:
            self._same_products()
            todo = list(dict.fromkeys(t for t in texts if (name, t) not in self._ratings))
            if todo:
                model = conduct_model.get_rater(name, self.encoder)
                for t, p in zip(todo, conduct_model.rate_texts(model, self.encoder, todo), strict=True):
                    self._ratings[name, t] = float(p)
            out = np.array([self._ratings[name, t] for t in texts], dtype=np.float32)
            self._trim_ratings()
        return out

    def embed_rated(self, texts: Sequence[str], rate: Mapping[str, Sequence[str]]) -> None:
        """Embed `texts` (as `vectors`) and rate the texts in `rate[name]` by conduct model `name`
        in the same forward pass: the models' tuned top layers start from the bottom layers' token
        states the encoder computes for the vectors anyway (`conduct_model.embed_and_rate`)."""
        from callwright.nlp import conduct_model

        names = [n for n, ts in rate.items() if ts]
        if not names:
            self.vectors(texts)
            return
        with self._lock:
            self._same_products()
            wanted = {(n, t) for n in names for t in rate[n] if (n, t) not in self._ratings}
            all_texts = list(dict.fromkeys([*texts, *(t for _, t in wanted)]))
            to_rate = {t for _, t in wanted}
            missing = [
                t for t in all_texts if t not in self._cache or (self.rate_cached_in_pass and t in to_rate)
            ]
            for t in all_texts:
                if t in self._cache:
                    self._cache.move_to_end(t)
            models = [conduct_model.get_rater(n, self.encoder) for n in names]
            rated = [any((n, t) in wanted for n in names) for t in missing]
            vecs, probs = conduct_model.embed_and_rate(self.encoder, missing, rated, models)
            for k, t in enumerate(missing):
                if t not in self._cache:  # a cached vector is kept: the same bits as before
                    self._cache[t] = vecs[k]
                for j, n in enumerate(names):
                    if (n, t) in wanted:
                        self._ratings[n, t] = float(probs[k, j])
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
            self._trim_ratings()
        # a text embedded before but not yet rated: its tuned layers run on their own
        for n in names:
            left = [t for t in rate[n] if (n, t) not in self._ratings]
            if left:
                self.ratings(n, left)

    def _same_products(self) -> None:
        """Empty the caches if the encoder's products (`callwright.nlp.embeddings.products`:
        float32, bfloat16 or int8) changed since they were filled: a vector or rating computed in
        one kind differs from another's in the last digits, and a cached one read under the other
        could move a near tie (a test pinned to float32 running after int8 ones, a benchmark
        comparing kinds). Called under the lock."""
        now = products()
        if now is not self._products:
            self._drop()
            self._products = now

    def _drop(self) -> None:
        """Empty the vector and rating caches. Called under the lock."""
        self._cache.clear()
        self._ratings.clear()

    def _trim_ratings(self) -> None:
        while len(self._ratings) > self._cache_size:
            self._ratings.popitem(last=False)

    def prepare(
        self,
        transcript: Transcript,
        values: Mapping[str, str | None] | None = None,
        rules: Sequence[PhraseRule] = (),
    ) -> CallText:
        """The transcript ready for matching; `values` fill the examples' placeholders (`{agent}`).
        `rules` (the scorecard's phrase rules) let the call's first embedding take everything
        they will need in one encoder call (`CallText.wanted`)."""
        return CallText(transcript, self, values, rules)

    def forget(self) -> None:
        """Drop the cached vectors and classifier ratings (a benchmark's fresh start; a change of
        products empties them by itself)."""
        with self._lock:
            self._drop()

    def warm(self, calls: Sequence[CallText]) -> int:
        """Embed what several prepared calls' rules will need in one encoder call: longer,
        fuller batches cut the encoder's fixed cost per forward pass (reading every weight
        once) and its padding. Returns how many texts that took; a call warmed here embeds
        nothing more for its rules."""
        wanted: list[str] = []
        rate: dict[str, list[str]] = {}
        for call in calls:
            if not call.warmed:
                wanted.extend(call.wanted())
                for name, texts in call.to_rate().items():
                    rate.setdefault(name, []).extend(texts)
                call.warmed = True
        before = self.size
        if wanted:
            self.embed_rated(wanted, rate)
        return self.size - before


@dataclass(frozen=True)
class _Spans:
    """Stretches of speech as parallel arrays, so masks and maxima are vectorised."""

    utterance: np.ndarray  # (n,) utterance index of each stretch
    start: np.ndarray
    end: np.ndarray
    negated: np.ndarray
    texts: list[str]
    cstart: np.ndarray  # character offsets of the stretch in its utterance's text
    cend: np.ndarray
    tstart: np.ndarray  # token range [tstart, tend) of the stretch in its utterance
    tend: np.ndarray


def _spans(ui: int, toks: list[Token], ranges: list[tuple[int, int]]) -> _Spans:
    return _Spans(
        np.full(len(ranges), ui, dtype=int),
        np.array([toks[a].start for a, _ in ranges], dtype=float),
        np.array([toks[b - 1].end for _, b in ranges], dtype=float),
        np.array([_negated(toks, a, b) for a, b in ranges], dtype=bool),
        [" ".join(t.word for t in toks[a:b]) for a, b in ranges],
        np.array([toks[a].cstart for a, _ in ranges], dtype=int),
        np.array([toks[b - 1].cend for _, b in ranges], dtype=int),
        np.array([a for a, _ in ranges], dtype=int),
        np.array([b for _, b in ranges], dtype=int),
    )


def _concat(parts: list[_Spans]) -> _Spans:
    if not parts:
        z = np.zeros(0, int)
        return _Spans(z, np.zeros(0), np.zeros(0), np.zeros(0, bool), [], z, z, z, z)
    return _Spans(
        np.concatenate([p.utterance for p in parts]),
        np.concatenate([p.start for p in parts]),
        np.concatenate([p.end for p in parts]),
        np.concatenate([p.negated for p in parts]),
        [t for p in parts for t in p.texts],
        np.concatenate([p.cstart for p in parts]),
        np.concatenate([p.cend for p in parts]),
        np.concatenate([p.tstart for p in parts]),
        np.concatenate([p.tend for p in parts]),
    )


class CallText:
    """One transcript prepared for matching: tokens, spans and their vectors, computed once."""

    # Wording of all of a rule's utterances in one pass per window size (False: utterance by
    # utterance, the straightforward form the batched one is tested against).
    batched: bool = True
    # With the scorecard's rules known, the first embedding takes all they need (every stretch
    # of their speakers, the call's filled examples and counter-examples) in one encoder call
    # (False: one call per speaker, then the examples as rules ask: the form it is tested against).
    one_pass: bool = True
    # the windows of a rule's utterances joined once per call and window size, for every rule
    # that looks at the same utterances (False: joined again for each rule)
    shared_windows: bool = True
    # the counter-examples' partial ratios only for the windows an example still counts on
    # (False: for every window, the form it is tested against)
    counter_where_needed: bool = True

    def __init__(
        self,
        transcript: Transcript,
        matcher: PhraseMatcher,
        values: Mapping[str, str | None] | None = None,
        rules: Sequence[PhraseRule] = (),
    ) -> None:
        self.transcript = transcript
        self.matcher = matcher
        self.values = dict(values or {})
        self.rules = tuple(rules)
        self.warmed = False  # `wanted` has been embedded
        self.timed = [is_timed(u) for u in transcript.utterances]
        self.tokens = [tokens(u) for u in transcript.utterances]
        self._spans: _Spans | None = None
        self._rated_spans: _Spans | None = None
        self._rated_sizes: tuple[np.ndarray, np.ndarray] | None = None
        self._whole_units: np.ndarray | None = None
        self._fuzzy_windows: dict[tuple[int, int], _Spans] = {}
        self._joined: dict[tuple[tuple[int, ...], int], tuple[_Spans, np.ndarray]] = {}
        self._embedded: set[str] = set()
        self._said: dict[tuple[str, ...], list[tuple[int, int]]] = {}  # `_where_said`, per call

    @property
    def spans(self) -> _Spans:
        """Stretches compared by meaning, across all utterances."""
        if self._spans is None:
            self._spans = _concat(
                [
                    _spans(ui, toks, span_ranges(u, toks))
                    for ui, (u, toks) in enumerate(zip(self.transcript.utterances, self.tokens, strict=True))
                ]
            )
        return self._spans

    @property
    def rated_spans(self) -> _Spans:
        """`spans` followed by the whole sentences and turns longer than a window
        (`unit_ranges`): the stretches a fine-tuned conduct classifier may rate."""
        if self._rated_spans is None:
            from callwright.nlp import conduct

            units = [
                _spans(ui, toks, unit_ranges(u, toks, conduct.UNIT_MAX_WORDS))
                for ui, (u, toks) in enumerate(zip(self.transcript.utterances, self.tokens, strict=True))
            ]
            self._rated_spans = _concat([self.spans, *units])
        return self._rated_spans

    def unfillable(self, rule: PhraseRule) -> list[str]:
        """The placeholders without a value on this call, when they leave the rule no example."""
        if fill_examples(rule.phrases, self.values):
            return []
        return sorted({n for p in rule.phrases for n, _ in names(p) if not self.values.get(n)})

    def stretches(self, rule: PhraseRule, duration: float) -> tuple[np.ndarray, np.ndarray]:
        """Indices into `spans` of the stretches the rule may look at (its speaker and time window)
        and their unit vectors, from the matcher's cache: a classifier over the same stretches
        (`classifier:` on a forbidden item, callwright.nlp.conduct) costs no extra embedding."""
        spans = self.spans
        self._embed_speaker(rule.speaker)
        keep = _in_window(spans.start, spans.end, rule, duration)
        if rule.speaker != "any":
            roles = np.array([str(u.speaker) for u in self.transcript.utterances], dtype=object)
            keep &= roles[spans.utterance] == rule.speaker
        idx = np.flatnonzero(keep)
        if not len(idx):
            return idx, np.zeros((0, 1), np.float32)
        return idx, self.matcher.vectors([spans.texts[i] for i in idx])

    def rated_stretches(self, rule: PhraseRule, duration: float | None, units: bool = True) -> np.ndarray:
        """Indices into `spans` of the stretches a classifier rates for `rule` (None: whatever
        the time window): its speaker's stretches of `conduct.CLASSIFY_MIN_WORDS` words or more,
        whole turns, and whole sentences of `conduct.SENTENCE_MIN_WORDS` or more, so a short
        remark inside a long turn ("not my problem.") is also rated on its own. Five-word windows
        cut across sentences are left out: "name is michael how can" is not something said.
        With `units`, the indices are into `rated_spans` and take in its whole sentences and turns
        longer than a window as well."""
        from callwright.nlp import conduct

        spans = self.rated_spans if units else self.spans
        n_spans = len(self.spans.texts)
        keep = np.ones(len(spans.texts), bool)
        if duration is not None:
            keep &= _in_window(spans.start, spans.end, rule, duration)
        if rule.speaker != "any":
            roles = np.array([str(u.speaker) for u in self.transcript.utterances], dtype=object)
            keep &= roles[spans.utterance] == rule.speaker
        sizes, whole = (a[: len(spans.texts)] for a in self._sizes())
        rated = (sizes >= conduct.CLASSIFY_MIN_WORDS) | (sizes == whole)
        if conduct.SENTENCE_MIN_WORDS:
            rated |= self.whole_units()[: len(spans.texts)] & (sizes >= conduct.SENTENCE_MIN_WORDS)
        rated[n_spans:] = True  # the whole sentences and turns longer than any window
        return np.flatnonzero(keep & rated)

    def whole_units(self) -> np.ndarray:
        """Whether each stretch of `rated_spans` is a whole sentence (by punctuation) or a whole
        turn, rather than a window cut from one (computed once per call: every rule asks)."""
        if self._whole_units is None:
            n_spans = len(self.spans.texts)
            sizes, whole = self._sizes()
            out = sizes == whole
            out[:n_spans] |= self._sentences()
            out[n_spans:] = True
            self._whole_units = out
        return self._whole_units

    def _sizes(self) -> tuple[np.ndarray, np.ndarray]:
        """The words in each stretch of `rated_spans` and in its whole turn, computed once."""
        if self._rated_sizes is None:
            spans = self.rated_spans
            sizes = np.array([t.count(" ") + 1 for t in spans.texts], dtype=int)
            whole = np.array([len(self.tokens[int(ui)]) for ui in spans.utterance], dtype=int)
            self._rated_sizes = (sizes, whole)
        return self._rated_sizes

    def _sentences(self) -> np.ndarray:
        """Whether each stretch of `spans` is exactly one sentence of its turn (by punctuation):
        `spans` holds each turn's `span_ranges` in order, so they are read again alongside."""
        out: list[bool] = []
        for u, toks in zip(self.transcript.utterances, self.tokens, strict=True):
            cuts = [0, *sorted(e for e in _sentence_ends(u) if 0 < e < len(toks)), len(toks)]
            sentences = set(zip(cuts, cuts[1:], strict=False))
            out += [r in sentences for r in span_ranges(u, toks)]
        return np.array(out, dtype=bool)

    def rating_plan(self, rule: PhraseRule, duration: float | None) -> tuple[np.ndarray, np.ndarray]:
        """(idx, holder): the stretches a classifier rates for `rule` (`rated_stretches`) and, for
        each, the position in `idx` of the smallest whole sentence or turn among them that holds
        it (-1: a whole itself, or a window no rated whole holds). A window counts only where its
        holder rates at least `conduct.CONTEXT_FLOOR`, so it needs rating only there: the wholes
        and the windows without one are rated first (`to_rate`), the others as their holders ask."""
        idx = self.rated_stretches(rule, duration)
        spans = self.rated_spans
        units = self.whole_units()[idx]
        utt, cs, ce = spans.utterance[idx], spans.cstart[idx], spans.cend[idx]
        holder = np.full(len(idx), -1, dtype=int)
        for k in np.flatnonzero(~units):
            holds = np.flatnonzero(units & (utt == utt[k]) & (cs <= cs[k]) & (ce >= ce[k]))
            if len(holds):
                holder[k] = holds[np.argmin((ce - cs)[holds])]
        return idx, holder

    def to_rate(self) -> dict[str, list[str]]:
        """Per conduct model, the texts its rules given to `prepare` rate first on this call (any
        time window: `rating_plan`), so the first embedding rates them in the same pass
        (`embed_rated`)."""
        from callwright.nlp import conduct

        out: dict[str, list[str]] = {}
        spans = self.rated_spans
        for rule in self.rules:
            if rule.classifier and conduct.SPECS[rule.classifier].tuned_layers:
                idx, holder = self.rating_plan(rule, None)
                out.setdefault(rule.classifier, []).extend(spans.texts[i] for i in idx[holder < 0])
        return {n: list(dict.fromkeys(ts)) for n, ts in out.items()}

    def matches(self, rule: PhraseRule, duration: float) -> list[Match]:
        """The best match in each utterance the rule may look at (speaker, time window);
        similarity 0 where nothing in it compares (all of it negated, say)."""
        filled = fill_examples(rule.phrases, self.values)  # (original, with the call's values)
        examples = [e for e in dict.fromkeys(" ".join(normalise(f)) for _, f in filled) if e]
        counter = [
            e
            for e in dict.fromkeys(
                " ".join(normalise(f)) for _, f in fill_examples(rule.not_phrases, self.values)
            )
            if e
        ]
        candidates = [
            i
            for i, u in enumerate(self.transcript.utterances)
            if (rule.speaker == "any" or u.speaker == rule.speaker) and self.tokens[i]
        ]
        if not examples or not candidates:
            return []
        ex_negated = np.array([any(w in _NEGATORS for w in e.split()) for e in examples])
        said = _requirements(filled, examples, self.values)
        meaning = self._meaning(examples, ex_negated, said, counter, candidates, rule, duration)
        utts = self.transcript.utterances
        inside = [
            ui
            for ui in candidates
            if _in_window(np.array([utts[ui].start]), np.array([utts[ui].end]), rule, duration)[0]
        ]
        if self.batched:
            wording = self._wording_all(inside, examples, ex_negated, said, counter, rule, duration)
        else:
            wording = {
                ui: self._wording(ui, examples, ex_negated, said, counter, rule, duration) for ui in inside
            }
        cues = self._cues(rule, inside, duration, counter) if rule.cues else {}
        out = []
        for ui in inside:
            u = utts[ui]
            whole = (u.start, u.end, 0, len(u.text))
            best_m, ex_m, t_m = meaning.get(ui, (0.0, 0, whole))
            best_w, ex_w, t_w = wording[ui]
            if ui in cues and max(best_m, best_w) < rule.threshold:  # an example's match shows more words
                cue, (start, end, ca, cb) = cues[ui]
                out.append(
                    Match(
                        ui,
                        1.0,
                        round(best_m, 4),
                        round(best_w, 4),
                        cue,
                        start,
                        end,
                        (ca, cb),
                        self.timed[ui],
                        cue,
                    )
                )
                continue
            use_meaning = best_m >= best_w
            ex, (start, end, ca, cb) = (ex_m, t_m) if use_meaning else (ex_w, t_w)
            out.append(
                Match(
                    ui,
                    round(max(best_m, best_w), 4),
                    round(best_m, 4),
                    round(best_w, 4),
                    _original(filled, examples[ex]),
                    start,
                    end,
                    (ca, cb),
                    self.timed[ui],
                )
            )
        return out

    def _cues(
        self, rule: PhraseRule, uis: list[int], duration: float, counter: list[str]
    ) -> dict[int, tuple[str, _Where]]:
        """The first cue said in each utterance, verbatim as whole words, inside the time window:
        not negated (a negator among its words or the two before: "there isn't anything else";
        "no" is left out, it rarely flips a cue: "no problem thanks", except right before a
        question cue: "there are no other issues"), and not inside a stretch
        that says a counter-example with the same cue in it (similarity at the rule's threshold
        or above), nor where one of the rule's `not_cues` is said over its words ("someone else"
        for "else"). A question cue (written with a final "?": `other?`) counts only inside a
        question the speaker asks (`questions`): "what other questions do you have", not "your
        other card is cancelled"."""
        values = tuple(sorted(self.values.items()))
        by_first = _cue_index(rule.cues, values)
        # words said over a cue that make it something else ("someone else" for "else")
        excluded = _not_cue_words(rule.not_cues, values) if rule.not_cues else ()
        out: dict[int, tuple[str, _Where]] = {}
        for ui in uis:
            toks = self.tokens[ui]
            words = [t.word for t in toks]
            asked: list[bool] | None = None  # per token: inside a question (for question cues)
            hits = []
            for a, word in enumerate(words):
                for original, cue, question in by_first.get(word, ()):
                    n = len(cue)
                    if tuple(words[a : a + n]) != cue:
                        continue
                    if excluded and _overlaps_said(words, a, a + n, excluded):
                        continue
                    before = toks[max(0, a - CUE_NEGATION_LOOKBACK) : a + n]
                    if any(t.negator and t.word != "no" for t in before):
                        continue
                    if question and a and toks[a - 1].negator:  # "there are no other issues" denies
                        continue
                    if question:
                        if asked is None:
                            asked = questions(self.transcript.utterances[ui], toks)
                        if not asked[a]:
                            continue
                    first, last = toks[a], toks[a + n - 1]
                    if not _in_window(np.array([first.start]), np.array([last.end]), rule, duration)[0]:
                        continue
                    hits.append((a, original, cue, (first.start, last.end, first.cstart, last.cend)))
            for _, original, cue, where in sorted(hits, key=lambda h: h[0]):
                # only a counter-example with the cue in it can veto it: "thank you for holding"
                # vetoes "thank", while "how can i help you today" says nothing about "else"
                vetoes = [c for c in counter if _contains(c.split(), cue)]
                if vetoes and self._says_counter(ui, where[2], where[3], vetoes, rule.threshold):
                    continue
                out[ui] = (original, where)
                break
        return out

    def _says_counter(self, ui: int, ca: int, cb: int, counter: list[str], threshold: float) -> bool:
        """Whether a meaning stretch of utterance `ui` covering characters [ca, cb) is at least
        `threshold` similar to a counter-example ("thank you for holding" for a closing's "thank")."""
        spans = self.spans
        idx = np.flatnonzero((spans.utterance == ui) & (spans.cstart <= ca) & (spans.cend >= cb))
        if not len(idx):
            return False
        sims = self.matcher.vectors([spans.texts[i] for i in idx]) @ self.matcher.vectors(counter).T
        return bool(sims.max() >= threshold)

    def _meaning(
        self,
        examples: list[str],
        ex_negated: np.ndarray,
        said: list[Said],
        counter: list[str],
        candidates: list[int],
        rule: PhraseRule,
        duration: float,
    ) -> dict[int, tuple[float, int, _Where]]:
        spans = self.spans
        self._embed_speaker(rule.speaker)
        keep = np.isin(spans.utterance, candidates) & _in_window(spans.start, spans.end, rule, duration)
        idx = np.flatnonzero(keep)
        if not len(idx):
            return {}
        # only the stretches this rule may look at are embedded (the matcher caches them)
        vectors = self.matcher.vectors([spans.texts[i] for i in idx])
        sims = vectors @ self.matcher.vectors(examples).T  # (spans, examples)
        sims[spans.negated[idx][:, None] != ex_negated[None, :]] = 0.0
        for ei, needs in enumerate(said):
            if needs:
                sims[~self._says(spans, idx, needs), ei] = 0.0
        if counter:
            # a stretch does not count when it, or a stretch of the same turn overlapping it, is at
            # least as close to a counter-example: a 5-word window "can i help you today" cut from
            # "how can i help you today" must not pass for "can i help you with anything else"
            closest = (vectors @ self.matcher.vectors(counter).T).max(axis=1)
            utt, ca, cb = spans.utterance[idx], spans.cstart[idx], spans.cend[idx]
            near = (utt[:, None] == utt[None, :]) & (ca[:, None] < cb[None, :]) & (ca[None, :] < cb[:, None])
            closest_near = np.where(near, closest[None, :], -1.0).max(axis=1)
            sims[sims <= closest_near[:, None] + COUNTER_MARGIN] = 0.0
        best_ex = sims.argmax(axis=1)
        best = sims[np.arange(len(idx)), best_ex]
        out: dict[int, tuple[float, int, _Where]] = {}
        for k, si in enumerate(idx):
            ui = int(spans.utterance[si])
            if ui not in out or best[k] > out[ui][0]:
                out[ui] = (float(best[k]), int(best_ex[k]), _where(spans, int(si)))
        return out

    def _says(self, spans: _Spans, idx: np.ndarray, said: Said) -> np.ndarray:
        """Whether each of these stretches says every word sequence of `said` (`must_say`)."""
        utt, a, b = spans.utterance[idx], spans.tstart[idx], spans.tend[idx]
        ok = np.ones(len(idx), dtype=bool)
        for seq in said:
            found = np.zeros(len(idx), dtype=bool)
            for ui, p in self._where_said(seq):
                found |= (utt == ui) & (a <= p) & (b >= p + len(seq))
            ok &= found
        return ok

    def _where_said(self, seq: tuple[str, ...]) -> list[tuple[int, int]]:
        """(utterance, token) wherever these words are said in the call, a redaction label as
        itself ("[name]"); found once per call (a name is said once or twice)."""
        if seq not in self._said:
            self._said[seq] = [
                (ui, p)
                for ui, toks in enumerate(self.tokens)
                for p in range(len(toks) - len(seq) + 1)
                if tuple(_said_word(t) for t in toks[p : p + len(seq)]) == seq
            ]
        return self._said[seq]

    def _embed_speaker(self, speaker: str) -> None:
        """Embed every stretch of this speaker's speech in one batch, the first time a rule asks:
        items with different time windows would otherwise each embed a small batch of their own."""
        if speaker in self._embedded:
            return
        self._embedded.add(speaker)
        if self.one_pass and self.rules and speaker in self._speakers():
            if not self.warmed:
                self.warmed = True
                self.matcher.embed_rated(self.wanted(), self.to_rate())
            return
        spans = self.spans
        roles = [u.speaker for u in self.transcript.utterances]
        texts = [
            t
            for t, ui in zip(spans.texts, spans.utterance, strict=True)
            if speaker == "any" or roles[ui] == speaker
        ]
        if texts:
            self.matcher.vectors(texts)

    def _speakers(self) -> set[str]:
        return {r.speaker for r in self.rules}

    def wanted(self) -> list[str]:
        """Every text the rules given to `prepare` will embed on this call: the stretches of
        their speakers' speech (all of them: a rule with a time window also looks at the whole
        call for a late match) and their examples and counter-examples with this call's values."""
        speakers = self._speakers()
        if not speakers:
            return []
        spans = self.spans
        roles = [u.speaker for u in self.transcript.utterances]
        texts = [
            t
            for t, ui in zip(spans.texts, spans.utterance, strict=True)
            if "any" in speakers or roles[ui] in speakers
        ]
        for rule in self.rules:
            for _, filled in fill_examples((*rule.phrases, *rule.not_phrases), self.values):
                if example := " ".join(normalise(filled)):
                    texts.append(example)
        return list(dict.fromkeys(texts))

    def _wording(
        self,
        ui: int,
        examples: list[str],
        ex_negated: np.ndarray,
        said: list[Said],
        counter: list[str],
        rule: PhraseRule,
        duration: float,
    ) -> tuple[float, int, _Where]:
        u = self.transcript.utterances[ui]
        best: tuple[float, int, _Where] = (0.0, 0, (u.start, u.end, 0, len(u.text)))
        n_tokens = len(self.tokens[ui])
        by_length: dict[int, list[int]] = {}
        for ei, example in enumerate(examples):
            by_length.setdefault(example.count(" ") + 1, []).append(ei)
        for n, group in by_length.items():
            for size in sorted({max(n - 1, 1), n, n + 1}):
                if size > n_tokens and size != n:
                    continue  # a shorter turn is compared whole, once
                w = self._fuzzy(ui, size)
                usable = _in_window(w.start, w.end, rule, duration)
                ratios = (
                    process.cdist([examples[e] for e in group], w.texts, scorer=fuzz.ratio, dtype=np.float32)
                    / 100.0
                )
                scores = np.clip((ratios - CHANCE_RATIO) / (1.0 - CHANCE_RATIO), 0.0, 1.0)
                # partial: a window that is a piece of a longer counter-example ("else i can help
                # you with" of "is there anything else i can help you with") is that counter-example
                closest_counter = (
                    process.cdist(counter, w.texts, scorer=fuzz.partial_ratio, dtype=np.float32).max(axis=0)
                    / 100.0
                    if counter
                    else None
                )
                for row, ei in enumerate(group):
                    s = np.where(usable & (w.negated == ex_negated[ei]), scores[row], 0.0)
                    if said[ei]:
                        s = np.where(self._says(w, np.arange(len(w.texts)), said[ei]), s, 0.0)
                    if closest_counter is not None:
                        s = np.where(ratios[row] > closest_counter, s, 0.0)
                    if n < SHORT_EXAMPLE_WORDS:
                        s = np.where(s >= 1.0, s, 0.0)
                    k = int(s.argmax())
                    if s[k] > best[0]:
                        best = (float(s[k]), ei, _where(w, k))
        return best

    def _wording_all(
        self,
        uis: list[int],
        examples: list[str],
        ex_negated: np.ndarray,
        said: list[Said],
        counter: list[str],
        rule: PhraseRule,
        duration: float,
    ) -> dict[int, tuple[float, int, _Where]]:
        """`_wording` for many utterances at once, with the same result for each: one rapidfuzz
        call per window size over every utterance's windows instead of one per utterance, example
        length and size (those small calls were most of the wording's cost). Ties go where
        `_wording` puts them: the first (example length, size, example) in its order, then the
        first window."""
        utts = self.transcript.utterances
        out: dict[int, tuple[float, int, _Where]] = {
            ui: (0.0, 0, (utts[ui].start, utts[ui].end, 0, len(utts[ui].text))) for ui in uis
        }
        if not uis:
            return out
        plan = _wording_plan(tuple(examples))
        order = plan.order
        n_tokens = np.array([len(self.tokens[ui]) for ui in uis])
        best = np.zeros((len(order), len(uis)), dtype=np.float32)  # per (example, size) and utterance
        where: dict[int, tuple[_Spans, np.ndarray, np.ndarray]] = {}  # size -> windows, scores, offsets
        for size, rows, group, short, lengths in plan.sizes:
            w, offsets = self._windows_of(uis, size)
            usable = _in_window(w.start, w.end, rule, duration)
            ratios = process.cdist(plan.texts[size], w.texts, scorer=fuzz.ratio, dtype=np.float32) / 100.0
            scores = np.clip((ratios - CHANCE_RATIO) / (1.0 - CHANCE_RATIO), 0.0, 1.0)
            s = np.where(usable[None, :] & (w.negated[None, :] == ex_negated[group][:, None]), scores, 0.0)
            s = np.where(short[:, None] & (s < 1.0), 0.0, s)
            for row, ei in enumerate(group):
                if said[ei]:
                    s[row] = np.where(self._says(w, np.arange(len(w.texts)), said[ei]), s[row], 0.0)
            if counter:
                s = np.where(ratios > self._closest_counter(counter, w.texts, s), s, 0.0)
            seg = np.maximum.reduceat(
                s, offsets[:-1], axis=1
            )  # (rows, utterances): every segment is non-empty
            # a shorter turn is compared whole, once: at the example's own length, not at n + 1
            skipped = (size > n_tokens[None, :]) & (size != lengths[:, None])
            best[rows] = np.where(skipped, 0.0, seg)
            where[size] = (w, s, offsets)
        first = best.argmax(axis=0)  # the first (example, size) reaching the maximum, as `_wording`
        row_of = plan.row_of
        for j, ui in enumerate(uis):
            r = int(first[j])
            if best[r, j] > 0.0:
                ei, _, size = order[r]
                w, s, offsets = where[size]
                row = row_of[r]
                a, b = int(offsets[j]), int(offsets[j + 1])
                k = int(s[row, a:b].argmax())
                out[ui] = (float(best[r, j]), ei, _where(w, a + k))
        return out

    def _closest_counter(self, counter: list[str], texts: list[str], s: np.ndarray) -> np.ndarray:
        """Per window, the highest partial ratio of a counter-example to it (0-1), as `_wording`
        compares them. With `counter_where_needed`, only for the windows some example still
        counts on (`s`, the examples' scores, is above 0 somewhere in its column: about one in
        eight on the real calls; elsewhere the comparison zeroes nothing that is not 0 already),
        and below 0.5 as 0 (rapidfuzz's `score_cutoff`: a counted window's ratio is above 0.5,
        so it beats any lower value alike). The partial ratios were most of the wording's cost."""
        if not self.counter_where_needed:
            closest = process.cdist(counter, texts, scorer=fuzz.partial_ratio, dtype=np.float32).max(axis=0)
            return closest / 100.0
        out = np.zeros(len(texts), dtype=np.float32)
        cols = np.flatnonzero(s.max(axis=0) > 0.0) if s.size else np.zeros(0, dtype=int)
        if len(cols):
            ratios = process.cdist(
                counter,
                [texts[k] for k in cols],
                scorer=fuzz.partial_ratio,
                dtype=np.float32,
                score_cutoff=CHANCE_RATIO * 100.0,
            )
            out[cols] = ratios.max(axis=0) / 100.0
        return out

    def _windows_of(self, uis: list[int], size: int) -> tuple[_Spans, np.ndarray]:
        """The `size`-word windows of these utterances end to end, and where each utterance's
        start (cached: a call's rules mostly look at the same utterances, one speaker's)."""
        key = (tuple(uis), size)
        if self.shared_windows and key in self._joined:
            return self._joined[key]
        parts = [self._fuzzy(ui, size) for ui in uis]
        offsets = np.concatenate([[0], np.cumsum([len(p.texts) for p in parts])])
        joined = (_concat(parts), offsets)
        if self.shared_windows:
            self._joined[key] = joined
        return joined

    def _fuzzy(self, ui: int, size: int) -> _Spans:
        """Every window of `size` words of one utterance (cached: items share them)."""
        key = (ui, size)
        if key not in self._fuzzy_windows:
            toks = self.tokens[ui]
            self._fuzzy_windows[key] = _spans(ui, toks, _windows(len(toks), size, 1))
        return self._fuzzy_windows[key]


_Where = tuple[float, float, int, int]  # start and end time, start and end character


@dataclass(frozen=True)
class _WordingPlan:
    """How `CallText._wording_all` walks a rule's examples: (example, its length, window size)
    in `_wording`'s order, and per window size its rows of that order, their examples, whether
    each is short, their lengths and the examples' texts. The same examples come on every call
    (only those naming call metadata change), so it is worked out once (`_wording_plan`)."""

    order: list[tuple[int, int, int]]
    sizes: list[tuple[int, list[int], list[int], np.ndarray, np.ndarray]]
    texts: dict[int, list[str]]
    row_of: dict[int, int]  # row of `order` -> its row among those of its window size


@functools.lru_cache(maxsize=1024)
def _wording_plan(examples: tuple[str, ...]) -> _WordingPlan:
    by_length: dict[int, list[int]] = {}
    for ei, example in enumerate(examples):
        by_length.setdefault(example.count(" ") + 1, []).append(ei)
    order = [  # (example, its length, window size) in the order `_wording` visits them
        (ei, n, size)
        for n, group in by_length.items()
        for size in sorted({max(n - 1, 1), n, n + 1})
        for ei in group
    ]
    sizes: list[tuple[int, list[int], list[int], np.ndarray, np.ndarray]] = []
    texts: dict[int, list[str]] = {}
    row_of: dict[int, int] = {}
    for size in sorted({size for _, _, size in order}):
        rows = [r for r, (_, _, sz) in enumerate(order) if sz == size]
        group = [order[r][0] for r in rows]
        short = np.array([order[r][1] < SHORT_EXAMPLE_WORDS for r in rows])
        lengths = np.array([order[r][1] for r in rows])
        sizes.append((size, rows, group, short, lengths))
        texts[size] = [examples[e] for e in group]
        row_of.update((r, k) for k, r in enumerate(rows))
    return _WordingPlan(order, sizes, texts, row_of)


def _where(spans: _Spans, k: int) -> _Where:
    return (float(spans.start[k]), float(spans.end[k]), int(spans.cstart[k]), int(spans.cend[k]))


def _original(filled: list[tuple[str, str]], example: str) -> str:
    """The scorecard's wording of an example (placeholders and all) from its normalised, filled form."""
    for original, text in filled:
        if " ".join(normalise(text)) == example:
            return original
    return filled[0][0] if filled else ""


def _said_word(t: Token) -> str:
    """A token as `must_say` reads it: a redaction label as "[name]", not the word "name"."""
    return f"[{t.word}]" if t.label else t.word


def _contains(words: list[str], cue: tuple[str, ...]) -> bool:
    n = len(cue)
    return any(tuple(words[i : i + n]) == cue for i in range(len(words) - n + 1))


def _overlaps_said(words: list[str], a: int, b: int, said: tuple[tuple[str, ...], ...]) -> bool:
    """Whether one of these word sequences is said over any of the words [a, b) ("someone else"
    over "else", "all set to" over "you all set")."""
    for seq in said:
        m = len(seq)
        for p in range(max(0, a - m + 1), min(b, len(words) - m + 1)):
            if tuple(words[p : p + m]) == seq:
                return True
    return False


def _negated(toks: list[Token], a: int, b: int) -> bool:
    return any(t.negator for t in toks[max(0, a - NEGATION_LOOKBACK) : b])


def _in_window(start: np.ndarray, end: np.ndarray, rule: PhraseRule, duration: float) -> np.ndarray:
    """A stretch is within the first N s when it starts before N, within the last N s when it ends after."""
    keep = np.ones(len(start), dtype=bool)
    if rule.within_first_s is not None:
        keep &= start < rule.within_first_s
    if rule.within_last_s is not None:
        keep &= end > duration - rule.within_last_s
    return keep

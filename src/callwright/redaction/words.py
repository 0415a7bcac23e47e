"""Redaction of recogniser output that carries word timestamps.

The words are joined into one text and redacted with the same detectors as
plain text, so a card number said across sixteen words ("four one one one
...") is one span. The words a span touches are merged into one redacted word
("[CARD]") that keeps their start and end, and the span's time range is
returned so the same stretch can be silenced in the audio. When the recogniser
hears "my card number is" and then nothing for a while, that pause is returned
too: the number may be in it, unrecognised (a real failure seen in
bench/redaction_audio.py).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from callwright.redaction.ner import PersonFinder
from callwright.redaction.payment import CVV_CUES, EXPIRY_CUES, unanswered_card_cues
from callwright.redaction.scan import Kind, Scan, phrases
from callwright.redaction.text import (
    ALL,
    CONTEXT_JOIN,
    RedactedSpan,
    apply_spans,
    detect,
    parse_kinds,
    spans_of,
)

UNHEARD_GAP_S = 1.0
"""A pause this long right after "my card number is" may hold digits the recogniser missed."""
LEAD_IN_WORDS = {
    "is", "it's", "its", "it", "uh", "um", "er", "erm", "please", "okay", "ok", "so", "yes",
    "yeah", "sure", "that's", "thats", "right", "then",
}  # fmt: skip
MAX_UNHEARD_S = 20.0
"""The longest such stretch silenced: about the time it takes to read out a card."""
CARD_DETAILS_S = 20.0
"""After a card number, the audio copy is silenced this long: the expiry date and security code
follow within it (11 s after the card in the card-payment sample), and a short answer like "seven
four one" is what the recogniser most often mishears ("remember for one"), so the text rules
cannot be relied on to find it. This is what PCI pause-and-resume recording does."""
DETAIL_ANSWER_S = 8.0
"""After a security-code or expiry cue ("the three digits on the back?"), the audio copy is
silenced this long, for the same reason, when no card number was heard before it."""


ANSWER_CUES = (
    (phrases("account number", "account no", "account num"), Kind.ACCOUNT),
    (phrases("routing number", "routing no", "aba number", "transit number"), Kind.ROUTING),
    (phrases("pin", "p i n", "pin number", "passcode", "pass code", "password", "access code"), Kind.PIN),
    (phrases("date of birth", "birth date", "birthdate", "birthday", "dob", "d o b"), Kind.DOB),
)
"""Cues after which a bank-grade answer follows that the recogniser may mishear: the audio copy is
silenced `DETAIL_ANSWER_S` after them, as after a security-code cue."""


class Timed(Protocol):
    """Anything with a start and end in seconds: a word, a `TimeRange`."""

    @property
    def start(self) -> float: ...
    @property
    def end(self) -> float: ...


class WordLike(Timed, Protocol):
    """Anything with a word and its time in seconds, like the recogniser's `Word`."""

    @property
    def word(self) -> str: ...


@dataclass(frozen=True)
class RedactedWord:
    """A word as it may be stored: unchanged, or several words merged into "[CARD]"."""

    word: str
    start: float
    end: float
    confidence: float | None = None
    kind: Kind | None = None
    """What was redacted in this word, or None when it is the recogniser's word unchanged."""


@dataclass(frozen=True)
class TimeRange:
    """Seconds from the start of the recording that held a redacted value."""

    start: float
    end: float
    kind: Kind
    transcribed: bool = True
    """False for a stretch after a card cue where the recogniser produced no words: it is
    silenced in case it held the card number (there is no text to redact for it)."""


def _confidence(words: Sequence[WordLike]) -> float | None:
    values = [c for w in words if (c := getattr(w, "confidence", None)) is not None]
    return float(min(values)) if values else None


# A word's label: the spans it is part of, each tagged with the text ("source") they index.
_Label = frozenset[tuple[int, RedactedSpan]]


@dataclass(frozen=True)
class _Found:
    """What detection found in one sequence of words, with the text it was read from."""

    text: str
    offsets: list[tuple[int, int]]
    """Each word's [start, end) in `text`."""
    spans: list[RedactedSpan]
    unheard: list[TimeRange]

    def span_words(self, span: RedactedSpan) -> range:
        """Indices of the words a span covers (an empty word inside a span belongs to it)."""
        starts = [a for a, _ in self.offsets]
        ends = [max(b, a + 1) for a, b in self.offsets]  # non-decreasing: words are in order
        return range(bisect.bisect_right(ends, span.start), bisect.bisect_left(starts, span.end))

    def labels(self, source: int) -> list[_Label]:
        """For each word, the spans it is part of, tagged with `source`."""
        out: list[set[tuple[int, RedactedSpan]]] = [set() for _ in self.offsets]
        for span in self.spans:
            for k in self.span_words(span):
                out[k].add((source, span))
        return [frozenset(x) for x in out]


def _unheard_after(
    words: Sequence[WordLike], offsets: list[tuple[int, int]], cue_ends: list[int]
) -> list[TimeRange]:
    """The silent-in-the-transcript stretch after each card cue that no number follows."""
    out = []
    for k, (a, b) in enumerate(offsets):
        if not any(a < end <= b for end in cue_ends):
            continue
        while k + 1 < len(words) and words[k + 1].word.strip(" .,?!…").lower() in LEAD_IN_WORDS:
            k += 1  # "card number | is, um," -- the pause comes after these
        start = float(words[k].end)
        nxt = float(words[k + 1].start) if k + 1 < len(words) else float("inf")
        if nxt - start >= UNHEARD_GAP_S:
            out.append(TimeRange(start, min(nxt, start + MAX_UNHEARD_S), Kind.CARD, transcribed=False))
    return out


def _joined(words: Sequence[WordLike], context: str = "") -> tuple[str, list[tuple[int, int]]]:
    """The words as one text, and each word's [start, end) in it; `context` (the turn before,
    read for its cues only) comes first, on a line of its own."""
    offsets: list[tuple[int, int]] = []
    head = context + CONTEXT_JOIN if context else ""
    pos = len(head)
    for w in words:
        n = len(w.word.strip())
        offsets.append((pos, pos + n))
        pos += n + 1
    return head + " ".join(w.word.strip() for w in words), offsets


@dataclass(frozen=True)
class _Names:
    """What is known of names: the customer's (metadata), a model, and the agent's (kept)."""

    customer: tuple[str, ...] = ()
    finder: PersonFinder | None = None
    keep: tuple[str, ...] = ()


def _find(
    words: Sequence[WordLike], wanted: frozenset[Kind], names: _Names = _Names(), context: str = ""
) -> _Found:
    text, offsets = _joined(words, context)
    scan = Scan.of(text)
    found = detect(scan, names.customer, names.finder, names.keep)
    unheard: list[TimeRange] = []
    if Kind.CARD in wanted:
        cue_ends = [scan.tokens[e].end for e in unanswered_card_cues(scan, found)]
        unheard = _unheard_after(words, offsets, cue_ends)
    spans = spans_of(scan, found, wanted)
    if context:  # nothing of the context is redacted; a value running on from it keeps its words' part
        start = offsets[0][0] if offsets else len(text)
        spans = [
            RedactedSpan(s.kind, max(s.start, start), s.end, s.replacement) for s in spans if s.end > start
        ]
    return _Found(text, offsets, spans, unheard)


def _time_range(words: Sequence[WordLike], kind: Kind) -> TimeRange:
    return TimeRange(float(min(w.start for w in words)), float(max(w.end for w in words)), kind)


def _assemble(
    words: Sequence[WordLike], labels: list[_Label], texts: list[_Found | None]
) -> list[RedactedWord]:
    """Words with each run of words sharing a span merged into one redacted word.

    A group read from a text that holds only these words (`texts[source]`) keeps
    what the span left of its words ("[CARD]." keeps the full stop); a group
    found across channels is replaced whole by its token.
    """
    out: list[RedactedWord] = []
    k = 0
    while k < len(words):
        if not labels[k]:
            w = words[k]
            out.append(RedactedWord(w.word.strip(), float(w.start), float(w.end), _confidence([w])))
            k += 1
            continue
        end, group = k, set(labels[k])
        while end + 1 < len(words) and group & labels[end + 1]:
            group |= labels[end + 1]
            end += 1
        merged = words[k : end + 1]
        source, first = min(group, key=lambda pair: (pair[0], pair[1].start))
        found = texts[source]
        if found is not None:
            a, b = found.offsets[k][0], found.offsets[end][1]
            text = apply_spans(found.text[a:b], [s for _, s in group], offset=a)
        else:
            text = first.replacement
        out.append(
            RedactedWord(
                text,
                float(merged[0].start),
                float(max(w.end for w in merged)),
                _confidence(merged),
                first.kind,
            )
        )
        k = end + 1
    return out


def redact_words(
    words: Sequence[WordLike],
    *,
    kinds: Iterable[str | Kind] = ALL,
    names: Iterable[str] = (),
    person_finder: PersonFinder | None = None,
    keep_names: Iterable[str] = (),
    context: str = "",
) -> tuple[list[RedactedWord], list[TimeRange]]:
    """Redacted words (merged where one value spans several) and the time ranges to silence.

    `names`: the customer's names from the call's metadata (every word of them is redacted);
    `person_finder`, `keep_names`: an optional named-entity model and the agent's name it spares;
    `context`: the turn said before these words, read for its cues only (as in `redact_text`)."""
    known = _Names(tuple(names), person_finder, tuple(keep_names))
    found = _find(words, parse_kinds(kinds), known, context)
    labels = found.labels(0)
    ranges = [_time_range([words[k] for k in found.span_words(s)], s.kind) for s in found.spans]
    ranges = sorted(ranges + found.unheard, key=lambda r: r.start)
    return _assemble(words, labels, [found]), ranges


def _relabels(
    span: RedactedSpan,
    owned: set[tuple[int, RedactedSpan]],
    members: set[tuple[int, int]],
    alone: Sequence[_Found],
) -> bool:
    """Whether a value found in the interleaved reading replaces what one channel alone found there.

    It does when it covers every word of those channel spans and gives another
    kind: only the interleaved reading heard the other speaker's cue ("can I
    have your account number?" ... "sure, it's 0012 3456 7890", which alone
    reads as a "00" international phone number), and the cue names the value.
    """
    if all(s.kind == span.kind for _, s in owned):
        return False
    return all((c, k) in members for c, s in owned for k in alone[c].span_words(s))


def redact_conversation(
    channels: Sequence[Sequence[WordLike]],
    *,
    kinds: Iterable[str | Kind] = ALL,
    names: Iterable[str] = (),
    person_finder: PersonFinder | None = None,
    keep_names: Iterable[str] = (),
    context: str = "",
) -> tuple[list[list[RedactedWord]], list[TimeRange]]:
    """Redact the channels of one call, each on its own and all interleaved in time.

    On a stereo call the agent asks ("the last four of your social?") on one
    channel and the customer answers on the other; only the interleaved reading
    sees the cue before the digits. Each channel is also read alone, so the
    agent's words never break up a number the customer reads. The time ranges
    are for the whole recording (mute all channels with them). `context`: the turn said before
    these words (a stretch heard again without the question before it), read for its cues only.
    """
    wanted = parse_kinds(kinds)
    known = _Names(tuple(names), person_finder, tuple(keep_names))
    alone = [_find(ws, wanted, known, context) for ws in channels]
    labels = [found.labels(c) for c, found in enumerate(alone)]
    order = sorted(
        ((float(w.start), c, k) for c, ws in enumerate(channels) for k, w in enumerate(ws)),
    )
    together = _find([channels[c][k] for _, c, k in order], wanted, known, context)
    source = len(channels)  # spans of the interleaved text; their words are replaced whole
    replaced: set[tuple[int, RedactedSpan]] = set()
    ranges: list[TimeRange] = []
    for span in together.spans:
        members = [order[i][1:] for i in together.span_words(span)]
        owned = {(src, s) for c, k in members for src, s in labels[c][k] if src < source}
        if owned and not _relabels(span, owned, set(members), alone):
            continue  # already found in a channel on its own
        for src, s in owned:  # the other channel's cue said what this number is
            replaced.add((src, s))
            for k in alone[src].span_words(s):
                labels[src][k] = labels[src][k] - {(src, s)}
        for c, k in members:
            labels[c][k] = frozenset({(source, span)})
        ranges.append(_time_range([channels[c][k] for c, k in members], span.kind))
    ranges += [
        _time_range([ws[k] for k in found.span_words(s)], s.kind)
        for c, (ws, found) in enumerate(zip(channels, alone, strict=True))
        for s in found.spans
        if (c, s) not in replaced
    ]
    texts: list[_Found | None] = [*alone, None]
    words_out = [_assemble(ws, labels[c], texts) for c, ws in enumerate(channels)]
    return words_out, sorted(ranges + together.unheard, key=lambda r: r.start)


def _cue_word_ends(words: Sequence[WordLike], cues: frozenset[tuple[str, ...]]) -> list[float]:
    """End time of the last word of each occurrence of a cue phrase in the words."""
    text, offsets = _joined(words)
    scan = Scan.of(text)
    # "social security number" is an SSN cue, not a CVV cue
    ends = [
        scan.tokens[e].end
        for e in scan.phrase_ends(cues)
        if "social" not in (scan.word(e - 1), scan.word(e - 2))
    ]
    out = []
    for k, (a, b) in enumerate(offsets):
        if any(a < end <= b for end in ends):
            out.append(float(words[k].end))
    return out


def card_detail_windows(
    channels: Sequence[Sequence[WordLike]], ranges: Sequence[TimeRange]
) -> list[TimeRange]:
    """Stretches of audio to silence where a card's security code or expiry date may be, heard or not.

    The text rules find a CVV only when the recogniser hears it as digits after
    a cue it also heard; a three-digit answer is often heard as words ("remember
    for one"), and then only time can say where it was. So the redacted audio
    copy also loses `CARD_DETAILS_S` after every card range and `DETAIL_ANSWER_S`
    after every CVV/expiry cue on any channel (`transcribed=False`). These are
    for the audio only: the transcript keeps its words.

    The same holds for the bank-grade answers a recogniser mishears as words: after
    "account number", "routing number", "pin", "passcode", "date of birth" (`ANSWER_CUES`)
    the audio copy loses `DETAIL_ANSWER_S` as well, labelled with that kind.
    """
    out = [
        TimeRange(r.end, r.end + CARD_DETAILS_S, Kind.CVV, transcribed=False)
        for r in ranges
        if r.kind is Kind.CARD
    ]
    words = sorted((w for ws in channels for w in ws), key=lambda w: float(w.start))
    for cues, kind in ((CVV_CUES, Kind.CVV), (EXPIRY_CUES, Kind.EXPIRY), *ANSWER_CUES):
        ends = _cue_word_ends(words, cues)
        out += [TimeRange(t, t + DETAIL_ANSWER_S, kind, transcribed=False) for t in ends]
    return sorted(out, key=lambda r: r.start)

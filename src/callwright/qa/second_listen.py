"""A second listen for the phrases a whole-call transcript missed.

Names (one family, issue 13): the concept is "a second listen" everywhere (`--second-listen`,
`Recognizer.second_listen` returning a `SecondReading`, `Capabilities.second_listen`, the engine
module `speech/asr/whisper_second_listen.py`, this module's `second_listen` with
`SecondListenSettings`), one second listen of one stretch of audio is "a listen"
(`ListenToStretch`, a budget of `max_listens` per call), and the stored evidence keeps its
wording ("heard again at ... first heard as ...") because stored results and tests read it.

A reviewer who reads "Can you put calling on wind energy" plays the audio and
hears "Thank you for calling Northwind Energy"; phonetic search in CallMiner
and Nexidia does the same by machine, looking for a phrase in the audio rather
than in the words. Here the recogniser does it: a phrase or order item that
failed gets its closest utterances (by text, within its speaker and time
window) decoded again, primed with the item's own phrasings
(`Recognizer.second_listen`).

A primed decoder can hear what was never said, so a reading counts only when
the audio supports it nearly as well as an unprompted decode of the same audio
(`min_support`, in nats per token, measured by the model without the prompt),
and only when it makes the item pass: a second listen confirms what the first
one missed, it never fails an item. The stored transcript keeps the first
reading; the item's evidence shows the second, redacted like everything else.
Measured on the sample calls: docs/benchmarks/qa_transcripts.md.

A full listen (beam 5, five hypotheses, the support weighed, the words aligned) costs
about as much as the first listen of a short call when every missed item listens to
its three closest utterances. So each utterance some missed item would listen to is
first screened (`ScreenStretch`, `Recognizer.screen_listen`): one quick greedy reading
primed with the phrasings of every item that would listen to it; an item listens to
it in full only if that reading comes within `screen_margin` of the item's threshold.
The screen never confirms anything itself (its reading is not weighed against the
audio), so what counts as heard is unchanged; it only skips the listens where a primed
reading did not come near the phrase. It can skip one that would have recovered a phrase;
on the sample calls none was lost (docs/benchmarks/qa_pipeline.md).
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from callwright.qa.model import ConversationMetrics, ScoreResult, Transcript, Utterance, Word
from callwright.qa.scorecard.conditions import call_duration
from callwright.qa.scorecard.matching import CallText, Match
from callwright.qa.scorecard.model import Item, OrderRule, PhraseRule, Scorecard
from callwright.qa.scorecard.scoring import score_item, with_items
from callwright.redaction import redact_conversation

if TYPE_CHECKING:
    from callwright.qa.scorecard import PhraseMatcher
    from callwright.speech.asr.base import SecondReading

log = logging.getLogger(__name__)

ListenToStretch = Callable[[Utterance, Sequence[str], tuple[float, float]], "SecondReading | None"]
"""One listen: decode an utterance's audio again primed with phrases; the pair is the stretch of it
that came closest, to centre on when the utterance is too long for one window (the pipeline binds
the tracks)."""

ScreenStretch = Callable[[Utterance, Sequence[str], tuple[float, float]], "str | None"]
"""One screen: a quick primed reading of an utterance's audio (text only; `Recognizer.screen_listen`)
with the phrasings of every item that would listen to it; None: no screen, listen in full."""


@dataclass(frozen=True)
class SecondListenSettings:
    candidates: int = 3  # utterances listened to again per phrase: the closest to it by text
    sparse_wps: float = 1.0  # and any with fewer words a second than this (words lost on the way)
    sparse_min_s: float = 3.0  # over at least this long
    max_listens: int = 12  # per call: 1.4 s of CPU each on the samples (docs/benchmarks/qa_pipeline.md)
    min_support: float = -0.6  # nats/token below an unprompted decode (bench/qa_second_listen.py)
    screen: bool = True  # one quick reading per stretch first; a full listen only where it hears the phrase
    screen_margin: float = 0.1  # the screen's reading need only come this close below the item's threshold
    max_screens: int = 16  # per call


@dataclass(frozen=True)
class _Listened:
    """What one listen gave, kept for every item that asks about the same utterance and phrases."""

    utterance: Utterance  # the second reading, redacted, in place of the first
    first_text: str
    reading: SecondReading  # its `support` is read only when the words would pass (it may cost)

    @property
    def support(self) -> float:
        return self.reading.support


HEARD_AGAIN = re.compile(
    r"heard again at (?P<at>-?\d+(?:\.\d+)?) s primed with this item's phrasings \(first heard as '"
)
"""The start of `heard_note`, as `qa.rescore` finds a stored second reading by it."""
FIRST_HEARD_END = "'; the audio supports the new reading at "
"""What follows the first reading's text in `heard_note`."""


def heard_note(start: float, first_text: str, support: float) -> str:
    """The evidence note of one stretch a second listen read again (stored, and read back by
    `qa.rescore` with `HEARD_AGAIN` and `FIRST_HEARD_END`: change them together)."""
    return (
        f"heard again at {start:.1f} s primed with this item's phrasings "
        f"(first heard as '{first_text}{FIRST_HEARD_END}"
        f"{support:+.2f} nats per token against an unprompted decode)"
    )


def missed(it: Item, verdict: str) -> bool:
    return (it.kind == "phrase" and verdict == "fail") or (it.kind == "order" and verdict in ("fail", "na"))


def _rules(it: Item) -> list[PhraseRule]:
    rule = it.rule
    if isinstance(rule, OrderRule):
        return [rule.first, rule.then]
    return [rule] if isinstance(rule, PhraseRule) else []


def second_listen(
    card: Scorecard,
    result: ScoreResult,
    transcript: Transcript,
    metrics: ConversationMetrics | None,
    matcher: PhraseMatcher,
    listen: ListenToStretch,
    settings: SecondListenSettings = SecondListenSettings(),
    names: Sequence[str] = (),
    screen: ScreenStretch | None = None,
) -> ScoreResult:
    """`result` with the missed phrase and order items that a second listen confirms set to pass.

    `names` are the call's personal names (`redaction.names_from_metadata`): a second reading is
    redacted with them like the first, so a name heard only the second time is not kept in clear."""
    verdicts = {r.item_id: r.verdict for r in result.items}
    # compliance items first, then by what they are worth: the per-call budget goes to them
    retry = sorted(
        (it for it in card.items if missed(it, verdicts.get(it.id, ""))),
        key=lambda it: (not it.auto_fail, -it.points),
    )
    if not retry:
        return result
    call = matcher.prepare(transcript)
    duration = call_duration(transcript)
    plan = [
        (it, rule, _candidates(call, rule, duration, transcript, settings))
        for it in retry
        for rule in _rules(it)
    ]
    close = _Closeness(transcript, matcher)
    screened = _Screens(transcript, plan, screen if settings.screen else None, settings, names, close)
    listened: dict[tuple[int, tuple[str, ...]], _Listened | None] = {}
    changed = {}
    again_by_item: dict[str, dict[int, _Listened]] = {}
    for it, rule, chosen in plan:
        again = again_by_item.setdefault(it.id, {})
        # The closest first; the first utterance whose second reading says the phrase is
        # the only one replaced: a second reading elsewhere could move other phrases (a
        # clearer "I can take a payment" reads like "I can see the payments").
        for m in chosen:
            key = (m.utterance, rule.phrases)
            if key not in listened:
                if not screened.could_hold(m.utterance, rule):
                    continue
                if len(listened) >= settings.max_listens:
                    break
                u = transcript.utterances[m.utterance]
                listened[key] = _listen(u, rule.phrases, (m.start, m.end), listen, names)
            h = listened[key]
            # the words first, the support only then: weighing it is two more decoder passes
            if h is not None and close(h.utterance, rule) >= rule.threshold and _supported(h, settings):
                again[m.utterance] = h
                break
    for it in retry:
        again = again_by_item.get(it.id, {})
        if not again:
            continue
        revised = dataclasses.replace(
            transcript,
            utterances=[again[i].utterance if i in again else u for i, u in enumerate(transcript.utterances)],
        )
        note = "; ".join(heard_note(h.utterance.start, h.first_text, h.support) for h in again.values())
        new = score_item(it, revised, metrics, matcher, note)
        if new.verdict == "pass":
            changed[it.id] = new
    if changed:
        log.info("%s: a second listen confirmed %s", transcript.call_id, ", ".join(changed))
    return with_items(card, result, changed)


def _candidates(
    call: CallText, rule: PhraseRule, duration: float, transcript: Transcript, settings: SecondListenSettings
) -> list[Match]:
    """The utterances a missed rule listens to again, closest first: the `candidates` closest by
    text and any sparse one (none when the first reading already heard the rule: an order item may
    miss only one of its parts)."""
    closest = sorted(call.matches(rule, duration), key=lambda m: (-m.similarity, m.start))
    if not closest or closest[0].similarity >= rule.threshold:
        return []
    return closest[: settings.candidates] + [
        m for m in closest[settings.candidates :] if _sparse(transcript.utterances[m.utterance], settings)
    ]


class _Screens:
    """The screen's reading of each utterance some missed rule would listen to, taken once (on first
    need) with the phrasings of every rule that would listen to it, the most valuable item's last
    (nearest the audio: a long prompt loses its start). Without a screen every stretch could hold
    the phrase."""

    def __init__(
        self,
        transcript: Transcript,
        plan: Sequence[tuple[Item, PhraseRule, Sequence[Match]]],
        screen: ScreenStretch | None,
        settings: SecondListenSettings,
        names: Sequence[str],
        close: _Closeness,
    ) -> None:
        self.transcript, self.screen, self.settings, self.names = transcript, screen, settings, names
        self.close = close
        self.phrases: dict[int, list[str]] = {}
        self.span: dict[int, tuple[float, float]] = {}
        for _, rule, chosen in plan:
            for m in chosen:
                self.phrases.setdefault(m.utterance, []).extend(rule.phrases)
                self.span.setdefault(m.utterance, (m.start, m.end))
        self.readings: dict[int, Utterance | None] = {}

    def could_hold(self, i: int, rule: PhraseRule) -> bool:
        if self.screen is None:
            return True
        if i not in self.readings:
            if len(self.readings) >= self.settings.max_screens:
                return True  # past the budget: listen in full, as without a screen
            phrases = list(dict.fromkeys(reversed(self.phrases[i])))  # the most valuable last
            self.readings[i] = self._read(i, phrases)
        reading = self.readings[i]
        if reading is None:
            return True  # no screen for this stretch (too long for one window): listen in full
        close = self.close(reading, rule)
        log.debug("screened %.1f s for %s: %.2f (%s)", reading.start, rule.phrases[0], close, reading.text)
        return close >= rule.threshold - self.settings.screen_margin

    def _read(self, i: int, phrases: Sequence[str]) -> Utterance | None:
        assert self.screen is not None
        u = self.transcript.utterances[i]
        text = self.screen(u, phrases, self.span[i])
        if text is None:
            return None
        parts = text.split()
        if not parts:
            return dataclasses.replace(u, text="", words=[])
        step = (u.end - u.start) / len(parts)
        spread = [Word(p, u.start + k * step, u.start + (k + 1) * step, 1.0) for k, p in enumerate(parts)]
        # the turn before, already redacted, still holds its cues ("your account number?")
        before = self.transcript.utterances[i - 1].text if i else ""
        (redacted,), _ = redact_conversation([spread], names=self.names, context=before)
        kept = [Word(w.word, w.start, w.end, 1.0) for w in redacted if w.word]
        return dataclasses.replace(u, text=" ".join(w.word for w in kept), words=kept)


class _Closeness:
    """How close a (second) reading comes to a rule, within the rule's speaker and time window; each
    reading is prepared for matching once however many rules ask about it (a screen's reading is
    asked about by every rule that would listen to its stretch)."""

    def __init__(self, transcript: Transcript, matcher: PhraseMatcher) -> None:
        self.transcript, self.matcher = transcript, matcher
        self.duration = call_duration(transcript)
        self._prepared: dict[int, tuple[Utterance, CallText]] = {}

    def __call__(self, u: Utterance, rule: PhraseRule) -> float:
        hit = self._prepared.get(id(u))
        if hit is None or hit[0] is not u:
            hit = (u, self.matcher.prepare(dataclasses.replace(self.transcript, utterances=[u])))
            self._prepared[id(u)] = hit
        return max((m.similarity for m in hit[1].matches(rule, self.duration)), default=0.0)


def _sparse(u: Utterance, settings: SecondListenSettings) -> bool:
    """Far fewer words than its length holds: the whole-call decode dropped some (it skips a
    sentence now and then, and stretches the word before over it)."""
    seconds = u.end - u.start
    return seconds >= settings.sparse_min_s and len(u.text.split()) < settings.sparse_wps * seconds


def _listen(
    u: Utterance,
    phrases: Sequence[str],
    span: tuple[float, float],
    listen: ListenToStretch,
    names: Sequence[str] = (),
) -> _Listened | None:
    """One listen to `u`'s audio: its second reading, redacted (whether the audio supports it
    enough is asked only of a reading that would pass: `_supported`)."""
    reading = listen(u, phrases, span)
    if reading is None:
        log.debug("heard again at %.1f s for %s: nothing", u.start, phrases[0])
        return None
    words = [Word(w.word, w.start, w.end, w.confidence) for w in reading.recognition.words if w.word.strip()]
    if not words:
        return None
    (redacted,), _ = redact_conversation([words], names=names)
    kept = [
        Word(w.word, w.start, w.end, 1.0 if w.confidence is None else w.confidence)
        for w in redacted
        if w.word
    ]
    text = " ".join(w.word for w in kept)
    second = dataclasses.replace(u, text=text, words=kept)
    return _Listened(second, u.text, reading)


def _supported(h: _Listened, settings: SecondListenSettings) -> bool:
    """Whether the audio supports the second reading enough (`min_support`) to count."""
    if h.support >= settings.min_support:
        return True
    log.debug("heard again at %.1f s: support %+.2f: not used", h.utterance.start, h.support)
    return False

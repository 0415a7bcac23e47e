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
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from callwright.qa.model import ConversationMetrics, ScoreResult, Transcript, Utterance, Word
from callwright.qa.scorecard.conditions import call_duration
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


@dataclass(frozen=True)
class SecondListenSettings:
    candidates: int = 3  # utterances listened to again per phrase: the closest to it by text
    sparse_wps: float = 1.0  # and any with fewer words a second than this (words lost on the way)
    sparse_min_s: float = 3.0  # over at least this long
    max_listens: int = 12  # per call: 1.4 s of CPU each on the samples (docs/benchmarks/qa_pipeline.md)
    min_support: float = -0.6  # nats/token below an unprompted decode (bench/qa_second_listen.py)


@dataclass(frozen=True)
class _Listened:
    """What one listen gave, kept for every item that asks about the same utterance and phrases."""

    utterance: Utterance  # the second reading, redacted, in place of the first
    first_text: str
    support: float


def _missed(it: Item, verdict: str) -> bool:
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
) -> ScoreResult:
    """`result` with the missed phrase and order items that a second listen confirms set to pass.

    `names` are the call's personal names (`redaction.names_from_metadata`): a second reading is
    redacted with them like the first, so a name heard only the second time is not kept in clear."""
    verdicts = {r.item_id: r.verdict for r in result.items}
    # compliance items first, then by what they are worth: the per-call budget goes to them
    retry = sorted(
        (it for it in card.items if _missed(it, verdicts.get(it.id, ""))),
        key=lambda it: (not it.auto_fail, -it.points),
    )
    if not retry:
        return result
    call = matcher.prepare(transcript)
    duration = call_duration(transcript)
    listened: dict[tuple[int, tuple[str, ...]], _Listened | None] = {}
    changed = {}
    for it in retry:
        again: dict[int, _Listened] = {}
        for rule in _rules(it):
            closest = sorted(call.matches(rule, duration), key=lambda m: (-m.similarity, m.start))
            if not closest or closest[0].similarity >= rule.threshold:
                continue  # heard the first time (an order item may miss only one of its parts)
            chosen = closest[: settings.candidates] + [
                m
                for m in closest[settings.candidates :]
                if _sparse(transcript.utterances[m.utterance], settings)
            ]
            # The closest first; the first utterance whose second reading says the phrase is
            # the only one replaced: a second reading elsewhere could move other phrases (a
            # clearer "I can take a payment" reads like "I can see the payments").
            for m in chosen:
                key = (m.utterance, rule.phrases)
                if key not in listened:
                    if len(listened) >= settings.max_listens:
                        break
                    u = transcript.utterances[m.utterance]
                    listened[key] = _listen(u, rule.phrases, (m.start, m.end), listen, settings, names)
                h = listened[key]
                if h is not None and _similarity(h.utterance, rule, transcript, matcher) >= rule.threshold:
                    again[m.utterance] = h
                    break
        if not again:
            continue
        revised = dataclasses.replace(
            transcript,
            utterances=[again[i].utterance if i in again else u for i, u in enumerate(transcript.utterances)],
        )
        note = "; ".join(
            f"heard again at {h.utterance.start:.1f} s primed with this item's phrasings "
            f"(first heard as '{h.first_text}'; the audio supports the new reading at "
            f"{h.support:+.2f} nats per token against an unprompted decode)"
            for h in again.values()
        )
        new = score_item(it, revised, metrics, matcher, note)
        if new.verdict == "pass":
            changed[it.id] = new
    if changed:
        log.info("%s: a second listen confirmed %s", transcript.call_id, ", ".join(changed))
    return with_items(card, result, changed)


def _similarity(u: Utterance, rule: PhraseRule, transcript: Transcript, matcher: PhraseMatcher) -> float:
    """How close one (second) reading comes to a rule, within the rule's speaker and time window."""
    alone = dataclasses.replace(transcript, utterances=[u])
    return max(
        (m.similarity for m in matcher.prepare(alone).matches(rule, call_duration(transcript))), default=0.0
    )


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
    settings: SecondListenSettings,
    names: Sequence[str] = (),
) -> _Listened | None:
    """One listen to `u`'s audio: its second reading, redacted, when the audio supports it enough."""
    reading = listen(u, phrases, span)
    if reading is None or reading.support < settings.min_support:
        log.debug(
            "heard again at %.1f s for %s: %s",
            u.start,
            phrases[0],
            "nothing" if reading is None else f"support {reading.support:+.2f}: not used",
        )
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
    return _Listened(second, u.text, reading.support)

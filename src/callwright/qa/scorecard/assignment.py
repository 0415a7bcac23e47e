"""Which scorecard a call is scored with, when a batch is given several.

Contact centres score different call types against different forms (an
evaluation form per queue or campaign, as in Amazon Connect or Observe.AI):
collections and sales calls are both outbound, so the direction alone cannot
choose. A scorecard says which calls it is for in two ways:

- `assign_if`: a condition on the call's metadata (`queue == 'collections'`,
  `campaign in ['spring', 'summer']`, `language == 'es'`), in the flow expression language;
- `applies_to`: inbound, outbound or any (default).

A batch given several picks, per call, the one whose `assign_if` holds (and whose
direction fits); when none has an `assign_if` that holds, the one made for the
call's direction, else the one for any call. Doing this per call lets one batch
(one set of workers, one model load) score a mixed folder.

The call's `language` is told (`--language`, else its metadata) or, for a recording told
neither, the language the recogniser hears: its one language (tiny.en hears English) or the
one it detects (Whisper base), as Contact Lens and CallMiner route a call by the language they
identify. A detected language chooses only when the model is sure enough of it
(`LANGUAGE_CHOICE_MIN`); below that, or when nothing was detected, the call is assigned as a
call of unknown language and says so (`choose_by_language`'s note), never silently.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from callwright.common.expr import ExpressionError
from callwright.errors import DataError
from callwright.qa.model import CallMeta, Transcript
from callwright.qa.scorecard.model import Scorecard
from callwright.speech.asr.languages import SpokenLanguage, primary

LANGUAGE_CHOICE_MIN = 0.5
"""A detected language chooses the scorecard (`assign_if: language == 'es'`, `applies_if`) only
when the recogniser's probability for it is at least this: above one half it outweighs every
other language together. Clear speech of a few seconds detects at 0.7-0.99 (Whisper base,
espeak-ng voices); a word or two, noise or mixed speech falls below it. Below it the call is
assigned as one of unknown language, with a note saying so (docs/scorecards.md)."""

ASSIGN_VARIABLES: dict[str, str] = {
    "call_id": "the call's id",
    "direction": "inbound or outbound (null when unknown)",
    "agent": "agent name or id",
    "team": "team",
    "customer": "customer id or number",
    "queue": "queue",
    "campaign": "campaign",
    "disposition": "disposition",
    "started_at": "when the call started: ISO 8601 text as its metadata gives it "
    "('2024-05-06T09:12:00-05:00'; compare its start, e.g. started_at >= '2024-05')",
    "language": "the call's language, primary subtag (es for es-MX): --language, else the metadata's, "
    "else (a recording) the model's own or the one it detects with probability of at least "
    f"{LANGUAGE_CHOICE_MIN}; null when unknown",
}
"""What `assign_if` may read: the call's metadata, known before anything is transcribed (and for
a recording told no language, the language its recogniser hears, found before it transcribes)."""


def language_name(code: str | None) -> str | None:
    """A language as conditions read it: the primary subtag, lower case (`es-MX` -> `es`), so
    `language == 'es'` holds for every Spanish call however its metadata or the recogniser spell it."""
    return primary(code) or None if code else None


def reads_language(cards: Sequence[Scorecard]) -> bool:
    """Whether choosing among `cards` may depend on the call's language (an `assign_if` reads it):
    then a recording told no language has its scorecard chosen after its language is heard."""
    return any(c.assign_if is not None and "language" in c.assign_if.names for c in cards)


def condition_language(told: str | None, heard: SpokenLanguage | None) -> str | None:
    """The `language` conditions read: `told` (--language, the metadata's) when given, else the
    language heard when it is the model's own (no probability) or detected with a probability of at
    least `LANGUAGE_CHOICE_MIN`; None otherwise (unknown, or a guess). The one rule for `assign_if`
    and `applies_if`, so a call's items see the language its scorecard was chosen by."""
    if told:
        return language_name(told)
    if heard is None or not heard.code:
        return None
    if heard.probability is not None and heard.probability < LANGUAGE_CHOICE_MIN:
        return None
    return language_name(heard.code)


def transcript_language(transcript: Transcript, meta: CallMeta) -> str | None:
    """`condition_language` of a call as scored or stored: its metadata's language, else its
    transcript's (told, the model's own, or detected with the probability kept beside it)."""
    if not transcript.language:
        return condition_language(meta.language, None)
    return condition_language(
        meta.language, SpokenLanguage(transcript.language, transcript.language_probability)
    )


LanguageSource = Literal["told", "model", "detected", "uncertain", "unknown"]


@dataclass(frozen=True)
class Assignment:
    """The scorecard chosen for a call, the language the choice read and how it was known.

    `note` (None when the choice did not depend on a language nobody told) says how the language
    entered the choice: a batch shows it with the call, the log keeps it. What was detected, and
    its probability, is stored with the recording (`recordings.language`, `language_probability`)."""

    card: Scorecard
    language: str | None
    source: LanguageSource
    note: str | None = None


UNTOLD_HINT = "give the call's language in its metadata (`language`: sidecar, manifest) or with --language"


def choose_by_language(
    cards: Sequence[Scorecard],
    meta: CallMeta,
    heard: SpokenLanguage | None,
    *,
    minimum: float | None = None,
) -> Assignment:
    """`choose_scorecard` for a recording once its language is known: the metadata's `language`
    (or --language, put there by the batch) wins; else the language the recogniser heard (`heard`:
    its one language, or the one it detected) when sure enough (`minimum`); else the call is
    chosen for as one of unknown language, and the note (or the DataError when no scorecard is
    left) says why: nothing detected, or a detection under `minimum` (`LANGUAGE_CHOICE_MIN`)."""
    minimum = LANGUAGE_CHOICE_MIN if minimum is None else minimum
    depends = reads_language(cards)
    if meta.language:
        return Assignment(choose_scorecard(cards, meta), language_name(meta.language), "told")
    if heard is None or not heard.code:
        why = (
            "the call's language is unknown: not in its metadata, no --language, and the speech model "
            "detected none (no speech heard, or a model that cannot tell)"
        )
        return _unsure(cards, meta, why, "unknown", depends)
    code = language_name(heard.code)
    if heard.probability is not None and heard.probability < minimum:
        why = (
            f"the call's language was detected as {code} with probability {heard.probability:.2f}, "
            f"under the {minimum:.2f} needed to choose a scorecard by it"
        )
        return _unsure(cards, meta, why, "uncertain", depends)
    card = choose_scorecard(cards, dataclasses.replace(meta, language=code))
    if heard.probability is None:
        source: LanguageSource = "model"
        how = f"the speech model hears {code} only"
    else:
        source = "detected"
        how = f"detected with probability {heard.probability:.2f}"
    note = f"scorecard {card.id} chosen for language {code}, {how}" if depends else None
    return Assignment(card, code, source, note)


def _unsure(
    cards: Sequence[Scorecard], meta: CallMeta, why: str, source: LanguageSource, depends: bool
) -> Assignment:
    """The choice for a call whose language is not known well enough: as one of unknown language,
    saying so; a DataError naming why when that leaves no scorecard."""
    try:
        card = choose_scorecard(cards, meta)
    except DataError as err:
        raise DataError(f"{err.message}; {why}", hint=UNTOLD_HINT) from None
    note = f"{why}: scored with {card.id} as a call of unknown language ({UNTOLD_HINT})" if depends else None
    return Assignment(card, None, source, note)


def meta_env(meta: CallMeta) -> dict[str, Any]:
    env = {k: getattr(meta, k) for k in ASSIGN_VARIABLES if k != "language"}
    env["language"] = language_name(meta.language)
    return env


def assigned(card: Scorecard, meta: CallMeta) -> bool | None:
    """Whether the card's `assign_if` holds for this call (None: it has none).

    A condition that cannot be evaluated on this call (a missing value compared with a number)
    does not hold: the card is not chosen for a call it cannot say it is for."""
    if card.assign_if is None:
        return None
    # the attributes it declares, null where the call has none (ingest keeps them off known names)
    env = {**{name: None for name, _ in card.attributes}, **dict(meta.attributes), **meta_env(meta)}
    try:
        return bool(card.assign_if.evaluate(env))
    except ExpressionError:
        return False


def fits(card: Scorecard, direction: str | None, meta: CallMeta | None = None) -> bool:
    """Whether `card` may score a call of this direction (a call of unknown direction fits any),
    and, given the call's metadata, whether its `assign_if` (if any) holds."""
    if not (card.applies_to == "any" or direction is None or direction == card.applies_to):
        return False
    return meta is None or assigned(card, meta) is not False


def check_scorecards(cards: Sequence[Scorecard]) -> list[Scorecard]:
    """The cards, if every call direction has at most one of them without an `assign_if`;
    else a DataError naming both (cards with an `assign_if` are told apart by it)."""
    if not cards:
        raise DataError("no scorecard given", hint="pass --scorecard FILE (one or more)")
    by_target: dict[str, Scorecard] = {}
    for card in cards:
        if card.assign_if is not None:
            continue
        other = by_target.get(card.applies_to)
        if other is not None:
            same = "twice" if other.version == card.version else f"with {other.id!r}"
            raise DataError(
                f"scorecard {card.id!r} is for {card.applies_to} calls {same}: "
                "a batch needs one scorecard per direction, or an assign_if that tells them apart",
                hint="score the calls in separate batches, or set applies_to or assign_if in the scorecards",
            )
        by_target[card.applies_to] = card
    return list(cards)


def choose_scorecard(cards: Sequence[Scorecard], meta: CallMeta) -> Scorecard:
    """The scorecard for this call: the one whose `assign_if` holds, else the one made for its
    direction, else the one for any call.

    A single scorecard scores every call it fits (as before several were
    allowed); among several, a call of unknown direction takes only the one for
    any call, as guessing between inbound and outbound forms would score it
    against the wrong script. Two whose `assign_if` both hold are an error for the call.
    """
    if len(cards) == 1 and fits(cards[0], meta.direction, meta):
        return cards[0]
    chosen = [c for c in cards if assigned(c, meta) and fits(c, meta.direction)]
    if len(chosen) > 1:
        both = " and ".join(f"{c.id} ({c.assign_if.source if c.assign_if else ''})" for c in chosen)
        raise DataError(
            f"call {meta.call_id}: the assign_if of scorecards {both} both hold",
            hint="make the scorecards' assign_if conditions exclusive",
        )
    if chosen:
        return chosen[0]
    plain = [c for c in cards if c.assign_if is None]
    for card in plain:
        if meta.direction is not None and card.applies_to == meta.direction:
            return card
    for card in plain:
        if card.applies_to == "any":
            return card
    given = ", ".join(f"{c.id} ({c.assign_if.source if c.assign_if else c.applies_to})" for c in cards)
    if meta.direction is None:
        raise DataError(
            f"call {meta.call_id}: its direction is unknown, so none of the scorecards {given} can be chosen",
            hint="give the direction in the sidecar or manifest, or add a scorecard with applies_to: any",
        )
    raise DataError(f"call {meta.call_id}: no scorecard for {meta.direction} calls among {given}")

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
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from callwright.common.expr import ExpressionError
from callwright.errors import DataError
from callwright.qa.model import CallMeta
from callwright.qa.scorecard.model import Scorecard
from callwright.speech.asr.languages import primary

ASSIGN_VARIABLES: dict[str, str] = {
    "call_id": "the call's id",
    "direction": "inbound or outbound (null when unknown)",
    "agent": "agent name or id",
    "team": "team",
    "customer": "customer id or number",
    "queue": "queue",
    "campaign": "campaign",
    "disposition": "disposition",
    "language": "the call's language, primary subtag (es for es-MX): --language, else the metadata's "
    "(null when neither says: the scorecard is chosen before a recording's language is detected)",
}
"""What `assign_if` may read: the call's metadata, known before anything is transcribed."""


def language_name(code: str | None) -> str | None:
    """A language as conditions read it: the primary subtag, lower case (`es-MX` -> `es`), so
    `language == 'es'` holds for every Spanish call however its metadata or the recogniser spell it."""
    return primary(code) or None if code else None


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
    try:
        return bool(card.assign_if.evaluate(meta_env(meta)))
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

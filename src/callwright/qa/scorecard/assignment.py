"""Which scorecard a call is scored with, when a batch is given several.

Contact centres score inbound and outbound calls against different forms (an
evaluation form per call type, as in Amazon Connect or Observe.AI). A scorecard
says which calls it is for (`applies_to`: inbound, outbound or any); a batch
given several picks, per call, the one made for the call's direction, else the
one for any call. Doing this per call lets one batch (one set of workers, one
model load) score a mixed folder.
"""

from __future__ import annotations

from collections.abc import Sequence

from callwright.errors import DataError
from callwright.qa.model import CallMeta
from callwright.qa.scorecard.model import Scorecard


def fits(card: Scorecard, direction: str | None) -> bool:
    """Whether `card` may score a call of this direction (a call of unknown direction fits any)."""
    return card.applies_to == "any" or direction is None or direction == card.applies_to


def check_scorecards(cards: Sequence[Scorecard]) -> list[Scorecard]:
    """The cards, if every call direction has at most one of them; else a DataError naming both."""
    if not cards:
        raise DataError("no scorecard given", hint="pass --scorecard FILE (one or more)")
    by_target: dict[str, Scorecard] = {}
    for card in cards:
        other = by_target.get(card.applies_to)
        if other is not None:
            same = "twice" if other.version == card.version else f"with {other.id!r}"
            raise DataError(
                f"scorecard {card.id!r} is for {card.applies_to} calls {same}: "
                "a batch needs one scorecard per direction",
                hint="score the calls in separate batches, or set applies_to in the scorecards",
            )
        by_target[card.applies_to] = card
    return list(cards)


def choose_scorecard(cards: Sequence[Scorecard], meta: CallMeta) -> Scorecard:
    """The scorecard for this call: made for its direction, else for any call.

    A single scorecard scores every call it fits (as before several were
    allowed); among several, a call of unknown direction takes only the one for
    any call, as guessing between inbound and outbound forms would score it
    against the wrong script.
    """
    if len(cards) == 1 and fits(cards[0], meta.direction):
        return cards[0]
    for card in cards:
        if meta.direction is not None and card.applies_to == meta.direction:
            return card
    for card in cards:
        if card.applies_to == "any":
            return card
    given = ", ".join(f"{c.id} ({c.applies_to})" for c in cards)
    if meta.direction is None:
        raise DataError(
            f"call {meta.call_id}: its direction is unknown, so none of the scorecards {given} can be chosen",
            hint="give the direction in the sidecar or manifest, or add a scorecard with applies_to: any",
        )
    raise DataError(f"call {meta.call_id}: no scorecard for {meta.direction} calls among {given}")

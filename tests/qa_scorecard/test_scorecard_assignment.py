"""Which scorecard scores a call when a batch is given several (one per call direction)."""

from __future__ import annotations

import pytest
from scorecard_helpers import card, meta

from callwright.errors import DataError
from callwright.qa.scorecard.assignment import check_scorecards, choose_scorecard


def for_calls(name: str, applies_to: str):
    return card(
        f"""\
        scorecard: {name}
        applies_to: {applies_to}
        sections:
          - id: s
            items:
              - {{id: greet, kind: phrase, phrases: [thank you for calling]}}
        """,
        f"{name}.yaml",
    )


INBOUND, OUTBOUND, ANY = for_calls("in", "inbound"), for_calls("out", "outbound"), for_calls("all", "any")


def test_each_call_gets_the_scorecard_for_its_direction() -> None:
    cards = check_scorecards([INBOUND, OUTBOUND])
    assert choose_scorecard(cards, meta("inbound")).id == "in"
    assert choose_scorecard(cards, meta("outbound")).id == "out"


def test_a_scorecard_for_any_call_takes_what_no_other_fits() -> None:
    cards = [INBOUND, ANY]
    assert choose_scorecard(cards, meta("inbound")).id == "in"
    assert choose_scorecard(cards, meta("outbound")).id == "all"
    assert choose_scorecard(cards, meta(None)).id == "all"


def test_one_scorecard_scores_calls_of_unknown_direction_as_before() -> None:
    assert choose_scorecard([INBOUND], meta(None)).id == "in"


def test_a_call_no_scorecard_fits_is_a_clear_error_naming_the_call() -> None:
    with pytest.raises(DataError, match="c1: no scorecard for outbound calls among in \\(inbound\\)"):
        choose_scorecard([INBOUND], meta("outbound"))
    with pytest.raises(DataError, match="c1: its direction is unknown") as info:
        choose_scorecard([INBOUND, OUTBOUND], meta(None))
    assert "sidecar or manifest" in (info.value.hint or "")


def test_two_scorecards_for_the_same_direction_are_refused_before_anything_runs() -> None:
    with pytest.raises(DataError, match="'in2' is for inbound calls with 'in'"):
        check_scorecards([INBOUND, for_calls("in2", "inbound")])
    with pytest.raises(DataError, match="twice"):
        check_scorecards([OUTBOUND, OUTBOUND])
    with pytest.raises(DataError, match="no scorecard given"):
        check_scorecards([])

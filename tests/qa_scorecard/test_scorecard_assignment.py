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


# -- by language --------------------------------------------------------------------------------------


def _by_language(name: str, assign_if: str | None = None):
    extra = f'assign_if: "{assign_if}"\n' if assign_if else ""
    return card(
        f"scorecard: {name}\n{extra}sections:\n  - id: s\n    items:\n"
        "      - {id: greet, kind: phrase, phrases: [thank you for calling]}\n"
        "      - {id: es, kind: manual, applies_if: \"language == 'es'\"}\n"
    )


def test_a_spanish_scorecard_is_chosen_by_the_calls_language() -> None:
    spanish, plain = _by_language("es", "language == 'es'"), _by_language("en")
    cards = check_scorecards([spanish, plain])
    assert choose_scorecard(cards, meta(language="es")).id == "es"
    assert choose_scorecard(cards, meta(language="es-MX")).id == "es"  # by the primary subtag
    assert choose_scorecard(cards, meta(language="ES_mx")).id == "es"
    assert choose_scorecard(cards, meta(language="en")).id == "en"
    assert choose_scorecard(cards, meta()).id == "en"  # not known before transcription: the plain one


def test_applies_if_reads_the_language_the_transcript_is_in_detected_or_told() -> None:
    from scorecard_helpers import call

    from callwright.qa.scorecard.conditions import applies, environment

    plain = _by_language("en")
    condition = plain.item("es").applies_if
    detected = call(("agent", 0, 1, "hola"))
    detected.language = "es"  # what the recogniser detected; the metadata says nothing
    assert applies(condition, environment(detected, None, meta())) is True
    assert applies(condition, environment(call(("agent", 0, 1, "hi")), None, meta(language="es-ES"))) is True
    assert applies(condition, environment(call(("agent", 0, 1, "hi")), None, meta())) is False


@pytest.mark.parametrize("key", ["assign_if", "applies_if"])
def test_a_misspelt_language_is_located_with_a_did_you_mean(key: str) -> None:
    text = (
        "scorecard: c\nassign_if: \"langauge == 'es'\"\nsections:\n  - id: s\n    items:\n      - {id: m, kind: manual}\n"
        if key == "assign_if"
        else "scorecard: c\nsections:\n  - id: s\n    items:\n"
        "      - {id: m, kind: manual, applies_if: \"langauge == 'es'\"}\n"
    )
    with pytest.raises(DataError) as info:
        card(text)
    line = next(n for n, t in enumerate(text.splitlines(), 1) if "langauge" in t)
    where = f"card.yaml:{line}:{text.splitlines()[line - 1].index('langauge') + 1}"
    assert f"{where}: error: " in str(info.value)
    assert f"{key}: unknown variable 'langauge'; did you mean 'language'?" in str(info.value)

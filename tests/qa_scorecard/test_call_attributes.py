"""A call's own metadata fields (`attributes`: region, product...) choose its scorecard: a
sidecar, manifest row or transcript gives them, a scorecard declares the ones its `assign_if`
reads, and a stored call keeps them for `qa rescore`."""

from __future__ import annotations

import json

import pytest
from scorecard_helpers import card, meta

from callwright.errors import DataError
from callwright.qa.ingest import Manifest, resolve_meta
from callwright.qa.scorecard.assignment import check_scorecards, choose_scorecard


def by_region(name: str, region: str):
    return card(
        f"""\
        scorecard: {name}
        applies_to: outbound
        attributes:
          region: the customer's sales region
        assign_if: "region == '{region}'"
        sections:
          - id: s
            items:
              - {{id: greet, kind: phrase, phrases: [thank you for calling]}}
        """,
        f"{name}.yaml",
    )


NORTH, SOUTH = by_region("north", "north"), by_region("south", "south")


def test_a_declared_attribute_chooses_the_scorecard_and_a_call_without_it_fits_none() -> None:
    cards = check_scorecards([NORTH, SOUTH])
    assert choose_scorecard(cards, meta("outbound", attributes=(("region", "south"),))).id == "south"
    assert choose_scorecard(cards, meta("outbound", attributes=(("region", "north"),))).id == "north"
    with pytest.raises(DataError, match="no scorecard"):
        choose_scorecard(cards, meta("outbound"))


def test_an_undeclared_name_in_assign_if_says_how_to_declare_it() -> None:
    with pytest.raises(DataError) as err:
        card(
            """\
            scorecard: x
            assign_if: "region == 'north'"
            sections:
              - id: s
                items:
                  - {id: greet, kind: phrase, phrases: [thank you for calling]}
            """
        )
    text = str(err.value)
    assert (
        "card.yaml:2:" in text
        and "unknown variable 'region'" in text
        and "declare it under attributes:" in text
    )


def test_an_attribute_may_not_shadow_a_call_field() -> None:
    with pytest.raises(DataError, match=r"card.yaml:3:\d+: .*'queue' is a call field already"):
        card(
            """\
            scorecard: x
            attributes:
              queue: the queue
            sections:
              - id: s
                items:
                  - {id: greet, kind: phrase, phrases: [thank you for calling]}
            """
        )


def test_sidecar_manifest_and_transcript_give_attributes_merged_field_by_field(tmp_path) -> None:
    (tmp_path / "a.wav").write_bytes(b"")
    (tmp_path / "a.json").write_text(json.dumps({"direction": "outbound", "attributes": {"Region": "north"}}))
    (tmp_path / "m.csv").write_text(
        "file,queue,attributes.product,attributes.region\na.wav,sales,loans,south\n"
    )
    m = resolve_meta(tmp_path / "a.wav", manifest=Manifest.load(tmp_path / "m.csv"))
    assert m.attributes == (("product", "loans"), ("region", "north"))  # the sidecar's region wins
    (tmp_path / "t.json").write_text(
        json.dumps({"attributes": {"priority": 3, "vip": True}, "segments": [], "duration_s": 1})
    )
    assert resolve_meta(tmp_path / "t.json").attributes == (("priority", 3), ("vip", True))


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        ({"queue": "x"}, "is a known field: give it as queue itself"),
        ({"9lives": "x"}, "is not a name a condition can read"),
        ({"region": {"a": 1}}, "must be text, a number or true/false"),
        ({"region": "x" * 201}, "over the limit of 200"),
        ({f"a{i}": "x" for i in range(33)}, "33 attributes, over the limit of 32"),
        ("north", "must be an object of your own fields"),
    ],
)
def test_bad_attributes_are_refused_naming_the_file(tmp_path, attributes, message) -> None:
    (tmp_path / "a.wav").write_bytes(b"")
    (tmp_path / "a.json").write_text(json.dumps({"attributes": attributes}))
    with pytest.raises(DataError, match="a.json|a.wav") as err:
        resolve_meta(tmp_path / "a.wav")
    assert message in str(err.value)


def test_a_misspelt_known_field_is_still_an_error_with_the_way_to_add_ones_own(tmp_path) -> None:
    (tmp_path / "a.wav").write_bytes(b"")
    (tmp_path / "a.json").write_text(json.dumps({"regoin": "north"}))
    with pytest.raises(DataError) as err:
        resolve_meta(tmp_path / "a.wav")
    assert "unknown field 'regoin'" in str(err.value) and '"attributes"' in str(err.value.hint)

"""Scorecard files: the samples load, and each kind of mistake is reported at its line."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest
from scorecard_helpers import card

from callwright.errors import CallwrightError, DataError
from callwright.qa.scorecard import load_scorecard
from callwright.qa.scorecard.loader import schema
from callwright.qa.scorecard.measures import METRICS

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = sorted((ROOT / "scorecards").glob("*.yaml"))

BASE = """\
scorecard: t
applies_to: inbound
sections:
  - id: opening
    weight: 50
    items:
      - id: greeting
        kind: phrase
        phrases: [thank you for calling]
      - id: verify
        kind: phrase
        phrases: [can you confirm your date of birth]
  - id: details
    weight: 50
    items:
      - id: verified-first
        kind: order
        first: verify
        then: {phrases: [your balance is]}
      - id: dead-air
        kind: metric
        metric: dead_air_longest_s
        max: 10
"""


def errors_of(text: str) -> list[str]:
    """The located error lines ('card.yaml:L:C: error: ...') of a broken scorecard."""
    with pytest.raises(DataError) as info:
        card(text)
    return [line for line in str(info.value).splitlines() if ": error: " in line]


def test_base_card_loads():
    c = card(BASE)
    assert [s.id for s in c.sections] == ["opening", "details"]
    assert [it.id for it in c.items] == ["greeting", "verify", "verified-first", "dead-air"]
    order = c.item("verified-first").rule
    assert order.first == c.item("verify").rule and order.first_ref == "verify"


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_sample_scorecards_load_and_point_editors_at_the_schema(path):
    c = load_scorecard(path)
    assert c.items and re.fullmatch(r"[0-9a-f]{16}", c.version)
    first_line = path.read_text().splitlines()[0]
    assert (
        first_line == "# yaml-language-server: $schema=../src/callwright/qa/scorecard/scorecard.schema.json"
    )
    assert (path.parent / first_line.split("=", 1)[1]).resolve().is_file()


def test_samples_include_the_compliance_items_that_fail_a_call():
    inbound = load_scorecard(ROOT / "scorecards" / "inbound-service.yaml")
    disclosure = inbound.item("recording-disclosure")
    assert disclosure.auto_fail and disclosure.rule.within_first_s == 30
    outbound = load_scorecard(ROOT / "scorecards" / "outbound-sales.yaml")
    assert outbound.item("caller-identification").auto_fail
    assert outbound.item("opt-out-offer").auto_fail
    assert (inbound.applies_to, outbound.applies_to) == ("inbound", "outbound")


def test_schema_metric_names_are_the_ones_scoring_knows():
    enum = schema()["$defs"]["metric"]["properties"]["metric"]["enum"]
    assert sorted(enum) == sorted(METRICS)


def test_version_is_a_content_hash_that_ignores_comments_and_layout():
    a = card(BASE)
    assert (
        card(
            "# a comment\n" + BASE.replace("[thank you for calling]", "\n          - thank you for calling")
        ).version
        == a.version
    )
    assert card(BASE.replace("max: 10", "max: 12")).version != a.version


def test_unknown_key_is_located_with_a_suggestion():
    (err,) = errors_of(
        BASE.replace(
            "        phrases: [thank you for calling]",
            "        phrases: [thank you for calling]\n        treshold: 0.7",
        )
    )
    assert err == "card.yaml:10:9: error: item 'greeting': unknown key 'treshold'; did you mean 'threshold'?"


def test_missing_phrases_names_the_item_and_its_kind():
    (err,) = errors_of(BASE.replace("        phrases: [thank you for calling]\n", ""))
    assert (
        err.startswith("card.yaml:7:") and "item 'greeting' (phrase): missing required key 'phrases'" in err
    )


def test_bad_kind_and_bad_metric_suggest_the_right_one():
    errs = errors_of(
        BASE.replace("kind: metric", "kind: metrics").replace(
            "kind: phrase\n        phrases: [can", "kind: phrase\n        phrases: [can"
        )
    )
    assert any("'metrics' is not one of" in e and "did you mean 'metric'" in e for e in errs)
    (err,) = errors_of(BASE.replace("metric: dead_air_longest_s", "metric: dead_air_longest"))
    assert err.startswith("card.yaml:22:") and "did you mean 'dead_air_longest_s'" in err


def test_metric_needs_a_bound_and_min_not_above_max():
    (err,) = errors_of(BASE.replace("        max: 10\n", ""))
    assert err == "card.yaml:20:9: error: item 'dead-air' (metric): give at least one of 'min', 'max'"
    (err,) = errors_of(BASE.replace("max: 10", "max: 10\n        min: 20"))
    assert err.startswith("card.yaml:24:") and "min 20 is above max 10; no value could pass" in err


def test_order_referring_to_an_unknown_item_is_located_with_a_suggestion():
    (err,) = errors_of(BASE.replace("first: verify", "first: verfy"))
    assert err == (
        "card.yaml:18:16: error: item 'verified-first': first refers to unknown item 'verfy'; "
        "did you mean 'verify'?"
    )


def test_order_must_refer_to_a_phrase_item():
    (err,) = errors_of(BASE.replace("first: verify", "first: dead-air"))
    assert "'dead-air', a metric item" in err


def test_bad_expression_is_located_at_its_column():
    text = BASE.replace(
        "        phrases: [thank you for calling]",
        "        phrases: [thank you for calling]\n        applies_if: \"queue == 'billing' and\"",
    )
    (err,) = errors_of(text)
    assert err.startswith("card.yaml:10:") and "applies_if: does not parse" in err


def test_unknown_variable_in_a_condition_suggests_the_right_one():
    text = BASE.replace(
        "        phrases: [thank you for calling]",
        "        phrases: [thank you for calling]\n        applies_if: \"has_hold and queu == 'x'\"",
    )
    (err,) = errors_of(text)
    # column of `queu` inside the quoted expression: 21 (value) + 1 (quote) + 13
    assert err == "card.yaml:10:35: error: applies_if: unknown variable 'queu'; did you mean 'queue'?"


def test_weights_must_be_given_to_every_section_or_none():
    (err,) = errors_of(
        BASE.replace("    weight: 50\n    items:\n      - id: verified", "    items:\n      - id: verified")
    )
    assert err.startswith("card.yaml:13:") and "section 'details' has no weight while others have one" in err


def test_zero_or_negative_weights_and_pointless_items_are_rejected():
    (err,) = errors_of(BASE.replace("weight: 50", "weight: 0", 1))
    assert err == "card.yaml:5:13: error: section 'opening', weight: 0 must be more than 0"
    (err,) = errors_of(
        BASE.replace("metric: dead_air_longest_s", "metric: dead_air_longest_s\n        points: 0")
    )
    assert "points 0 means the item can never count" in err
    # ... but a zero-point auto-fail gate is a valid compliance item
    card(
        BASE.replace(
            "metric: dead_air_longest_s",
            "metric: dead_air_longest_s\n        points: 0\n        auto_fail: true",
        )
    )


def test_section_whose_items_have_no_points_cannot_carry_a_weight():
    text = BASE.replace("max: 10", "max: 10\n        points: 0\n        auto_fail: true").replace(
        "      - id: verified-first\n        kind: order\n        first: verify\n        then: {phrases: [your balance is]}\n",
        "",
    )
    (err,) = errors_of(text)
    assert "section 'details' has a weight but none of its items has points" in err


def test_duplicate_item_ids_are_rejected():
    (err,) = errors_of(BASE.replace("id: dead-air", "id: greeting"))
    assert err.startswith("card.yaml:20:13:") and "duplicate item id 'greeting' (first used on line 7)" in err


def test_sentiment_keys_must_fit_the_check():
    text = BASE + "      - {id: mood, kind: sentiment, check: end, expect: improving}\n"
    (err,) = errors_of(text)
    assert "item 'mood': expect does not apply to check end" in err


def test_yaml_syntax_error_and_empty_file_are_located(tmp_path):
    (err,) = errors_of(BASE.replace("    items:\n      - id: greeting", "    items:\n      - id: [greeting"))
    assert err.startswith("card.yaml:") and "YAML syntax error" in err
    (err,) = errors_of("")
    assert err.startswith("card.yaml:1:1:") and "is empty" in err


def test_missing_file_is_a_user_error(tmp_path):
    with pytest.raises(CallwrightError, match="cannot read file"):
        load_scorecard(tmp_path / "nope.yaml")


def test_the_schema_itself_is_valid_json_schema():
    import jsonschema

    jsonschema.Draft202012Validator.check_schema(schema())
    assert json.loads((ROOT / "src/callwright/qa/scorecard/scorecard.schema.json").read_text()) == schema()


def test_the_error_message_lists_every_problem():
    text = (
        textwrap.dedent(BASE)
        .replace("first: verify", "first: verfy")
        .replace("max: 10", "max: 10\n        min: 20")
    )
    assert len(errors_of(text)) == 2


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        ("weight: 50", "weight: .nan", "section 'opening', weight"),
        (
            "phrases: [thank you for calling]",
            "phrases: [thank you for calling]\n        points: .nan",
            "item 'greeting', points",
        ),
        (
            "phrases: [thank you for calling]",
            "phrases: [thank you for calling]\n        threshold: .NaN",
            "item 'greeting', threshold",
        ),
        (
            "phrases: [thank you for calling]",
            "phrases: [thank you for calling]\n        within_first_s: .nan",
            "item 'greeting', within_first_s",
        ),
        ("max: 10", "max: .nan", "item 'dead-air', max"),
        ("max: 10", "min: .nan\n        max: 10", "item 'dead-air', min"),
        ("max: 10", "max: .inf", "item 'dead-air', max"),
    ],
)
def test_nan_and_infinity_are_refused_at_their_line(old, new, where):
    """NaN passes every range check of the schema (each comparison with it is false): a NaN weight
    scored calls as "score": NaN, which is not JSON."""
    errs = errors_of(BASE.replace(old, new, 1))
    assert any(where in e and ("finite" in e or "1000000000" in e) for e in errs), errs
    assert all(re.match(r"card\.yaml:\d+:\d+: error: ", e) for e in errs)


def test_nan_defaults_and_sentiment_bounds_are_refused():
    text = BASE.replace(
        "applies_to: inbound\n", "applies_to: inbound\ndefaults:\n  sentiment_min: .nan\n  threshold: .nan\n"
    )
    text += "      - {id: mood, kind: sentiment, check: trajectory, min_change: .nan}\n"
    errs = errors_of(text)
    assert {"defaults.sentiment_min", "defaults.threshold", "item 'mood', min_change"} <= {
        e.split(": error: ")[1].split(": must")[0] for e in errs
    }, errs

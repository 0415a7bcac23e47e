"""How verdicts become a score: weights, points, N/A, auto-fail, reviews; and the non-phrase item kinds."""

from __future__ import annotations

import pytest
from scorecard_helpers import call, card, meta, metrics, verdicts

from callwright.qa.scorecard import apply_reviews, score

GREETING = "Thank you for calling Acme, how can I help you today?"
ACCOUNT = "Your balance is forty two pounds."
VERIFY = "Before I go on, can you confirm your date of birth?"

THREE = """\
scorecard: t
sections:
  - id: s
    items:
      - {id: greet, kind: phrase, phrases: [thank you for calling acme]}
      - {id: bye, kind: phrase, phrases: [have a lovely day goodbye]}
      - {id: hold-ask, kind: phrase, applies_if: has_hold, phrases: [can I put you on hold]}
"""


def test_not_applicable_items_leave_the_denominator(matcher):
    tr = call(("agent", 0, 3, GREETING), ("agent", 10, 12, "Right."))
    r = score(card(THREE), tr, metrics(), meta(), matcher=matcher)
    assert verdicts(r) == {"greet": "pass", "bye": "fail", "hold-ask": "na"}
    na = r.items[2]
    assert (na.points, na.max_points) == (0, 0) and "not applicable: has_hold" in na.evidence[0].note
    assert r.score == 50.0  # 1 of 2; full credit for N/A would give 66.67


def test_an_applicable_condition_counts_the_item(matcher):
    tr = call(("agent", 0, 3, GREETING), ("agent", 10, 12, "Right."))
    r = score(card(THREE), tr, metrics(holds=[(20, 160)]), meta(), matcher=matcher)
    assert verdicts(r)["hold-ask"] == "fail" and r.score == pytest.approx(33.33)


WEIGHTED = """\
scorecard: t
sections:
  - id: a
    weight: 75
    items:
      - {id: greet, kind: phrase, phrases: [thank you for calling acme]}
  - id: b
    weight: 25
    items:
      - {id: bye, kind: phrase, phrases: [have a lovely day goodbye]}
      - {id: thanks, kind: phrase, points: 3, phrases: [thanks for your patience]}
"""


def test_section_weights_combine_section_percentages(matcher):
    tr = call(("agent", 0, 3, GREETING))
    r = score(card(WEIGHTED), tr, None, meta(), matcher=matcher)
    assert verdicts(r) == {"greet": "pass", "bye": "fail", "thanks": "fail"}
    assert r.score == 75.0
    unweighted = card(WEIGHTED.replace("    weight: 75\n", "").replace("    weight: 25\n", ""))
    assert score(unweighted, tr, None, meta(), matcher=matcher).score == 20.0  # 1 point of 5


def test_points_inside_a_section(matcher):
    tr = call(("agent", 0, 3, GREETING), ("agent", 50, 52, "Thanks for your patience."))
    r = score(card(WEIGHTED), tr, None, meta(), matcher=matcher)
    assert [(i.points, i.max_points) for i in r.items] == [(1, 1), (0, 1), (3, 3)]
    assert r.score == 75.0 + 25.0 * 3 / 4


def test_a_section_with_nothing_applicable_leaves_the_weighting(matcher):
    c = card(
        WEIGHTED.replace("      - {id: bye,", "      - {id: bye, applies_if: \"queue == 'x'\",").replace(
            "{id: thanks,", "{id: thanks, applies_if: \"queue == 'x'\","
        )
    )
    r = score(c, call(("agent", 0, 3, GREETING)), None, meta(), matcher=matcher)
    assert r.score == 100.0


AUTO = """\
scorecard: t
sections:
  - id: s
    items:
      - {id: greet, kind: phrase, points: 3, phrases: [thank you for calling acme]}
      - {id: disclosure, kind: phrase, auto_fail: true, within_first_s: 30,
         phrases: [this call may be recorded for quality purposes]}
      - {id: resolved, kind: manual, question: Was the issue resolved?}
"""


def test_a_failed_auto_fail_item_zeroes_the_score_and_keeps_the_raw_score(matcher):
    r = score(card(AUTO), call(("agent", 0, 3, GREETING)), None, meta(), matcher=matcher)
    assert r.auto_failed and r.score == 0.0 and r.raw_score == 75.0
    flagged = [i.item_id for i in r.items if i.auto_fail]
    assert flagged == ["disclosure"]


def test_a_passed_auto_fail_item_counts_like_any_other(matcher):
    tr = call(("agent", 0, 3, GREETING), ("agent", 4, 8, "This call may be recorded for quality purposes."))
    r = score(card(AUTO), tr, None, meta(), matcher=matcher)
    assert not r.auto_failed and r.score == r.raw_score == 100.0


def test_manual_items_wait_for_a_reviewer_and_then_count(matcher):
    tr = call(("agent", 0, 3, GREETING), ("agent", 4, 8, "This call may be recorded for quality purposes."))
    c = card(AUTO)
    r = score(c, tr, None, meta(), matcher=matcher)
    manual = r.items[2]
    assert (manual.verdict, manual.points, manual.max_points) == ("review", 0, 0)
    assert "Was the issue resolved?" in manual.evidence[0].note
    reviewed = apply_reviews(c, r, {"resolved": "fail"})
    assert reviewed.score == 80.0 and reviewed.items[2].verdict == "fail"
    assert reviewed.items[2].evidence[0].note == "reviewer: fail (automatic: review)"
    overturned = apply_reviews(c, r, {"disclosure": "fail"})
    assert overturned.auto_failed and overturned.score == 0.0
    assert r.score == 100.0  # the automatic result is unchanged


def test_a_call_of_the_other_direction_is_not_scored(matcher):
    c = card(AUTO.replace("scorecard: t", "scorecard: t\napplies_to: outbound"))
    r = score(c, call(("agent", 0, 3, GREETING)), None, meta("inbound"), matcher=matcher)
    assert r.score is None and not r.auto_failed and set(verdicts(r).values()) == {"na"}
    assert "scorecard is for outbound calls; this call is inbound" in r.items[0].evidence[0].note


def test_conditions_read_metadata_and_transcript(matcher):
    c = card("""\
        scorecard: t
        sections:
          - id: s
            items:
              - {id: billing, kind: manual, applies_if: "queue == 'billing'"}
              - {id: cancel, kind: manual, applies_if: "'cancel' in customer_text"}
              - {id: long, kind: manual, applies_if: "duration_s > 60 and agent_turns >= 1"}
              - {id: broken, kind: manual, applies_if: "duration_s > campaign"}
        """)
    tr = call(("agent", 0, 3, GREETING), ("customer", 4, 8, "I want to CANCEL my contract."), duration=90)
    r = score(c, tr, None, meta(queue="sales"), matcher=matcher)
    assert verdicts(r) == {"billing": "na", "cancel": "review", "long": "review", "broken": "review"}
    assert "applies_if could not be evaluated" in r.items[3].evidence[0].note


def test_scoring_is_deterministic(matcher):
    tr = call(("agent", 0, 3, GREETING), ("agent", 10, 12, "Right."))
    c = card(THREE)
    assert score(c, tr, metrics(), meta(), matcher=matcher) == score(
        c, tr, metrics(), meta(), matcher=matcher
    )


ORDER = """\
scorecard: t
sections:
  - id: s
    items:
      - {id: verify, kind: phrase, phrases: [can you confirm your date of birth]}
      - id: verified-first
        kind: order
        first: verify
        then: {phrases: [your balance is]}
"""


@pytest.mark.parametrize(
    "turns, expected",
    [
        ([VERIFY, "It's the fifth of May.", ACCOUNT], "pass"),
        ([ACCOUNT, "Okay.", VERIFY], "fail"),
        ([ACCOUNT, "Okay, thanks."], "fail"),
        ([VERIFY, "It's the fifth of May."], "na"),
    ],
    ids=["verified-first", "details-first", "never-verified", "no-details"],
)
def test_order_constraint(turns, expected, matcher):
    speakers = ["agent", "customer", "agent"]
    tr = call(*[(speakers[i], 5 * i, 5 * i + 4, text) for i, text in enumerate(turns)])
    r = score(card(ORDER), tr, None, meta(), matcher=matcher)
    item = r.items[1]
    assert item.verdict == expected
    if expected == "pass":
        assert [e.start for e in item.evidence] == [pytest.approx(0, abs=2), pytest.approx(10, abs=2)]
    if expected == "na":
        assert item.max_points == 0 and r.score == 100.0


METRIC = """\
scorecard: t
sections:
  - id: s
    items:
      - {id: dead-air, kind: metric, metric: dead_air_longest_s, max: 15}
      - {id: share, kind: metric, metric: agent_talk_share, min: 0.3, max: 0.7}
      - {id: ratio, kind: metric, metric: talk_listen_ratio, max: 2}
      - {id: interrupts, kind: metric, metric: interruptions_by_agent, max: 1}
"""


def test_metric_thresholds_with_the_measured_value_as_evidence(matcher):
    tr = call(("agent", 0, 3, GREETING))
    m = metrics(
        talk=(90.0, 30.0),
        dead_air=[(30, 42), (60, 78)],
        overtalk=[(5, 6, "agent"), (9, 10, "agent"), (20, 21, "customer")],
    )
    r = score(card(METRIC), tr, m, meta(), matcher=matcher)
    assert verdicts(r) == {"dead-air": "fail", "share": "fail", "ratio": "fail", "interrupts": "fail"}
    assert [i.evidence[0].value for i in r.items] == [18.0, 0.75, 3.0, 2.0]
    assert r.items[0].evidence[0].note == "longest dead air (s) 18; max 15"
    good = metrics(talk=(60.0, 50.0), dead_air=[(30, 42)], overtalk=[(20, 21, "customer")])
    assert set(verdicts(score(card(METRIC), tr, good, meta(), matcher=matcher)).values()) == {"pass"}


def test_metric_items_are_not_applicable_without_metrics_or_a_value(matcher):
    tr = call(("agent", 0, 3, GREETING))
    r = score(card(METRIC), tr, None, meta(), matcher=matcher)
    assert set(verdicts(r).values()) == {"na"} and r.score is None
    assert "no conversation metrics" in r.items[0].evidence[0].note
    silent_customer = metrics(talk=(60.0, 0.0))
    assert verdicts(score(card(METRIC), tr, silent_customer, meta(), matcher=matcher))["ratio"] == "na"


SENTIMENT = """\
scorecard: t
sections:
  - id: s
    items:
      - {id: end, kind: sentiment, check: end}
      - {id: last2, kind: sentiment, check: end, last_n: 2, min: 0}
      - {id: not-worse, kind: sentiment, check: trajectory}
      - {id: better, kind: sentiment, check: trajectory, expect: improving}
"""


def customer_call(*scores: float, duration: float = 100.0):
    """Customer turns spread evenly over the call, with the given sentiment values."""
    step = duration / len(scores)
    return call(
        *[("customer", i * step, i * step + 3, f"turn {i}", s) for i, s in enumerate(scores)],
        ("agent", 1, 2, "Hello."),
        duration=duration,
    )


def test_angry_customer_who_calms_down(matcher):
    r = score(card(SENTIMENT), customer_call(-0.9, -0.7, -0.2, 0.1, 0.5, 0.8), None, meta(), matcher=matcher)
    assert verdicts(r) == {"end": "pass", "last2": "pass", "not-worse": "pass", "better": "pass"}
    trend = r.items[3].evidence[0]
    assert trend.value == pytest.approx(0.8 - (-0.8), abs=0.01)
    assert "improving" in trend.note and "-0.80 in the first quarter" in trend.note


def test_customer_who_turns_negative(matcher):
    r = score(card(SENTIMENT), customer_call(0.3, 0.2, 0.0, -0.4, -0.6, -0.8), None, meta(), matcher=matcher)
    assert verdicts(r) == {"end": "fail", "last2": "fail", "not-worse": "fail", "better": "fail"}
    assert r.items[0].evidence[0].value == pytest.approx(-0.8)  # the last quarter: one turn
    assert "worsening" in r.items[2].evidence[0].note


def test_steady_neutral_customer(matcher):
    r = score(card(SENTIMENT), customer_call(0.0, 0.1, 0.0, 0.05), None, meta(), matcher=matcher)
    assert verdicts(r) == {"end": "pass", "last2": "pass", "not-worse": "pass", "better": "fail"}
    assert "steady" in r.items[3].evidence[0].note


def test_last_n_differs_from_last_quarter(matcher):
    # the last quarter holds one positive turn; the last two turns average negative
    r = score(card(SENTIMENT), customer_call(-0.5, -0.5, -0.6, 0.4), None, meta(), matcher=matcher)
    assert verdicts(r)["end"] == "pass" and verdicts(r)["last2"] == "fail"


def test_sentiment_without_values_goes_to_review_and_a_silent_customer_is_na(matcher):
    unrated = call(("customer", 0, 3, "Hello."), ("agent", 4, 6, "Hi."))
    r = score(card(SENTIMENT), unrated, None, meta(), matcher=matcher)
    assert (
        set(verdicts(r).values()) == {"review"}
        and "run sentiment before scoring" in r.items[0].evidence[0].note
    )
    silent = call(("agent", 0, 3, "Hello?"))
    assert set(verdicts(score(card(SENTIMENT), silent, None, meta(), matcher=matcher)).values()) == {"na"}


def test_a_prepared_call_is_used_only_for_its_own_transcript(matcher, monkeypatch):
    """`score(prepared=)` scores from the `CallText` a batch prepared to warm the matcher (not
    prepared again); one prepared for another transcript, or for other rules, is not used."""
    from callwright.qa.scorecard.matching import CallText
    from callwright.qa.scorecard.placeholders import call_values
    from callwright.qa.scorecard.scoring import phrase_rules

    sc = card(THREE)
    greeted = call(("agent", 0, 3, GREETING), ("agent", 10, 12, "Right."))
    silent = call(("agent", 0, 3, "Right."))
    prepared = matcher.prepare(greeted, call_values(sc.values, meta()), phrase_rules(sc))
    made: list[object] = []
    real_init = CallText.__init__
    monkeypatch.setattr(
        CallText, "__init__", lambda self, *a, **k: made.append(a[0]) or real_init(self, *a, **k)
    )
    assert (
        verdicts(score(sc, greeted, metrics(), meta(), matcher=matcher, prepared=prepared))["greet"] == "pass"
    )
    assert made == []  # scored from the prepared call
    assert (
        verdicts(score(sc, silent, metrics(), meta(), matcher=matcher, prepared=prepared))["greet"] == "fail"
    )
    assert made == [silent]  # another transcript's: prepared anew
    other = card(THREE.replace("thank you for calling acme", "your parcel was delivered to the depot"))
    assert (
        verdicts(score(other, greeted, metrics(), meta(), matcher=matcher, prepared=prepared))["greet"]
        == "fail"
    )
    assert made == [silent, greeted]  # other rules: prepared anew

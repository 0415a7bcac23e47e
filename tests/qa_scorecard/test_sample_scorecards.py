"""The sample scorecards on hand-written calls: a call that follows the script scores 100, each
compliance miss fails the call, and sentiment comes from the live model."""

from __future__ import annotations

from pathlib import Path

import pytest
from scorecard_helpers import call, meta, metrics, verdicts

from callwright.qa.scorecard import load_scorecard, score

ROOT = Path(__file__).resolve().parents[2]

OPENING = (
    "agent",
    0,
    7,
    "Thank you for calling Acme Telecom, my name is Sam. This call may be recorded "
    "for quality and training purposes. How can I help you today?",
)
INBOUND = [
    OPENING,
    ("customer", 8, 12, "Hi, my broadband keeps dropping out and it's a real problem."),
    ("agent", 13, 17, "I'm sorry to hear that. Can you confirm your date of birth for security?"),
    ("customer", 18, 21, "Yes, it's the fifth of May 1980."),
    ("agent", 22, 26, "Thank you. I can see on your account that there was an outage in your area."),
    ("agent", 27, 30, "Can I put you on hold for a moment while I check with our engineers?"),
    ("customer", 31, 32, "Sure."),
    (
        "agent",
        153,
        160,
        "Thanks for holding. The engineers have fixed the fault, your connection should be stable now.",
    ),
    ("customer", 161, 165, "Oh that's great, thank you so much for sorting it out."),
    ("agent", 166, 169, "Is there anything else I can help you with?"),
    ("customer", 170, 172, "No, that's everything, thanks."),
    ("agent", 173, 176, "Thank you for calling Acme, have a great day."),
]
INBOUND_METRICS = dict(talk=(45.0, 20.0), holds=[(32, 152)], overtalk=[(170, 170.5, "agent")])


@pytest.fixture(scope="module")
def inbound():
    return load_scorecard(ROOT / "scorecards" / "inbound-service.yaml")


@pytest.fixture(scope="module")
def outbound():
    return load_scorecard(ROOT / "scorecards" / "outbound-sales.yaml")


def inbound_call(turns, rate_sentiment):
    return rate_sentiment(call(*turns, duration=178.0))


def test_an_inbound_call_that_follows_the_script_scores_100(inbound, matcher, rate_sentiment):
    r = score(
        inbound, inbound_call(INBOUND, rate_sentiment), metrics(**INBOUND_METRICS), meta(), matcher=matcher
    )
    v = verdicts(r)
    assert [k for k, x in v.items() if x not in ("pass", "review")] == []
    assert v["resolution-confirmed"] == "review"  # left to a reviewer
    assert r.score == 100.0 and not r.auto_failed
    assert r.scorecard == "inbound-service" and r.scorecard_version == inbound.version


def test_a_call_without_the_recording_disclosure_fails(inbound, matcher, rate_sentiment):
    turns = [
        ("agent", 0, 5, "Thank you for calling Acme Telecom, my name is Sam. How can I help you today?"),
        *INBOUND[1:],
    ]
    r = score(
        inbound, inbound_call(turns, rate_sentiment), metrics(**INBOUND_METRICS), meta(), matcher=matcher
    )
    assert verdicts(r)["recording-disclosure"] == "fail"
    assert r.auto_failed and r.score == 0.0 and 80.0 < r.raw_score < 100.0


def test_a_disclosure_after_30_seconds_fails(inbound, matcher, rate_sentiment):
    turns = [
        ("agent", 0, 5, "Thank you for calling Acme Telecom, my name is Sam. How can I help you today?"),
        *INBOUND[1:5],
        ("agent", 40, 44, "Oh, and this call may be recorded for quality and training purposes."),
        *INBOUND[5:],
    ]
    r = score(
        inbound, inbound_call(turns, rate_sentiment), metrics(**INBOUND_METRICS), meta(), matcher=matcher
    )
    item = next(i for i in r.items if i.item_id == "recording-disclosure")
    assert item.verdict == "fail" and r.auto_failed
    assert any("said at 4" in e.note for e in item.evidence)


def test_account_details_before_verification_fail_the_order_item(inbound, matcher, rate_sentiment):
    turns = [
        OPENING,
        INBOUND[1],
        ("agent", 13, 17, "I'm sorry to hear that. I can see on your account that there was an outage."),
        ("agent", 18, 21, "Can you confirm your date of birth for security?"),
        ("customer", 22, 24, "It's the fifth of May 1980."),
        *INBOUND[5:],
    ]
    r = score(
        inbound, inbound_call(turns, rate_sentiment), metrics(**INBOUND_METRICS), meta(), matcher=matcher
    )
    v = verdicts(r)
    assert v["verify-identity"] == "pass" and v["verified-before-details"] == "fail"
    assert not r.auto_failed and r.score < 100.0


def test_an_angry_customer_who_calms_down(inbound, matcher, rate_sentiment):
    turns = [
        OPENING,
        (
            "customer",
            8,
            13,
            "This is ridiculous, my internet has been down for three days and nobody has fixed the problem!",
        ),
        ("customer", 14, 17, "I've called four times already and I'm really fed up."),
        *INBOUND[2:8],
        ("customer", 161, 165, "Oh that's great, thank you so much for sorting it out."),
        ("agent", 166, 169, "Is there anything else I can help you with?"),
        ("customer", 170, 172, "No, that's everything. You've been really helpful, thanks."),
        INBOUND[-1],
    ]
    tr = inbound_call(turns, rate_sentiment)
    labels = {u.text[:20]: u.sentiment_label for u in tr.utterances if u.speaker == "customer"}
    assert labels["This is ridiculous, "] == "negative" and labels["Oh that's great, tha"] == "positive"
    r = score(inbound, tr, metrics(**INBOUND_METRICS), meta(), matcher=matcher)
    v = verdicts(r)
    assert v["empathy"] == "pass" and v["customer-not-negative"] == "pass" and v["sentiment-trend"] == "pass"
    trend = next(i for i in r.items if i.item_id == "sentiment-trend").evidence[0]
    assert trend.value > 0.3 and "improving" in trend.note


def test_a_customer_still_angry_at_the_end(inbound, matcher, rate_sentiment):
    turns = [
        *INBOUND[:-4],
        (
            "customer",
            161,
            166,
            "Well it's too late, this is the worst service I've ever had and I'm cancelling.",
        ),
        ("agent", 167, 169, "Is there anything else I can help you with?"),
        ("customer", 170, 172, "No. I'm furious, goodbye."),
        INBOUND[-1],
    ]
    r = score(
        inbound, inbound_call(turns, rate_sentiment), metrics(**INBOUND_METRICS), meta(), matcher=matcher
    )
    v = verdicts(r)
    assert v["customer-not-negative"] == "fail" and v["sentiment-trend"] == "fail"
    assert not r.auto_failed and r.score < 90.0


OUTBOUND = [
    ("agent", 0, 6, "Hi, this is Sam calling from Acme Telecom. I'm calling about our new broadband offer."),
    ("customer", 7, 9, "Oh, okay, go on."),
    ("agent", 10, 13, "Can I ask who your current broadband provider is?"),
    ("customer", 14, 17, "We're with another company, paying about forty pounds."),
    ("agent", 18, 24, "We can offer you faster broadband, and it costs thirty pounds a month."),
    ("customer", 25, 28, "That sounds interesting, but I need to think about it."),
    (
        "agent",
        29,
        34,
        "Of course. If you'd prefer not to receive these calls, I can remove you from our list.",
    ),
    ("customer", 35, 37, "No, that's fine, you can call me again."),
    ("agent", 38, 43, "Great, I'll send you the details by email. Thank you for your time."),
    ("customer", 44, 45, "Thanks, bye."),
]
OUTBOUND_METRICS = dict(talk=(28.0, 17.0), rate=(160.0, 150.0), handle=47.0)


def outbound_result(card, turns, matcher, rate_sentiment, **meta_kw):
    tr = rate_sentiment(call(*turns, duration=47.0))
    return score(card, tr, metrics(**OUTBOUND_METRICS), meta("outbound", **meta_kw), matcher=matcher)


def test_an_outbound_call_with_identification_and_opt_out(outbound, matcher, rate_sentiment):
    r = outbound_result(outbound, OUTBOUND, matcher, rate_sentiment, disposition="callback")
    v = verdicts(r)
    assert v["terms-consent"] == "na"  # only for sales
    assert v["objections"] == "review"
    assert [k for k, x in v.items() if x not in ("pass", "review", "na")] == []
    assert r.score == 100.0 and not r.auto_failed


def test_an_outbound_call_without_the_opt_out_offer_fails(outbound, matcher, rate_sentiment):
    turns = [t for t in OUTBOUND if "remove you from our list" not in t[3]]
    r = outbound_result(outbound, turns, matcher, rate_sentiment, disposition="callback")
    assert verdicts(r)["opt-out-offer"] == "fail" and r.auto_failed and r.score == 0.0


def test_an_outbound_call_without_caller_identification_fails(outbound, matcher, rate_sentiment):
    turns = [("agent", 0, 6, "Hi there! I'm calling about our new broadband offer."), *OUTBOUND[1:]]
    r = outbound_result(outbound, turns, matcher, rate_sentiment, disposition="callback")
    assert verdicts(r)["caller-identification"] == "fail" and r.auto_failed


def test_a_sale_needs_the_terms(outbound, matcher, rate_sentiment):
    r = outbound_result(outbound, OUTBOUND, matcher, rate_sentiment, disposition="sale")
    assert verdicts(r)["terms-consent"] == "fail" and not r.auto_failed and r.score < 100.0


def test_the_inbound_scorecard_does_not_score_an_outbound_call(inbound, matcher, rate_sentiment):
    r = outbound_result(inbound, OUTBOUND, matcher, rate_sentiment)
    assert r.score is None and set(verdicts(r).values()) == {"na"}

"""Issue 17: counter-examples, metadata placeholders, matched spans, assignment by metadata.

Small hand-written calls in the shape of the Harper Valley bank calls (lower case, no
punctuation, agent and caller turns) with the real MiniLM encoder.
"""

from __future__ import annotations

import pytest
from scorecard_helpers import call, card, meta, verdicts

from callwright.errors import DataError
from callwright.qa.model import CallMeta, Utterance, Word
from callwright.qa.scorecard import score
from callwright.qa.scorecard.assignment import check_scorecards, choose_scorecard
from callwright.qa.scorecard.matching import tokens
from callwright.qa.scorecard.placeholders import fill, fill_examples, names, stray_brace

BANK = """
scorecard: bank
values:
  company: Harper Valley National Bank
sections:
  - id: s
    items:
      - id: agent-name
        kind: phrase
        within_first_s: 20
        phrases: ["my name is {agent}"]
      - id: greeting
        kind: phrase
        within_first_s: 20
        phrases: ["hello this is {company}"]
      - id: verify
        kind: phrase
        phrases:
          - what is the name and zip code on the account
          - can you verify your date of birth
          - what is your phone number
        not_phrases:
          - which account would you like to check
          - what is the company address
      - id: further-help
        kind: phrase
        within_last_s: 30
        phrases: [is there anything else I can help you with, anything else?]
        not_phrases: [how can I help you today]
"""


def short_call(*agent_lines: tuple[float, str], customer: str = "hi i need my balance"):
    turns = [("agent", t, t + 2.5, text) for t, text in agent_lines]
    turns.append(("customer", 9.0, 11.0, customer))
    return call(*sorted(turns, key=lambda t: t[1]), duration=30.0)


def test_my_name_is_agent_matches_this_calls_agent_and_not_another_name(matcher):
    c = card(BANK)
    t = short_call(
        (1.0, "hello this is harper valley national bank my name is linda how can i help you today")
    )
    assert verdicts(score(c, t, None, meta(agent="Linda"), matcher=matcher))["agent-name"] == "pass"
    assert verdicts(score(c, t, None, meta(agent="Linda"), matcher=matcher))["greeting"] == "pass"
    # the same words on a call of agent Alex: Linda is not Alex's name
    wrong = score(c, t, None, meta(agent="Alexander"), matcher=matcher)
    assert verdicts(wrong)["agent-name"] == "fail"


def test_a_placeholder_without_a_value_makes_the_item_review_not_fail(matcher):
    result = score(card(BANK), short_call((1.0, "my name is linda")), None, meta(), matcher=matcher)
    item = next(r for r in result.items if r.item_id == "agent-name")
    assert item.verdict == "review"
    assert "{agent}" in item.evidence[0].note


def test_counter_example_keeps_a_which_account_question_from_passing_verification(matcher):
    c = card(BANK)
    which = short_call((1.0, "which account would you like to check today"))
    assert verdicts(score(c, which, None, meta(agent="Linda"), matcher=matcher))["verify"] == "fail"
    payee = short_call((1.0, "okay and what is the company address"))
    assert verdicts(score(c, payee, None, meta(agent="Linda"), matcher=matcher))["verify"] == "fail"
    asked = short_call((1.0, "before we start what's the name and zip code on the account"))
    assert verdicts(score(c, asked, None, meta(agent="Linda"), matcher=matcher))["verify"] == "pass"


def test_without_the_counter_example_the_which_account_question_is_closer(matcher):
    """The lever is what keeps it out: without not_phrases the same question scores higher than
    the counter-example lets through (it is the example's closest stretch)."""
    plain = card(BANK.replace("          - which account would you like to check\n", ""))
    which = short_call((1.0, "which account would you like to check today"))
    with_counter = score(card(BANK), which, None, meta(agent="Linda"), matcher=matcher)
    without = score(plain, which, None, meta(agent="Linda"), matcher=matcher)
    sim = {r.item_id: r.evidence[0].similarity or 0.0 for r in with_counter.items}
    sim_plain = {r.item_id: r.evidence[0].similarity or 0.0 for r in without.items}
    assert sim_plain["verify"] > sim["verify"]


def test_an_opening_offer_on_a_short_call_is_not_an_offer_of_further_help(matcher):
    # a 30 s call: the opening "how can i help you today" lies inside the last 30 s
    t = short_call(
        (1.0, "hello this is harper valley national bank my name is linda how can i help you today")
    )
    assert (
        verdicts(score(card(BANK), t, None, meta(agent="Linda"), matcher=matcher))["further-help"] == "fail"
    )
    asked = short_call(
        (1.0, "hello this is harper valley national bank my name is linda how can i help you today"),
        (20.0, "your balance is ten dollars anything else"),
    )
    assert (
        verdicts(score(card(BANK), asked, None, meta(agent="Linda"), matcher=matcher))["further-help"]
        == "pass"
    )


def test_the_negation_rule_still_holds_with_counter_examples(matcher):
    t = short_call((20.0, "there is not anything else i can help you with"))
    assert (
        verdicts(score(card(BANK), t, None, meta(agent="Linda"), matcher=matcher))["further-help"] == "fail"
    )


def test_evidence_carries_the_matched_words_and_their_times_from_word_times(matcher):
    words = "okay what is your phone number please".split()
    u = Utterance(
        "agent",
        10.0,
        13.5,
        " ".join(words),
        words=[Word(w, 10.0 + 0.5 * i, 10.4 + 0.5 * i) for i, w in enumerate(words)],
    )
    t = short_call()
    t.utterances.append(u)
    result = score(card(BANK), t, None, meta(agent="Linda"), matcher=matcher)
    ev = next(r for r in result.items if r.item_id == "verify").evidence[0]
    a, b = ev.span_chars
    assert "phone number" in ev.text[a:b]
    assert ev.text[a:b] in ev.text and b - a < len(ev.text)  # the words, not the whole turn
    first = len(ev.text[:a].split())  # word index of the span's first word
    assert ev.span_times[0] == pytest.approx(10.0 + 0.5 * first)
    assert "interpolated" not in ev.note


def test_span_times_without_word_times_are_interpolated_and_say_so(matcher):
    t = short_call((1.0, "hi there. Okay, what's your phone number?"))
    result = score(card(BANK), t, None, meta(agent="Linda"), matcher=matcher)
    ev = next(r for r in result.items if r.item_id == "verify").evidence[0]
    a, b = ev.span_chars
    assert "phone number" in ev.text[a:b]
    assert 1.0 < ev.span_times[0] < ev.span_times[1] <= 3.5
    assert "interpolated" in ev.note


def test_token_character_offsets_point_into_the_original_text():
    u = Utterance("agent", 0.0, 2.0, "Okay,  it’s  DONE. Bye!")
    toks = tokens(u)
    assert [u.text[t.cstart : t.cend] for t in toks] == ["Okay", "it’s", "DONE", "Bye"]


# -- placeholders and the loader ------------------------------------------------------------------


def test_placeholder_helpers():
    assert names("my name is {agent} at {company}") == [("agent", 11), ("company", 22)]
    assert fill("my name is {agent}", {"agent": "Linda"}) == "my name is linda"
    assert fill("my name is {agent}", {"agent": None}) is None
    assert fill("literal {{braces}}", {}) == "literal {braces}"
    assert stray_brace("my name is {agent") == 11
    assert stray_brace("fine {agent} {{x}}") is None
    assert fill_examples(["a {agent}", "plain"], {}) == [("plain", "plain")]


def test_an_unknown_placeholder_is_an_error_at_its_line_and_column():
    text = """\
scorecard: c
sections:
  - id: s
    items:
      - id: name
        kind: phrase
        phrases:
          - my name is {agnet}
          - "thanks for calling {brand}"
"""
    with pytest.raises(DataError) as info:
        card(text)
    msg = str(info.value)
    assert "card.yaml:8:24: error: item 'name': unknown placeholder '{agnet}'; did you mean '{agent}'?" in msg
    assert "card.yaml:9:33: error: item 'name': unknown placeholder '{brand}'" in msg


def test_values_define_placeholders_and_a_stray_brace_is_located():
    ok = card(BANK)
    assert dict(ok.values) == {"company": "Harper Valley National Bank"}
    with pytest.raises(DataError, match=r"card.yaml:8:24: error: item 'x': unmatched '\{'"):
        card(
            """\
scorecard: c
sections:
  - id: s
    items:
      - id: x
        kind: phrase
        phrases:
          - my name is {agent
"""
        )


def test_not_phrases_are_refused_on_items_that_have_no_phrases():
    with pytest.raises(DataError, match="unknown key 'not_phrases'"):
        card(
            """\
scorecard: c
sections:
  - id: s
    items:
      - id: m
        kind: manual
        not_phrases: [x]
"""
        )


# -- choosing a scorecard by metadata ------------------------------------------------------------


def _card(cid: str, applies_to: str = "any", assign_if: str | None = None):
    extra = f'assign_if: "{assign_if}"\n' if assign_if else ""
    return card(
        f"scorecard: {cid}\napplies_to: {applies_to}\n{extra}"
        "sections:\n  - id: s\n    items:\n      - {id: g, kind: phrase, phrases: [hello]}\n"
    )


def test_two_outbound_scorecards_are_told_apart_by_queue():
    sales = _card("sales", "outbound", "queue == 'sales'")
    collections = _card("collections", "outbound", "queue in ['collections', 'recoveries']")
    fallback = _card("outbound", "outbound")
    cards = check_scorecards([sales, collections, fallback])
    pick = lambda **kw: choose_scorecard(cards, CallMeta("c1", "outbound", **kw)).id  # noqa: E731
    assert pick(queue="sales") == "sales"
    assert pick(queue="recoveries") == "collections"
    assert pick(queue="retention") == "outbound"
    assert pick() == "outbound"  # no queue: the condition cannot hold


def test_two_assign_if_that_both_hold_are_an_error_for_the_call():
    a = _card("a", assign_if="campaign == 'spring'")
    b = _card("b", assign_if="agent == 'Linda'")
    with pytest.raises(DataError, match="c1: the assign_if of scorecards a .* and b .* both hold"):
        choose_scorecard([a, b], CallMeta("c1", "inbound", campaign="spring", agent="Linda"))


def test_a_single_scorecard_whose_assign_if_does_not_hold_leaves_the_call_unscored(matcher):
    only = _card("sales", "any", "queue == 'sales'")
    result = score(
        only, call(("agent", 0, 1, "hello")), None, CallMeta("c1", queue="support"), matcher=matcher
    )
    assert result.score is None
    assert "queue == 'sales'" in result.items[0].evidence[0].note


def test_assign_if_reads_metadata_only_and_a_typo_is_located():
    with pytest.raises(DataError, match=r"card.yaml:2:13: error: assign_if: unknown variable 'queu'"):
        card(
            'scorecard: c\nassign_if: "queu == 1"\nsections:\n  - id: s\n    items:\n      - {id: m, kind: manual}\n'
        )
    with pytest.raises(DataError, match="assign_if: unknown variable 'agent_text'"):
        card(
            "scorecard: c\nassign_if: \"'x' in agent_text\"\nsections:\n  - id: s\n    items:\n      - {id: m, kind: manual}\n"
        )

"""Cue words on phrase items (`cues:`): an item also passes where one of its cue words is said
verbatim in its time window, unless negated or inside a counter-example with the same cue.

Every sentence here was written for these tests (none is a scorecard example or an evaluation
sentence); calls are lower case without punctuation, like the human transcripts of real calls.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from scorecard_helpers import call, card, meta

from callwright.qa.scorecard import load_scorecard, score

ROOT = Path(__file__).resolve().parents[2]

CARD = """
scorecard: cues
sections:
  - id: s
    items:
      - id: closing
        kind: phrase
        threshold: 0.72
        within_last_s: 20
        phrases: [thank you for calling have a great day, goodbye]
        not_phrases: [thank you for holding]
        cues: [thank, thanks, bye]
      - id: further
        kind: phrase
        threshold: 0.63
        within_last_s: 30
        phrases: [is there anything else I can help you with]
        not_phrases: [how can I help you today]
        cues: [else]
"""
NO_CUES = "\n".join(line for line in CARD.splitlines() if "cues:" not in line)


def ending(*agent_lines: str, length: float = 120.0):
    """A call whose agent says `agent_lines` in its last 15 s, after an unrelated middle."""
    turns = [
        ("agent", 2.0, 5.0, "good morning this is the bank how can i help you today"),
        ("customer", 6.0, 9.0, "i need a new debit card mine is broken"),
        ("agent", 40.0, 46.0, "okay i have ordered a replacement card to your address on file"),
    ]
    t = length - 15.0
    for line in agent_lines:
        turns.append(("agent", t, t + 3.0, line))
        t += 4.0
    return call(*turns, duration=length)


def item(result, item_id: str):
    return next(r for r in result.items if r.item_id == item_id)


def test_a_cue_passes_a_closing_worded_unlike_every_example(matcher):
    c = ending("brilliant that is all cancelled now thanks a million")
    with_cues = item(score(card(CARD), c, None, meta(), matcher=matcher), "closing")
    without = item(score(card(NO_CUES), c, None, meta(), matcher=matcher), "closing")
    assert (with_cues.verdict, without.verdict) == ("pass", "fail")
    ev = with_cues.evidence[0]
    assert "said the cue 'thanks'" in ev.note
    a, b = ev.span_chars
    assert ev.text[a:b] == "thanks"  # the reviewer sees the cue word itself highlighted


def test_a_negated_cue_does_not_count_but_a_negative_question_does(matcher):
    denied = ending("i'm afraid there isn't anything else we can do about that fee")
    asked = ending("isn't there anything else i can sort for you")
    assert item(score(card(CARD), denied, None, meta(), matcher=matcher), "further").verdict == "fail"
    assert item(score(card(CARD), asked, None, meta(), matcher=matcher), "further").verdict == "pass"


def test_a_cue_outside_the_time_window_does_not_count(matcher):
    c = call(
        ("agent", 2.0, 5.0, "thanks for waiting what is the account number"),
        ("customer", 6.0, 9.0, "it is the one ending in four two"),
        ("agent", 100.0, 104.0, "your card will arrive within a week"),
        duration=120.0,
    )
    closing = item(score(card(CARD), c, None, meta(), matcher=matcher), "closing")
    assert closing.verdict == "fail"
    assert any("not within the last 20 s" in e.note for e in closing.evidence)


def test_a_counter_example_with_the_cue_in_it_vetoes_the_cue(matcher):
    held = ending("thank you for holding")
    later = ending("thank you for holding your new card is on its way so thanks again")
    assert item(score(card(CARD), held, None, meta(), matcher=matcher), "closing").verdict == "fail"
    assert item(score(card(CARD), later, None, meta(), matcher=matcher), "closing").verdict == "pass"


def test_a_counter_example_without_the_cue_does_not_veto_it(matcher):
    # close to "how can i help you today" (a counter-example of further help), but it says "else"
    c = ending("how else can i be of use to you")
    further = item(score(card(CARD), c, None, meta(), matcher=matcher), "further")
    assert further.verdict == "pass"
    assert "said the cue 'else'" in further.evidence[0].note


def test_the_bank_scorecard_passes_closings_and_offers_in_other_words(matcher):
    bank = load_scorecard(ROOT / "scorecards" / "bank.yaml")
    values = meta(agent="Dana")
    said = ending(
        "was there anything else at all you wanted to go over", "okay perfect well thanks heaps for ringing"
    )
    result = score(bank, said, None, values, matcher=matcher)
    assert (item(result, "further-help").verdict, item(result, "closing").verdict) == ("pass", "pass")


def test_the_bank_scorecard_fails_endings_without_them(matcher):
    bank = load_scorecard(ROOT / "scorecards" / "bank.yaml")
    values = meta(agent="Dana")
    plain = ending("your card should arrive within a week", "it will come in a plain white envelope")
    result = score(bank, plain, None, values, matcher=matcher)
    assert (item(result, "further-help").verdict, item(result, "closing").verdict) == ("fail", "fail")
    # a short call: the opening offer falls in the last 30 s and is still not an offer of further help
    short = call(
        ("agent", 1.0, 4.0, "hi this is dana at the bank how can i help you today"),
        ("customer", 5.0, 8.0, "just checking my balance"),
        ("agent", 9.0, 12.0, "your balance is forty dollars"),
        duration=14.0,
    )
    assert item(score(bank, short, None, values, matcher=matcher), "further-help").verdict == "fail"


QUESTION_CARD = CARD.replace(
    "cues: [else]",
    'cues: [else, "(other|another|different) (question|questions|thing|matter)?", "(is|was) that (all|everything)?"]',
)


def test_a_question_cue_counts_in_a_question_and_not_in_a_statement(matcher):
    # unpunctuated: the question opens with an auxiliary before its subject, or a question word
    asked = ending("right that's sorted do you have a different question for me at all")
    asked_wh = ending("okay so what other questions can i answer")
    punctuated = ending("Okay, that's done. Another thing you wanted to look at?")
    told = ending("we can look at the other matter your wife raised next week")
    declared = ending("we have that other matter on file already")
    opened_by_the_cue = ending("okay brilliant was that everything for today")
    assert [
        item(score(card(QUESTION_CARD), c, None, meta(), matcher=matcher), "further").verdict
        for c in (asked, asked_wh, punctuated, told, declared, opened_by_the_cue)
    ] == ["pass", "pass", "pass", "fail", "fail", "pass"]
    ev = item(score(card(QUESTION_CARD), asked, None, meta(), matcher=matcher), "further").evidence[0]
    assert "said the cue 'different question?'" in ev.note  # the form said, not the whole pattern
    a, b = ev.span_chars
    assert ev.text[a:b] == "different question"


def test_without_the_question_mark_the_same_cue_counts_anywhere(matcher):
    plain = QUESTION_CARD.replace("matter)?", "matter)")
    told = ending("we can look at the other matter your wife raised next week")
    assert item(score(card(plain), told, None, meta(), matcher=matcher), "further").verdict == "pass"


def test_an_elliptical_question_opening_its_sentence_asks(matcher):
    # "[do you have] any other questions": no auxiliary, no question word, no "?" in the human
    # transcript; it asks when "any" opens the sentence after nothing but discourse markers
    asked = ending("alright so any other questions from you then")
    stated = ending("Any other questions go to the branch team.")  # a full stop: it states
    inside = ending("the branch team can answer any other questions")  # not opening its sentence
    infinitive = ending("need to look at the other matter before friday")  # "[I] need to": states
    assert [
        item(score(card(QUESTION_CARD), c, None, meta(), matcher=matcher), "further").verdict
        for c in (asked, stated, inside, infinitive)
    ] == ["pass", "fail", "fail", "fail"]


def test_no_right_before_a_question_cue_denies(matcher):
    denied = ending("do you see that there's no other matter on the statement")
    asked = ending("do you see any other matter on the statement")
    assert [
        item(score(card(QUESTION_CARD), c, None, meta(), matcher=matcher), "further").verdict
        for c in (denied, asked)
    ] == ["fail", "pass"]


def test_an_auxiliary_after_a_subject_it_does_not_agree_with_still_asks(matcher):
    # "...done for you is there": "you is" is no subject and verb, so "is there" opens a question
    asked = ending("okay that is all done for you is there another thing while i have you")
    stated = ending("we have that other matter on file already")
    assert [
        item(score(card(QUESTION_CARD), c, None, meta(), matcher=matcher), "further").verdict
        for c in (asked, stated)
    ] == ["pass", "fail"]


NOT_CUES_CARD = CARD.replace(
    "cues: [else]", 'cues: [else]\n        not_cues: ["(someone|anyone) else", "or else"]'
)


def test_a_not_cue_said_over_a_cue_vetoes_it(matcher):
    person = ending("is there someone else named on this account")
    offer = ending("is there something else i could sort out")
    without = [
        item(score(card(CARD), c, None, meta(), matcher=matcher), "further").verdict for c in (person, offer)
    ]
    with_not_cues = [
        item(score(card(NOT_CUES_CARD), c, None, meta(), matcher=matcher), "further").verdict
        for c in (person, offer)
    ]
    assert (without, with_not_cues) == (["pass", "pass"], ["fail", "pass"])
    assert card(NOT_CUES_CARD).item("further").rule.not_cues == ("(someone|anyone) else", "or else")


def test_the_bank_scorecard_passes_offers_of_other_kinds(matcher):
    # kinds of wording the cues name (written for this test): "what more" with a modal, a
    # conditional invitation, an elliptical question, an indefinite the agent offers to act on
    bank = load_scorecard(ROOT / "scorecards" / "bank.yaml")
    for line in (
        "right the standing order is cancelled what more could we look into today",
        "okay and if there's something on the mortgage side you need give me a shout",
        "so any remaining questions at all",
        "and while the file is open is there anything we might check for you",
        "is that the only thing you were ringing about",
        "could i be of further service in some other way",
    ):
        c = ending("your card should arrive within a week", line)
        assert (
            item(score(bank, c, None, meta(agent="Dana"), matcher=matcher), "further-help").verdict == "pass"
        ), line


def test_the_bank_scorecard_does_not_take_a_person_readiness_or_a_fault_for_an_offer(matcher):
    bank = load_scorecard(ROOT / "scorecards" / "bank.yaml")
    for line in (
        "is anybody else a signer on the business account",
        "are you all set to get text alerts",
        "if there's something wrong with the new card the branch will swap it",
        "what else did the auditor ask you for",
    ):
        c = ending("your card should arrive within a week", line)
        assert (
            item(score(bank, c, None, meta(agent="Dana"), matcher=matcher), "further-help").verdict == "fail"
        ), line


def test_no_before_worries_or_problem_negates_nothing():
    from callwright.qa.model import Utterance
    from callwright.qa.scorecard.matching import tokens

    def negators(text: str) -> list[str]:
        return [t.word for t in tokens(Utterance("agent", 0.0, 3.0, text)) if t.negator]

    assert negators("no worries was that all you needed") == []
    assert negators("No problem, anything else today?") == []
    assert negators("there is no fee and no problem with the card") == ["no"]  # the fee's "no" denies


def test_no_worries_is_a_courtesy_not_a_negation(matcher):
    # "no" before "worries" used to negate the whole stretch, so its meaning was never compared
    c = ending("no worries was that all you needed from me")
    bank = load_scorecard(ROOT / "scorecards" / "bank.yaml")
    with_idiom = item(score(bank, c, None, meta(agent="Dana"), matcher=matcher), "further-help")
    assert with_idiom.verdict == "pass"
    denied = ending("there is no other fee on the account")
    assert (
        item(score(bank, denied, None, meta(agent="Dana"), matcher=matcher), "further-help").verdict == "fail"
    )


def test_the_bank_scorecard_passes_no_mid_call_question_or_late_opening_offer(matcher):
    bank = load_scorecard(ROOT / "scorecards" / "bank.yaml")
    for line in (
        "do you have another card with us",
        "what other accounts do you have with us",
        "would you like a different pin",
        "what can i help you with",
        "so which account would you like that moved from",
    ):
        c = ending("your card should arrive within a week", line)
        assert (
            item(score(bank, c, None, meta(agent="Dana"), matcher=matcher), "further-help").verdict == "fail"
        ), line


# ---- the loader


def errors_of(text: str) -> list[str]:
    from callwright.errors import DataError

    with pytest.raises(DataError) as info:
        card(text)
    return [line for line in str(info.value).splitlines() if ": error: " in line]


def test_cues_load_into_the_rule():
    rule = card(CARD).item("closing").rule
    assert rule.cues == ("thank", "thanks", "bye")


def test_a_cue_stands_for_each_of_its_alternatives():
    from callwright.qa.scorecard.matching import cue_forms, is_question_cue

    assert cue_forms("(other|another) (thing|question)?") == [
        "other thing",
        "other question",
        "another thing",
        "another question",
    ]
    assert cue_forms("are you (all |)set") == ["are you all set", "are you set"]
    assert cue_forms("thanks") == ["thanks"]
    assert (is_question_cue("other?"), is_question_cue("other")) == (True, False)


@pytest.mark.parametrize(
    ("cue", "says"),
    [
        ("is there anything else i can do", "has 7 words; a cue is a word or a short phrase of at most 4"),
        ("?!", "has no words"),
        ("thanks {agnet}", "unknown placeholder '{agnet}'"),
        ("(other|another question", "alternatives are written '(a|b|c)'"),
        ("other|another", "alternatives are written '(a|b|c)'"),
        ("((other)) thing", "alternatives are written '(a|b|c)'"),
        ("(is|was) that it for (you|today)", "(as 'is that it for you') has 5 words"),
        ("(a|b|c|d|e|f) (a|b|c|d|e|f) (a|b|c|d|e|f)", "stands for 216 wordings; at most 200"),
        ("(|)?", "has no words"),
    ],
)
def test_a_bad_cue_is_an_error_at_its_line(cue, says):
    text = CARD.replace("cues: [else]", f'cues: ["{cue}"]')
    errors = errors_of(text)
    line = next(i for i, s in enumerate(text.splitlines(), 1) if s.strip().startswith('cues: ["'))
    assert any(e.startswith(f"card.yaml:{line}:") and says in e for e in errors), errors


@pytest.mark.parametrize(
    ("not_cue", "says"),
    [
        ("someone else?", "not_cue 'someone else?': a final '?' means nothing here"),
        (
            "(a|b) is anyone else here",
            "not_cue '(a|b) is anyone else here' (as 'a is anyone else here') has 5 words",
        ),
        ("(someone|anyone else", "not_cue '(someone|anyone else': alternatives are written"),
    ],
)
def test_a_bad_not_cue_is_an_error_at_its_line(not_cue, says):
    text = CARD.replace("cues: [else]", f'cues: [else]\n        not_cues: ["{not_cue}"]')
    errors = errors_of(text)
    line = next(i for i, s in enumerate(text.splitlines(), 1) if s.strip().startswith("not_cues:"))
    assert any(e.startswith(f"card.yaml:{line}:") and says in e for e in errors), errors


def test_not_cues_need_cues():
    text = CARD.replace("cues: [else]", 'not_cues: ["someone else"]')
    line = next(i for i, s in enumerate(text.splitlines(), 1) if s.strip().startswith("not_cues:"))
    assert any(e.startswith(f"card.yaml:{line}:") and "the item has no cues" in e for e in errors_of(text))


def test_cues_are_for_phrase_items_only():
    text = CARD.replace("kind: phrase\n        threshold: 0.63", "kind: forbidden\n        threshold: 0.63")
    assert any("cues" in e for e in errors_of(text))

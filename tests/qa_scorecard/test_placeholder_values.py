"""A phrase naming call metadata passes only where the value is said; accents and redaction labels.

The bank scorecard's `my name is {agent}` passed "hello my name is john" on agent Maria's call
(meaning 0.65 against the threshold 0.59): meaning and wording barely tell names apart.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from scorecard_helpers import call, card, meta

from callwright.qa.model import Utterance
from callwright.qa.scorecard import load_scorecard, score
from callwright.qa.scorecard.matching import must_say, normalise, tokens

BANK = Path(__file__).resolve().parents[2] / "scorecards" / "bank.yaml"


def agent_name(text: str, matcher, agent: str = "Maria"):
    t = call(("agent", 1.0, 4.0, text), ("customer", 5.0, 7.0, "hi i need my balance"), duration=60.0)
    result = score(load_scorecard(BANK), t, None, meta(agent=agent), matcher=matcher)
    return next(r for r in result.items if r.item_id == "agent-name")


@pytest.mark.parametrize(
    "text",
    [
        "hello my name is john",
        "this is david speaking",
        "thank you for calling harper valley national bank my name is michael",
        "my name is mariah",  # a misheard name is not the name, as a reviewer would say
    ],
)
def test_another_name_does_not_pass_the_agent_name_item(text, matcher):
    item = agent_name(text, matcher)
    assert item.verdict == "fail"
    assert "only where 'maria' is said" in item.evidence[0].note


@pytest.mark.parametrize(
    "text",
    ["my name is maria", "this is maria speaking", "hello harper valley national bank Maria speaking"],
)
def test_the_agents_own_name_passes(text, matcher):
    assert agent_name(text, matcher).verdict == "pass"


def test_names_compare_without_case_or_accents_and_a_first_name_is_enough(matcher):
    assert agent_name("hi my name is MARÍA how can i help", matcher).verdict == "pass"
    assert agent_name("my name is maria how can i help", matcher, agent="María López").verdict == "pass"
    assert agent_name("my name is lopez how can i help", matcher, agent="María López").verdict == "fail"


def test_must_say_a_persons_first_name_other_metadata_whole_and_constants_not():
    values = {"agent": "Dr María López", "queue": "Card Services", "company": "Harper Valley"}
    assert must_say("my name is {agent}", values) == (("maria",),)
    assert must_say("you're through to {queue}", values) == (("card", "services"),)
    assert must_say("thank you for calling {company}", values) == ()
    assert must_say("thank you {customer}", {"customer": "[NAME]"}) == (("[name]",),)


@pytest.mark.parametrize("text", ["my name is Maríá", "my name is Mari\u0301a\u0301 today"])
def test_evidence_span_covers_an_accented_name_as_written(text, matcher):
    item = agent_name(text, matcher)
    assert item.verdict == "pass"
    ev = item.evidence[0]
    a, b = ev.span_chars
    assert ev.text[a:b] == text.removesuffix(" today")


def test_tokens_fold_accents_and_keep_offsets_into_the_text_as_written():
    u = Utterance("agent", 0.0, 2.0, "Soy Maríá, ﬁne [NAME].")
    toks = tokens(u)
    assert [t.word for t in toks] == ["soy", "maria", "fine", "name"]
    assert [u.text[t.cstart : t.cend] for t in toks] == ["Soy", "Maríá", "ﬁne", "[NAME]"]  # a label whole
    assert [t.label for t in toks] == [False, False, False, True]
    assert normalise("Mari\u0301a") == ["maria"]


SIMPLE = """\
scorecard: t
sections:
  - id: s
    items:
      - id: name
        kind: phrase
        phrases: ["my name is {agent}"]
"""


def test_the_fast_and_the_straightforward_wording_agree_on_names(matcher, monkeypatch):
    """The name rule is applied alike in the batched wording and the per-utterance one."""
    from callwright.qa.scorecard.matching import CallText

    t = call(
        ("agent", 1.0, 4.0, "this is john speaking my name is john"), ("agent", 5.0, 8.0, "my name is maria")
    )
    batched = score(card(SIMPLE), t, None, meta(agent="Maria"), matcher=matcher)
    monkeypatch.setattr(CallText, "batched", False)
    plain = score(card(SIMPLE), t, None, meta(agent="Maria"), matcher=matcher)
    assert batched.items[0].evidence == plain.items[0].evidence
    assert batched.items[0].verdict == "pass" and batched.items[0].evidence[0].start == 5.0


THANKS = """\
scorecard: t
sections:
  - id: s
    items:
      - id: thanks-by-name
        kind: phrase
        phrases: ["thank you {customer}"]
"""


def redacted_call(text: str, customer: str):
    """A call as scoring sees it: the customer's name from the metadata redacted to [NAME]."""
    from callwright.redaction import redact_text

    said = redact_text(text, names=(customer,)).text
    return call(("customer", 0.0, 2.0, "hi"), ("agent", 3.0, 6.0, said))


def test_customer_placeholder_is_the_redaction_label_the_text_carries(matcher):
    c = card(THANKS)
    thanked = redacted_call("thank you Jane have a nice day", "Jane Doe")
    assert "[NAME]" in thanked.utterances[1].text
    item = score(c, thanked, None, meta(customer="Jane Doe"), matcher=matcher).items[0]
    assert item.verdict == "pass"
    ev = item.evidence[0]
    assert ev.text[ev.span_chars[0] : ev.span_chars[1]].startswith("thank you [NAME]")  # the label whole
    unnamed = redacted_call("thank you have a nice day", "Jane Doe")
    assert score(c, unnamed, None, meta(customer="Jane Doe"), matcher=matcher).items[0].verdict == "fail"


def test_customer_placeholder_without_a_name_in_the_metadata_is_review(matcher):
    """A customer id ("C-1042") is not redacted and no one says it: the example cannot be filled."""
    t = redacted_call("thank you have a nice day", "C-1042")
    item = score(card(THANKS), t, None, meta(customer="C-1042"), matcher=matcher).items[0]
    assert item.verdict == "review"
    assert "redacted to [NAME]" in item.evidence[0].note


def load_errors(text: str) -> str:
    from callwright.errors import DataError

    with pytest.raises(DataError) as err:
        card(text)
    return str(err.value)


def test_a_constant_named_as_call_metadata_is_an_error_at_its_key():
    msg = load_errors(
        """\
        scorecard: t
        values:
          agent: Bob
        sections:
          - id: s
            items:
              - id: name
                kind: phrase
                phrases: ["my name is {agent}"]
        """
    )
    assert "card.yaml:3:3: error: values: 'agent' names call metadata" in msg


def test_placeholder_and_cue_errors_are_reported_beside_schema_errors():
    msg = load_errors(
        """\
        scorecard: t
        sections:
          - id: s
            items:
              - id: a
                kind: phrase
                threshold: 2
                phrases: ["my name is {agnet}"]
              - id: b
                kind: phrase
                threshold: .nan
                phrases: [hello]
                cues: ["one two three four five"]
        """
    )
    lines = [line for line in msg.splitlines() if ": error: " in line]
    assert [line.split(": error: ")[0] for line in lines] == [
        "card.yaml:7:20",
        "card.yaml:8:31",
        "card.yaml:11:20",
        "card.yaml:13:16",
    ]
    assert "unknown placeholder '{agnet}'" in lines[1] and "has 5 words" in lines[3]

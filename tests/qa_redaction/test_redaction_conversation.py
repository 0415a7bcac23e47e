"""Stereo calls: the agent asks on one channel, the customer answers on the other."""

from __future__ import annotations

from callwright.redaction import Kind, TimeRange, redact_conversation, redact_words
from callwright.speech.asr.base import Word


def said(text: str, start: float, step: float = 0.4) -> list[Word]:
    return [Word(w, start + i * step, start + i * step + 0.3, 0.9) for i, w in enumerate(text.split())]


AGENT_SSN = said("thanks can you confirm the last four of your social security number", 0.0)
CUSTOMER_SSN = said("sure it's six seven eight nine", 5.0)


def test_a_cue_on_the_agent_channel_redacts_the_customers_answer() -> None:
    (agent, customer), ranges = redact_conversation([AGENT_SSN, CUSTOMER_SSN])
    assert [w.word for w in customer] == ["sure", "it's", "[SSN]"]
    assert customer[2].kind is Kind.SSN
    assert (customer[2].start, customer[2].end) == (CUSTOMER_SSN[2].start, CUSTOMER_SSN[5].end)
    assert [w.word for w in agent] == [w.word for w in AGENT_SSN]
    assert ranges == [TimeRange(CUSTOMER_SSN[2].start, CUSTOMER_SSN[5].end, Kind.SSN)]
    # each channel alone cannot know those four digits were an SSN
    assert redact_words(CUSTOMER_SSN)[1] == []


def test_cvv_and_expiry_asked_by_the_agent() -> None:
    agent = said("and the expiry date", 0.0) + said("and the three digit security code", 6.0)
    customer = said("oh nine twenty seven", 2.0) + said("seven three seven", 9.0)
    (_, cust), ranges = redact_conversation([agent, customer])
    assert [w.word for w in cust] == ["[EXPIRY]", "[CVV]"]
    assert [r.kind for r in ranges] == [Kind.EXPIRY, Kind.CVV]


def test_agent_back_channel_inside_a_card_reading_does_not_break_it() -> None:
    customer = said("four one one one one one one one", 1.0) + said("one one one one one one one one", 5.0)
    agent = said("mhm", 4.2) + said("right okay go on", 8.5)
    (agent_out, cust), ranges = redact_conversation([agent, customer])
    assert [w.word for w in cust] == ["[CARD]"]
    assert [w.word for w in agent_out] == ["mhm", "right", "okay", "go", "on"]
    assert [r.kind for r in ranges] == [Kind.CARD]


def test_a_card_heard_on_the_customer_channel_answers_the_agents_cue() -> None:
    agent = said("can I take the long card number please", 0.0)
    customer = said("yes it's 4111 1111 1111 1111", 4.0) + said("thanks", 12.0)
    # alone, the agent's channel has a card cue and then a long pause ...
    assert [r.transcribed for r in redact_words(agent)[1]] == [False]
    # ... which the customer's channel fills with the card: no untranscribed stretch to guess
    _, ranges = redact_conversation([agent, customer])
    assert [(r.kind, r.transcribed) for r in ranges] == [(Kind.CARD, True)]


def test_a_card_reading_the_recogniser_missed_leaves_an_untranscribed_range() -> None:
    agent = said("can I take the card number please", 0.0) + said("thank you", 14.0)
    customer = said("yes", 3.0)
    _, ranges = redact_conversation([agent, customer])
    assert ranges == [TimeRange(3.3, 14.0, Kind.CARD, transcribed=False)]


def test_agent_reading_back_part_of_the_customers_card_is_redacted() -> None:
    customer = said("it's 5555 5555 5555 4444", 0.0) + said("yes", 8.0)
    agent = said("thank you that's the card ending four four four four correct", 3.0)
    (agent_out, cust), _ = redact_conversation([agent, customer])
    assert [w.word for w in cust] == ["it's", "[CARD]", "yes"]
    assert " ".join(w.word for w in agent_out) == "thank you that's the card ending [CARD] correct"
    assert "[CARD]" not in " ".join(w.word for w in redact_words(agent)[0])  # alone it cannot know

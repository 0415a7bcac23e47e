"""The second listen's policy: which items are listened to again, when a second reading counts, and
that it is redacted and never makes a verdict worse. The ears are scripted here (what Whisper
would hear is tested on real audio in tests/asr/test_whisper_second_listen.py and through the sample
calls in tests/qa_pipeline); the matcher is the real MiniLM one."""

from __future__ import annotations

from scorecard_helpers import call, card, meta, verdicts

from callwright.qa.scorecard import score
from callwright.qa.second_listen import SecondListenSettings, second_listen
from callwright.speech.asr.base import Recognition, SecondReading, Word

CARD = """\
scorecard: t
sections:
  - id: s
    items:
      - id: greeting
        kind: phrase
        within_first_s: 30
        phrases: [thank you for calling Northwind Energy]
      - id: anything-else
        kind: phrase
        phrases: [is there anything else I can help you with]
      - id: verify
        kind: phrase
        phrases: [can I take your full name and date of birth]
      - id: verified-first
        kind: order
        first: verify
        then:
          phrases: [your balance is]
"""


def reading(text: str, start: float, end: float, support: float) -> SecondReading:
    words = text.split()
    step = (end - start) / len(words)
    timed = [Word(w, start + i * step, start + (i + 1) * step, 0.9) for i, w in enumerate(words)]
    return SecondReading(Recognition(text, 0.8, timed, True, start, end), "(plain)", support)


class Ears:
    """Scripted second readings by utterance start time; records what it was asked to listen to."""

    def __init__(self, readings: dict[float, tuple[str, float]]) -> None:
        self.readings = readings
        self.asked: list[tuple[float, tuple[str, ...]]] = []

    def __call__(self, u, phrases, span):
        self.asked.append((u.start, tuple(phrases)))
        if u.start not in self.readings:
            return None
        text, support = self.readings[u.start]
        return reading(text, u.start, u.end, support)


def garbled():
    return call(
        ("agent", 1, 5, "Can you put calling on wind energy. My name is Priya."),
        ("customer", 6, 9, "Hi, I have a question about my bill."),
        ("agent", 10, 14, "I take your full end based approach to maritime the account."),
        ("customer", 15, 18, "Mark Ellis, first of June nineteen seventy."),
        ("agent", 19, 28, "Thank you."),
        ("agent", 40, 44, "Isn't there anything else I can help with?"),
        duration=46,
    )


def test_a_supported_second_reading_confirms_a_missed_phrase(matcher):
    c, t = card(CARD), garbled()
    first = score(c, t, None, meta(), matcher=matcher)
    assert verdicts(first)["greeting"] == "fail"
    ears = Ears({1.0: ("Thank you for calling Northwind Energy. My name is Priya.", -0.1)})
    again = second_listen(c, first, t, None, matcher, ears)
    item = next(r for r in again.items if r.item_id == "greeting")
    assert item.verdict == "pass" and item.points == item.max_points
    assert "heard again at 1.0 s" in item.evidence[0].note
    assert "first heard as 'Can you put calling on wind energy." in item.evidence[0].note
    assert item.evidence[1].text.startswith("Thank you for calling Northwind Energy")
    assert again.score > first.score
    assert t.utterances[0].text.startswith("Can you put")  # the stored transcript keeps the first reading


def test_a_reading_the_audio_does_not_support_is_not_used(matcher):
    c, t = card(CARD), garbled()
    first = score(c, t, None, meta(), matcher=matcher)
    ears = Ears({1.0: ("Thank you for calling Northwind Energy. My name is Priya.", -0.6)})
    again = second_listen(c, first, t, None, matcher, ears, SecondListenSettings(min_support=-0.25))
    assert verdicts(again)["greeting"] == "fail"


def test_only_missed_items_are_heard_again_and_none_gets_worse(matcher):
    c, t = card(CARD), garbled()
    first = score(c, t, None, meta(), matcher=matcher)
    assert verdicts(first)["anything-else"] == "pass"
    ears = Ears({40.0: ("Goodbye then.", 0.0), 1.0: ("Hello there.", 0.0), 10.0: ("Right.", 0.0)})
    again = second_listen(c, first, t, None, matcher, ears)
    assert verdicts(again) == verdicts(first)
    asked = {phrases for _, phrases in ears.asked}
    assert ("is there anything else I can help you with",) not in asked  # it passed the first time
    assert ("thank you for calling Northwind Energy",) in asked


def test_an_order_item_with_both_parts_heard_again(matcher):
    """The identity check and the balance were lost by the first reading (the balance in a
    sentence the decoder skipped: 'Thank you.' over nine seconds): heard again, the order holds."""
    c, t = card(CARD), garbled()
    first = score(c, t, None, meta(), matcher=matcher)
    assert verdicts(first)["verified-first"] == "na"
    ears = Ears(
        {
            10.0: ("Can I take your full name and date of birth to verify the account.", -0.2),
            19.0: ("Thank you, you are verified. Your balance is one hundred and twelve dollars.", -0.05),
        }
    )
    again = second_listen(c, first, t, None, matcher, ears)
    assert verdicts(again)["verified-first"] == "pass"
    assert verdicts(again)["verify"] == "pass"
    assert (19.0, ("your balance is",)) in ears.asked  # sparse (two words in nine seconds), not the closest


def test_a_card_number_in_a_second_reading_is_redacted(matcher):
    c, t = card(CARD), garbled()
    first = score(c, t, None, meta(), matcher=matcher)
    ears = Ears(
        {
            10.0: ("Can I take your full name and date of birth to verify the account.", -0.2),
            19.0: ("Your balance is due on card 4111 1111 1111 1111 today.", 0.0),
        }
    )
    again = second_listen(c, first, t, None, matcher, ears)
    texts = " ".join(e.text + " " + e.note for r in again.items for e in r.evidence)
    assert verdicts(again)["verified-first"] == "pass"
    assert "[CARD]" in texts  # the reading was used, and redacted first
    assert "4111" not in texts and "1111" not in texts


def test_the_customers_name_in_a_second_reading_is_redacted_like_the_first(matcher):
    from callwright.qa.pipeline import score_transcript

    c, t = card(CARD), garbled()
    ears = Ears(
        {10.0: ("Can I take your full name and date of birth, Mr Ellis, to verify the account.", -0.2)}
    )
    again = score_transcript(c, t, None, meta(customer="Mark Ellis"), matcher, ears, SecondListenSettings())
    assert verdicts(again)["verify"] == "pass"  # the reading was used
    item = next(r for r in again.items if r.item_id == "verify")
    texts = " ".join(e.text + " " + e.note for e in item.evidence)
    assert "[NAME]" in texts and "Ellis" not in texts

"""Social security numbers, phone numbers and e-mail addresses, written and spoken."""

from __future__ import annotations

import pytest
from redaction_helpers import leaked_runs

from callwright.errors import CallwrightError
from callwright.redaction import redact_text as redact
from callwright.redaction import ssn_ok

SSN = "123456789"


@pytest.mark.parametrize(
    "sentence",
    [
        "my social is one two three four five six seven eight nine",
        "social security number is 123 45 6789",
        "my ssn is 123-45-6789",
        "the s s n is one two three, four five, six seven eight nine",
        "and your social security number please. sure it's one twenty three forty five "
        "sixty seven eighty nine",
        "it's 123-45-6789",
        "customer gave 123 45 6789 as the number",
        "my social is um one two three uh four five uh six seven eight nine",
    ],
)
def test_ssn_is_redacted(sentence: str) -> None:
    red = redact(sentence)
    assert "[SSN]" in red.text, red.text
    assert leaked_runs(red.text, SSN) == [], red.text


def test_last_four_of_the_social_is_redacted() -> None:
    assert (
        redact("can you confirm the last four of your social. yes it's six seven eight nine").text
        == "can you confirm the last four of your social. yes it's [SSN]"
    )
    assert (
        redact("your social security number, just the last four digits please. 6789").text
        == "your social security number, just the last four digits please. [SSN]"
    )


@pytest.mark.parametrize(
    "text",
    [
        "ssn is 666-12-3456",  # area 666 is never issued
        "social 000-12-3456",
        "my social is nine eight seven six five four three two one",  # 9xx
        "social is 123-00-4567",  # group 00
        "order 123-45-0000",  # serial 0000
        "the part number is one two three four five six seven eight nine",  # no cue, no shape
        "reference 123456789",
    ],
)
def test_invalid_or_uncued_ssns_are_left(text: str) -> None:
    assert redact(text).text == text


def test_ssn_ranges() -> None:
    assert ssn_ok("123456789") and ssn_ok("899451234")
    assert not any(map(ssn_ok, ["000451234", "666451234", "900451234", "123001234", "123450000"]))


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("you can reach me on 212 555 0187", "you can reach me on [PHONE]"),
        ("my number is (212) 555-0187.", "my number is [PHONE]."),
        ("it's 212.555.0187", "it's [PHONE]"),
        ("2125550187", "[PHONE]"),
        ("+1 212-555-0187 is my cell", "[PHONE] is my cell"),
        (
            "call me back on five five five one two three four five six seven",
            "call me back on [PHONE]",
        ),
        ("my cell is two one two five five five oh one eight seven", "my cell is [PHONE]"),
        ("its one eight hundred five five five oh one nine nine", "its [PHONE]"),
        ("my phone number is five five five oh one nine nine", "my phone number is [PHONE]"),
        ("plus four four seven seven zero zero nine zero zero one two three", "[PHONE]"),
        ("the office is +44 20 7946 0958", "the office is [PHONE]"),
        ("dial 0044 20 7946 0958", "dial [PHONE]"),
        ("my mobile is 07700 900123", "my mobile is [PHONE]"),
        ("plus four nine three zero one two three four five six seven", "[PHONE]"),
        ("ring me at two one two, five five five, oh one eight seven", "ring me at [PHONE]"),
    ],
)
def test_phone_numbers(sentence: str, expected: str) -> None:
    assert redact(sentence).text == expected


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("my email is john dot smith at example dot com", "my email is [EMAIL]"),
        ("send it to john.smith@example.co.uk please", "send it to [EMAIL] please"),
        ("JOHN_SMITH87@Example.com", "[EMAIL]"),
        ("its jane underscore doe at yahoo dot co dot uk", "its [EMAIL]"),
        ("my email address is j o h n smith at gmail dot com", "my email address is [EMAIL]"),
        ("email's mary smith eighty seven at hotmail dot com thanks", "email's [EMAIL] thanks"),
        ("it's bob at gmail", "it's [EMAIL]"),
        ("a dot b at company dot org", "[EMAIL]"),
        ("the e-mail is sales dash team at acme dash corp dot net", "the e-mail is [EMAIL]"),
        ("john at sign example dot io", "[EMAIL]"),
    ],
)
def test_email_addresses(sentence: str, expected: str) -> None:
    assert redact(sentence).text == expected


def test_unknown_kind_is_a_user_error_naming_the_kind() -> None:
    with pytest.raises(CallwrightError, match="'passport'") as err:
        redact("hello", kinds=["card", "passport"])
    assert "card, cvv, expiry, ssn, phone, email, account, routing, iban, dob, pin, address, name" in str(
        err.value
    )

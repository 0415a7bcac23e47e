"""Typed values (issue 16 item 4): dates, times, phone numbers, amounts and codes said or keyed
in English and Spanish, validated, and read back in the prompt's language.

Tables of what callers say (valid and invalid), then Hypothesis properties: every value read
back is understood again as the same value (the caller hearing "March 5, 1980" and repeating
it must give 1980-03-05), and no text makes a parser raise.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callwright.flows.model import ValueOptions
from callwright.ivr import values
from callwright.ivr.values import Context, Invalid, Parsed

TODAY = date(2026, 12, 3)
EN = Context("en", TODAY)
ES = Context("es", TODAY)
DOB = ValueOptions(min="1900-01-01", max="today")


def said(kind: str, text: str, options: ValueOptions | None = None, ctx: Context = EN) -> str | None:
    result = values.parse_speech(kind, text, options or ValueOptions(), ctx)
    return result.value if isinstance(result, Parsed) else None


def keyed(kind: str, keys: str, options: ValueOptions | None = None, ctx: Context = EN) -> str | None:
    result = values.parse_keys(kind, keys, options or ValueOptions(), ctx)
    return result.value if isinstance(result, Parsed) else None


# --- dates ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ctx", "expected"),
    [
        ("March fifth nineteen eighty", EN, "1980-03-05"),
        ("march the fifth, 1980", EN, "1980-03-05"),
        ("the fifth of March nineteen eighty", EN, "1980-03-05"),
        ("5th March 1980", EN, "1980-03-05"),
        ("March 5, 1980", EN, "1980-03-05"),
        ("oh three oh five eighty", EN, "1980-03-05"),
        ("oh three oh five nineteen eighty", EN, "1980-03-05"),
        ("three five nineteen eighty", EN, "1980-03-05"),
        ("3/5/1980", EN, "1980-03-05"),
        ("1980-03-05", EN, "1980-03-05"),
        ("my date of birth is March twenty fifth nineteen eighty", EN, "1980-03-25"),
        ("December thirty first nineteen ninety nine", EN, "1999-12-31"),
        ("July fourth two thousand", EN, "2000-07-04"),
        ("July fourth two thousand and five", EN, "2005-07-04"),
        ("November twenty second oh five", EN, "2005-11-22"),
        ("march fifth nineteen oh five", EN, "1905-03-05"),
        ("February twenty ninth two thousand", EN, "2000-02-29"),
        ("Sept 1st 1970", EN, "1970-09-01"),
        ("um it's uh January first twenty twenty", EN, "2020-01-01"),
        ("today", EN, "2026-12-03"),
        ("yesterday", EN, "2026-12-02"),
        ("cinco de marzo de mil novecientos ochenta", ES, "1980-03-05"),
        ("el cinco de marzo del ochenta", ES, "1980-03-05"),
        ("el primero de enero de dos mil", ES, "2000-01-01"),
        ("treinta y uno de diciembre de mil novecientos noventa y nueve", ES, "1999-12-31"),
        ("veinticinco de julio del dos mil diez", ES, "2010-07-25"),
        ("5 de marzo de 1980", ES, "1980-03-05"),
        ("cero cinco cero tres ochenta", ES, "1980-03-05"),  # day first in Spanish
        ("5/3/1980", ES, "1980-03-05"),
        ("nací el dos de mayo de dos mil veinte", ES, "2020-05-02"),
        ("hoy", ES, "2026-12-03"),
        ("March fifth nineteen eighty", ES, "1980-03-05"),  # Spanish calls understand English too
        # invalid
        ("February thirtieth nineteen eighty", EN, None),
        ("February twenty ninth nineteen eighty one", EN, None),
        ("March fifth", EN, None),
        ("March", EN, None),
        ("thirteen thirteen nineteen eighty", EN, None),
        ("the first of March two thousand thirty", EN, None),  # after today: a date of birth
        ("January first eighteen ninety", EN, None),  # before 1900
        ("banana", EN, None),
        ("", EN, None),
        ("cinco de marzo", ES, None),
        ("treinta de febrero de dos mil", ES, None),
        ("one two three", EN, None),
    ],
)
def test_dates_said(text: str, ctx: Context, expected: str | None) -> None:
    assert said("date", text, DOB, ctx) == expected


@pytest.mark.parametrize(
    ("keys", "options", "ctx", "expected"),
    [
        ("03051980", DOB, EN, "1980-03-05"),
        ("05031980", DOB, ES, "1980-03-05"),
        ("05031980", ValueOptions(format="DDMMYYYY"), EN, "1980-03-05"),
        ("19800305", ValueOptions(format="YYYYMMDD"), EN, "1980-03-05"),
        ("03051980", ValueOptions(format="MMDDYYYY"), ES, "1980-03-05"),
        ("02301980", DOB, EN, None),
        ("13011980", DOB, EN, None),
        ("0305198", DOB, EN, None),
        ("12312099", DOB, EN, None),
        ("12312099", ValueOptions(), EN, "2099-12-31"),
        ("01011850", DOB, EN, None),
    ],
)
def test_dates_keyed(keys: str, options: ValueOptions, ctx: Context, expected: str | None) -> None:
    assert keyed("date", keys, options, ctx) == expected


def test_two_figure_years_are_the_latest_one_allowed() -> None:
    assert said("date", "oh three oh five twenty", DOB) == "2020-03-05"
    assert said("date", "oh three oh five thirty", DOB) == "1930-03-05"  # 2030 is after today
    assert said("date", "oh three oh five thirty") == "2030-03-05"  # no limit: up to 20 years ahead
    assert said("date", "oh three oh five fifty") == "1950-03-05"


def test_a_date_out_of_its_limits_says_which() -> None:
    result = values.parse_speech("date", "March fifth twenty ninety", DOB, EN)
    assert isinstance(result, Invalid) and "after 2026-12-03" in result.reason
    result = values.parse_speech("date", "February thirtieth nineteen eighty", DOB, EN)
    assert isinstance(result, Invalid) and "not a calendar date" in result.reason


# --- times ------------------------------------------------------------------------------------

HOURS = ValueOptions(min="08:00", max="18:00")


@pytest.mark.parametrize(
    ("text", "options", "ctx", "expected"),
    [
        ("three thirty PM", None, EN, "15:30"),
        ("3:30 p.m.", None, EN, "15:30"),
        ("three thirty in the morning", None, EN, "03:30"),
        ("half past three", None, EN, "15:30"),
        ("quarter past nine", None, EN, "09:15"),
        ("quarter to four", None, EN, "15:45"),
        ("ten past nine in the morning", None, EN, "09:10"),
        ("twenty five to five", None, EN, "16:35"),
        ("fifteen hundred", None, EN, "15:00"),
        ("oh nine hundred", None, EN, "09:00"),
        ("fifteen thirty", None, EN, "15:30"),
        ("09:30", None, EN, "09:30"),
        ("1530", None, EN, "15:30"),
        ("noon", None, EN, "12:00"),
        ("midnight", None, EN, "00:00"),
        ("twelve fifteen", None, EN, "12:15"),
        ("twelve fifteen am", None, EN, "00:15"),
        ("seven pm", None, EN, "19:00"),
        ("at about three o'clock", None, EN, "15:00"),
        ("nine thirty", None, EN, "09:30"),
        ("three oh five", None, EN, "15:05"),
        ("twelve at night", None, EN, "00:00"),
        ("three thirty", HOURS, EN, "15:30"),
        ("nine", ValueOptions(min="13:00"), EN, "21:00"),
        ("seven", ValueOptions(max="12:00"), EN, "07:00"),
        ("las tres y media de la tarde", None, ES, "15:30"),
        ("tres y cuarto", None, ES, "15:15"),
        ("cuatro menos cuarto", None, ES, "15:45"),
        ("a las nueve de la mañana", None, ES, "09:00"),
        ("la una y diez de la tarde", None, ES, "13:10"),
        ("las tres y treinta y cinco", None, ES, "15:35"),
        ("las quince treinta", None, ES, "15:30"),
        ("mediodía", None, ES, "12:00"),
        ("medianoche", None, ES, "00:00"),
        ("las 12 de la noche", None, ES, "00:00"),
        ("las diez de la noche", None, ES, "22:00"),
        # invalid
        ("ten at night", HOURS, EN, None),
        ("three thirty", ValueOptions(min="08:00", max="12:00"), EN, None),
        ("twenty five thirty", None, EN, None),
        ("three seventy", None, EN, None),
        ("fifteen thirty pm", None, EN, None),
        ("three am pm", None, EN, None),
        ("banana", None, EN, None),
        ("", None, EN, None),
        ("las tres y noventa", None, ES, None),
    ],
)
def test_times_said(text: str, options: ValueOptions | None, ctx: Context, expected: str | None) -> None:
    assert said("time", text, options, ctx) == expected


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        ("0930", "09:30"),
        ("1530", "15:30"),
        ("930", "09:30"),
        ("0000", "00:00"),
        ("2400", None),
        ("1260", None),
        ("15", None),
    ],
)
def test_times_keyed(keys: str, expected: str | None) -> None:
    assert keyed("time", keys) == expected


# --- phone numbers --------------------------------------------------------------------------------

US = ValueOptions(country="1")


@pytest.mark.parametrize(
    ("text", "options", "ctx", "expected"),
    [
        ("five five five, one two three, four five six seven", None, EN, "5551234567"),
        ("five five five, one two three, four five six seven", US, EN, "+15551234567"),
        ("one five five five one two three four five six seven", US, EN, "+15551234567"),
        ("plus one eight hundred five five five one two one two", None, EN, "+18005551212"),
        ("double five five one two three four five six seven", US, EN, "+15551234567"),
        ("five five five triple one four five six seven", US, EN, "+15551114567"),
        ("oh two oh seven nine four six oh nine five eight", ValueOptions(country="44"), EN, "+442079460958"),
        ("555-123-4567", US, EN, "+15551234567"),
        ("(555) 123 4567", US, EN, "+15551234567"),
        ("my number is five five five one two three four", None, EN, "5551234"),
        ("cinco cinco cinco, uno dos tres, cuarenta y cinco, sesenta y siete", US, ES, "+15551234567"),
        (
            "más cincuenta y dos cincuenta y cinco doce treinta y cuatro cincuenta y seis",
            None,
            ES,
            "+5255123456",
        ),
        # invalid
        ("one two three", None, EN, None),
        ("five five five one two three", US, EN, None),
        ("one two three four five six seven eight nine one two three four five six seven", None, EN, None),
        ("call me maybe", None, EN, None),
        ("the fifth", None, EN, None),
    ],
)
def test_phone_numbers_said(
    text: str, options: ValueOptions | None, ctx: Context, expected: str | None
) -> None:
    assert said("phone", text, options, ctx) == expected


@pytest.mark.parametrize(
    ("keys", "options", "expected"),
    [
        ("5551234567", US, "+15551234567"),
        ("15551234567", US, "+15551234567"),
        ("555123456", US, None),
        ("5551234567", None, "5551234567"),
        ("123", None, None),
        ("5551234567", ValueOptions(min_length=10, max_length=10), "5551234567"),
        ("55512345678", ValueOptions(min_length=10, max_length=10), None),
    ],
)
def test_phone_numbers_keyed(keys: str, options: ValueOptions | None, expected: str | None) -> None:
    assert keyed("phone", keys, options) == expected


# --- amounts ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ctx", "expected"),
    [
        ("twelve dollars and fifty cents", EN, "12.50"),
        ("twelve fifty", EN, "12.50"),
        ("twelve dollars fifty", EN, "12.50"),
        ("$12.50", EN, "12.50"),
        ("12.50", EN, "12.50"),
        ("$1,234.05", EN, "1234.05"),
        ("fifty cents", EN, "0.50"),
        ("one hundred and twenty dollars", EN, "120.00"),
        ("a hundred dollars", EN, "100.00"),
        ("twelve point five", EN, "12.50"),
        ("nineteen ninety nine", EN, "19.99"),
        ("two thousand dollars", EN, "2000.00"),
        ("five pounds twenty", EN, "5.20"),
        ("doce dólares con cincuenta centavos", ES, "12.50"),
        ("doce con cincuenta", ES, "12.50"),
        ("cien euros", ES, "100.00"),
        ("12,50 euros", ES, "12.50"),
        ("ciento veinte pesos", ES, "120.00"),
        ("mil doscientos dólares", ES, "1200.00"),
        ("1.234 dólares con 5 centavos", ES, "1234.05"),
        # invalid
        ("banana", EN, None),
        ("twelve dollars and a hundred and fifty cents", EN, None),
        ("dollars", EN, None),
        ("twelve point five five five", EN, None),
        ("", EN, None),
    ],
)
def test_amounts_said(text: str, ctx: Context, expected: str | None) -> None:
    assert said("currency", text, None, ctx) == expected


@pytest.mark.parametrize(
    ("keys", "options", "expected"),
    [
        ("12*50", None, "12.50"),
        ("12*5", None, "12.50"),
        ("1250", None, "1250.00"),
        ("*99", None, "0.99"),
        ("12*505", None, None),
        ("1*2*3", None, None),
        ("600", ValueOptions(max="500"), None),
        ("4", ValueOptions(min="5"), None),
    ],
)
def test_amounts_keyed(keys: str, options: ValueOptions | None, expected: str | None) -> None:
    assert keyed("currency", keys, options) == expected


# --- codes ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ctx", "expected"),
    [
        ("A as in apple, B for boy, one two three, C", EN, "AB123C"),
        ("alpha bravo one two charlie", EN, "AB12C"),
        ("bee see dee", EN, "BCD"),
        ("double a five", EN, "AA5"),
        ("x-ray yankee zulu double seven one", EN, "XYZ771"),
        ("it's kilo nine", EN, "K9"),
        ("h e l l o", EN, "HELLO"),
        ("AB12C", EN, "AB12C"),
        ("double you", EN, "W"),
        ("a de antonio, be, uno, dos, tres, ce", ES, "AB123C"),
        ("equis i griega zeta", ES, "XYZ"),
        ("jota ka ele eñe", ES, "JKLÑ"),
        ("doble ve", ES, "W"),
        # invalid
        ("what is this", EN, None),
        ("", EN, None),
        ("double", EN, None),
    ],
)
def test_codes_said(text: str, ctx: Context, expected: str | None) -> None:
    assert said("alphanumeric", text, None, ctx) == expected


def test_code_length_limits() -> None:
    six = ValueOptions(min_length=6, max_length=6)
    assert said("alphanumeric", "alpha bravo charlie", six) is None
    assert said("alphanumeric", "alpha bravo charlie one two three", six) == "ABC123"
    assert keyed("alphanumeric", "123456", six) == "123456"


# --- read-back --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "value", "language", "expected"),
    [
        ("date", "1980-03-05", "en", "March 5, 1980"),
        ("date", "1980-03-05", "es", "5 de marzo de 1980"),
        ("date", "1980-03-05", "es-MX", "5 de marzo de 1980"),
        ("date", "not a date", "en", "not a date"),
        ("time", "15:30", "en", "3:30 PM"),
        ("time", "09:00", "en", "9 AM"),
        ("time", "12:00", "en", "noon"),
        ("time", "00:00", "en", "midnight"),
        ("time", "15:30", "es", "las 3 y media de la tarde"),
        ("time", "13:10", "es", "la 1 y 10 de la tarde"),
        ("time", "09:15", "es", "las 9 y cuarto de la mañana"),
        ("phone", "5551234567", "en", "5 5 5, 1 2 3, 4 5 6 7"),
        ("phone", "+15551234567", "en", "5 5 5, 1 2 3, 4 5 6 7"),
        ("phone", "+442079460958", "es", "más 4 4 2, 0 7 9, 4 6 0, 9 5 8"),
        ("currency", "12.50", "en", "$12.50"),
        ("currency", "1234.00", "en", "$1,234"),
        ("currency", "12.50", "es", "12 dólares con 50 centavos"),
        ("currency", "1.01", "es", "1 dólar con 1 centavo"),
        ("alphanumeric", "AB12C", "en", "A, B, 1, 2, C"),
    ],
)
def test_read_back(kind: str, value: str, language: str, expected: str) -> None:
    assert values.read_back(kind, value, language) == expected


def test_currency_read_back_names_the_currency() -> None:
    assert values.read_back("currency", "12.50", "en", ValueOptions(currency="EUR")) == "€12.50"
    assert (
        values.read_back("currency", "12.50", "es", ValueOptions(currency="EUR"))
        == "12 euros con 50 céntimos"
    )


# --- properties -------------------------------------------------------------------------------------

LANGUAGES = st.sampled_from([EN, ES])


@settings(max_examples=150, deadline=None)
@given(st.dates(min_value=date(1000, 1, 1), max_value=date(9999, 12, 31)), LANGUAGES)
def test_a_date_read_back_is_understood_again(day: date, ctx: Context) -> None:
    spoken = values.read_back("date", day.isoformat(), ctx.language)
    assert said("date", spoken, ValueOptions(), ctx) == day.isoformat(), spoken


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 23), st.integers(0, 59), LANGUAGES)
def test_a_time_read_back_is_understood_again(hour: int, minute: int, ctx: Context) -> None:
    value = f"{hour:02d}:{minute:02d}"
    spoken = values.read_back("time", value, ctx.language)
    assert said("time", spoken, ValueOptions(), ctx) == value, spoken


@settings(max_examples=150, deadline=None)
@given(st.decimals(min_value=0, max_value=10**7, places=2), LANGUAGES)
def test_an_amount_read_back_is_understood_again(amount: Decimal, ctx: Context) -> None:
    value = f"{amount:.2f}"
    spoken = values.read_back("currency", value, ctx.language)
    assert said("currency", spoken, ValueOptions(), ctx) == value, spoken


@settings(max_examples=150, deadline=None)
@given(st.text("0123456789", min_size=7, max_size=15), st.booleans(), LANGUAGES)
def test_a_phone_number_read_back_is_understood_again(digits: str, plus: bool, ctx: Context) -> None:
    value = ("+" if plus else "") + digits
    spoken = values.read_back("phone", value, ctx.language)
    expected = value
    if plus and len(digits) == 11 and digits.startswith("1"):  # read as a North American number
        expected = digits[1:]
    assert said("phone", spoken, ValueOptions(), ctx) == expected, spoken


@settings(max_examples=150, deadline=None)
@given(st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=20), LANGUAGES)
def test_a_code_read_back_is_understood_again(code: str, ctx: Context) -> None:
    spoken = values.read_back("alphanumeric", code, ctx.language)
    assert said("alphanumeric", spoken, ValueOptions(), ctx) == code, spoken


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(values.KINDS), st.text(max_size=200), LANGUAGES)
def test_no_text_makes_a_parser_raise(kind: str, text: str, ctx: Context) -> None:
    assert isinstance(
        values.parse_speech(kind, text, DOB if kind == "date" else ValueOptions(), ctx), Parsed | Invalid
    )
    assert isinstance(values.parse_keys(kind, text[:20], ValueOptions(), ctx), Parsed | Invalid)


def test_a_long_utterance_is_refused_not_parsed() -> None:
    result = values.parse_speech("phone", "five " * 10_000, ValueOptions(), EN)
    assert isinstance(result, Invalid) and "too many words" in result.reason

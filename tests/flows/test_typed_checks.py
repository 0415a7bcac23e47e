"""The checker on typed values and SSML prompts (issue 16 item 4): unknown kinds and tags get a
"did you mean", limits that are not dates or times are refused, and an SSML error points at
its line and column inside the prompt."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callwright.flows.checker import check
from callwright.flows.loader import loads
from callwright.speech import ssml


def problems(text: str) -> list[str]:
    res = loads(text, "flow.yaml")
    out = list(res.problems)
    if res.flow is not None:
        out += check(res.flow)
    return [str(p) for p in out]


def ask(collect: str, extra: str = "", prompt: str = '"Your date of birth?"', top: str = "") -> str:
    """A flow with one ask state; `extra` is more lines of the state (4 spaces in)."""
    return (
        f"flow: t\nstart: ask\n{top}states:\n  ask:\n    type: ask\n    collect: {collect}\n"
        f"    prompt: {prompt}\n    into: value\n    next: bye\n    on_failure: bye\n{extra}"
        "  bye:\n    type: hangup\n"
    )


def test_every_typed_kind_loads_clean() -> None:
    for kind, options in [
        ("date", "    date: {format: DDMMYYYY, min: '1900-01-01', max: today}\n"),
        ("time", "    time: {min: '08:00', max: '18:00'}\n"),
        ("phone", "    phone: {country: '44', min: 9, max: 10}\n"),
        ("currency", "    currency: {code: EUR, min: 1, max: 500}\n"),
        ("alphanumeric", "    alphanumeric: {min: 6, max: 6}\n"),
    ]:
        assert problems(ask(kind, options)) == [], kind


def test_an_unknown_collect_kind_suggests_one() -> None:
    assert problems(ask("dat")) == [
        "flow.yaml:6:14: error: state 'ask', collect: 'dat' is not one of menu, digits, yesno, number, "
        "speech, date, time, phone, currency, alphanumeric; did you mean 'date'?"
    ]


def test_bad_limits_are_refused_at_their_line() -> None:
    out = problems(ask("date", "    date: {min: '1980-02-30'}\n"))
    assert out == [
        "flow.yaml:11:17: error: date min: '1980-02-30' is not a calendar date (YYYY-MM-DD, or today)"
    ]
    out = problems(ask("date", "    date: {min: '2000-01-01', max: '1990-01-01'}\n"))
    assert out == ["flow.yaml:11:11: error: date min 2000-01-01 is more than max 1990-01-01"]
    out = problems(ask("time", "    time: {max: '25:00'}\n"))
    assert out == [
        "flow.yaml:11:17: error: time max: '25:00' is not a time of day from 00:00 to 23:59 (HH:MM)"
    ]
    out = problems(ask("date", "    date: {max: tomorrow}\n"))
    assert len(out) == 1 and "flow.yaml:11:17: error" in out[0] and "a date YYYY-MM-DD, or today" in out[0]


def test_options_for_another_kind_are_a_warning() -> None:
    out = problems(ask("time", "    date: {max: today}\n"))
    assert out == [
        "flow.yaml:11:5: warning: 'date' options are only used when collect is date (this state collects time)"
    ]


def test_a_currency_state_cannot_end_on_star() -> None:
    out = problems(ask("currency", "    digits: {terminator: '*'}\n"))
    assert out == [
        "flow.yaml:11:26: error: in a currency state * is the decimal point; end the amount with # instead"
    ]


def test_a_typed_value_not_stored_is_a_warning() -> None:
    text = ask("date").replace("    into: value\n", "")
    assert any("collects date but does not store it" in p for p in problems(text))


def test_ssml_errors_point_into_the_prompt() -> None:
    out = problems(ask("date", prompt="'Your date <brake time=\"1s\"/> of birth?'"))
    assert out == ["flow.yaml:7:25: error: SSML: unknown SSML tag <brake>; did you mean 'break'?"]
    out = problems(ask("date", prompt="'Say it <say-as interpret-as=\"digit\">12</say-as>'"))
    assert out == [
        "flow.yaml:7:29: error: SSML: say-as interpret-as 'digit' is not supported; did you mean 'digits'?"
    ]
    block = '|\n      Hello.\n      <prosody rate="slow" pich="+10%">Bye</prosody>'
    out = problems(ask("date", prompt=block))
    assert out == ["flow.yaml:9:28: error: SSML: <prosody> has no attribute 'pich'; did you mean 'pitch'?"]


def test_hostile_markup_in_a_prompt_is_an_error_not_an_expansion() -> None:
    prompt = '\'<!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]><speak>&b;</speak>\''
    out = problems(ask("date", prompt=prompt))
    assert out == ["flow.yaml:7:14: error: SSML: a DOCTYPE or entity declaration is not allowed in a prompt"]


def test_valid_ssml_and_read_back_formats_pass() -> None:
    prompt = (
        '\'Born <say-as interpret-as="date">{value}</say-as>.<break time="300ms"/>'
        '<prosody rate="slow">{value:date}</prosody>\''
    )
    assert problems(ask("date", prompt=prompt, top="variables: {value: null}\n")) == []


# --- hostile and random input: problems, never a crash -------------------------------------------

_OPTION_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 10**9),
    st.floats(allow_nan=True),
    st.sampled_from(["today", "1980-02-30", "25:00", "08:00", "MMDDYYYY", "USD", "1", "+44", "", "{x}"]),
    st.text(max_size=20),
)
_MARKUP_PIECES = st.sampled_from(
    [
        "<break/>", '<break time="1s"/>', "<say-as interpret-as='date'>", "</say-as>", "<prosody rate='slow'>",
        "</prosody>", "<speak>", "</speak>", "&amp;", "&lol;", "<!DOCTYPE x>", "<", ">", "{x}", "hi ", "&#0;",
        '<prosody pitch="+999%">', "<break time='99999s'/>", "<?x?>", "<!--", "]]>",
    ]
)  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(["date", "time", "phone", "currency", "alphanumeric"]),
    st.sampled_from(["date", "time", "phone", "currency", "alphanumeric", "digits"]),
    st.dictionaries(
        st.sampled_from(["min", "max", "format", "country", "code", "terminator"]), _OPTION_VALUES, max_size=4
    ),
    st.lists(_MARKUP_PIECES, max_size=12),
)
def test_random_typed_states_give_problems_not_crashes(
    kind: str, key: str, options: dict, pieces: list[str]
) -> None:
    prompt = json.dumps("".join(pieces) or "x")
    text = ask(kind, f"    {key}: {json.dumps(options)}\n", prompt=prompt, top="variables: {x: null}\n")
    for p in problems(text):
        assert ":" in p


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_MARKUP_PIECES, st.text(max_size=10)), max_size=30))
def test_random_markup_parses_or_is_refused(pieces: list[str]) -> None:
    text = "".join(pieces)
    try:
        doc = ssml.parse(text)
    except ssml.SsmlError as err:
        assert 0 <= err.offset <= len(text)
        return
    assert "<" not in ssml.to_espeak(doc)[7:-8].replace("<break", "").replace("<prosody", "").replace(
        "</prosody", ""
    )

"""What the flow schema lets through: names end where they seem to, numbers are finite,
durations are bounded, and a bad value is explained as what it is."""

from __future__ import annotations

import json
import textwrap

import pytest

from callwright.errors import DataError
from callwright.flows.checker import check
from callwright.flows.graph import to_mermaid
from callwright.flows.loader import loads, parse_duration
from callwright.qa.scorecard import loads_scorecard

FLOW = textwrap.dedent("""\
    flow: t
    start: a
    states:
      a:
        type: ask
        collect: menu
        prompt: Press 1.
        choices:
          - {id: one, dtmf: "1", next: done}
        on_failure: done
      done:
        type: hangup
""")


def errors(text: str) -> list[str]:
    res = loads(text, "f.yaml")
    return [str(p) for p in res.errors]


# --- names: a trailing newline is not part of a valid name (finding: "s\n" broke Mermaid) ----


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        ("  done:\n", '  "done\\n":\n', "f.yaml:11:3: error: states: name 'done\\n' is not valid"),
        (
            "next: done}",
            'next: "done\\n"}',
            "f.yaml:9:36: error: state 'a', choices.0.next: 'done\\n' is not valid",
        ),
        ("{id: one,", '{id: "one\\n",', "f.yaml:9:14: error: state 'a', choices.0.id: 'one\\n' is not valid"),
        ("start: a\n", 'start: "a\\n"\n', "f.yaml:2:8: error: start: 'a\\n' is not valid"),
        (
            "flow: t\n",
            'flow: t\nlanguages: ["en\\n"]\n',
            "f.yaml:2:13: error: languages.0: 'en\\n' is not valid",
        ),
        ('dtmf: "1"', 'dtmf: "1\\n"', "f.yaml:9:25: error: state 'a', choices.0.dtmf: '1\\n' is not valid"),
    ],
)
def test_a_trailing_newline_does_not_make_a_valid_name(old, new, where):
    text = FLOW.replace(old, new)
    assert text != FLOW
    found = errors(text)
    assert any(e.startswith(where) for e in found), found


def test_the_mermaid_diagram_stays_one_state_per_line():
    res = loads(FLOW, "f.yaml")
    assert not res.errors
    diagram = to_mermaid(res.flow)
    assert 'state "done" as' in diagram
    assert all(line.startswith("  ") or line == "stateDiagram-v2" for line in diagram.splitlines())


def test_a_scorecard_id_with_a_trailing_newline_is_refused():
    card = textwrap.dedent("""\
        scorecard: t
        sections:
          - id: "s\\n"
            items:
              - {id: greeting, kind: phrase, phrases: [thank you for calling]}
    """)
    with pytest.raises(DataError) as info:
        loads_scorecard(card, "card.yaml")
    assert "card.yaml:3:9: error: section '#1', id: 's\\n' is not valid" in str(info.value)


# --- numbers are finite: NaN passes every minimum/maximum -----------------------------------


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        (
            "on_failure: done\n",
            "on_failure: done\n    timeouts: {no_input: .nan}\n",
            "f.yaml:11:26: error: state 'a', timeouts.no_input: nan is not a finite number",
        ),
        (
            "on_failure: done\n",
            "on_failure: done\n    accept_confidence: .nan\n",
            "f.yaml:11:24: error: state 'a', accept_confidence: nan is not a finite number",
        ),
        (
            "flow: t\n",
            "flow: t\nsettings: {confirm: {below: .nan}}\n",
            "f.yaml:2:29: error: settings.confirm.below: nan is not a finite number",
        ),
        (
            "flow: t\n",
            "flow: t\nvariables: {x: .inf}\n",
            "f.yaml:2:16: error: variables.x: inf is not a finite number",
        ),
        (
            "flow: t\n",
            "flow: t\nsettings: {timeouts: {no_input: -.inf}}\n",
            "f.yaml:2:33: error: settings.timeouts.no_input: -inf is not a finite number",
        ),
    ],
)
def test_nan_and_infinity_never_pass_a_range_check(old, new, where):
    found = errors(FLOW.replace(old, new))
    assert any(e.startswith(where) for e in found), found


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("99999999m", "state 'a', timeouts.no_input: duration '99999999m' is over the limit of 3600 s"),
        ("3601s", "state 'a', timeouts.no_input: duration '3601s' is over the limit of 3600 s"),
        ("9" * 400, "duration '999999999999999999999999999999999999... is not a finite number of seconds"),
    ],
)
def test_durations_written_as_text_are_bounded_too(value, message):
    found = errors(
        FLOW.replace("on_failure: done\n", f'on_failure: done\n    timeouts: {{no_input: "{value}"}}\n')
    )
    assert any(message in e for e in found), found


@pytest.mark.parametrize(
    "value",
    [float("nan"), float("inf"), -1, 10**400, True, "1e308s", "nan"],
    ids=["nan", "inf", "negative", "10**400", "true", "1e308s", "text-nan"],
)
def test_parse_duration_refuses_what_is_not_a_bounded_number_of_seconds(value):
    with pytest.raises(ValueError):
        parse_duration(value)


def test_parse_duration_reads_the_usual_spellings():
    assert [parse_duration(v) for v in ("5s", "500ms", "2m", 7, 2.5, " 3 ")] == [5, 0.5, 120, 7, 2.5, 3]


# --- opening hours: say what is wrong with the time ---------------------------------------

HOURS = textwrap.dedent("""\
    flow: t
    start: h
    states:
      h:
        type: hours
        open: {mon: "OPEN"}
        if_open: done
        if_closed: done
      done:
        type: hangup
""")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            '"25:00-29:99"',
            "open.mon: '25:00-29:99' is not valid opening hours: '25:00' is not a time of "
            "day; hours go from 00 to 23, and 24:00 may end a day",
        ),
        (
            '"09:00-17:99"',
            "open.mon: '09:00-17:99' is not valid opening hours: '17:99' is not a time of "
            "day; minutes go from 00 to 59",
        ),
        (
            '["09:00-12:00", "13:00-5pm"]',
            "open.mon.1: '13:00-5pm' is not valid opening hours: '5pm' is not "
            "a time of day; write HH:MM on a 24-hour clock, such as 09:00",
        ),
        (
            '"nine to five"',
            "open.mon: 'nine to five' is not valid opening hours: expected a range such as "
            "'09:00-17:30', a list of ranges, or 'closed'",
        ),
        ("5", "open.mon: expected text or a list, got int 5"),
    ],
)
def test_opening_hours_messages_say_what_is_wrong(spec, message):
    found = errors(HOURS.replace('"OPEN"', spec))
    col = 17 if not spec.startswith("[") else 33
    assert found == [f"f.yaml:6:{col}: error: state 'h', {message}"], found


def test_the_checker_says_what_is_wrong_with_hours_the_schema_lets_through():
    res = loads(HOURS.replace('"OPEN"', '"25:00-26:00", tue: "18:00-09:00"'), "f.yaml")
    assert not res.errors
    found = [p.message for p in check(res.flow) if p.severity == "error"]
    assert found == [
        "bad opening hours 25:00-26:00 on mon: '25:00' is not a time of day; hours go from 00 to 23, "
        "and 24:00 may end a day",
        "bad opening hours 18:00-09:00 on tue: the range ends at 09:00, which is not after its start 18:00",
    ]


def test_the_published_schema_is_unchanged_json():
    # Editors use the same file: it must stay plain JSON Schema (ECMA `$`), valid JSON.
    from callwright.flows.loader import schema

    assert json.loads(json.dumps(schema()))["$defs"]["stateName"]["pattern"].endswith("$")

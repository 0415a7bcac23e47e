"""`flow check` finds each kind of mistake and points at the line the designer wrote."""

import textwrap
from pathlib import Path

import pytest

from callwright.flows.checker import check, check_file
from callwright.flows.loader import loads

ROOT = Path(__file__).resolve().parents[2]


def problems(text: str):
    res = loads(textwrap.dedent(text), "flow.yaml")
    out = list(res.problems)
    if res.flow is not None:
        out += check(res.flow)
    return out


def only(text: str, severity="error"):
    return [p for p in problems(text) if p.severity == severity]


BASE = """\
flow: t
start: menu
settings:
  on_failure: bye
  global_commands:
    operator: {dtmf: "0", speech: [agent], next: bye}
states:
  menu:
    type: ask
    collect: menu
    prompt: "Press 1"
    choices:
      - {id: one, dtmf: "1", speech: [one], next: bye}
  bye:
    type: hangup
"""


def test_a_clean_flow_has_no_problems():
    assert problems(BASE) == []


SAMPLES = sorted(p for p in (ROOT / "flows").rglob("*.yaml") if not p.name.endswith(".test.yaml"))


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_sample_flows_have_no_errors_or_warnings(path):
    assert [str(p) for p in check_file(path)] == []


def test_unknown_key_suggests_the_right_one():
    p, missing = only(BASE.replace('    prompt: "Press 1"', '    promt: "Press 1"'))
    assert (p.line, p.col) == (11, 5)
    assert "missing required key 'prompt'" in missing.message
    assert "unknown key 'promt'" in p.message and "did you mean 'prompt'" in p.message


def test_wrong_type_and_bad_enum():
    errs = only(BASE.replace("collect: menu", "collect: menus").replace('dtmf: "1"', "dtmf: [1]"))
    msgs = " | ".join(p.message for p in errs)
    assert "'menus' is not one of" in msgs and "did you mean 'menu'" in msgs
    assert "expected text, got a list" in msgs


def test_missing_required_key_names_state_and_type():
    (p,) = only(BASE.replace('    prompt: "Press 1"\n', ""))
    assert "state 'menu' (ask): missing required key 'prompt'" in p.message


def test_unknown_target_with_suggestion():
    (p,) = only(BASE.replace("speech: [one], next: bye}", "speech: [one], next: by}"))
    assert p.line == 13 and "unknown target state 'by'" in p.message and "'bye'" in p.message


def test_unreachable_state_is_a_warning():
    ws = only(BASE + "  orphan:\n    type: hangup\n", "warning")
    assert [(p.line, "unreachable" in p.message) for p in ws] == [(16, True)]


def test_state_with_no_way_out():
    text = BASE.replace("speech: [one], next: bye}", "speech: [one], next: spin}") + (
        '  spin:\n    type: branch\n    cases: [{if: "true", next: spin2}]\n    else: spin2\n'
        "  spin2:\n    type: ask\n    collect: yesno\n    prompt: ok?\n    yes: spin\n    no: spin\n"
        "    on_failure: spin\n    global_commands: false\n"
    )
    msgs = [(p.line, p.message) for p in only(text)]
    assert (
        16,
        "state 'spin' has no way out: no path from it reaches a hangup, queue, transfer or return",
    ) in msgs


def test_endless_loop_without_input():
    text = BASE.replace("speech: [one], next: bye}", "speech: [one], next: a}") + (
        "  a:\n    type: play\n    prompt: hi\n    next: b\n"
        "  b:\n    type: play\n    prompt: again\n    next: a\n"
    )
    msgs = [p.message for p in only(text)]
    assert any("endless loop without caller input" in m for m in msgs)


def test_unbounded_retry_loop_and_a_guarded_one():
    loop = BASE.replace("  on_failure: bye\n", "") + (
        "  retry:\n    type: play\n    prompt: again\n    next: menu\n"
    )
    loop = loop.replace('    prompt: "Press 1"\n', '    prompt: "Press 1"\n    on_failure: retry\n')
    (p,) = only(loop)
    line = loop.splitlines().index("    on_failure: retry") + 1
    assert "retry loop without a bound" in p.message and p.line == line
    guarded = loop.replace("    next: menu\n", "    next: count\n") + (
        '  count:\n    type: set\n    vars: {tries: "tries + 1"}\n    next: check\n'
        '  check:\n    type: branch\n    cases: [{if: "tries < 3", next: menu}]\n    else: bye\n'
    )
    guarded = guarded.replace("start: menu\n", "start: menu\nvariables: {tries: 0}\n")
    assert only(guarded) == []


def test_colliding_keys_and_phrases():
    text = BASE.replace(
        '      - {id: one, dtmf: "1", speech: [one], next: bye}',
        '      - {id: one, dtmf: "1", speech: [one], next: bye}\n'
        '      - {id: two, dtmf: "1", speech: ["One!"], next: bye}\n'
        '      - {id: zero, dtmf: "0", speech: [Agent], next: bye}',
    )
    msgs = sorted(p.message for p in only(text))
    assert any("dtmf key '1' of choice 'two' is also used by choice 'one'" in m for m in msgs)
    assert any("speech phrase 'One!' of choice 'two' is also used by choice 'one'" in m for m in msgs)
    assert any("key '0' of choice 'zero' is also used by global command 'operator'" in m for m in msgs)
    assert any("'Agent' of choice 'zero' is also used by global command 'operator'" in m for m in msgs)


def test_template_variable_never_set():
    text = BASE.replace('prompt: "Press 1"', 'prompt: "Hello {name}, press 1"')
    (p,) = only(text)
    assert p.line == 11 and "template variable 'name' is not set on any path" in p.message
    declared = text.replace("start: menu\n", "start: menu\nvariables: {name: null}\n")
    assert only(declared) == []


def test_variable_set_on_one_path_counts():
    text = BASE.replace(
        "speech: [one], next: bye}", 'speech: [one], next: named}\n      - {id: two, dtmf: "2", next: bye}'
    ) + (
        "  named:\n    type: set\n    vars: {name: \"'Sam'\"}\n    next: greet\n"
        '  greet:\n    type: hangup\n    prompt: "Bye {name}"\n'
    )
    assert only(text) == []


def test_expression_that_does_not_parse():
    text = BASE.replace("speech: [one], next: bye}", "speech: [one], next: route}") + (
        '  route:\n    type: branch\n    cases:\n      - {if: "reason == ", next: bye}\n    else: bye\n'
    )
    (p,) = only(text)
    line = text.splitlines().index('      - {if: "reason == ", next: bye}') + 1
    assert p.line == line and "condition does not parse" in p.message


def test_hostile_expression_is_reported_not_run():
    text = BASE.replace("speech: [one], next: bye}", "speech: [one], next: route}") + (
        "  route:\n    type: set\n    vars: {x: \"__import__('os').system('touch /tmp/pwned')\"}\n"
        "    next: bye\n"
    )
    (p,) = only(text)
    assert "expression for 'x'" in p.message and ("not allowed" in p.message or "unknown" in p.message)
    assert not Path("/tmp/pwned").exists()


def test_missing_language_prompt():
    text = BASE.replace("start: menu\n", "start: menu\nlanguages: [en, es]\n")
    ws = only(text, "warning")
    assert ws and all("prompt missing for language es" in p.message for p in ws)
    text2 = text.replace('prompt: "Press 1"', 'prompt: {es: "Oprima 1"}')
    assert any("including the fallback language en" in p.message for p in only(text2))


def test_bad_timezone_and_hours():
    text = BASE.replace("speech: [one], next: bye}", "speech: [one], next: hours}") + (
        "  hours:\n    type: hours\n    timezone: Mars/Olympus\n"
        '    open: {mon: "18:00-09:00"}\n    if_open: bye\n    if_closed: bye\n'
    )
    msgs = [p.message for p in only(text)]
    assert any("unknown time zone 'Mars/Olympus'" in m for m in msgs)
    assert any("bad opening hours 18:00-09:00" in m for m in msgs)


def test_yaml_syntax_error_is_reported_once():
    (p,) = problems("flow: t\nstart: [a\n")
    assert p.severity == "error" and "YAML syntax error" in p.message


@pytest.mark.parametrize("text", ["", "- a\n- b\n", "just a string\n", "42\n"])
def test_not_a_mapping(text):
    (p,) = problems(text)
    assert "must be a mapping" in p.message

"""Every row of the rules table in docs/flows.md ("Checking") says what the checker really
says about its mistake (issue 16, item 8: the checker's rules, each with an example).

Why: a designer reads the table to learn what a message means; a message reworded in the
checker but not in the doc (or a rule dropped) would mislead them. Each row's mistake is
put in a minimal flow (`languages: [en]`, the first state as start, a hangup `bye` unless
the row defines one), loaded and checked; the row's message must be among the problems.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from callwright.flows.checker import check
from callwright.flows.loader import loads

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "flows.md").read_text(encoding="utf-8")
SECTION = re.search(r"^### The rules, each with an example\n(.*?)(?=^#)", DOC, re.S | re.M)
ROWS = re.findall(r"^\| ([^|`]+?) \| `([^`]+)` \| `([^`]+)` \|$", SECTION.group(1) if SECTION else "", re.M)


def problems_of(states: str) -> list[str]:
    start = re.match(r"\s*([\w-]+):", states)
    assert start, states
    bye = "" if re.search(r"\bbye:", states) else ", bye: {type: hangup}"
    text = f"flow: doc\nlanguages: [en]\nstart: {start.group(1)}\nstates: {{{states}{bye}}}\n"
    res = loads(text, "doc.yaml")
    found = list(res.problems) + (check(res.flow) if res.flow is not None else [])
    return [f"{p.severity}: {p.message}" for p in found]


def test_the_table_is_there():
    assert SECTION and len(ROWS) >= 20


@pytest.mark.parametrize(("rule", "states", "message"), ROWS, ids=[r[0] for r in ROWS])
def test_the_documented_message_is_what_the_checker_says(rule, states, message):
    found = problems_of(states)
    assert any(message in p for p in found), f"{rule}: {found}"


def test_a_correct_flow_gets_no_message():
    """The harness itself adds nothing the checker complains about."""
    assert problems_of("a: {type: play, prompt: Hi, next: bye}") == []

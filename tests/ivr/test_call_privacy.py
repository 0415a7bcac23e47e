"""Personal data never lands in clear in the IVR's call log or on its console.

Caller input is redacted as QA redacts transcripts; a flow marks what the redactor
cannot know (a date of birth, an account number) `sensitive: true`.
"""

import json
import os
import re
import sqlite3
import subprocess
import sys
import textwrap
from datetime import datetime

from callwright.flows.loader import loads
from callwright.ivr.clock import FakeClock
from callwright.ivr.engine import FlowEngine
from callwright.ivr.events import Dtmf, Recorded, Say, Speech
from tests.conftest import ROOT
from tests.db_text import text_values

OPEN = datetime.fromisoformat("2026-11-23T10:00:00-05:00")
CARD = "4111111111111111"
DOB = "03141985"

PII = """\
flow: pii
start: card
variables: {card: null, note: null, dob: null, message: null, born: null}
settings: {on_failure: bye}
states:
  card:
    type: ask
    collect: digits
    digits: {min: 13, max: 19, terminator: "#"}
    into: card
    prompt: "Your card number, then pound."
    confirm: {when: always, prompt: "I heard {card:digits}. Right?"}
    next: note
  note:
    type: ask
    collect: speech
    into: note
    prompt: "Anything else?"
    next: dob
  dob:
    type: ask
    collect: digits
    digits: {min: 8, max: 8}
    into: dob
    sensitive: true
    prompt: "Your date of birth, eight digits."
    next: copy
  copy:
    type: set
    vars: {born: "dob"}
    next: echo
  echo:
    type: play
    prompt: "Born {born}."
    next: message
  message:
    type: record
    prompt: "Leave a message."
    into: message
    next: bye
  bye: {type: hangup, prompt: "Bye."}
"""

CALLER = (
    f"#{CARD}#\nyes\nmy card is 4111 1111 1111 1111\n#{DOB}\ncall me back, my card is 4111 1111 1111 1111\n"
)


def _digit_runs(value: str) -> list[str]:
    """Digits as a reader would join them: '4111 1111-1111' is one run."""
    return [re.sub(r"\D", "", m) for m in re.findall(r"\d[\d\s.,-]*\d|\d", value)]


def _leaks(value: str, pieces=("1111", "0314", "1985")) -> bool:
    return any(piece in run for run in _digit_runs(value) for piece in pieces)


def _text_call(tmp_path, flow_text: str):
    flow = tmp_path / "pii.yaml"
    flow.write_text(flow_text)
    db = tmp_path / "calls.db"
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "callwright",
            "call",
            flow,
            "--text",
            "--db",
            db,
            "--time",
            "2026-11-23T10:00-05:00",
            "--json",
        ],
        input=CALLER,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert summary["outcome"] == "self_served"
    assert summary["states"] == ["card", "note", "dob", "copy", "echo", "message", "bye"]
    values = [(t, c, v) for t, c, v in text_values(db) if c not in ("id", "call_id", "flow_hash")]
    assert values, "nothing was logged"
    return r, db, values


def test_a_card_number_typed_and_said_is_redacted_in_every_table_without_any_marking(tmp_path):
    """The issue's acceptance: after a text call where the caller types and says a card
    number, no table of the database holds its digits in clear (nor the console)."""
    r, _db, values = _text_call(tmp_path, PII.replace("    sensitive: true\n", ""))
    assert not [(t, c, v) for t, c, v in values if _leaks(v, ("1111",))]
    assert not _leaks(r.stderr, ("1111",)), r.stderr


def test_no_table_holds_a_card_number_or_a_sensitive_value(tmp_path):
    r, db, values = _text_call(tmp_path, PII)
    leaks = [(t, c, v) for t, c, v in values if _leaks(v)]
    assert not leaks
    # the keys of the card, one event each, would spell it out: data keys are masked
    con = sqlite3.connect(db)
    keys = [
        json.loads(d)["key"]
        for (d,) in con.execute(
            "select data from call_events where kind = 'input' and data like '%\"dtmf\"%'"
        )
    ]
    assert keys and not any(k.isdigit() for k in keys)
    texts = " ".join(v for _t, _c, v in values)
    assert "[CARD]" in texts and "[REDACTED]" in texts  # redacted, not dropped
    # the console shows no more than the log
    assert not _leaks(r.stderr), r.stderr
    assert "Born [REDACTED]." in r.stderr and "you> [REDACTED]" in r.stderr


def engine_for(text: str) -> FlowEngine:
    res = loads(textwrap.dedent(text), "t.yaml")
    assert res.flow is not None, res.problems
    return FlowEngine(res.flow)


def test_the_caller_still_hears_their_data_only_the_log_is_masked():
    session = engine_for(PII).start_call(FakeClock(OPEN))
    session.start()
    for key in CARD + "#":
        session.handle(Dtmf(key))
    confirm = [a for a in session.handle(Speech("yes"))]
    session.handle(Speech("nothing"))
    out = []
    for key in DOB:
        out += session.handle(Dtmf(key))
    says = [a for a in out if isinstance(a, Say)]
    born = next(a for a in says if a.text.startswith("Born"))
    assert born.text == f"Born {DOB}." and born.display == "Born [REDACTED]." and born.templated
    assert session.vars["dob"] == DOB and session.vars["born"] == DOB  # the flow still works
    logged = json.dumps([e.data for e in session.events])
    assert DOB not in logged and CARD not in logged and "1111" not in logged
    assert not confirm or all(CARD not in getattr(a, "display", "") for a in confirm)
    session.handle(Recorded(text=f"my birthday is {DOB}"))
    assert session.ended


def test_sensitive_is_in_the_model_and_the_schema():
    flow = engine_for(PII).flow
    assert flow.sensitive == frozenset({"dob"}) and flow.states["dob"].sensitive
    listed = loads("flow: x\nstart: a\nsensitive: [pin]\nstates:\n  a: {type: hangup}\n", "s.yaml")
    assert listed.flow is not None and listed.flow.sensitive == frozenset({"pin"})
    bad = loads("flow: x\nstart: a\nstates:\n  a: {type: hangup, sensitive: true}\n", "s.yaml")
    assert bad.errors and bad.errors[0].line == 4


def test_the_sample_line_keeps_account_numbers_out_of_the_log(inbound_flow):
    """flows/inbound.yaml marks its account-number state sensitive: the number works, the
    log and the confirmation prompt's logged text hold [REDACTED], the yes stays readable."""
    session = FlowEngine(inbound_flow).start_call(FakeClock(OPEN))
    session.start()
    for ev in (Dtmf("1"), Speech("billing"), Speech("five five five oh one"), Speech("yes")):
        session.handle(ev)
    assert session.vars["account_number"] == "55501" and session.outcome == "transferred"
    logged = json.dumps([e.data for e in session.events])
    assert "55501" not in logged and "5 5 5 0 1" not in logged and "five five" not in logged
    inputs = [e.data.get("text") for e in session.events if e.kind == "input"]
    assert inputs[-2:] == ["[REDACTED]", "yes"]

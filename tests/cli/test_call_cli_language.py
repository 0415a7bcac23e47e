"""`callwright call --language`: checked as `asr --language` checks it (a language code, one the
flow speaks, and with --audio or --mic one the model hears), refused with a message naming the
option, before any call row; never a traceback."""

import sqlite3
from pathlib import Path

import pytest
from tests import cli_inprocess
from tests.conftest import ROOT


def call(tmp_path: Path, *args: str, stdin: str = "/hangup\n"):
    db = tmp_path / "calls.db"
    r = cli_inprocess.run(
        "call", "flows/inbound.yaml", *args, "--db", str(db), stdin=stdin, cwd=ROOT, timeout=120
    )
    rows = sqlite3.connect(db).execute("select count(*) from calls").fetchone()[0] if db.exists() else 0
    return r, rows


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("xx", "--language: 'xx' is not a language code"),
        ("english", "--language: 'english' is not a language code"),
        ("de", "--language: flow acme-inbound speaks en, es, not 'de'"),
    ],
)
def test_a_language_the_flow_cannot_start_in_is_refused_naming_the_option(tmp_path, language, message):
    r, rows = call(tmp_path, "--text", "--language", language)
    assert r.returncode == 1, r.stderr
    assert message in r.stderr and "Traceback" not in r.stderr
    assert rows == 0


def test_a_regional_code_starts_the_flow_in_its_language(tmp_path):
    r, rows = call(tmp_path, "--text", "--language", "es-MX", "--json", stdin="/hangup\n")
    assert r.returncode == 0, r.stderr
    assert rows == 1


def test_a_language_the_model_does_not_hear_is_refused_before_the_call(tmp_path):
    caller = tmp_path / "caller.yaml"
    caller.write_text("turns:\n  - dtmf: '2'\n")
    # tiny.en (the default model) hears English only: a Spanish call would be heard as English words
    r, rows = call(tmp_path, "--audio", str(caller), "--fast", "--language", "es")
    assert r.returncode == 1, r.stderr
    assert "--language: model tiny.en hears en only, not 'es'" in r.stderr and "Traceback" not in r.stderr
    assert rows == 0
    r, rows = call(
        tmp_path, "--audio", str(caller), "--fast", "--language", "en", "--time", "2026-11-23T10:00-05:00"
    )
    assert r.returncode == 0, r.stderr
    assert rows == 1

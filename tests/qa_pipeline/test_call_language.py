"""The language a call is scored in (issue 17 item 5): `qa score --language`, a call's `language`
metadata, and the language kept with the recording; a language the model cannot hear, or no
language code at all, is a message naming the option or the field, never a traceback."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from tests import cli_inprocess

from callwright.errors import DataError
from callwright.qa import ingest

ROOT = Path(__file__).resolve().parents[2]
CARDS = {"inbound": ROOT / "scorecards" / "inbound-service.yaml"}


def cw(*args: object):
    return cli_inprocess.run("qa", *args, cwd=ROOT, env={"COLUMNS": "200"})


def transcript(folder: Path, name: str, **fields: object) -> Path:
    path = folder / f"{name}.json"
    segments = [
        {"speaker": "agent", "start": 0.5, "end": 2.0, "text": "Gracias por llamar, ¿en qué puedo ayudarle?"},
        {"speaker": "customer", "start": 2.5, "end": 4.0, "text": "Quiero revisar mi cuenta."},
    ]
    path.write_text(json.dumps({**fields, "segments": segments}, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("de", "--language: model tiny.en hears en only, not 'de'"),
        ("zz", "--language: 'zz' is not a language code"),
    ],
)
def test_a_language_the_model_cannot_hear_stops_qa_score_before_any_work(tmp_path, language, message):
    db = tmp_path / "qa.db"
    r = cw("score", tmp_path, "--scorecard", CARDS["inbound"], "--db", db, "--language", language)
    assert r.returncode == 1 and message in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert not db.exists()  # nothing started


def test_a_calls_language_field_is_checked_where_it_is_written(tmp_path):
    assert ingest.check_meta_fields({"language": "es-MX"}, "x.json")["language"] == "es-MX"
    with pytest.raises(DataError, match=r"^calls/a.json: language: 'castellano' is not a language code"):
        ingest.check_meta_fields({"language": "castellano"}, "calls/a.json")
    with pytest.raises(DataError, match=r"language: 12 is not a language code"):
        ingest.check_meta_fields({"language": 12}, "calls/a.json")
    path = transcript(tmp_path, "call-es", call_id="call-es", language="es")
    assert ingest.resolve_meta(path).language == "es"


def test_an_imported_transcripts_language_is_kept_with_its_recording(tmp_path):
    calls = tmp_path / "calls"
    calls.mkdir()
    transcript(calls, "told-es", call_id="told-es", language="es")
    transcript(calls, "bad-lang", call_id="bad-lang", language="castellano")
    db = tmp_path / "qa.db"
    r = cw("score", calls, "--scorecard", CARDS["inbound"], "--db", db, "--json")
    assert r.returncode != 0 and "Traceback" not in r.stderr, r.stderr  # one input was refused
    summary = json.loads(r.stdout)
    errors = [c for c in summary["calls"] if c["status"] == "error"]
    assert (
        len(errors) == 1
        and "bad-lang.json: language: 'castellano' is not a language code" in errors[0]["reason"]
    ), errors
    con = sqlite3.connect(db)
    rows = con.execute("select call_id, language, language_probability from recordings").fetchall()
    assert rows == [("told-es", "es", None)]  # told by its metadata: no detection, no probability
    shown = cw("show", "told-es", "--db", db)
    assert shown.returncode == 0 and "language es" in shown.stdout, shown.stderr
    view = json.loads(cw("show", "told-es", "--db", db, "--json").stdout)
    assert view["recording"]["language"] == "es"

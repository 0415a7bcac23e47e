"""`callwright qa` as a user runs it: show, review (beside the automatic verdict), calibration,
search, --json output, and user mistakes as messages (never a traceback)."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys

import pytest
from tests import cli_inprocess

from conftest import CARDS, ROOT


def cw(*args):
    """`callwright qa ARGS` through the console entry point, in this process: the models the
    scoring commands load stay loaded for the session (tests/cli_inprocess.py)."""
    return cli_inprocess.run("qa", *args, cwd=ROOT, env={"COLUMNS": "200"})


def cw_process(*args):
    """The same in a process of its own, for the tests of what a user sees when they err."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONWARNINGS": "ignore", "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "callwright", "qa", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )


@pytest.fixture
def db(scored_db, tmp_path):
    path = tmp_path / "qa.db"
    shutil.copy(scored_db[0], path)
    return path


def test_show_json_has_transcript_sentiment_items_and_evidence(db):
    r = cw("show", "inbound-no-disclosure", "--db", db, "--json")
    assert r.returncode == 0, r.stderr
    view = json.loads(r.stdout)
    assert view["call"]["id"] == "inbound-no-disclosure" and view["scores"][0]["auto_failed"] == 1
    u = view["utterances"][0]
    assert {"start", "end", "speaker", "text", "sentiment", "sentiment_label"} <= set(u)
    assert set(view["sentiment_by_quarter"]) == {"agent", "customer"}
    items = {i["item_id"]: i for i in view["items"]}
    disclosure = items["recording-disclosure"]
    assert disclosure["verdict"] == "fail" and disclosure["auto_fail"] == 1 and disclosure["evidence"]
    assert items["resolution-confirmed"]["verdict"] == "review"


def test_show_table_and_lookup_by_recording_id(db, scored_db):
    rid = scored_db[1]["inbound-card-payment"].outcome.scored.recording_id
    r = cw("show", rid[:12], "--db", db)
    assert r.returncode == 0, r.stderr
    assert (
        "inbound-card-payment" in r.stdout and "recording-disclosure" in r.stdout and "customer" in r.stdout
    )


def test_review_is_stored_beside_the_automatic_verdict_and_calibration_counts_it(db):
    r = cw(
        "review",
        "inbound-no-disclosure",
        "--item",
        "recording-disclosure",
        "--verdict",
        "pass",
        "--note",
        "said at 0:02, garbled by the recogniser",
        "--reviewer",
        "ann",
        "--db",
        db,
        "--json",
    )
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert (
        out["automatic"] == "fail"
        and out["review"]["verdict"] == "pass"
        and out["review"]["reviewer"] == "ann"
    )
    view = json.loads(cw("show", "inbound-no-disclosure", "--db", db, "--json").stdout)
    item = next(i for i in view["items"] if i["item_id"] == "recording-disclosure")
    assert item["verdict"] == "fail" and [x["verdict"] for x in item["reviews"]] == ["pass"]
    cal = json.loads(cw("calibration", "--db", db, "--json").stdout)
    assert cal == [
        {
            "item_id": "recording-disclosure",
            "reviewed": 1,
            "agreed": 0,
            "agreement": 0.0,
            "auto_pass_human_fail": 0,
            "auto_fail_human_pass": 1,
        }
    ]


def test_search_finds_redacted_text_only(db):
    r = cw("search", "card", "--db", db, "--json")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert rows and all("card" in row["text"].lower() for row in rows)
    assert cw("search", '"unbalanced', "--db", db).returncode == 0  # an unclosed quote runs to the end


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("show", "no-such-call"), "no call 'no-such-call'"),
        (
            ("review", "inbound-no-disclosure", "--item", "nope", "--verdict", "pass", "--reviewer", "ann"),
            "has no scorecard item 'nope'",
        ),
        (("list", "--since", "yesterday"), "--since 'yesterday': not an ISO date or time"),
        (("list", "--until", "2024-13-45"), "--until '2024-13-45': not an ISO date or time"),
    ],
)
def test_user_mistakes_are_messages_not_tracebacks(db, args, message):
    r = cw_process(*args, "--db", db)
    assert r.returncode == 1 and message in r.stderr and "Traceback" not in r.stderr


def test_score_with_a_bad_scorecard_or_missing_input_names_it(tmp_path):
    bad = tmp_path / "card.yaml"
    bad.write_text("scorecard: x\nsections: 3\n")
    r = cw_process("score", tmp_path, "--scorecard", bad, "--db", tmp_path / "qa.db")
    assert r.returncode == 1 and "card.yaml" in r.stderr and "Traceback" not in r.stderr
    r = cw_process(
        "score", tmp_path / "missing.wav", "--scorecard", CARDS["inbound"], "--db", tmp_path / "qa.db"
    )
    assert r.returncode == 1 and "missing.wav" in r.stderr and "Traceback" not in r.stderr
    r = cw_process("show", "x", "--db", tmp_path / "none.db")
    assert r.returncode == 1 and "none.db" in r.stderr
    r = cw_process(
        "score", tmp_path, "--scorecard", CARDS["inbound"], "--db", tmp_path / "qa.db", "--model", "tyni.en"
    )
    assert r.returncode == 1 and "did you mean 'tiny.en'" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "qa.db").exists()  # refused before anything is written


def test_score_takes_a_scorecard_per_direction_and_refuses_two_for_one(tmp_path):
    from test_qa_batch import TRANSCRIPT

    calls = tmp_path / "calls"
    calls.mkdir()
    (calls / "in-1.json").write_text(json.dumps({**TRANSCRIPT, "call_id": "in-1"}))
    (calls / "out-1.json").write_text(json.dumps({**TRANSCRIPT, "call_id": "out-1", "direction": "outbound"}))
    r = cw(
        "score",
        calls,
        "--scorecard",
        CARDS["inbound"],
        "--scorecard",
        CARDS["outbound"],
        "--db",
        tmp_path / "qa.db",
        "--json",
    )
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert {c["call_id"]: c["scorecard"] for c in summary["calls"]} == {
        "in-1": "inbound-service",
        "out-1": "outbound-sales",
    }
    r = cw(
        "score",
        calls,
        "--scorecard",
        CARDS["inbound"],
        "--scorecard",
        CARDS["inbound"],
        "--db",
        tmp_path / "qa2.db",
    )
    assert r.returncode == 1 and "twice" in r.stderr and "Traceback" not in r.stderr


# -- hostile and careless input (issue 12) -----------------------------------------------------------------

HOSTILE = "\x1b[2J\x1b]0;pwned\x07 I don't know \u202eenil dedrocer\u202c [bold]x[/bold] :warning: \x00 end"


@pytest.fixture(scope="module")
def tdb(tmp_path_factory):
    """A database scored from one imported transcript whose text holds terminal escapes, NUL, a bidi
    override and Rich markup (no ASR needed)."""
    from test_qa_batch import TRANSCRIPT

    from callwright.qa.scorecard import load_scorecard
    from callwright.store.qa_batch import score_batch

    folder = tmp_path_factory.mktemp("hostile")
    segs = [*TRANSCRIPT["segments"], {"speaker": "customer", "start": 26.0, "end": 30.0, "text": HOSTILE}]
    (folder / "evil.json").write_text(
        json.dumps({**TRANSCRIPT, "segments": segs, "call_id": "evil\x1b[31m", "agent": "ann\u202e"})
    )
    s = score_batch([folder / "evil.json"], load_scorecard(CARDS["inbound"]), folder / "qa.db")
    assert len(s.of("scored")) == 1, s.calls
    con = sqlite3.connect(folder / "qa.db")
    con.execute("pragma wal_checkpoint(truncate)")  # one file, to copy
    con.close()
    return folder / "qa.db"


def _clean(out: str) -> None:
    for bad in ("\x1b", "\x07", "\x00", "\u202e", "\u202c"):
        assert bad not in out, (bad, out)


@pytest.mark.parametrize(
    "query",
    [
        "don't",
        '"recorded line"',
        "recorded line",
        "-",
        "OR",
        "NEAR(",
        '"unbalanced',
        "x:y",
        "calling*",
        "a AND",
        "^start",
        "{agent}",
    ],
)
def test_search_takes_words_and_phrases_and_never_an_fts_syntax_error(tdb, query):
    r = cw("search", query, "--db", tdb, "--json")
    assert r.returncode in (0, 1) and "fts5" not in r.stderr and "syntax" not in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
    if r.returncode == 1:  # only a query with nothing searchable in it
        assert "nothing to search for" in r.stderr


def test_search_finds_a_word_with_an_apostrophe_and_a_quoted_phrase(tdb):
    rows = json.loads(cw("search", "don't", "--db", tdb, "--json").stdout)
    assert [r["speaker"] for r in rows] == ["customer"] and "don't" in rows[0]["text"]
    rows = json.loads(cw("search", '"recorded for quality"', "--db", tdb, "--json").stdout)
    assert len(rows) == 1 and "recorded for quality" in rows[0]["text"]
    assert json.loads(cw("search", '"quality recorded"', "--db", tdb, "--json").stdout) == []  # phrase order
    rows = json.loads(cw("search", "qualit*", "--db", tdb, "--json").stdout)  # a prefix (of a stem)
    assert len(rows) == 1
    rows = json.loads(cw("search", "don't", "kno*", "--db", tdb, "--json").stdout)  # words as arguments
    assert [r["speaker"] for r in rows] == ["customer"]
    assert json.loads(cw("search", "don't", "qualit*", "--db", tdb, "--json").stdout) == []  # all of them
    assert cw("search", "don't", "qualit*", "--db", tdb).stdout.strip() == "no utterance matches"


def test_show_and_search_print_no_control_or_bidi_characters_from_the_data(tdb):
    r = cw("show", "evil\x1b[31m", "--db", tdb)
    assert r.returncode == 0, r.stderr
    _clean(r.stdout)
    assert "\\x1b" in r.stdout and "\\u202e" in r.stdout and "[bold]x[/bold] :warning:" in r.stdout
    r = cw("search", "know", "--db", tdb)
    assert r.returncode == 0 and "know" in r.stdout, r.stderr
    _clean(r.stdout)
    assert "\\x1b[2J" in r.stdout


def test_json_output_is_strict(tdb, tmp_path):
    """A stored infinity was printed as `Infinity`, which is not JSON."""
    path = tmp_path / "qa.db"
    shutil.copy(tdb, path)
    con = sqlite3.connect(path)
    con.execute("update calls set duration_s = 1e999")
    con.commit()
    con.close()
    r = cw("show", "evil\x1b[31m", "--db", path, "--json")
    assert "Infinity" not in r.stdout and "NaN" not in r.stdout
    assert r.returncode == 1 and "not JSON compliant" in r.stderr and "Traceback" not in r.stderr


def test_score_exit_codes_say_whether_anything_was_scored(tmp_path):
    from test_qa_batch import TRANSCRIPT

    db = tmp_path / "qa.db"
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("no calls here")
    r = cw("score", empty, "--scorecard", CARDS["inbound"], "--db", db)
    assert (
        r.returncode == 1
        and "nothing was scored" in r.stderr
        and "no recording or transcript found" in r.stderr
    )

    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "a.json").write_text(json.dumps({**TRANSCRIPT, "direction": "4111 1111 1111 1111"}))
    (bad / "b.json").write_text("{not json")
    os.mkfifo(bad / "pipe.wav")
    r = cw("score", bad, "--scorecard", CARDS["inbound"], "--db", db, "--json")
    assert r.returncode == 1 and "every input failed" in r.stderr, r.stderr
    out = json.loads(r.stdout)
    assert out["scored"] == 0 and len(out["errors"]) == 2 and out["skipped"] == 1
    assert "named pipe" in next(c["reason"] for c in out["calls"] if c["path"].endswith("pipe.wav"))
    assert "4111" not in r.stdout and "4111" not in r.stderr  # a card number in a bad field is not echoed
    stored = sqlite3.connect(db).execute("select group_concat(error) from qa_errors").fetchone()[0]
    assert "direction" in stored and "4111" not in stored

    (bad / "good.json").write_text(json.dumps({**TRANSCRIPT, "call_id": "good"}))
    r = cw("score", bad, "--scorecard", CARDS["inbound"], "--db", db)
    assert r.returncode == 3 and "2 of 4 input(s) could not be scored" in r.stderr, r.stderr
    ok = tmp_path / "ok"
    ok.mkdir()
    shutil.copy(bad / "good.json", ok / "good.json")
    r = cw("score", ok, "--scorecard", CARDS["inbound"], "--db", db, "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["skipped"] == 1, r.stderr  # already scored: fine


def test_printable_shows_every_control_and_bidi_character_as_an_escape():
    from callwright.cli.printable import printable

    assert printable("plain text, café, 東京") == "plain text, café, 東京"
    assert printable("a\x1b[31mb\x00c\rd\x7fe\x9bf\u2028g") == "a\\x1b[31mb\\x00c\\x0dd\\x7fe\\x9bf\\u2028g"
    assert printable("x\u202ey\u2066z\u200f") == "x\\u202ey\\u2066z\\u200f"
    assert printable("one\ntwo", newlines=True) == "one\ntwo" and printable("one\ntwo") == "one\\x0atwo"
    assert printable("[bold]x[/bold]", markup=True) == "\\[bold]x\\[/bold]"
    assert printable(None) == ""

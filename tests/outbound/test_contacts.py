"""Contact lists end to end on a real SQLite database: CSV import (E.164, zones, consents,
attributes, duplicates, bad rows and encodings), history, the do-not-call list, export, and the
CLI's messages."""

import csv
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from callwright.errors import DataError
from callwright.outbound.compliance import History, Refuse
from callwright.outbound.contacts import read_contacts
from callwright.store import contacts as store
from callwright.store.db import open_db
from callwright.store.dials import Dial

ROOT = Path(__file__).resolve().parents[2]

CSV = """number,name,time_zone,consent,consent_at,consent_sms,plan
+1 212 555 0101,Ann,,yes,2026-01-02,no,gold
(212) 555-0102,Bob,America/Chicago,no,,,silver
+18005550199,Toll,,yes,,,
+12125550101,Ann again,,yes,,,
"""


def _write(tmp_path: Path, text: str, name: str = "c.csv", encoding: str = "utf-8") -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


def test_import_normalises_dedups_derives_zones_and_keeps_attributes(tmp_path):
    db = open_db(tmp_path / "t.db")
    result = store.import_csv(db, str(_write(tmp_path, CSV)), "nov", region="US", workers=1)
    c = result.counts
    assert result.saved and (c.rows, c.imported, c.new, c.duplicates, c.errors, c.unknown_zones) == (
        4,
        3,
        3,
        1,
        0,
        1,
    )
    dup = [p for p in result.problems if "repeats" in p.message]
    assert [(p.line, p.severity) for p in dup] == [(5, "warning")] and "line 2" in dup[0].message
    assert "0101" in dup[0].message and "212555" not in dup[0].message  # masked
    contacts = list(store.list_contacts(db, "nov"))
    assert [x.number for x in contacts] == ["+12125550101", "+12125550102", "+18005550199"]
    ann, bob, toll = contacts
    assert (ann.name, ann.time_zone, ann.zone_note, ann.region) == (
        "Ann",
        "America/New_York",
        "from the number",
        "US",
    )
    assert {(k.kind, k.granted) for k in ann.consents} == {("call", True), ("sms", False)}
    assert next(k for k in ann.consents if k.kind == "call").at == datetime(2026, 1, 2, tzinfo=UTC)
    assert ann.attributes == {"plan": "gold"} and bob.time_zone == "America/Chicago"
    # a toll-free number spans many zones: unknown, said so, and compliance will refuse it
    assert toll.time_zone is None and "ambiguous" in (toll.zone_note or "")
    warn = [p for p in result.problems if p.line == 4]
    assert warn and warn[0].severity == "warning" and "time zone unknown" in warn[0].message
    # importing again into another list: the same contacts, now known, in both lists
    again = store.import_csv(db, str(_write(tmp_path, CSV)), "dec", region="US", workers=1)
    assert (again.counts.new, again.counts.updated) == (0, 3)
    assert store.timeline(db, "+12125550101").lists == ["dec", "nov"]  # type: ignore[union-attr]


def test_bad_rows_are_located_and_nothing_is_saved_unless_skipped(tmp_path):
    db = open_db(tmp_path / "t.db")
    text = "number,name,time_zone\n+12125550101,A,\nabc,B,\n+12125550103,C,Europe/Berln\n+1212,D,\n+12125550105,E\n"
    path = _write(tmp_path, text)
    result = store.import_csv(db, str(path), "x", workers=1)
    errors = [(p.line, p.col, p.message) for p in result.problems if p.severity == "error"]
    assert [(line, col) for line, col, _ in errors] == [(3, 1), (4, 3), (5, 1), (6, 1)]
    assert "not a phone number" in errors[0][2]
    assert "did you mean 'Europe/Berlin'" in errors[1][2]
    assert "fields where the header has 3" in errors[3][2]
    assert not result.saved and db.execute("select count(*) from contacts").fetchone()[0] == 0
    assert not store.has_list(db, "x")  # rolled back entirely
    skipped = store.import_csv(db, str(path), "x", skip_bad=True, workers=1)
    assert skipped.saved and skipped.counts.imported == 1


@pytest.mark.parametrize(
    "encoding, line, found",
    [("cp1252", 3, "cp1252"), ("latin-1", 3, "cp1252"), ("utf-16", 1, "UTF-16")],
)
def test_a_file_in_another_encoding_is_named_with_its_line(tmp_path, encoding, line, found):
    path = _write(tmp_path, "number,name\n+12125550101,Ann\n+12125550102,Zoë\n", encoding=encoding)
    with pytest.raises(DataError) as err:
        list(read_contacts(path, workers=1))
    assert f"{path}:{line}:" in str(err.value) and found in str(err.value)
    # told the encoding, it imports
    if encoding != "utf-16":
        batches = list(read_contacts(path, encoding=encoding, workers=1))
        assert [c.name for b in batches for c in b.contacts] == ["Ann", "Zoë"]


def test_a_file_without_a_number_column_or_empty(tmp_path):
    with pytest.raises(DataError, match=r"c.csv:1: error: no 'number' column"):
        list(read_contacts(_write(tmp_path, "phone_no,name\n1,2\n"), workers=1))
    with pytest.raises(DataError, match="empty file"):
        list(read_contacts(_write(tmp_path, ""), workers=1))


def test_worker_processes_give_the_same_contacts_in_file_order(tmp_path, monkeypatch):
    from callwright.outbound import contacts

    monkeypatch.setattr(contacts, "BATCH_ROWS", 50)
    monkeypatch.setattr(contacts, "PARALLEL_FROM_ROWS", 1)
    rows = "".join(f"+1212555{i:04d},n{i},America/New_York\n" for i in range(300))
    path = _write(tmp_path, "number,name,time_zone\n" + rows)
    serial = [c.number for b in read_contacts(path, workers=1) for c in b.contacts]
    parallel = [c.number for b in read_contacts(path, workers=2) for c in b.contacts]
    assert parallel == serial and len(serial) == 300


def test_history_dnc_refusals_and_opt_out_within_the_run(tmp_path):
    db = open_db(tmp_path / "t.db")
    store.import_csv(db, str(_write(tmp_path, CSV)), "nov", region="US", workers=1)
    ann = store.get_contact(db, "+12125550101")
    assert ann is not None and ann.id is not None
    assert store.contact_history(db, ann.id, "spring") == History()
    store.record_attempt(
        db,
        Dial(
            "d1",
            "spring",
            "2026-03-02T15:00:00+00:00",
            "busy",
            contact_id=ann.id,
            list_name="nov",
            sip_status=486,
        ),
    )
    h = store.contact_history(db, ann.id, "spring")
    assert (h.attempts, h.last_disposition, h.last_attempt_at) == (
        1,
        "busy",
        datetime(2026, 3, 2, 15, tzinfo=UTC),
    )
    assert store.contact_history(db, ann.id, "other") == History()  # per campaign
    store.record_refusal(
        db, "spring", ann, Refuse("outside_hours", None, "late"), at=datetime(2026, 3, 3, 3, tzinfo=UTC)
    )
    # an opt-out said during a connected call: the next check already sees it
    assert not store.is_dnc(db, ann.number)
    store.record_attempt(
        db,
        Dial(
            "d2",
            "spring",
            "2026-03-02T16:00:00+00:00",
            "connected",
            contact_id=ann.id,
            list_name="nov",
            answered_by="human",
            right_party=True,
            opted_out=True,
            disposition="opted_out",
        ),
    )
    assert store.is_dnc(db, ann.number)
    assert store.contact_history(db, ann.id, "spring").last_disposition == "opted_out"
    t = store.timeline(db, ann.number)
    assert t is not None and t.last_outcome == "opted_out" and t.dnc and t.dnc["source"] == "opt_out"
    assert [a["result"] for a in t.attempts] == ["busy", "connected"] and t.refusals[0][
        "reason"
    ] == "outside_hours"
    assert store.import_dnc(db, ["+12125550102", "+12125550101"]) == 1  # one new, one already an opt-out
    assert db.execute("select source from dnc where number = '+12125550101'").fetchone()[0] == "opt_out"
    # foreign keys hold: a dial row names its contact
    assert db.execute("pragma foreign_key_check").fetchall() == []


def cw(*args, cwd: Path, stdin: str | None = None):
    """The real entry point, as a user runs it (messages, exit codes, no traceback)."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [sys.executable, "-m", "callwright", *map(str, args)],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )


def app():
    import typer

    from callwright.cli import contacts as contacts_cli

    a = typer.Typer()

    @a.callback()
    def _root() -> None: ...

    contacts_cli.register(a)
    return a


def run(*args):
    """In process (CliRunner): a user error comes back as the CallwrightError the entry point prints."""
    from typer.testing import CliRunner

    return CliRunner().invoke(app(), [str(a) for a in args])


def test_cli_import_show_export_dnc_and_errors(tmp_path):
    from callwright.errors import CallwrightError

    db = tmp_path / "t.db"
    path = _write(tmp_path, CSV)
    r = run("contacts", "import", path, "--list", "nov", "--region", "us", "--db", db, "--workers", 1)
    assert r.exit_code == 0, r.output
    assert "3 contact(s) imported" in r.output and "1 duplicate(s)" in r.output
    r = run("contacts", "show", "212-555-0101", "--region", "US", "--db", db, "--json")
    shown = json.loads(r.stdout)
    assert (
        shown["number"] == "+12125550101"
        and shown["attributes"] == {"plan": "gold"}
        and shown["lists"] == ["nov"]
    )
    out = tmp_path / "out.csv"
    r = run("contacts", "export", "--list", "nov", "-o", out, "--db", db)
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(out.open()))
    assert [x["number"] for x in rows] == ["+12125550101", "+12125550102", "+18005550199"]
    assert rows[0]["consent"] == "yes" and rows[0]["consent_sms"] == "no" and rows[0]["plan"] == "gold"
    assert out.stat().st_mode & 0o077 == 0
    bad = _write(tmp_path, "number\n+12125550101\nnot a number\n", "d.txt")
    r = run("dnc", "import", bad, "--db", db)
    assert isinstance(r.exception, CallwrightError) and "nothing was added" in str(r.exception)
    assert "d.txt:3:1: error: number 'not a number'" in r.output
    r = run("dnc", "import", bad, "--skip-bad", "--db", db)
    assert r.exit_code == 0 and "1 new" in r.output
    r = run("contacts", "show", "+12125550101", "--db", db)
    assert "DO NOT CALL" in r.output
    r = run("contacts", "show", "--list", "nope", "--db", db)
    assert isinstance(r.exception, CallwrightError) and "no contact list 'nope'" in str(r.exception)
    # the real entry point: the message, exit 1, no traceback
    latin = _write(tmp_path, "number,name\n+12125550101,Zoë\n", "l.csv", encoding="latin-1")
    r = cw("contacts", "import", latin, "--list", "x", "--db", db, cwd=tmp_path)
    assert r.returncode == 1 and "l.csv:2: error: not utf-8 text" in r.stderr and "cp1252" in r.stderr
    assert "Traceback" not in r.stderr


def test_the_one_pass_validation_agrees_with_phonenumbers():
    """normalise_number and zones_for_number skip phonenumbers' repeated pattern tests: on
    numbers of many countries (valid and not) they say what is_valid_number, region_code_for_number,
    format_number(E164) and time_zones_for_number say."""
    import random

    import phonenumbers
    from phonenumbers import timezone

    from callwright.outbound.contacts import normalise_number, zones_for_number

    rng = random.Random(18)
    codes = [1, 7, 33, 34, 39, 44, 49, 52, 55, 61, 81, 86, 91, 353, 358, 800, 882]
    samples = ["+12125550101", "+18005550199", "+441624123456", "+390612345678", "+16135550123"]
    samples += [f"+{rng.choice(codes)}{rng.randrange(10**6, 10**11)}" for _ in range(3000)]
    valid = 0
    for text in samples:
        try:
            parsed = phonenumbers.parse(text, None)
        except phonenumbers.NumberParseException:
            continue
        try:
            e164, country, ntype = normalise_number(text, None)
        except ValueError:
            assert not phonenumbers.is_valid_number(parsed), text
            continue
        valid += 1
        assert phonenumbers.is_valid_number(parsed), text
        assert e164 == phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
        assert country == phonenumbers.region_code_for_number(parsed)
        expected = tuple(z for z in timezone.time_zones_for_number(parsed) if z != "Etc/Unknown")
        assert zones_for_number(e164, ntype) == expected, text
    assert valid > 200  # the sample holds enough valid numbers to mean something


def test_an_opt_out_said_in_any_flow_puts_the_number_on_the_do_not_call_list(tmp_path):
    """The outbound reminder flow, typed: "stop calling" then "yes" ends the call with the
    disposition opted_out; the call log puts the number dialled on the do-not-call list, so the
    next compliance check refuses it (dnc). An inbound call's opt-out is the caller's number."""
    db_path = tmp_path / "c.db"
    flow = ROOT / "flows" / "outbound-reminder.yaml"
    r = cw(
        "call",
        flow,
        "--text",
        "--time",
        "2026-11-23T10:00-05:00",
        "--called",
        "+12125550188",
        "--db",
        db_path,
        cwd=tmp_path,
        stdin="yes\nstop calling\nyes\n",
    )
    assert r.returncode == 0, r.stderr
    db = open_db(db_path)
    assert db.execute("select disposition from calls").fetchone()[0] == "opted_out"
    row = db.execute("select source, call_id from dnc where number = '+12125550188'").fetchone()
    assert (
        row is not None and row[0] == "opt_out" and row[1] == db.execute("select id from calls").fetchone()[0]
    )
    from callwright.store.calllog import opt_out_number

    assert opt_out_number({"caller_id": "+442071234567"}, "inbound") == "+442071234567"
    assert opt_out_number({"caller_id": "anonymous"}, "inbound") is None
    assert (
        opt_out_number({"called_number": "+1", "contact_number": "+12125550100"}, "outbound")
        == "+12125550100"
    )

"""Schema migrations (store.migrations): the version lives in PRAGMA user_version, a new
database ends at the latest version with the schema Callwright had before migrations existed,
databases written by older Callwrights are migrated with their rows kept, re-opening writes
nothing, a newer version is refused unchanged and a failed migration leaves the file as it was.

"The code before migrations" is Callwright at BASE_COMMIT (schema.ensure with ad hoc checks,
the version-1 stamp), taken with `git archive` and run in a subprocess."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from callwright.errors import CallwrightError
from callwright.store import migrations, schema
from callwright.store.db import open_db

DATA = Path(__file__).parent / "data"
# A database written by Callwright's first commit (decce63: calls, call_events and
# survey_answers only, no version stamp), dumped with sqlite3's iterdump.
FIRST_CALLWRIGHT_DUMP = DATA / "callwright_decce63.sql"
# main just before schema migrations: store.schema.ensure, the stamp at version 1.
BASE_COMMIT = "8e221d0"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def base_src(tmp_path_factory) -> Path:
    """The source tree of the code before migrations."""
    out = tmp_path_factory.mktemp("base")
    try:
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", BASE_COMMIT, "src"],
            capture_output=True,
            check=True,
            timeout=60,
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(out)], input=archive, check=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as err:
        pytest.skip(f"the code before migrations ({BASE_COMMIT}) is not available: {err}")
    return out / "src"


def _base_open(base_src: Path, path: Path, *statements: str) -> None:
    """Open `path` with the code before migrations (creating or upgrading it), then run
    `statements` on it."""
    script = (
        "import sys\nfrom callwright.store.db import open_db\n"
        "db = open_db(sys.argv[1])\n"
        "for sql in sys.argv[2:]:\n    db.execute(sql)\n"
        "db.conn.close()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(path), *statements],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(base_src), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr


def _schema(path: Path) -> list[tuple[str, str, str, str]]:
    """Every table, index, trigger and view, with its SQL whitespace-normalised."""
    con = sqlite3.connect(path)
    try:
        rows = con.execute("select type, name, tbl_name, sql from sqlite_master").fetchall()
    finally:
        con.close()
    return sorted((t, n, tb, re.sub(r"\s+", " ", sql or "").strip()) for t, n, tb, sql in rows)


def _stamp(path: Path) -> tuple[int, int]:
    con = sqlite3.connect(path)
    try:
        return (
            con.execute("pragma application_id").fetchone()[0],
            con.execute("pragma user_version").fetchone()[0],
        )
    finally:
        con.close()


def _contents(path: Path) -> dict[str, list[tuple]]:
    """Every row of every table, sorted (summaries included)."""
    con = sqlite3.connect(path)
    try:
        tables = [
            r[0] for r in con.execute("select name from sqlite_master where type = 'table' order by name")
        ]
        return {t: sorted(con.execute(f"select * from [{t}]").fetchall(), key=repr) for t in tables}
    finally:
        con.close()


def _load_dump(dump: Path, path: Path) -> None:
    con = sqlite3.connect(path)
    con.executescript(dump.read_text())
    con.close()


@pytest.fixture
def at_v1(monkeypatch):
    """The code as of schema version 1 (the code before migrations stamped version 1): later
    migrations are checked on their own (test_version_2_adds_the_review_app_and_keeps_every_row)."""
    monkeypatch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:1])
    monkeypatch.setattr(schema, "SCHEMA_VERSION", 1)


def test_a_new_database_ends_at_the_latest_version_with_the_schema_of_the_code_before(
    tmp_path, base_src, at_v1
):
    _base_open(base_src, tmp_path / "base.db")
    open_db(tmp_path / "new.db").conn.close()
    assert _stamp(tmp_path / "new.db") == (schema.APPLICATION_ID, schema.SCHEMA_VERSION)
    assert _schema(tmp_path / "new.db") == _schema(tmp_path / "base.db")
    kinds = {t for t, *_ in _schema(tmp_path / "new.db")}
    assert kinds == {"table", "index", "trigger"}


def test_version_2_adds_the_review_app_and_keeps_every_row(tmp_path, base_src, monkeypatch):
    """A version-1 database (made by the code before migrations) gains the review app's tables,
    views and indexes and keeps every row and object it had (migration 4 is checked on its own:
    tests/store/test_migration_v4.py)."""
    monkeypatch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:2])
    monkeypatch.setattr(schema, "SCHEMA_VERSION", 2)
    path = tmp_path / "v1.db"
    _base_open(
        base_src,
        path,
        "insert into calls (id, started_at, direction, caller_id) "
        "values ('c1', '2026-11-02T09:00:00-05:00', 'inbound', '+1')",
    )
    before_schema, before_rows = _schema(path), _contents(path)
    open_db(path).conn.close()
    after_schema, after_rows = _schema(path), _contents(path)
    assert _stamp(path) == (schema.APPLICATION_ID, 2)
    # every object kept as it was, but scores, which gains the copy of the score of record
    changed = set(before_schema) - set(after_schema)
    assert {(t, n) for t, n, *_ in changed} == {("table", "scores")}
    added = {(t, n) for t, n, *_ in set(after_schema) - set(before_schema)}
    assert ("table", "scores") in added and ("trigger", "reviewed_scores_record_insert") in added
    assert {("table", "users"), ("table", "audit_log"), ("view", "scores_of_record")} <= added
    assert {t: r for t, r in after_rows.items() if t in before_rows} == before_rows
    assert len(after_rows["web_secret"]) == 1 and len(after_rows["web_secret"][0][1]) == 64


def test_a_database_made_by_the_code_before_opens_unchanged_with_its_rows(tmp_path, base_src, at_v1):
    path = tmp_path / "made_by_base.db"
    _base_open(
        base_src,
        path,
        "insert into calls (id, started_at, direction, caller_id) "
        "values ('c1', '2026-11-02T09:00:00-05:00', 'inbound', '+1')",
        "insert into calls (id, started_at, direction, caller_id) "
        "values ('c2', '2026-11-03T09:00:00-05:00', 'inbound', '+1')",
    )
    before_schema, before_rows = _schema(path), _contents(path)
    db = open_db(path)
    assert db.conn.total_changes == 0  # at the current version: nothing written
    assert list(db.query("select id, next_contact_at from calls order by id")) == [
        {"id": "c1", "next_contact_at": "2026-11-03T09:00:00-05:00"},
        {"id": "c2", "next_contact_at": None},
    ]
    db.conn.close()
    assert _schema(path) == before_schema and _contents(path) == before_rows
    assert _stamp(path) == (schema.APPLICATION_ID, schema.SCHEMA_VERSION)


def test_a_database_from_the_first_callwright_is_migrated_as_the_code_before_did(tmp_path, base_src, at_v1):
    """An unstamped database with only the first schema's tables: migration 1 adds every
    later column, table, index and trigger, keeps every row and counts the summaries; the
    result is the one the code before migrations made of the same file."""
    ours, theirs = tmp_path / "ours.db", tmp_path / "theirs.db"
    for p in (ours, theirs):
        _load_dump(FIRST_CALLWRIGHT_DUMP, p)
    assert _stamp(ours) == (0, 0)
    old_calls = _contents(ours)["calls"]
    _base_open(base_src, theirs)
    open_db(ours).conn.close()
    assert _stamp(ours) == (schema.APPLICATION_ID, schema.SCHEMA_VERSION) == _stamp(theirs)
    assert _schema(ours) == _schema(theirs)
    mine = _contents(ours)
    assert mine == _contents(theirs)
    # the rows kept: each old calls row is the new row's first columns
    assert sorted(r[: len(old_calls[0])] for r in mine["calls"]) == sorted(old_calls)
    assert len(mine["call_events"]) == 15 and len(mine["survey_answers"]) == 1
    assert mine["ivr_state_daily"] and mine["kpi_calls_daily"]  # the summaries were counted


def test_reopening_is_a_no_op(tmp_path):
    path = tmp_path / "again.db"
    open_db(path).conn.close()
    before_schema, before_rows = _schema(path), _contents(path)
    db = open_db(path)
    assert migrations.migrate(db, str(path)) == 0
    assert db.conn.total_changes == 0
    db.conn.close()
    assert _schema(path) == before_schema and _contents(path) == before_rows


def test_a_newer_version_is_refused_unchanged(tmp_path):
    path = tmp_path / "newer.db"
    open_db(path).conn.close()
    con = sqlite3.connect(path)
    con.execute(f"pragma user_version = {schema.SCHEMA_VERSION + 1}")
    con.close()
    before = path.read_bytes()
    with pytest.raises(
        CallwrightError,
        match=rf"newer.db: this database was written by a newer Callwright "
        rf"\(schema version {schema.SCHEMA_VERSION + 1}; this one reads "
        rf"up to {schema.SCHEMA_VERSION}\)",
    ):
        open_db(path)
    assert path.read_bytes() == before


def _add_notes(db) -> None:
    """A test migration: a notes column on calls."""
    db.execute("alter table calls add column notes text")


def _broken(db) -> None:
    """A test migration that fails half way."""
    db.execute("create table half_done (x)")
    raise sqlite3.OperationalError("no such thing")


def test_a_new_migration_runs_once_in_order_and_stamps_its_version(tmp_path, monkeypatch):
    path = tmp_path / "next.db"
    open_db(path).conn.close()
    monkeypatch.setattr(schema, "SCHEMA_VERSION", schema.SCHEMA_VERSION + 1)
    monkeypatch.setattr(migrations, "MIGRATIONS", (*migrations.MIGRATIONS, _add_notes))
    db = open_db(path)
    assert "notes" in {c.name for c in db["calls"].columns}
    assert db.execute("pragma user_version").fetchone()[0] == schema.SCHEMA_VERSION
    assert migrations.migrate(db, str(path)) == 0  # again: already applied (adding it twice would fail)
    db.conn.close()


def test_a_failed_migration_leaves_the_database_as_it_was(tmp_path, monkeypatch):
    path = tmp_path / "failed.db"
    open_db(path).conn.close()
    before_schema, before_stamp = _schema(path), _stamp(path)
    monkeypatch.setattr(schema, "SCHEMA_VERSION", schema.SCHEMA_VERSION + 2)
    monkeypatch.setattr(migrations, "MIGRATIONS", (*migrations.MIGRATIONS, _add_notes, _broken))
    with pytest.raises(CallwrightError, match="no such thing"):
        open_db(path)
    assert _schema(path) == before_schema and _stamp(path) == before_stamp


def test_every_migration_says_what_it_changes():
    assert len(migrations.MIGRATIONS) == schema.SCHEMA_VERSION
    for m in (*migrations.MIGRATIONS, *migrations.V1_STEPS):
        assert m.__doc__ and m.__doc__.strip(), m.__name__

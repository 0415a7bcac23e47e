"""Migration 3 on a database made by the version-2 code (taken with `git archive`, run in a
subprocess) with rows in every table it touches: recordings and audit_log gain a foreign key to
calls with every row kept, every written-at timestamp ends in one UTC format, the calibration
session tables and the views appear, and a dangling row stops the migration with a message and
leaves the file as it was."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from callwright.errors import CallwrightError
from callwright.store import migrations, schema
from callwright.store.db import open_db

REPO = Path(__file__).resolve().parents[2]
V2_COMMIT = "2c51743"  # main with schema version 2 current (the review app), before migrations 3 and 4
# this migration's version (if another migration lands before it, the number moves)
V3 = migrations.MIGRATIONS.index(migrations.v4_foreign_keys_utc_and_calibration) + 1
Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")

# Rows written through the version-2 code's own writers (store.qa wrote `+00:00` times, the
# review app `Z` ones), so the timestamps are what that code really wrote.
V2_SCRIPT = """
import sys
from datetime import UTC, datetime
from callwright.qa.model import ItemResult, ScoreResult
from callwright.store import qa, reviews, users
from callwright.store.db import open_db

db = open_db(sys.argv[1])
now = datetime.now(UTC).isoformat(timespec="seconds")
with db.atomic():
    db.execute("insert into calls (id, started_at, direction, agent) values "
               "('c1', '2026-11-02T09:00:00-05:00', 'inbound', 'maria'), "
               "('c2', '2026-11-03T10:30:00-05:00', 'inbound', 'li')")
    for cid in ("c1", "c2"):
        db.table("recordings").insert({"id": "rec-" + cid, "call_id": cid, "path": cid + ".wav",
                                       "duration_s": 61.5, "channels": 2, "rate": 8000, "ingested_at": now})
        items = [ItemResult("greeting", "open", "phrase", "pass", 1.0, 1.0),
                 ItemResult("disclosure", "open", "phrase", "fail", 0.0, 1.0, auto_fail=True)]
        qa._insert_result(db, "rec-" + cid, cid, ScoreResult(cid, "inbound", "v1hash", 0.0, True, items), now)
qa.record_error(db, "rec-bad", "bad.wav", "unreadable")
qa.add_review(db, "c1", "greeting", "pass", "ok", "kim")
users.add_user(db, "rita", users.Role.reviewer, "$argon2id$not-a-real-hash")
users.add_user(db, "maria", users.Role.agent, "$argon2id$not-a-real-hash", "maria")
reviews.record_review(db, "c1", "disclosure", "pass", "said it", "rita")
users.audit(db, "rita", "login")
reviews.raise_dispute(db, "c2", "v1hash", "disclosure", "I said it", "maria")
reviews.add_coaching_note(db, "c2", "slow down", "rita")
reviews.assign(db, "c2", "rita", "rita")
reviews.acknowledge(db, "c1", "v1hash", "maria")
for sql in sys.argv[2:]:
    db.execute(sql)
db.conn.close()
"""


@pytest.fixture(scope="module")
def v2_src(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("v2")
    try:
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", V2_COMMIT, "src"], capture_output=True, check=True, timeout=60
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(out)], input=archive, check=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as err:
        pytest.skip(f"the version-2 code ({V2_COMMIT}) is not available: {err}")
    return out / "src"


def _make_v2(v2_src: Path, path: Path, *statements: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", V2_SCRIPT, str(path), *statements],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(v2_src), "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"},
    )
    assert done.returncode == 0, done.stderr


def _rows(path: Path) -> dict[str, list[dict]]:
    con = sqlite3.connect(path)
    con.row_factory = sqlite3.Row
    try:
        names = [
            r[0]
            for r in con.execute(
                "select name from sqlite_master where type = 'table' and name not like 'sqlite_%'"
            )
        ]
        return {t: sorted((dict(r) for r in con.execute(f"select * from [{t}]")), key=repr) for t in names}
    finally:
        con.close()


def _schema(path: Path) -> list[tuple]:
    con = sqlite3.connect(path)
    try:
        return sorted(con.execute("select type, name, sql from sqlite_master").fetchall(), key=repr)
    finally:
        con.close()


def _stamp(path: Path) -> tuple[int, int]:
    con = sqlite3.connect(path)
    try:
        return con.execute("pragma application_id").fetchone()[0], con.execute(
            "pragma user_version"
        ).fetchone()[0]
    finally:
        con.close()


def _as_utc(value: str | None) -> str | None:
    if value is None:
        return None
    return datetime.fromisoformat(value).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_version_3_links_every_table_to_its_call_and_keeps_every_row(tmp_path, v2_src, monkeypatch):
    # migration 4 alone (later ones add columns, checked on their own: test_migration_v5.py)
    monkeypatch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:V3])
    monkeypatch.setattr(schema, "SCHEMA_VERSION", V3)
    path = tmp_path / "v2.db"
    _make_v2(v2_src, path)
    assert _stamp(path) == (schema.APPLICATION_ID, 2)
    before = _rows(path)
    assert any(r["scored_at"].endswith("+00:00") for r in before["scores"])  # what v2's store.qa wrote
    open_db(path).conn.close()
    assert _stamp(path) == (schema.APPLICATION_ID, schema.SCHEMA_VERSION)
    after = _rows(path)
    written_at = set(migrations.UTC_COLUMNS)
    for table, rows in before.items():
        expected = [{c: _as_utc(v) if (table, c) in written_at else v for c, v in r.items()} for r in rows]
        assert after[table] == sorted(expected, key=repr), table
    for table, column in migrations.UTC_COLUMNS:
        values = [r[column] for r in after[table] if r[column] is not None]
        assert all(Z.match(v) for v in values), (table, column, values)
    assert {r["started_at"] for r in after["calls"]} == {
        "2026-11-02T09:00:00-05:00",
        "2026-11-03T10:30:00-05:00",
    }
    con = sqlite3.connect(path)
    try:
        for table in ("recordings", "audit_log", "scores", "item_scores", "reviews", "reviewed_scores"):
            parents = {(r[2], r[3], r[4]) for r in con.execute(f"pragma foreign_key_list({table})")}
            assert ("calls", "call_id", "id") in parents, table
        assert con.execute("pragma foreign_key_check").fetchall() == []
        indexes = {r[1] for r in con.execute("select * from sqlite_master where type = 'index'")}
        assert {"idx_recordings_call_id", "idx_audit_log_call"} <= indexes
        scored = con.execute(
            "select call_id, agent, score, auto_score, reviewed from scored_calls order by 1"
        ).fetchall()
        # the version is not kept in that database, so no review recomputed a score of record
        assert scored == [("c1", "maria", 0.0, 0.0, 0), ("c2", "li", 0.0, 0.0, 0)]
        assert con.execute("select version from schema_version").fetchall() == [(schema.SCHEMA_VERSION,)]
        assert {
            r[0] for r in con.execute("select name from sqlite_master where name like 'calibration_%'")
        } >= {"calibration_sessions", "calibration_calls", "calibration_reviewers", "calibration_answers"}
    finally:
        con.close()


def test_a_dangling_row_stops_the_migration_with_a_message_and_changes_nothing(tmp_path, v2_src):
    path = tmp_path / "dangling.db"
    _make_v2(
        v2_src,
        path,
        "insert into recordings (id, call_id, path, ingested_at) values ('rec-x', 'gone', 'x.wav', '2026-11-02T09:00:00+00:00')",
    )
    before_schema, before_rows = _schema(path), _rows(path)
    with pytest.raises(
        CallwrightError,
        match=rf"dangling.db: cannot migrate to schema version {V3}: 1 row\(s\) refer "
        r"to rows that do not exist \(recordings row \d+ refers to a missing calls row\)",
    ):
        open_db(path)
    assert _stamp(path) == (schema.APPLICATION_ID, 2)
    assert _schema(path) == before_schema and _rows(path) == before_rows


def test_a_new_database_has_the_same_schema_as_a_migrated_one(tmp_path, v2_src):
    old, new = tmp_path / "old.db", tmp_path / "new.db"
    _make_v2(v2_src, old)
    open_db(old).conn.close()
    open_db(new).conn.close()
    strip = lambda rows: [(t, n, re.sub(r"\s+", " ", s or "")) for t, n, s in rows]  # noqa: E731
    assert strip(_schema(old)) == strip(_schema(new))

"""Opening the database: owner-only files, concurrent first opens, files that are not
Callwright databases (refused with a message naming the file, and left unchanged)."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from callwright.errors import CallwrightError
from callwright.store import schema
from callwright.store.db import open_db


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def loose_umask():
    """The usual umask (022), which leaves new files readable by everyone."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_a_new_database_and_its_wal_and_shm_files_are_readable_by_their_owner_only(tmp_path, loose_umask):
    path = tmp_path / "new.db"
    db = open_db(path)
    db.execute("insert into calls (id, started_at) values ('c1', '2026-11-02T09:00:00-05:00')")
    files = [path, Path(f"{path}-wal"), Path(f"{path}-shm")]
    assert all(f.exists() for f in files)  # the connection is open: WAL and shared memory exist
    assert {f.name: _mode(f) for f in files} == {f.name: 0o600 for f in files}
    db.conn.close()


def test_an_existing_database_keeps_its_mode(tmp_path, loose_umask):
    """Documented: a database created before 0600 is not chmod-ed behind its owner's back."""
    path = tmp_path / "old.db"
    open_db(path).conn.close()
    os.chmod(path, 0o640)
    db = open_db(path)
    db.execute("insert into calls (id, started_at) values ('c1', '2026-11-02T09:00:00-05:00')")
    assert _mode(path) == 0o640 and _mode(Path(f"{path}-wal")) == 0o640
    db.conn.close()


# --- several processes opening a new database at once -------------------------------------------


def _first_open(path: str, barrier, results) -> None:
    barrier.wait()
    try:
        open_db(path).conn.close()
        results.put("ok")
    except BaseException as err:  # the test shows every failure
        results.put(f"{type(err).__name__}: {err}")


def test_processes_opening_a_new_database_at_once_all_succeed(tmp_path):
    """Two batches starting on a new database: one was refused "database is locked" 1 time
    in 3. Four processes open a new file at the same instant, ten times over."""
    ctx = multiprocessing.get_context("fork")
    expected = None
    for round_ in range(10):
        path = str(tmp_path / f"race{round_}.db")
        barrier, results = ctx.Barrier(4), ctx.Queue()
        procs = [ctx.Process(target=_first_open, args=(path, barrier, results)) for _ in range(4)]
        for p in procs:
            p.start()
        outcomes = [results.get(timeout=60) for _ in procs]
        for p in procs:
            p.join(timeout=60)
        assert outcomes == ["ok"] * 4, f"round {round_}: {outcomes}"
        con = sqlite3.connect(path)
        objects = sorted(con.execute("select type, name from sqlite_master"))
        assert con.execute("pragma application_id").fetchone()[0] == schema.APPLICATION_ID
        con.close()
        expected = expected or objects
        assert objects == expected  # the same complete schema each time


# --- files that are not Callwright databases ---------------------------------------------------


def test_dev_null_is_refused_and_no_journal_is_created_beside_it():
    journal = Path("/dev/null-journal")
    existed = journal.exists()
    try:
        with pytest.raises(
            CallwrightError, match=r"cannot open database /dev/null: it is not a regular file"
        ):
            open_db("/dev/null")
        assert journal.exists() == existed
    finally:
        if journal.exists() and not existed:  # what today's code leaves behind (as root)
            journal.unlink()


def test_a_folder_is_refused(tmp_path):
    with pytest.raises(CallwrightError, match=r"it is a folder"):
        open_db(tmp_path)


def _snapshot(path: Path) -> bytes:
    return path.read_bytes()


def test_a_database_with_an_unrelated_calls_table_is_refused_unchanged(tmp_path):
    path = tmp_path / "other.db"
    con = sqlite3.connect(path)
    con.execute("create table calls (x)")
    con.execute("insert into calls values (42)")
    con.commit()
    con.close()
    before = _snapshot(path)
    with pytest.raises(CallwrightError) as caught:
        open_db(path)
    assert str(path) in caught.value.message and "not a Callwright database" in caught.value.message
    assert _snapshot(path) == before
    con = sqlite3.connect(path)
    assert con.execute("select * from calls").fetchall() == [(42,)]
    assert con.execute("pragma journal_mode").fetchone()[0] == "delete"


def test_a_database_of_another_program_is_refused_unchanged(tmp_path):
    path = tmp_path / "shop.db"
    con = sqlite3.connect(path)
    con.execute("create table orders (id integer primary key, total real)")
    con.commit()
    con.close()
    before = _snapshot(path)
    with pytest.raises(
        CallwrightError,
        match=r"shop.db is not a Callwright database: it has no calls table "
        r"\(its tables: 'orders'\)",
    ):
        open_db(path)
    assert _snapshot(path) == before


def test_a_database_from_a_newer_callwright_is_refused(tmp_path):
    path = tmp_path / "newer.db"
    open_db(path).conn.close()
    con = sqlite3.connect(path)
    con.execute(f"pragma user_version = {schema.SCHEMA_VERSION + 1}")
    con.close()
    with pytest.raises(CallwrightError, match=r"newer.db: this database was written by a newer Callwright"):
        open_db(path)


def test_a_callwright_database_from_before_the_application_id_still_opens(tmp_path):
    path = tmp_path / "before.db"
    db = open_db(path)
    db.execute("insert into calls (id, started_at) values ('c1', '2026-11-02T09:00:00-05:00')")
    db.execute("pragma application_id = 0")
    db.execute("pragma user_version = 0")
    db.conn.close()
    db = open_db(path)
    assert db.execute("select id from calls").fetchall() == [("c1",)]
    assert db.execute("pragma application_id").fetchone()[0] == schema.APPLICATION_ID
    assert db.execute("pragma user_version").fetchone()[0] == schema.SCHEMA_VERSION


@pytest.mark.parametrize(
    "make, message",
    [
        ("devnull", "error: cannot open database /dev/null: it is not a regular file"),
        ("calls", "is not a Callwright database: its calls table has no id, "),
    ],
)
def test_report_on_a_file_that_is_not_a_callwright_database_is_a_one_line_error(tmp_path, make, message):
    if make == "devnull":
        db = "/dev/null"
    else:
        db = str(tmp_path / "x.db")
        con = sqlite3.connect(db)
        con.execute("create table calls (x)")
        con.close()
    journal = Path("/dev/null-journal")
    existed = journal.exists()
    try:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "callwright",
                "report",
                "--from",
                "2026-11-01",
                "--to",
                "2026-11-30",
                "--db",
                db,
                "-o",
                str(tmp_path / "r.csv"),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        if journal.exists() and not existed:
            journal.unlink()
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert message in done.stderr.splitlines()[0], done.stderr

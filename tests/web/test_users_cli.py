"""`callwright users add`: the password from stdin (never an argument), Argon2 hashes, roles
checked, clear errors and no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests import cli_inprocess

ROOT = Path(__file__).resolve().parents[2]


def cw(*args, stdin: str = ""):
    src = str(ROOT / "src")
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "PYTHONPATH": src, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "callwright", *map(str, args)],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_users_add_reads_the_password_from_stdin_and_stores_an_argon2_hash(tmp_path):
    db = tmp_path / "cw.db"
    r = cw("users", "add", "ana", "--role", "agent", "--db", db, stdin="s3cret-enough\n")
    assert r.returncode == 0, r.stderr
    assert "added ana (agent, agent ana)" in r.stdout
    from callwright.store import users
    from callwright.store.db import open_db
    from callwright.web.auth import verify_password

    database = open_db(db)
    user = users.find_user(database, "ANA")  # names compare without case
    assert user is not None and user.role == users.Role.agent and user.agent == "ana"
    assert user.password_hash.startswith("$argon2id$") and "s3cret" not in user.password_hash
    assert verify_password(user.password_hash, "s3cret-enough")
    assert not verify_password(user.password_hash, "s3cret-enougH")
    assert users.audit_entries(database)[0]["action"] == "user_add"
    database.conn.close()


def cw_here(*args, stdin: str = ""):
    """`callwright ARGS` in this process (tests/cli_inprocess.py): the same parsing and errors,
    without a Python start each time; the tests above and below keep the real process."""
    return cli_inprocess.run(*args, stdin=stdin, env={"COLUMNS": "200"}, timeout=120)


def test_users_add_refuses_bad_input_with_a_message(tmp_path):
    cw = cw_here
    db = tmp_path / "cw.db"
    cases = [
        (("users", "add", "bob", "--role", "boss"), "ok-password", "expected one of reviewer, supervisor"),
        (("users", "add", "bad name!", "--role", "reviewer"), "ok-password", "user name"),
        (("users", "add", "bob", "--role", "reviewer"), "short", "at least 8 characters"),
        (("users", "add", "bob", "--role", "reviewer", "--agent", "x"), "ok-password", "--agent is only"),
    ]
    for args, password, message in cases:
        r = cw(*args, "--db", db, stdin=password + "\n")
        assert r.returncode == 1 and message in r.stderr and "Traceback" not in r.stderr, (args, r.stderr)
    assert cw("users", "add", "bob", "--role", "reviewer", "--db", db, stdin="ok-password\n").returncode == 0
    r = cw("users", "add", "BOB", "--role", "reviewer", "--db", db, stdin="ok-password\n")
    assert r.returncode == 1 and "already exists" in r.stderr
    r = cw("users", "add", "eve", "--role", "reviewer", "--password", "x", "--db", db)
    assert r.returncode != 0  # there is no password option


def test_web_refuses_a_missing_database(tmp_path):
    r = cw("web", "--db", tmp_path / "none.db")
    assert r.returncode == 1 and "no such database" in r.stderr

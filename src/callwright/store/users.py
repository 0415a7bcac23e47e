"""Accounts, sessions and the audit log of the review web app (tables of migration 2).

Only SQL lives here: password hashing and cookie signing are `callwright.web.auth`'s. A
session row is keyed by the SHA-256 of the token the cookie carries, so the database never
holds a token that could be replayed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlite_utils


class Role(StrEnum):
    """What an account may do: reviewers and supervisors review, admins too; agents read their own calls."""

    reviewer = "reviewer"
    supervisor = "supervisor"
    agent = "agent"
    admin = "admin"


@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: Role
    agent: str | None  # the calls.agent name of an agent account
    password_hash: str

    @property
    def can_review(self) -> bool:
        return self.role in (Role.reviewer, Role.supervisor, Role.admin)


@dataclass(frozen=True)
class Session:
    user: User
    csrf_token: str
    expires_at: str


def now_utc() -> str:
    """UTC, ISO 8601 to the second with a Z: the one timestamp format of the app's tables."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _user(row: dict[str, Any]) -> User:
    return User(row["id"], row["name"], Role(row["role"]), row["agent"], row["password_hash"])


def add_user(
    db: sqlite_utils.Database, name: str, role: Role, password_hash: str, agent: str | None = None
) -> User:
    """A new account; raises ValueError when the name is taken (names are compared without case)."""
    if find_user(db, name) is not None:
        raise ValueError(f"user '{name}' already exists")
    with db.atomic():
        cur = db.execute(
            "insert into users (name, role, agent, password_hash, created_at) values (?, ?, ?, ?, ?)",
            [name, role.value, agent, password_hash, now_utc()],
        )
        audit(db, "admin", "user_add", detail={"user": name, "role": role.value, "agent": agent})
    user = find_user(db, name)
    assert user is not None and user.id == cur.lastrowid
    return user


def set_password(db: sqlite_utils.Database, user_id: int, password_hash: str) -> None:
    db.execute("update users set password_hash = ? where id = ?", [password_hash, user_id])


def find_user(db: sqlite_utils.Database, name: str) -> User | None:
    rows = list(db.query("select * from users where name = ? and not disabled", [name]))
    return _user(rows[0]) if rows else None


def list_users(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    return list(db.query("select id, name, role, agent, created_at, disabled from users order by name"))


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_session(
    db: sqlite_utils.Database, user: User, token: str, csrf_token: str, lifetime: timedelta
) -> None:
    """Store a session for `token` (its hash) that ends after `lifetime`; expired rows are dropped."""
    now = datetime.now(UTC)
    with db.atomic():
        db.execute("delete from sessions where expires_at <= ?", [now_utc()])
        db.execute(
            "insert into sessions (token_hash, user_id, csrf_token, created_at, expires_at) "
            "values (?, ?, ?, ?, ?)",
            [
                token_hash(token),
                user.id,
                csrf_token,
                now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                (now + lifetime).strftime("%Y-%m-%dT%H:%M:%SZ"),
            ],
        )


def get_session(db: sqlite_utils.Database, token: str) -> Session | None:
    """The live session of `token` (None when unknown, expired, or its account disabled)."""
    rows = list(
        db.query(
            "select u.*, s.csrf_token, s.expires_at from sessions s join users u on u.id = s.user_id "
            "where s.token_hash = ? and s.expires_at > ? and not u.disabled",
            [token_hash(token), now_utc()],
        )
    )
    if not rows:
        return None
    r = rows[0]
    return Session(_user(r), r["csrf_token"], r["expires_at"])


def delete_session(db: sqlite_utils.Database, token: str) -> None:
    db.execute("delete from sessions where token_hash = ?", [token_hash(token)])


def web_secret(db: sqlite_utils.Database) -> str:
    """The key that signs this database's session cookies (made by migration 2)."""
    return str(db.execute("select secret from web_secret where id = 1").fetchone()[0])


def audit(
    db: sqlite_utils.Database,
    user_name: str | None,
    action: str,
    *,
    call_id: str | None = None,
    scorecard_version: str | None = None,
    item_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> int:
    """Append one entry to the audit log (inside the caller's transaction when there is one)."""
    cur = db.execute(
        "insert into audit_log (at, user_name, action, call_id, scorecard_version, item_id, detail) "
        "values (?, ?, ?, ?, ?, ?, ?)",
        [
            now_utc(),
            user_name,
            action,
            call_id,
            scorecard_version,
            item_id,
            None if detail is None else json.dumps(detail, ensure_ascii=False, sort_keys=True),
        ],
    )
    return int(cur.lastrowid or 0)


def audit_entries(
    db: sqlite_utils.Database, *, call_id: str | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    """The newest audit entries (of one call when given), newest first."""
    if call_id is None:
        return list(db.query("select * from audit_log order by id desc limit ?", [limit]))
    return list(
        db.query("select * from audit_log where call_id = ? order by id desc limit ?", [call_id, limit])
    )

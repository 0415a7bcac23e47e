"""Blind calibration sessions (tables of migration 3): a supervisor picks a scorecard version, a few
calls scored with it and several reviewers; each reviewer answers every item of every call without
seeing the machine's verdicts or the other reviewers' answers; once all have submitted (or the
supervisor closes the session) the answers are compared (web.calibration.compare_session).

The answers live in `calibration_answers` only. They are never reviews: they never change a score
of record, a queue, the KPI report or the calls list (a calibration is an exercise, not a verdict).
Creating, submitting and closing are audited (`calibration_create`, `calibration_submit`,
`calibration_close`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import sqlite_utils

from callwright.store.reviews import MAX_NOTE_CHARS, REVIEW_VERDICTS, ReviewError, write_transaction
from callwright.store.users import audit, now_utc

MAX_SESSION_CALLS = 20
"""A session has at most this many calls (a calibration is a sitting, not a backlog)."""
MAX_SESSION_REVIEWERS = 12
MIN_SESSION_REVIEWERS = 2
"""Reviewer against reviewer needs two; more give more pairs."""
MAX_NAME_CHARS = 200

Status = Literal["open", "closed"]


class CalibrationError(ReviewError):
    """A session, answer or submission that cannot be stored (the message says why)."""


@dataclass(frozen=True)
class SessionReviewer:
    name: str
    submitted_at: str | None


@dataclass(frozen=True)
class CalibrationSession:
    id: int
    name: str
    scorecard_version: str
    scorecard: str
    created_by: str
    created_at: str
    status: Status
    closed_by: str | None
    closed_at: str | None
    calls: tuple[str, ...]
    reviewers: tuple[SessionReviewer, ...]

    @property
    def complete(self) -> bool:
        """The answers may be compared: closed by a supervisor, or every reviewer submitted."""
        return self.status == "closed" or all(r.submitted_at for r in self.reviewers)

    def member(self, name: str) -> SessionReviewer | None:
        return next((r for r in self.reviewers if r.name.lower() == name.lower()), None)


@dataclass(frozen=True)
class SessionItem:
    """An item to answer, without the machine's verdict (the session is blind)."""

    item_id: str
    section: str
    kind: str
    name: str
    question: str


def _definition_items(db: sqlite_utils.Database, version: str) -> dict[str, tuple[str, str]]:
    """item id -> (name, manual question) from the kept scorecard version ({} when not kept)."""
    row = db.execute("select definition from scorecard_versions where version = ?", [version]).fetchone()
    if row is None:
        return {}
    d = json.loads(row[0])
    return {
        i["id"]: (i.get("name") or "", i.get("question") or "") for s in d["sections"] for i in s["items"]
    }


def create_session(
    db: sqlite_utils.Database,
    name: str,
    scorecard_version: str,
    call_ids: Sequence[str],
    reviewers: Sequence[str],
    by: str,
) -> int:
    """A new open session; audited. Raises CalibrationError (nothing written) naming what is wrong:
    no name, an unknown version, a call not scored with that version, a reviewer who is not a
    reviewing account, too few or too many calls or reviewers."""
    name = name.strip()
    if not name:
        raise CalibrationError("a calibration session needs a name")
    if len(name) > MAX_NAME_CHARS:
        raise CalibrationError(f"the name has {len(name)} characters; at most {MAX_NAME_CHARS}")
    calls = list(dict.fromkeys(c.strip() for c in call_ids if c.strip()))
    if not calls:
        raise CalibrationError("a calibration session needs at least one call")
    if len(calls) > MAX_SESSION_CALLS:
        raise CalibrationError(f"{len(calls)} calls: a session has at most {MAX_SESSION_CALLS}")
    names = list(dict.fromkeys(r.strip().lower() for r in reviewers if r.strip()))
    if not MIN_SESSION_REVIEWERS <= len(names) <= MAX_SESSION_REVIEWERS:
        raise CalibrationError(
            f"{len(names)} reviewer(s): a session needs {MIN_SESSION_REVIEWERS} to {MAX_SESSION_REVIEWERS}"
        )
    if not db.execute(
        "select 1 from scores where scorecard_version = ? limit 1", [scorecard_version]
    ).fetchone():
        raise CalibrationError(f"no call was scored with scorecard version '{scorecard_version[:80]}'")
    for call_id in calls:
        if not db.execute(
            "select 1 from scores where call_id = ? and scorecard_version = ?", [call_id, scorecard_version]
        ).fetchone():
            raise CalibrationError(
                f"call '{call_id[:100]}' was not scored with scorecard version {scorecard_version[:12]}"
            )
    accounts = []
    for reviewer in names:
        row = db.execute(
            "select name, role from users where name = ? and not disabled", [reviewer]
        ).fetchone()
        if row is None or row[1] == "agent":
            raise CalibrationError(f"'{reviewer[:64]}' is not a reviewer's account")
        accounts.append(str(row[0]))
    with write_transaction(db):
        cur = db.execute(
            "insert into calibration_sessions (name, scorecard_version, created_by, created_at) "
            "values (?, ?, ?, ?)",
            [name, scorecard_version, by, now_utc()],
        )
        session_id = int(cur.lastrowid or 0)
        for position, call_id in enumerate(calls):
            db.execute(
                "insert into calibration_calls (session_id, call_id, position) values (?, ?, ?)",
                [session_id, call_id, position],
            )
        for reviewer in accounts:
            db.execute(
                "insert into calibration_reviewers (session_id, reviewer) values (?, ?)",
                [session_id, reviewer],
            )
        audit(
            db,
            by,
            "calibration_create",
            scorecard_version=scorecard_version,
            detail={"session_id": session_id, "name": name, "calls": calls, "reviewers": accounts},
        )
    return session_id


def get_session(db: sqlite_utils.Database, session_id: int) -> CalibrationSession | None:
    row = next(iter(db.query("select * from calibration_sessions where id = ?", [session_id])), None)
    if row is None:
        return None
    scorecard = db.execute(
        "select scorecard from scores where scorecard_version = ? limit 1", [row["scorecard_version"]]
    ).fetchone()
    return CalibrationSession(
        row["id"],
        row["name"],
        row["scorecard_version"],
        "" if scorecard is None else str(scorecard[0]),
        row["created_by"],
        row["created_at"],
        row["status"],
        row["closed_by"],
        row["closed_at"],
        tuple(
            r[0]
            for r in db.execute(
                "select call_id from calibration_calls where session_id = ? order by position", [session_id]
            )
        ),
        tuple(
            SessionReviewer(r[0], r[1])
            for r in db.execute(
                "select reviewer, submitted_at from calibration_reviewers where session_id = ? "
                "order by reviewer",
                [session_id],
            )
        ),
    )


def list_sessions(
    db: sqlite_utils.Database, reviewer: str | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    """Sessions newest first with their counts (of one reviewer's sessions when given)."""
    where, params = "", []
    if reviewer is not None:
        where = (
            "where exists (select 1 from calibration_reviewers m "
            "where m.session_id = s.id and m.reviewer = ?)"
        )
        params.append(reviewer)
    return list(
        db.query(
            f"""select s.*,
                 (select count(*) from calibration_calls c where c.session_id = s.id) as calls,
                 (select count(*) from calibration_reviewers r where r.session_id = s.id) as reviewers,
                 (select count(*) from calibration_reviewers r where r.session_id = s.id
                  and r.submitted_at is not null) as submitted
               from calibration_sessions s {where} order by s.id desc limit ?""",
            [*params, limit],
        )
    )


def session_items(db: sqlite_utils.Database, s: CalibrationSession) -> dict[str, list[SessionItem]]:
    """call id -> the items to answer, in scorecard order; never the verdicts."""
    names = _definition_items(db, s.scorecard_version)
    out: dict[str, list[SessionItem]] = {}
    for call_id in s.calls:
        out[call_id] = [
            SessionItem(r[0], r[1], r[2], names.get(r[0], ("", ""))[0], names.get(r[0], ("", ""))[1])
            for r in db.execute(
                "select item_id, section, kind from item_scores where call_id = ? and scorecard_version = ? "
                "order by rowid",
                [call_id, s.scorecard_version],
            )
        ]
    return out


def answers_of(
    db: sqlite_utils.Database, session_id: int, reviewer: str
) -> dict[tuple[str, str], dict[str, Any]]:
    """One reviewer's answers so far: (call id, item id) -> {verdict, note}."""
    return {
        (r["call_id"], r["item_id"]): r
        for r in db.query(
            "select call_id, item_id, verdict, note from calibration_answers "
            "where session_id = ? and reviewer = ?",
            [session_id, reviewer],
        )
    }


def _open_member(db: sqlite_utils.Database, session_id: int, reviewer: str) -> tuple[CalibrationSession, str]:
    s = get_session(db, session_id)
    if s is None:
        raise CalibrationError(f"no calibration session {session_id}")
    m = s.member(reviewer)
    if m is None:
        raise CalibrationError(f"'{reviewer}' is not a reviewer of calibration session {session_id}")
    if s.status != "open":
        raise CalibrationError(f"calibration session {session_id} is closed")
    if m.submitted_at:
        raise CalibrationError(
            f"{m.name} already submitted calibration session {session_id} at {m.submitted_at}"
        )
    return s, m.name


def save_answers(
    db: sqlite_utils.Database,
    session_id: int,
    reviewer: str,
    answers: Mapping[tuple[str, str], tuple[str, str]],
) -> int:
    """Store (or change) a reviewer's answers, (call id, item id) -> (verdict, note); returns how
    many. Notes are redacted like review notes. Refused (nothing written) for a session that is
    closed or already submitted by this reviewer, a call or item not in the session, a verdict
    other than pass/fail/na."""
    from callwright.store.pseudonyms import redact_note

    s, name = _open_member(db, session_id, reviewer)
    items = session_items(db, s)
    rows: list[tuple[str, str, str, str | None]] = []
    for (call_id, item_id), (verdict, note) in answers.items():
        if call_id not in items:
            raise CalibrationError(f"call '{call_id[:100]}' is not in calibration session {session_id}")
        if item_id not in {i.item_id for i in items[call_id]}:
            raise CalibrationError(
                f"call '{call_id[:100]}' has no item '{item_id[:100]}' in this session's scorecard"
            )
        if verdict not in REVIEW_VERDICTS:
            raise CalibrationError(
                f"{call_id[:100]} / {item_id[:100]}: verdict '{verdict[:20]}': "
                f"expected one of {', '.join(REVIEW_VERDICTS)}"
            )
        if len(note) > MAX_NOTE_CHARS:
            raise CalibrationError(
                f"{call_id[:100]} / {item_id[:100]}: a note has at most {MAX_NOTE_CHARS} characters"
            )
        rows.append((call_id, item_id, verdict, redact_note(db, call_id, note) if note.strip() else None))
    now = now_utc()
    with write_transaction(db):
        for call_id, item_id, verdict, kept_note in rows:
            db.execute(
                "insert into calibration_answers "
                "(session_id, call_id, item_id, reviewer, verdict, note, answered_at) "
                "values (?, ?, ?, ?, ?, ?, ?) on conflict (session_id, call_id, item_id, reviewer) do update "
                "set verdict = excluded.verdict, note = excluded.note, answered_at = excluded.answered_at",
                [session_id, call_id, item_id, name, verdict, kept_note, now],
            )
    return len(rows)


def submit(db: sqlite_utils.Database, session_id: int, reviewer: str) -> bool:
    """A reviewer hands in their answers (every item of every call answered); audited. Returns True
    when that completes the session (every reviewer has submitted)."""
    with write_transaction(db):
        s, name = _open_member(db, session_id, reviewer)
        items = session_items(db, s)
        mine = answers_of(db, session_id, name)
        missing = [(c, i.item_id) for c, its in items.items() for i in its if (c, i.item_id) not in mine]
        if missing:
            shown = ", ".join(f"{c} / {i}" for c, i in missing[:3])
            raise CalibrationError(
                f"{len(missing)} item(s) not answered yet ({shown}{', ...' if len(missing) > 3 else ''}): "
                "answer every item before submitting"
            )
        db.execute(
            "update calibration_reviewers set submitted_at = ? where session_id = ? and reviewer = ?",
            [now_utc(), session_id, name],
        )
        audit(
            db,
            name,
            "calibration_submit",
            scorecard_version=s.scorecard_version,
            detail={"session_id": session_id},
        )
        left = db.execute(
            "select count(*) from calibration_reviewers where session_id = ? and submitted_at is null",
            [session_id],
        ).fetchone()[0]
    return int(left) == 0


def close(db: sqlite_utils.Database, session_id: int, by: str) -> None:
    """A supervisor ends a session early (the answers given so far are compared); audited."""
    with write_transaction(db):
        s = get_session(db, session_id)
        if s is None:
            raise CalibrationError(f"no calibration session {session_id}")
        if s.status != "open":
            raise CalibrationError(f"calibration session {session_id} was already closed by {s.closed_by}")
        db.execute(
            "update calibration_sessions set status = 'closed', closed_by = ?, closed_at = ? where id = ?",
            [by, now_utc(), session_id],
        )
        audit(
            db,
            by,
            "calibration_close",
            scorecard_version=s.scorecard_version,
            detail={"session_id": session_id},
        )


def comparison_rows(db: sqlite_utils.Database, session_id: int) -> list[dict[str, Any]]:
    """Every answer beside the machine's verdict of the same item (for web.calibration.compare_session)."""
    return list(
        db.query(
            """select a.call_id, a.item_id, a.reviewer, a.verdict as human, a.note,
                 i.kind, i.section, i.verdict as automatic
               from calibration_answers a
               join calibration_sessions s on s.id = a.session_id
               join item_scores i on i.call_id = a.call_id and i.scorecard_version = s.scorecard_version
                 and i.item_id = a.item_id
               where a.session_id = ? order by a.call_id, a.item_id, a.reviewer""",
            [session_id],
        )
    )


def scored_versions(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """Scorecard versions with scored calls (newest first), for the new-session form."""
    return list(
        db.query(
            "select scorecard_version, scorecard, count(*) as calls, max(scored_at) as last_scored "
            "from scores group by scorecard_version order by last_scored desc limit 100"
        )
    )

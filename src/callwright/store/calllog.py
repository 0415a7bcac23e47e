"""The IVR call log: a row per call, its ordered events, and survey answers.

A session reports `LogEvent`s as they happen; `CallLog` buffers them per call
and writes them in one transaction per flush (the channel driver flushes after
every caller turn), so a crash loses at most the current turn and a thousand
concurrent calls do not mean a thousand commits per event.

Another process may be writing (a report rebuilding its summaries, a QA batch):
each write takes the write lock up front (`BEGIN IMMEDIATE`, which waits for the
busy timeout) and is retried with backoff while the database stays locked, so a
busy moment never loses a call's end; events that could not be written stay
buffered for the next flush. A database that cannot be written at all (a full
disk, a read-only file) is a `CallwrightError` that says so.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlite_utils

from callwright.errors import CallwrightError
from callwright.ivr.events import LogEvent
from callwright.store import contacts

if TYPE_CHECKING:
    from callwright.ivr.session import CallSession

log = logging.getLogger(__name__)

# A call that ends with this disposition (a flow's hangup state `disposition: opted_out`) puts
# the other party's number on the do-not-call list (store.contacts, docs/outbound.md).
OPT_OUT_DISPOSITION = "opted_out"
_E164 = re.compile(r"\+[1-9][0-9]{5,14}")


def opt_out_number(variables: dict[str, Any], direction: str) -> str | None:
    """The number an opt-out is for: the call's `contact_number` variable (the dialer sets it),
    else the caller's number on an inbound call or the number dialled on an outbound one; only
    an E.164 number (a number written otherwise cannot be matched at the next dial)."""
    number = variables.get("contact_number") or variables.get(
        "called_number" if direction == "outbound" else "caller_id"
    )
    return number if isinstance(number, str) and _E164.fullmatch(number) else None


_TEXT_KEYS = ("text", "message")

BUSY_TIMEOUT_MS = 10_000
"""How long one statement waits for another writer's lock (set on the connection if lower)."""
WRITE_ATTEMPTS = 6
"""Tries of one call-log write while the database stays locked past the busy timeout."""
RETRY_FIRST_S, RETRY_MAX_S = 0.1, 2.0
"""Backoff between tries: doubling from the first to the longest wait."""


class CallLogWriteError(CallwrightError):
    """The call log could not be written (full disk, read-only or locked database)."""


@dataclass(frozen=True)
class CallRow:
    id: str
    flow: str
    outcome: str | None
    queue: str | None
    disposition: str | None
    started_at: str
    ended_at: str | None


class CallLog:
    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db
        self._pending: dict[str, list[LogEvent]] = defaultdict(list)
        try:
            if db.execute("PRAGMA busy_timeout").fetchone()[0] < BUSY_TIMEOUT_MS:
                db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        except sqlite3.Error:  # pragma: no cover - a closed connection fails on first use
            pass

    @classmethod
    def open(cls, path: str | Path) -> CallLog:
        """Open (creating if needed) the call log database at `path`; a database that
        cannot be created or written (a full disk) is a clear error, not a traceback."""
        from callwright.store.db import open_db

        try:
            return cls(open_db(path))
        except (sqlite3.Error, sqlite_utils.db.AlterError) as err:  # AlterError: foreign tables
            hint = (
                "free some disk space (or use --db on another disk)"
                if "full" in str(err)
                else "is it a Callwright database on a working disk?"
            )
            raise CallLogWriteError(f"cannot open the call log {path}: {err}", hint=hint) from None

    def _where(self) -> str:
        try:
            row = next((r for r in self.db.execute("PRAGMA database_list") if r[1] == "main"), None)
            return row[2] if row and row[2] else "the database"
        except sqlite3.Error:
            return "the database"

    def _write(self, what: str, work: Callable[[], object]) -> None:
        """Run `work` in one write transaction, waiting out other writers.

        `BEGIN IMMEDIATE` takes the write lock before anything is read: a deferred
        transaction that has read and then wants to write while another connection
        commits fails at once with "database is locked", whatever the busy timeout.
        """
        conn = self.db.conn
        delay = RETRY_FIRST_S
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            try:
                if conn.in_transaction:  # the caller's transaction: join it
                    work()
                    return
                conn.execute("BEGIN IMMEDIATE")
                try:
                    work()
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
                return
            except sqlite3.OperationalError as err:
                busy = "locked" in str(err) or "busy" in str(err)
                if not busy or attempt == WRITE_ATTEMPTS:
                    raise self._error(what, err) from None
                log.info(
                    "call log: %s: %s; try %d of %d in %.1f s", what, err, attempt + 1, WRITE_ATTEMPTS, delay
                )
                time.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_S)
            except (sqlite3.DatabaseError, OSError) as err:
                raise self._error(what, err) from None

    def _error(self, what: str, err: Exception) -> CallLogWriteError:
        text = str(err)
        if "full" in text:
            hint = "free some disk space (or use --db on another disk); the call was not logged"
        elif "locked" in text or "busy" in text:
            hint = (
                f"another program kept the database locked through {WRITE_ATTEMPTS} tries; "
                "try again when it has finished"
            )
        elif "readonly" in text or "read-only" in text:
            hint = "make the database file and its folder writable"
        else:
            hint = "is it a Callwright database on a working disk?"
        return CallLogWriteError(f"cannot write the call log ({what}) to {self._where()}: {text}", hint=hint)

    def listener(self, call_id: str) -> Callable[[LogEvent], None]:
        """A callback for one session's events."""

        def on_event(ev: LogEvent) -> None:
            self._pending[call_id].append(ev)

        return on_event

    def call_started(self, session: CallSession) -> None:
        f = session.flow
        row = {
            "id": session.call_id,
            "flow": f.name,
            "flow_hash": f.content_hash,
            "flow_version": f.version,
            "direction": POST_CALL if _rated_call(session) else f.direction,
            "channel": session.channel,
            "caller_id": session.vars.get("caller_id") or None,
            "called_number": session.vars.get("called_number") or None,
            "language": session.vars.get("language"),
            "started_at": session.started_wall.isoformat(timespec="milliseconds"),
        }
        self._write("call start", lambda: self.db.table("calls").insert(row, replace=True))

    def flush(self, session: CallSession) -> None:
        """Write buffered events (and the call's end, if it has ended) in one transaction.

        If the write fails the events stay buffered (a later flush writes them) and a
        `CallLogWriteError` says why.
        """
        events = self._pending.pop(session.call_id, [])
        try:
            self._write(
                "call events" if not session.ended else "call end", lambda: self._flush(session, events)
            )
        except BaseException:
            self._pending[session.call_id][:0] = events
            raise

    def _flush(self, session: CallSession, events: list[LogEvent]) -> None:
        if events:
            # The log only appends: an event already stored (same call and seq) is kept
            # as it is, so the triggers that count events never see it twice.
            self.db.table("call_events").insert_all(
                (_event_row(session.call_id, e) for e in events), ignore=True
            )
            answers = [e for e in events if e.kind == "survey_answer"]
            if answers:
                self.db.table("survey_answers").insert_all(
                    (
                        {
                            "call_id": _rated_call(session) or session.call_id,
                            "question": e.data["question"],
                            "value": int(e.data["value"]),
                            "state": e.state,
                            "t": e.t,
                        }
                        for e in answers
                    ),
                    replace=True,
                )
        if session.ended:
            ended = session.started_wall + timedelta(seconds=session.elapsed)
            self.db.table("calls").update(
                session.call_id,
                {
                    "ended_at": ended.isoformat(timespec="milliseconds"),
                    "duration_s": round(session.elapsed, 3),
                    "outcome": session.outcome,
                    "queue": session.queue,
                    "disposition": session.disposition,
                    "end_reason": next(
                        (e.data.get("reason") for e in reversed(session.events) if e.kind == "call_end"), None
                    ),
                    "language": session.vars.get("language"),
                    "last_state": session.visited[-1] if session.visited else None,
                },
            )
            if session.disposition == OPT_OUT_DISPOSITION:
                # any flow's "stop calling me": on the do-not-call list in the same transaction
                number = opt_out_number(session.vars, session.flow.direction)
                if number:
                    contacts.add_opt_out(
                        self.db,
                        number,
                        campaign=session.vars.get("campaign") or None,
                        call_id=session.call_id,
                        at=ended,
                    )

    def set_recording(self, call_id: str, path: str) -> None:
        self._write(
            "recording path", lambda: self.db.table("calls").update(call_id, {"recording_path": path})
        )

    def get_call(self, call_id: str) -> CallRow | None:
        rows = list(
            self.db.query(
                "select id, flow, outcome, queue, disposition, started_at, ended_at from calls where id = ?",
                [call_id],
            )
        )
        return CallRow(**rows[0]) if rows else None

    def events(self, call_id: str) -> list[dict[str, Any]]:
        return list(self.db.query("select * from call_events where call_id = ? order by seq", [call_id]))


POST_CALL = "post-call"
"""`calls.direction` of a post-call survey: a flow run that rates another call.

A survey offered after an agent call is part of that contact, not a new one:
its answers are stored under the rated call (so CSAT and survey FCR group by
that call's queue, agent and team), and its own row is kept out of the
inbound KPIs (containment, repeat contacts, AHT) by this direction.
"""


def _rated_call(session: CallSession) -> str | None:
    """The call a post-call survey rates: the `rated_call_id` variable it was started with."""
    rated = session.vars.get("rated_call_id")
    return str(rated) if rated else None


def _event_row(call_id: str, e: LogEvent) -> dict[str, Any]:
    d = e.data
    text = next((d[k] for k in _TEXT_KEYS if k in d), None)
    return {
        "call_id": call_id,
        "seq": e.seq,
        "t": e.t,
        "kind": e.kind,
        "state": e.state,
        "text": text,
        "mode": d.get("mode"),
        "confidence": d.get("confidence"),
        "count": d.get("count"),
        "data": json.dumps(d, ensure_ascii=False) if d else None,
    }


def outcome_summary(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """Calls per flow, outcome and queue (or disposition), most frequent first."""
    return list(
        db.query(
            "select flow, outcome, coalesce(queue, disposition, '') as detail, count(*) as n "
            "from calls group by 1, 2, 3 order by 1, n desc"
        )
    )


def survey_stats(db: sqlite_utils.Database, question: str) -> tuple[float | None, int]:
    """(mean answer, number of answers) for one survey question."""
    row = next(
        db.query(
            "select avg(value) as mean, count(*) as n from survey_answers where question = ?", [question]
        )
    )
    return row["mean"], row["n"]


@dataclass(frozen=True)
class Message:
    """A caller's message left in a `record` state, as a mailbox lists it."""

    call_id: str
    mailbox: str
    state: str
    started_at: str | None  # the call's start (UTC)
    caller_id: str | None
    duration_s: float | None
    audio: str | None  # the message's own WAV, when the channel kept one
    text: str | None  # its transcript (redacted), when the state asked for one
    ended: str | None  # silence | terminator | max_duration | hangup


def messages(db: sqlite_utils.Database, mailbox: str | None = None, limit: int = 1000) -> list[Message]:
    """Messages newest first, of one mailbox or of all."""
    sql = (
        "select e.call_id, json_extract(e.data, '$.mailbox') as mailbox, e.state, c.started_at, "
        "c.caller_id, json_extract(e.data, '$.duration_s') as duration_s, "
        "json_extract(e.data, '$.audio') as audio, e.text, json_extract(e.data, '$.ended') as ended "
        "from call_events e join calls c on c.id = e.call_id where e.kind = 'recorded'"
    )
    args: list[Any] = []
    if mailbox is not None:
        sql += " and json_extract(e.data, '$.mailbox') = ?"
        args.append(mailbox)
    sql += " order by c.started_at desc, e.call_id, e.seq limit ?"
    args.append(limit)
    return [Message(**{**row, "mailbox": row["mailbox"] or ""}) for row in db.query(sql, args)]

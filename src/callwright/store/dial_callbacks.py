"""Callbacks the dialer dials: reading and marking `contact_callbacks` (the table of
store.contacts, migration 3), and turning callback requests in the call log into rows of it.

A callback is requested in any flow by ending with disposition `callback_requested` (the
inbound sample's "call me back" offer, or any outbound flow); the time the caller chose is
the `callback_at` (ISO 8601) or `callback_in_minutes` variable when the flow set one (its
`set` event in the call log), else "as soon as the calling hours allow". A dialer run with
`--callbacks` first harvests requests not yet scheduled (`harvest_requests`), then dials the
due ones of its campaign; each is marked `dialed` or `refused:<reason>` once tried.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import sqlite_utils

CALLBACK_DISPOSITION = "callback_requested"
MAX_HARVEST = 10_000
"""Requests turned into callbacks in one harvest (the oldest first); the rest wait for the next."""


def scheduled_callbacks(db: sqlite_utils.Database, campaign: str) -> list[tuple[int, str, str, int | None]]:
    """(id, number, due_at, contact_id) of the campaign's callbacks still to dial, soonest first."""
    rows = db.execute(
        """select id, number, due_at, contact_id from contact_callbacks
           where status = 'scheduled' and campaign = ? order by due_at, id""",
        [campaign],
    ).fetchall()
    return [(int(r[0]), str(r[1]), str(r[2]), r[3]) for r in rows]


def mark_callback(db: sqlite_utils.Database, callback_id: int, status: str) -> None:
    with db.atomic():
        db.conn.execute("update contact_callbacks set status = ? where id = ?", [status[:80], callback_id])


def harvest_requests(db: sqlite_utils.Database, campaign: str, now: datetime | None = None) -> int:
    """Calls of any flow that ended `callback_requested` and have no callback row yet become
    scheduled callbacks of `campaign` (the caller's number is the call's caller id); returns
    how many. The due time is the flow's `callback_at` / `callback_in_minutes`, else the end
    of the call."""
    now = now or datetime.now(UTC)
    rows = db.execute(
        """select c.id, c.caller_id, coalesce(c.ended_at, c.started_at) from calls c
           where c.disposition = ? and coalesce(c.caller_id, '') != ''
             and not exists (select 1 from contact_callbacks b where b.call_id = c.id)
           order by c.started_at limit ?""",
        [CALLBACK_DISPOSITION, MAX_HARVEST],
    ).fetchall()
    made = 0
    with db.atomic():
        for call_id, number, ended in rows:
            due = _requested_time(db, call_id) or _parse(ended) or now
            contact = db.execute("select id from contacts where number = ?", [number]).fetchone()
            db.conn.execute(
                """insert into contact_callbacks
                     (contact_id, number, campaign, call_id, requested_at, due_at, status)
                   values (?, ?, ?, ?, ?, ?, 'scheduled')""",
                [
                    contact[0] if contact else None,
                    number,
                    campaign,
                    call_id,
                    now.astimezone(UTC).isoformat(timespec="seconds"),
                    due.astimezone(UTC).isoformat(timespec="seconds"),
                ],
            )
            made += 1
    return made


def _requested_time(db: sqlite_utils.Database, call_id: str) -> datetime | None:
    """The time a flow set in `callback_at` / `callback_in_minutes`, from the call's events."""
    ended = None
    for data, t in db.execute(
        "select data, t from call_events where call_id = ? and kind = 'set' order by seq", [call_id]
    ).fetchall():
        try:
            d = json.loads(data or "{}")
        except ValueError:
            continue
        if d.get("var") == "callback_at" and isinstance(d.get("value"), str):
            ended = _parse(d["value"]) or ended
        elif d.get("var") == "callback_in_minutes" and isinstance(d.get("value"), (int, float)):
            start = db.execute("select started_at from calls where id = ?", [call_id]).fetchone()
            base = _parse(start[0]) if start else None
            if base is not None:
                ended = base + timedelta(seconds=float(t or 0)) + timedelta(minutes=float(d["value"]))
    return ended


def _parse(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        d = datetime.fromisoformat(text)
    except ValueError:
        return None
    return d if d.tzinfo else d.replace(tzinfo=UTC)

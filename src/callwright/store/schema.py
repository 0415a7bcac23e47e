"""The database schema (documented in docs/database.md); store.migrations applies it.

Tables are created with sqlite-utils so that they open in Datasette with no
configuration: plain columns, declared primary and foreign keys, indexes for
the queries reports make.
"""

from __future__ import annotations

import sqlite_utils

from callwright.errors import CallwrightError
from callwright.store.cubes import KPI_DIRTY_TRIGGERS

# PRAGMA application_id of a Callwright database ("CWLT"), set when the schema is created, so
# that `file` and SQLite tools recognise it and `open_db` can tell it from an unrelated database.
APPLICATION_ID = 0x43574C54
# PRAGMA user_version: the schema's version, the number of migrations in
# store.migrations.MIGRATIONS (a database at version n has had the first n applied). A
# database from a newer Callwright is refused rather than half understood. Raised by one with
# each migration (docs/database.md, "Schema versions and migrations").
SCHEMA_VERSION = 7

CALLS = {
    "id": str,
    "flow": str,
    "flow_hash": str,
    "flow_version": str,
    "direction": str,
    "channel": str,
    "caller_id": str,
    "called_number": str,
    "language": str,
    "started_at": str,
    "ended_at": str,
    "duration_s": float,
    "outcome": str,
    "queue": str,
    "disposition": str,
    "end_reason": str,
    "last_state": str,
    "recording_path": str,
}
CALL_EVENTS = {
    "call_id": str,
    "seq": int,
    "t": float,
    "kind": str,
    "state": str,
    "text": str,
    "mode": str,
    "confidence": float,
    "count": int,
    "data": str,
}
SURVEY_ANSWERS = {"call_id": str, "question": str, "value": int, "state": str, "t": float}
# One row per call that waited in an ACD queue (simulated or, later, from a real ACD).
QUEUE_CALLS = {
    "call_id": str,
    "queue": str,
    "skill": str,
    "priority": int,
    "entered_at": str,
    "answered_at": str,
    "abandoned_at": str,
    "ended_at": str,
    "outcome": str,
    "wait_s": float,
    "talk_s": float,
    "hold_s": float,
    "acw_s": float,
    "handle_s": float,
    "agent": str,
    "callback_offered": int,
    "callback_accepted": int,
    "source": str,
}
# One row per outbound dial attempt; a connected dial links to the call it became.
DIALS = {
    "id": str,
    "campaign": str,
    "agent": str,
    "team": str,
    "customer": str,
    "dialed_at": str,
    "result": str,
    "connected": int,
    "call_id": str,
    "talk_s": float,
    "disposition": str,
    "converted": int,
    "opted_out": int,
}

# Indexes the report queries need (bench/report_1m.py): each lets a KPI query read
# only an index for the date range instead of the table rows.
REPORT_INDEXES = (
    # repeat-contact FCR at query time: inbound calls of the range with their next contact
    "create index if not exists idx_calls_repeat on calls "
    "(started_at, direction, next_contact_at, flow, outcome, queue, agent, team, campaign)",
    # the next call of the same customer (kept in calls.next_contact_at by triggers)
    "create index if not exists idx_calls_next_contact on calls "
    "(coalesce(customer, caller_id), direction, started_at)",
    # a call's dials (their day is marked for recount when the call changes)
    "create index if not exists idx_dials_call_id on dials (call_id)",
    # queue rows between a requested service-level or short-abandon threshold and a kept one
    "create index if not exists idx_queue_calls_wait on queue_calls (wait_s)",
    # the latest score of each (call, scorecard) from the index alone (scores is store.qa's table)
    "create index if not exists idx_scores_latest on scores (call_id, scorecard, scored_at)",
)

# --- the next contact of a call's customer ------------------------------------------------------
# calls.next_contact_at: the start of the next inbound call of the same customer (`customer`,
# else `caller_id`) strictly after this call, or null. Repeat-contact FCR compares it with the
# window at query time. Kept by three triggers; `rebuild_next_contact` recounts every call.
_KEY = "coalesce({t}customer, {t}caller_id)"
_NEXT_OF = (
    f"(select min(n.started_at) from calls n where {_KEY.format(t='n.')} = {_KEY.format(t='{row}.')} "
    "and n.direction = 'inbound' and n.started_at > {row}.started_at)"
)


def _point_before(row: str) -> str:
    """Statements for a call `row` (new) at its position: its own next contact, and the calls of
    the same customer before it whose next contact it now is (only an inbound call is one)."""
    key = _KEY.format(t=f"{row}.")
    return f"""
  update calls set next_contact_at = {_NEXT_OF.format(row=row)} where id = {row}.id;
  update calls set next_contact_at = {row}.started_at
   where {row}.direction = 'inbound' and {_KEY.format(t="")} = {key}
     and started_at < {row}.started_at and (next_contact_at is null or next_contact_at > {row}.started_at)
     and started_at >= coalesce((select max(p.started_at) from calls p where {_KEY.format(t="p.")} = {key}
                                 and p.direction = 'inbound' and p.started_at < {row}.started_at), '');"""


_UNPOINT_OLD = f"""
  update calls set next_contact_at = {_NEXT_OF.format(row="calls")}
   where {_KEY.format(t="")} = {_KEY.format(t="old.")} and next_contact_at = old.started_at;"""
NEXT_CONTACT_TRIGGERS = {
    "calls_next_contact_insert": f"""
create trigger if not exists calls_next_contact_insert after insert on calls
when {_KEY.format(t="new.")} is not null
begin{_point_before("new")}
end""",
    "calls_next_contact_update": f"""
create trigger if not exists calls_next_contact_update
after update of customer, caller_id, direction, started_at on calls
when old.customer is not new.customer or old.caller_id is not new.caller_id
  or old.direction is not new.direction or old.started_at is not new.started_at
begin{_UNPOINT_OLD}{_point_before("new")}
end""",
    # INSERT OR REPLACE deletes the old row without firing delete triggers (recursive triggers
    # are off): before a call is inserted, the calls that pointed at a row with the same id
    # are recounted without it (the insert trigger then points them at the new row if it is next).
    "calls_next_contact_replace": f"""
create trigger if not exists calls_next_contact_replace before insert on calls
begin
  update calls set next_contact_at = {_NEXT_OF.format(row="calls").removesuffix(")")} and n.id is not new.id)
   where {_KEY.format(t="")} = (select {_KEY.format(t="o.")} from calls o where o.id = new.id)
     and next_contact_at = (select o.started_at from calls o where o.id = new.id);
end""",
    "calls_next_contact_delete": f"""
create trigger if not exists calls_next_contact_delete after delete on calls
when {_KEY.format(t="old.")} is not null
begin{_UNPOINT_OLD}
end""",
}


def rebuild_next_contact(db: sqlite_utils.Database) -> None:
    """Recount `calls.next_contact_at` for every call (after a bulk load, or to repair).

    Per customer, ordered by start descending, the smallest inbound start among the calls
    that started strictly later (GROUPS frame: calls with the same start are peers)."""
    with db.atomic():
        db.execute(f"""
            with nxt as (
              select id, min(case when direction = 'inbound' then started_at end) over (
                partition by {_KEY.format(t="")} order by started_at desc
                groups between unbounded preceding and 1 preceding) as next_at
              from calls where {_KEY.format(t="")} is not null
            )
            update calls set next_contact_at = nxt.next_at from nxt
            where nxt.id = calls.id and calls.next_contact_at is not nxt.next_at""")
        db.execute(
            f"update calls set next_contact_at = null "
            f"where {_KEY.format(t='')} is null and next_contact_at is not null"
        )


# Triggers a bulk load drops and recreates (it recounts everything once at the end).
BULK_TRIGGERS = ("call_events_waterfall", *NEXT_CONTACT_TRIGGERS, *KPI_DIRTY_TRIGGERS)


def create_triggers(db: sqlite_utils.Database) -> None:
    """(Re)create the summary triggers (after a bulk load dropped them)."""
    db.execute(WATERFALL_TRIGGER)
    for sql in (*NEXT_CONTACT_TRIGGERS.values(), *KPI_DIRTY_TRIGGERS.values()):
        db.execute(sql)


# The IVR waterfall, kept per day as events are logged: a report over a million calls
# would otherwise join millions of events to their calls. The call log only appends
# events, so counting at insert time is exact.
_WATERFALL_KINDS = ("state_enter", "no_input", "no_match", "transfer", "hangup", "call_end")
_WATERFALL_COLUMNS = ("entered", "no_input", "no_match", "transfer", "hangup", "ended")
IVR_STATE_DAILY = f"""
create table if not exists ivr_state_daily (
  day text not null, flow text not null, state text not null,
  {", ".join(f"{c} integer not null default 0" for c in _WATERFALL_COLUMNS)},
  primary key (day, flow, state))
"""
_COUNTS = ", ".join(f"e.kind = '{k}'" for k in _WATERFALL_KINDS)
_SUMS = ", ".join(f"sum(e.kind = '{k}')" for k in _WATERFALL_KINDS)
_ADD = ", ".join(f"{c} = {c} + excluded.{c}" for c in _WATERFALL_COLUMNS)
_KINDS = ", ".join(f"'{k}'" for k in _WATERFALL_KINDS)
WATERFALL_TRIGGER = f"""
create trigger if not exists call_events_waterfall after insert on call_events
when new.state is not null and new.kind in ({_KINDS})
begin
  insert into ivr_state_daily (day, flow, state, {", ".join(_WATERFALL_COLUMNS)})
  select substr(c.started_at, 1, 10), c.flow, e.state, {_COUNTS}
  from calls c, (select new.kind as kind, new.state as state) e
  where c.id = new.call_id and c.flow is not null
  on conflict (day, flow, state) do update set {_ADD};
end
"""


def rebuild_waterfall(db: sqlite_utils.Database) -> None:
    """Recount `ivr_state_daily` from every logged event (after a bulk load, or to repair)."""
    with db.atomic():
        db.execute("delete from ivr_state_daily")
        db.execute(f"""
            insert into ivr_state_daily (day, flow, state, {", ".join(_WATERFALL_COLUMNS)})
            select substr(c.started_at, 1, 10), c.flow, e.state, {_SUMS}
            from call_events e join calls c on c.id = e.call_id
            where c.flow is not null and e.state is not null and e.kind in ({_KINDS})
            group by 1, 2, 3""")


def _pragma(db: sqlite_utils.Database, name: str) -> int:
    return int(db.execute(f"pragma {name}").fetchone()[0])


def check_identity(db: sqlite_utils.Database, name: str) -> None:
    """Refuse a database that is not Callwright's, before anything is written to it.

    A Callwright database carries `APPLICATION_ID`; one from before the id was set is
    recognised by its `calls` table (every column of `CALLS`). An empty file is a new
    database. Anything else (another program's database, a newer schema) raises a
    CallwrightError naming the file."""
    app_id, version = _pragma(db, "application_id"), _pragma(db, "user_version")
    hint = "give --db (or $CALLWRIGHT_DB) a Callwright database file, or a new file name"
    if app_id == APPLICATION_ID:
        if version > SCHEMA_VERSION:
            raise CallwrightError(
                f"{name}: this database was written by a newer Callwright (schema version {version}; "
                f"this one reads up to {SCHEMA_VERSION})",
                hint="upgrade Callwright, or give another --db",
            )
        return
    if app_id != 0:
        raise CallwrightError(
            f"{name} is not a Callwright database (SQLite application id {app_id:#x})", hint=hint
        )
    tables = sorted(
        r[0]
        for r in db.execute(
            "select name from sqlite_master where type = 'table' and name not like 'sqlite\\_%' escape '\\'"
        )
    )
    if not tables:
        return  # a new, empty database
    if "calls" not in tables:
        shown = ", ".join(repr(t) for t in tables[:5]) + (", ..." if len(tables) > 5 else "")
        raise CallwrightError(
            f"{name} is not a Callwright database: it has no calls table "
            f"(its tables: {shown}); it was left unchanged",
            hint=hint,
        )
    columns = {r[1] for r in db.execute("pragma table_info(calls)")}
    missing = [c for c in CALLS if c not in columns]
    if missing:
        raise CallwrightError(
            f"{name} is not a Callwright database: its calls table has no "
            f"{', '.join(missing[:5])}{', ...' if len(missing) > 5 else ''} column; "
            "it was left unchanged",
            hint=hint,
        )

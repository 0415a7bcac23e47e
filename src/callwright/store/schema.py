"""The database schema (documented in docs/database.md).

Tables are created with sqlite-utils so that they open in Datasette with no
configuration: plain columns, declared primary and foreign keys, indexes for
the queries reports make.
"""

from __future__ import annotations

import sqlite_utils

CALLS = {
    "id": str, "flow": str, "flow_hash": str, "flow_version": str, "direction": str,
    "channel": str, "caller_id": str, "called_number": str, "language": str,
    "started_at": str, "ended_at": str, "duration_s": float, "outcome": str, "queue": str,
    "disposition": str, "end_reason": str, "last_state": str, "recording_path": str,
}
CALL_EVENTS = {
    "call_id": str, "seq": int, "t": float, "kind": str, "state": str, "text": str,
    "mode": str, "confidence": float, "count": int, "data": str,
}
SURVEY_ANSWERS = {"call_id": str, "question": str, "value": int, "state": str, "t": float}
# One row per call that waited in an ACD queue (simulated or, later, from a real ACD).
QUEUE_CALLS = {
    "call_id": str, "queue": str, "skill": str, "priority": int, "entered_at": str,
    "answered_at": str, "abandoned_at": str, "ended_at": str, "outcome": str, "wait_s": float,
    "talk_s": float, "hold_s": float, "acw_s": float, "handle_s": float, "agent": str,
    "callback_offered": int, "callback_accepted": int, "source": str,
}
# One row per outbound dial attempt; a connected dial links to the call it became.
DIALS = {
    "id": str, "campaign": str, "agent": str, "team": str, "customer": str, "dialed_at": str,
    "result": str, "connected": int, "call_id": str, "talk_s": float, "disposition": str,
    "converted": int, "opted_out": int,
}

# Indexes the report queries need (bench/report_1m.py): each lets a KPI query read
# only an index for the date range instead of the table rows.
_REPORT_INDEXES = (
    "create index if not exists idx_calls_day_direction on calls "
    "(started_at, direction, flow, outcome, queue, agent, team, campaign)",
    # repeat-contact FCR: the next call of the same customer
    "create index if not exists idx_calls_next_contact on calls "
    "(coalesce(customer, caller_id), direction, started_at)",
)

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


def ensure(db: sqlite_utils.Database) -> None:
    """Create missing tables and indexes; safe to call on every open."""
    names = set(db.table_names())
    if "calls" not in names:
        db["calls"].create(CALLS, pk="id", not_null={"started_at"})
        db["calls"].create_index(["started_at"], if_not_exists=True)
        db["calls"].create_index(["flow", "outcome"], if_not_exists=True)
    if "call_events" not in names:
        db["call_events"].create(CALL_EVENTS, pk=("call_id", "seq"),
                                 foreign_keys=[("call_id", "calls", "id")])
        db["call_events"].create_index(["kind", "state"], if_not_exists=True)
    if "survey_answers" not in names:
        db["survey_answers"].create(SURVEY_ANSWERS, pk=("call_id", "question"),
                                    foreign_keys=[("call_id", "calls", "id")])
    from callwright.store import qa

    qa.ensure(db)
    if "queue_calls" not in names:
        db["queue_calls"].create(QUEUE_CALLS, pk="call_id", foreign_keys=[("call_id", "calls", "id")])
        db["queue_calls"].create_index(["queue", "entered_at"], if_not_exists=True)
    if "dials" not in names:
        db["dials"].create(DIALS, pk="id", foreign_keys=[("call_id", "calls", "id")])
        db["dials"].create_index(["dialed_at"], if_not_exists=True)
    for sql in _REPORT_INDEXES:
        db.execute(sql)
    if "ivr_state_daily" not in names:
        db.execute(IVR_STATE_DAILY)
        db.execute(WATERFALL_TRIGGER)
        rebuild_waterfall(db)  # a database from before the table existed

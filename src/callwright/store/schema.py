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
    "create index if not exists idx_calls_customer on calls "
    "(coalesce(customer, caller_id), started_at)",
    "create index if not exists idx_call_events_waterfall on call_events (call_id, kind, state)",
)


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

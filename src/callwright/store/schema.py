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

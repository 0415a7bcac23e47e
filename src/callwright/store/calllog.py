"""The IVR call log: a row per call, its ordered events, and survey answers.

A session reports `LogEvent`s as they happen; `CallLog` buffers them per call
and writes them in one transaction per flush (the channel driver flushes after
every caller turn), so a crash loses at most the current turn and a thousand
concurrent calls do not mean a thousand commits per event.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import sqlite_utils

from callwright.ivr.events import LogEvent

if TYPE_CHECKING:
    from callwright.ivr.session import CallSession

_TEXT_KEYS = ("text", "message")


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

    def listener(self, call_id: str):
        """A callback for one session's events."""

        def on_event(ev: LogEvent) -> None:
            self._pending[call_id].append(ev)

        return on_event

    def call_started(self, session: CallSession) -> None:
        f = session.flow
        self.db["calls"].insert({
            "id": session.call_id, "flow": f.name, "flow_hash": f.content_hash,
            "flow_version": f.version,
            "direction": POST_CALL if _rated_call(session) else f.direction,
            "channel": session.channel,
            "caller_id": session.vars.get("caller_id") or None,
            "called_number": session.vars.get("called_number") or None,
            "language": session.vars.get("language"),
            "started_at": session.started_wall.isoformat(timespec="milliseconds"),
        }, replace=True)

    def flush(self, session: CallSession) -> None:
        """Write buffered events (and the call's end, if it has ended) in one transaction."""
        events = self._pending.pop(session.call_id, [])
        with self.db.atomic():
            if events:
                # The log only appends: an event already stored (same call and seq) is kept
                # as it is, so the triggers that count events never see it twice.
                self.db["call_events"].insert_all(
                    (_event_row(session.call_id, e) for e in events), ignore=True)
                answers = [e for e in events if e.kind == "survey_answer"]
                if answers:
                    self.db["survey_answers"].insert_all(({
                        "call_id": _rated_call(session) or session.call_id, "question": e.data["question"],
                        "value": int(e.data["value"]), "state": e.state, "t": e.t,
                    } for e in answers), replace=True)
            if session.ended:
                ended = session.started_wall + timedelta(seconds=session.elapsed)
                self.db["calls"].update(session.call_id, {
                    "ended_at": ended.isoformat(timespec="milliseconds"),
                    "duration_s": round(session.elapsed, 3), "outcome": session.outcome,
                    "queue": session.queue, "disposition": session.disposition,
                    "end_reason": next((e.data.get("reason") for e in reversed(session.events)
                                        if e.kind == "call_end"), None),
                    "language": session.vars.get("language"),
                    "last_state": session.visited[-1] if session.visited else None,
                })

    def set_recording(self, call_id: str, path: str) -> None:
        self.db["calls"].update(call_id, {"recording_path": path})

    def get_call(self, call_id: str) -> CallRow | None:
        rows = list(self.db.query("select id, flow, outcome, queue, disposition, started_at, "
                                  "ended_at from calls where id = ?", [call_id]))
        return CallRow(**rows[0]) if rows else None

    def events(self, call_id: str) -> list[dict[str, Any]]:
        return list(self.db.query("select * from call_events where call_id = ? order by seq",
                                  [call_id]))


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
        "call_id": call_id, "seq": e.seq, "t": e.t, "kind": e.kind, "state": e.state,
        "text": text, "mode": d.get("mode"), "confidence": d.get("confidence"),
        "count": d.get("count"), "data": json.dumps(d, ensure_ascii=False) if d else None,
    }


def outcome_summary(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """Calls per flow, outcome and queue (or disposition), most frequent first."""
    return list(db.query(
        "select flow, outcome, coalesce(queue, disposition, '') as detail, count(*) as n "
        "from calls group by 1, 2, 3 order by 1, n desc"))


def survey_stats(db: sqlite_utils.Database, question: str) -> tuple[float | None, int]:
    """(mean answer, number of answers) for one survey question."""
    row = next(db.query("select avg(value) as mean, count(*) as n from survey_answers "
                        "where question = ?", [question]))
    return row["mean"], row["n"]

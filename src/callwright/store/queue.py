"""Queue (ACD) results in the database: one `queue_calls` row per call that waited.

The ACD simulation (`callwright.reports.acd`) works in seconds from zero; this
module pins a run to the wall clock (`base`), links each simulated caller to the
IVR call that was transferred to the queue (same call id), and writes the rows
the queue KPIs are computed from. Re-storing a run replaces its rows, so a demo
can be rerun on the same database.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlite_utils

from callwright.acd.records import Caller, CallRecord, SimulationResult
from callwright.errors import DataError


@dataclass(frozen=True)
class HandleSplit:
    """How a simulated handle time divides into talk, hold and after-call work.

    The simulation draws one handle time per call (what Erlang calls AHT: the
    agent is busy for all of it); a real ACD reports the parts. The shares are
    fractions of the handle time; by default all of it is talk.
    """

    hold_share: float = 0.0
    acw_share: float = 0.0

    def __post_init__(self) -> None:
        if not (0 <= self.hold_share and 0 <= self.acw_share and self.hold_share + self.acw_share <= 1):
            raise DataError("HandleSplit: hold_share and acw_share must be >= 0 and add up to at most 1")


@dataclass(frozen=True)
class QueueArrivals:
    """IVR calls transferred to a queue, as ACD callers timed from `base`."""

    base: datetime | None
    callers: tuple[Caller, ...]


def transferred_callers(db: sqlite_utils.Database, *, include_stored: bool = False) -> QueueArrivals:
    """The IVR calls that ended in a transfer to a queue, ready for `acd.simulate(callers=...)`.

    A caller arrives in the queue when the IVR transfers them (the IVR call's
    end); priority and skill come from the transfer event. Calls already in
    `queue_calls` are left out unless `include_stored`.
    """
    rows = list(
        db.query(f"""
        select c.id, c.queue, c.ended_at,
               json_extract(e.data, '$.priority') as priority, json_extract(e.data, '$.skill') as skill
        from calls c
        left join call_events e on e.call_id = c.id and e.kind = 'transfer'
        where c.outcome = 'transferred' and c.queue is not null and c.ended_at is not null
          and (e.data is null or json_extract(e.data, '$.queue') is not null)
        {"" if include_stored else "and not exists (select 1 from queue_calls q where q.call_id = c.id)"}
        order by c.ended_at
    """)
    )
    if not rows:
        return QueueArrivals(None, ())
    times = [datetime.fromisoformat(r["ended_at"]) for r in rows]
    base = min(times)
    callers = tuple(
        Caller(
            call_id=r["id"],
            arrival_s=(t - base).total_seconds(),
            queue=r["queue"],
            priority=int(r["priority"] or 0),
            skill=r["skill"] or None,
        )
        for r, t in zip(rows, times, strict=True)
    )
    return QueueArrivals(base, callers)


def simulation_rows(
    result: SimulationResult, base: datetime, *, split: HandleSplit = HandleSplit(), source: str = "acd"
) -> list[dict[str, Any]]:
    """`queue_calls` rows for a simulation run whose time zero is `base` (pure)."""
    return [_row(c, base, split, source) for c in result.calls]


def _iso(base: datetime, s: float | None) -> str | None:
    return None if s is None else (base + timedelta(seconds=s)).isoformat(timespec="milliseconds")


def _row(c: CallRecord, base: datetime, split: HandleSplit, source: str) -> dict[str, Any]:
    handle = None
    if c.answered_s is not None and c.completed_s is not None:
        handle = round(c.completed_s - c.answered_s, 3)
    hold = None if handle is None else round(handle * split.hold_share, 3)
    acw = None if handle is None else round(handle * split.acw_share, 3)
    talk = None if handle is None or hold is None or acw is None else round(handle - hold - acw, 3)
    wait = c.wait_s
    return {
        "call_id": c.call_id,
        "queue": c.queue,
        "skill": c.skill,
        "priority": c.priority,
        "entered_at": _iso(base, c.arrived_s),
        "answered_at": _iso(base, c.answered_s),
        "abandoned_at": _iso(base, c.abandoned_s),
        "ended_at": _iso(base, c.completed_s if c.completed_s is not None else c.abandoned_s),
        "outcome": c.outcome,
        "wait_s": None if wait is None else round(wait, 3),
        "talk_s": talk,
        "hold_s": hold,
        "acw_s": acw,
        "handle_s": handle,
        "agent": c.agent_id,
        "callback_offered": int(c.callback_offered),
        "callback_accepted": int(c.callback_accepted),
        "source": source,
    }


def save_simulation(
    db: sqlite_utils.Database,
    result: SimulationResult,
    base: datetime,
    *,
    teams: Mapping[str, str] | None = None,
    split: HandleSplit = HandleSplit(),
    source: str = "acd",
) -> int:
    """Store a simulation run; returns the number of queue rows written.

    Callers whose id is an IVR call (see `transferred_callers`) are linked to it,
    and the answering agent (and their team, from `teams`) is written on the
    call unless it already names one. Callers the simulation generated itself get
    a `calls` row (inbound, no flow, `source` = `source`) so that every queue row
    has a call to group by.
    """
    if base.tzinfo is None:
        raise DataError("save_simulation: base must be a timezone-aware datetime")
    rows = simulation_rows(result, base, split=split, source=source)
    teams = teams or {}
    with db.atomic():
        existing = _existing_ids(db, (r["call_id"] for r in rows))
        db.table("calls").insert_all(
            (
                {
                    "id": r["call_id"],
                    "direction": "inbound",
                    "started_at": r["entered_at"],
                    "ended_at": r["ended_at"],
                    "queue": r["queue"],
                    "source": source,
                    "duration_s": _duration(r),
                }
                for r in rows
                if r["call_id"] not in existing
            ),
            batch_size=1000,
        )
        db.conn.executemany(
            "update calls set agent = ?, team = coalesce(team, ?) where id = ? and agent is null",
            [(r["agent"], teams.get(r["agent"]), r["call_id"]) for r in rows if r["agent"]],
        )
        db.table("queue_calls").insert_all(rows, replace=True, batch_size=1000)
    return len(rows)


def _existing_ids(db: sqlite_utils.Database, ids: Iterable[str]) -> set[str]:
    db.execute("create temp table if not exists _ids (id text primary key)")
    db.execute("delete from _ids")
    db.conn.executemany("insert or ignore into _ids values (?)", ((i,) for i in ids))
    found = {r[0] for r in db.execute("select c.id from calls c join _ids using (id)").fetchall()}
    db.execute("delete from _ids")
    return found


def _duration(row: dict[str, Any]) -> float | None:
    if row["ended_at"] is None:
        return None
    start, end = datetime.fromisoformat(row["entered_at"]), datetime.fromisoformat(row["ended_at"])
    return round((end - start).total_seconds(), 3)

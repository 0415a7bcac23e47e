"""Bulk writes for generated databases (`callwright.reports.synthetic`).

A million calls mean about ten million rows; sqlite-utils' per-row dict handling
is too slow for that, so generated rows arrive here as tuples in the column
order of `COLUMNS` and go in with `executemany`, one transaction per batch.
While loading, the secondary indexes of the loaded tables are dropped and
rebuilt at the end (one sort instead of a B-tree insert per row), the summary
triggers are dropped and the summaries (IVR waterfall, next contacts, daily KPI
cubes) recounted once at the end, and synchronous writes are off: a generated
database can simply be generated again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import sqlite_utils

from callwright.store import kpis, schema

COLUMNS: dict[str, tuple[str, ...]] = {
    "calls": (
        "id",
        "flow",
        "direction",
        "channel",
        "caller_id",
        "started_at",
        "ended_at",
        "duration_s",
        "outcome",
        "queue",
        "disposition",
        "last_state",
        "agent",
        "team",
        "customer",
        "campaign",
        "source",
    ),
    "call_events": ("call_id", "seq", "t", "kind", "state", "data"),
    "survey_answers": ("call_id", "question", "value", "state", "t"),
    "queue_calls": (
        "call_id",
        "queue",
        "skill",
        "priority",
        "entered_at",
        "answered_at",
        "abandoned_at",
        "ended_at",
        "outcome",
        "wait_s",
        "talk_s",
        "hold_s",
        "acw_s",
        "handle_s",
        "agent",
        "callback_offered",
        "callback_accepted",
        "source",
    ),
    "dials": (
        "id",
        "campaign",
        "agent",
        "team",
        "customer",
        "dialed_at",
        "result",
        "connected",
        "call_id",
        "talk_s",
        "disposition",
        "converted",
        "opted_out",
    ),
    "scores": (
        "recording_id",
        "scorecard_version",
        "call_id",
        "scorecard",
        "score",
        "auto_failed",
        "scored_at",
    ),
    "item_scores": (
        "call_id",
        "scorecard_version",
        "item_id",
        "section",
        "kind",
        "verdict",
        "points",
        "max_points",
        "auto_fail",
    ),
    "utterances": ("call_id", "idx", "speaker", "start", "end", "text", "sentiment", "sentiment_label"),
}

Batch = Mapping[str, Sequence[tuple]]


def bulk_load(db: sqlite_utils.Database, batches: Iterable[Batch]) -> dict[str, int]:
    """Insert every batch (table -> tuples in `COLUMNS` order); returns rows written per table."""
    index_sql = [
        r[0]
        for r in db.execute(
            "select sql from sqlite_master where type = 'index' and sql is not null and tbl_name in "
            f"({', '.join('?' * len(COLUMNS))})",
            list(COLUMNS),
        ).fetchall()
    ]
    names = [
        r[0]
        for r in db.execute(
            "select name from sqlite_master where type = 'index' and sql is not null and tbl_name in "
            f"({', '.join('?' * len(COLUMNS))})",
            list(COLUMNS),
        ).fetchall()
    ]
    counts = dict.fromkeys(COLUMNS, 0)
    db.execute("pragma synchronous = off")
    for trigger in schema.BULK_TRIGGERS:  # the summaries are recounted once at the end
        db.execute(f"drop trigger if exists {trigger}")
    try:
        for name in names:
            db.execute(f"drop index if exists [{name}]")
        for batch in batches:
            with db.atomic():
                for table, rows in batch.items():
                    cols = COLUMNS[table]
                    db.conn.executemany(
                        f"insert or replace into [{table}] ({', '.join(f'[{c}]' for c in cols)}) "
                        f"values ({', '.join('?' * len(cols))})",
                        rows,
                    )
                    counts[table] += len(rows)
    finally:
        for sql in index_sql:
            db.execute(
                sql.replace("CREATE INDEX", "CREATE INDEX IF NOT EXISTS", 1)
                if "IF NOT EXISTS" not in sql.upper()
                else sql
            )
        schema.rebuild_waterfall(db)
        schema.rebuild_next_contact(db)
        kpis.rebuild(db)
        schema.create_triggers(db)
        db.execute("analyze")
        db.execute("pragma synchronous = normal")
    return counts

"""QA tables: recordings, utterances (with full-text search), metrics, scores with
evidence, human reviews, and ingest errors.

A scored call is written in one transaction, keyed by (recording id, scorecard
version): a batch killed at any moment leaves each call either fully stored or
absent, and a rerun skips what is stored. Only redacted text is ever passed in.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import sqlite_utils

from callwright.qa.model import CallMeta, ConversationMetrics, ScoreResult, Transcript

CALL_EXTRA_COLUMNS = {"agent": str, "team": str, "customer": str, "campaign": str, "source": str}


def ensure(db: sqlite_utils.Database) -> None:
    names = set(db.table_names())
    calls = db["calls"]
    existing = {c.name for c in calls.columns}
    for col, typ in CALL_EXTRA_COLUMNS.items():
        if col not in existing:
            calls.add_column(col, typ)
    if "recordings" not in names:
        db["recordings"].create({"id": str, "call_id": str, "path": str, "duration_s": float,
                                 "channels": int, "rate": int, "ingested_at": str}, pk="id")
        db["recordings"].create_index(["call_id"], if_not_exists=True)
    if "utterances" not in names:
        db["utterances"].create({"call_id": str, "idx": int, "speaker": str, "start": float,
                                 "end": float, "text": str, "confidence": float,
                                 "sentiment": float, "sentiment_label": str},
                                pk=("call_id", "idx"), foreign_keys=[("call_id", "calls", "id")])
        db["utterances"].enable_fts(["text"], create_triggers=True, tokenize="porter")
    if "metrics" not in names:
        db["metrics"].create({
            "call_id": str, "handle_time_s": float, "talk_agent_s": float, "talk_customer_s": float,
            "talk_listen_ratio": float, "silence_total_s": float, "silence_longest_s": float,
            "dead_air_count": int, "dead_air_total_s": float, "hold_count": int,
            "hold_total_s": float, "overtalk_count": int, "overtalk_total_s": float,
            "interruptions_by_agent": int, "interruptions_by_customer": int,
            "rate_agent_wpm": float, "rate_customer_wpm": float,
        }, pk="call_id", foreign_keys=[("call_id", "calls", "id")])
    if "scores" not in names:
        db["scores"].create({"recording_id": str, "scorecard_version": str, "call_id": str,
                             "scorecard": str, "score": float, "auto_failed": int, "scored_at": str},
                            pk=("recording_id", "scorecard_version"),
                            foreign_keys=[("call_id", "calls", "id")])
        db["scores"].create_index(["call_id"], if_not_exists=True)
    if "item_scores" not in names:
        db["item_scores"].create({"call_id": str, "scorecard_version": str, "item_id": str,
                                  "section": str, "kind": str, "verdict": str, "points": float,
                                  "max_points": float, "auto_fail": int, "evidence": str},
                                 pk=("call_id", "scorecard_version", "item_id"),
                                 foreign_keys=[("call_id", "calls", "id")])
    if "reviews" not in names:
        db["reviews"].create({"id": int, "call_id": str, "scorecard_version": str, "item_id": str,
                              "verdict": str, "note": str, "reviewer": str, "reviewed_at": str},
                             pk="id", foreign_keys=[("call_id", "calls", "id")])
        db["reviews"].create_index(["call_id", "item_id"], if_not_exists=True)
    if "qa_errors" not in names:
        db["qa_errors"].create({"recording_id": str, "path": str, "error": str, "at": str},
                               pk=("recording_id",))


@dataclass
class ScoredCall:
    """Everything QA stores for one recording scored with one scorecard."""

    recording_id: str
    path: str
    meta: CallMeta
    channels: int
    rate: int
    transcript: Transcript
    metrics: ConversationMetrics | None
    result: ScoreResult
    source: str = "recording"


def is_scored(db: sqlite_utils.Database, recording_id: str, scorecard_version: str) -> bool:
    return bool(list(db.query("select 1 from scores where recording_id = ? and scorecard_version = ?",
                              [recording_id, scorecard_version])))


def save_scored_call(db: sqlite_utils.Database, sc: ScoredCall) -> bool:
    """Store a scored call atomically; False (and nothing written) when it was already stored."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    m, t, r = sc.meta, sc.transcript, sc.result
    with db.atomic():
        if is_scored(db, sc.recording_id, r.scorecard_version):
            return False
        call = {"id": m.call_id, "direction": m.direction, "agent": m.agent, "team": m.team,
                "customer": m.customer, "queue": m.queue, "campaign": m.campaign,
                "disposition": m.disposition, "source": sc.source,
                "duration_s": round(t.duration_s, 3), "recording_path": sc.path}
        call = {k: v for k, v in call.items() if v is not None}  # keep what the IVR logged
        if _has_call(db, m.call_id):
            db["calls"].update(m.call_id, call)
        else:
            db["calls"].insert({**call, "started_at": m.started_at or now})
        db["recordings"].upsert({"id": sc.recording_id, "call_id": m.call_id, "path": sc.path,
                                 "duration_s": t.duration_s, "channels": sc.channels,
                                 "rate": sc.rate, "ingested_at": now}, pk="id")
        db.execute("delete from utterances where call_id = ?", [m.call_id])
        db["utterances"].insert_all(({
            "call_id": m.call_id, "idx": i, "speaker": u.speaker, "start": round(u.start, 3),
            "end": round(u.end, 3), "text": u.text, "confidence": u.confidence,
            "sentiment": u.sentiment, "sentiment_label": u.sentiment_label,
        } for i, u in enumerate(t.utterances)))
        if sc.metrics is not None:
            db["metrics"].upsert(_metrics_row(m.call_id, sc.metrics), pk="call_id")
        db["scores"].insert({"recording_id": sc.recording_id,
                             "scorecard_version": r.scorecard_version, "call_id": m.call_id,
                             "scorecard": r.scorecard, "score": r.score,
                             "auto_failed": int(r.auto_failed), "scored_at": now})
        db["item_scores"].insert_all(({
            "call_id": m.call_id, "scorecard_version": r.scorecard_version, "item_id": it.item_id,
            "section": it.section, "kind": it.kind, "verdict": it.verdict, "points": it.points,
            "max_points": it.max_points, "auto_fail": int(it.auto_fail),
            "evidence": json.dumps([asdict(e) for e in it.evidence], ensure_ascii=False),
        } for it in r.items), replace=True)
        db.execute("delete from qa_errors where recording_id = ?", [sc.recording_id])
    return True


def _has_call(db: sqlite_utils.Database, call_id: str) -> bool:
    return bool(list(db.query("select 1 from calls where id = ?", [call_id])))


def _metrics_row(call_id: str, m: ConversationMetrics) -> dict[str, Any]:
    return {
        "call_id": call_id, "handle_time_s": m.handle_time_s,
        "talk_agent_s": m.talk_s.get("agent"), "talk_customer_s": m.talk_s.get("customer"),
        "talk_listen_ratio": m.talk_listen_ratio, "silence_total_s": m.silence_total_s,
        "silence_longest_s": m.silence_longest_s, "dead_air_count": len(m.dead_air),
        "dead_air_total_s": sum(s.duration for s in m.dead_air), "hold_count": len(m.holds),
        "hold_total_s": sum(s.duration for s in m.holds), "overtalk_count": len(m.overtalk),
        "overtalk_total_s": m.overtalk_total_s,
        "interruptions_by_agent": m.interruptions_by("agent"),
        "interruptions_by_customer": m.interruptions_by("customer"),
        "rate_agent_wpm": m.speech_rate_wpm.get("agent"),
        "rate_customer_wpm": m.speech_rate_wpm.get("customer"),
    }


def record_error(db: sqlite_utils.Database, recording_id: str, path: str, error: str) -> None:
    db["qa_errors"].upsert({"recording_id": recording_id, "path": path, "error": error,
                            "at": datetime.now(UTC).isoformat(timespec="seconds")},
                           pk="recording_id")


def add_review(db: sqlite_utils.Database, call_id: str, item_id: str, verdict: str, note: str,
               reviewer: str, scorecard_version: str | None = None) -> int:
    """Store a reviewer's verdict beside the automatic one (which is kept); the note is redacted
    like a transcript first (a reviewer may quote the card number they heard)."""
    from callwright.qa.redaction import redact_text

    note = redact_text(note).text
    version = scorecard_version or latest_version(db, call_id)
    if version is None:
        raise LookupError(f"call {call_id} has not been scored")
    if not list(db.query("select 1 from item_scores where call_id = ? and scorecard_version = ? "
                         "and item_id = ?", [call_id, version, item_id])):
        raise LookupError(f"call {call_id} has no scorecard item '{item_id}'")
    table = db["reviews"].insert({"call_id": call_id, "scorecard_version": version,
                                  "item_id": item_id, "verdict": verdict, "note": note,
                                  "reviewer": reviewer,
                                  "reviewed_at": datetime.now(UTC).isoformat(timespec="seconds")})
    return int(table.last_pk)


def find_call(db: sqlite_utils.Database, ref: str) -> str | None:
    """The call id for `ref`: a call id, a recording id, or a unique prefix (8+ characters) of one."""
    if _has_call(db, ref):
        return ref
    rows = list(db.query("select call_id from recordings where id = ?", [ref]))
    if not rows and len(ref) >= 8:
        rows = list(db.query("select distinct call_id from recordings where id like ? || '%' "
                             "union select id from calls where id like ? || '%' limit 2", [ref, ref]))
    return rows[0]["call_id"] if len(rows) == 1 else None


def errors(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """Inputs a batch could not score, with the reason, newest first."""
    return list(db.query("select * from qa_errors order by at desc, path"))


def latest_version(db: sqlite_utils.Database, call_id: str) -> str | None:
    rows = list(db.query("select scorecard_version from scores where call_id = ? "
                         "order by scored_at desc limit 1", [call_id]))
    return rows[0]["scorecard_version"] if rows else None


def call_view(db: sqlite_utils.Database, call_id: str) -> dict[str, Any] | None:
    """A call with its utterances, metrics, scores, items and reviews, for `qa show`."""
    calls = list(db.query("select * from calls where id = ?", [call_id]))
    if not calls:
        return None
    return {
        "call": calls[0],
        "utterances": list(db.query("select * from utterances where call_id = ? order by idx",
                                    [call_id])),
        "metrics": next(iter(db.query("select * from metrics where call_id = ?", [call_id])), None),
        "scores": list(db.query("select * from scores where call_id = ? order by scored_at",
                                [call_id])),
        "items": list(db.query("select * from item_scores where call_id = ? order by rowid",
                               [call_id])),
        "reviews": list(db.query("select * from reviews where call_id = ? order by id", [call_id])),
    }


def calibration(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """Per item: how often the automatic verdict agrees with the latest human verdict."""
    return list(db.query("""
        with latest as (
          select r.call_id, r.scorecard_version, r.item_id, r.verdict
          from reviews r
          where r.id = (select max(id) from reviews r2 where r2.call_id = r.call_id
                        and r2.scorecard_version = r.scorecard_version and r2.item_id = r.item_id)
        )
        select i.item_id, count(*) as reviewed,
               sum(i.verdict = l.verdict) as agreed,
               round(1.0 * sum(i.verdict = l.verdict) / count(*), 3) as agreement,
               sum(i.verdict = 'pass' and l.verdict = 'fail') as auto_pass_human_fail,
               sum(i.verdict = 'fail' and l.verdict = 'pass') as auto_fail_human_pass
        from item_scores i join latest l
          on l.call_id = i.call_id and l.scorecard_version = i.scorecard_version
         and l.item_id = i.item_id
        group by i.item_id order by agreement, i.item_id
    """))


def search_utterances(db: sqlite_utils.Database, query: str, limit: int = 50) -> list[dict[str, Any]]:
    return list(db.query(
        "select u.call_id, u.idx, u.speaker, u.start, u.text from utterances u "
        "join utterances_fts f on f.rowid = u.rowid where utterances_fts match ? limit ?",
        [query, limit]))

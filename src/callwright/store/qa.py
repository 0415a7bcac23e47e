"""QA tables: recordings, utterances (with full-text search), metrics, scores with
evidence, human reviews, and ingest errors.

A scored call is written in one transaction, keyed by (recording id, scorecard
version): a batch killed at any moment leaves each call either fully stored or
absent, and a rerun skips what is stored. Only redacted text is ever passed in.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import sqlite_utils

from callwright.qa.model import CallMeta, ConversationMetrics, Evidence, ScoredCall
from callwright.qa.rescore import StoredReading, stored_readings
from callwright.qa.sink import CallIdConflict
from callwright.store.pseudonyms import redact_note, stored_customer
from callwright.store.users import now_utc

CALL_EXTRA_COLUMNS = {"agent": str, "team": str, "customer": str, "campaign": str, "source": str}


def create_tables(db: sqlite_utils.Database) -> None:
    """QA's calls columns and tables, each only if missing (a step of store.migrations'
    migration 1, which also upgrades databases from before QA existed)."""
    names = set(db.table_names())
    calls = db.table("calls")
    existing = {c.name for c in calls.columns}
    for col, typ in CALL_EXTRA_COLUMNS.items():
        if col not in existing:
            calls.add_column(col, typ)
    if "recordings" not in names:
        db.table("recordings").create(
            {
                "id": str,
                "call_id": str,
                "path": str,
                "duration_s": float,
                "channels": int,
                "rate": int,
                "ingested_at": str,
            },
            pk="id",
        )
        db.table("recordings").create_index(["call_id"], if_not_exists=True)
    if "utterances" not in names:
        db.table("utterances").create(
            {
                "call_id": str,
                "idx": int,
                "speaker": str,
                "start": float,
                "end": float,
                "text": str,
                "confidence": float,
                "sentiment": float,
                "sentiment_label": str,
            },
            pk=("call_id", "idx"),
            foreign_keys=[("call_id", "calls", "id")],
        )
        db.table("utterances").enable_fts(["text"], create_triggers=True, tokenize="porter")
    if "metrics" not in names:
        db.table("metrics").create(
            {
                "call_id": str,
                "handle_time_s": float,
                "talk_agent_s": float,
                "talk_customer_s": float,
                "talk_listen_ratio": float,
                "silence_total_s": float,
                "silence_longest_s": float,
                "dead_air_count": int,
                "dead_air_total_s": float,
                "hold_count": int,
                "hold_total_s": float,
                "overtalk_count": int,
                "overtalk_total_s": float,
                "interruptions_by_agent": int,
                "interruptions_by_customer": int,
                "rate_agent_wpm": float,
                "rate_customer_wpm": float,
            },
            pk="call_id",
            foreign_keys=[("call_id", "calls", "id")],
        )
    if "scores" not in names:
        db.table("scores").create(
            {
                "recording_id": str,
                "scorecard_version": str,
                "call_id": str,
                "scorecard": str,
                "score": float,
                "auto_failed": int,
                "scored_at": str,
            },
            pk=("recording_id", "scorecard_version"),
            foreign_keys=[("call_id", "calls", "id")],
        )
        db.table("scores").create_index(["call_id"], if_not_exists=True)
    if "item_scores" not in names:
        db.table("item_scores").create(
            {
                "call_id": str,
                "scorecard_version": str,
                "item_id": str,
                "section": str,
                "kind": str,
                "verdict": str,
                "points": float,
                "max_points": float,
                "auto_fail": int,
                "evidence": str,
            },
            pk=("call_id", "scorecard_version", "item_id"),
            foreign_keys=[("call_id", "calls", "id")],
        )
    if "reviews" not in names:
        db.table("reviews").create(
            {
                "id": int,
                "call_id": str,
                "scorecard_version": str,
                "item_id": str,
                "verdict": str,
                "note": str,
                "reviewer": str,
                "reviewed_at": str,
            },
            pk="id",
            foreign_keys=[("call_id", "calls", "id")],
        )
        db.table("reviews").create_index(["call_id", "item_id"], if_not_exists=True)
    if "qa_errors" not in names:
        db.table("qa_errors").create(
            {"recording_id": str, "path": str, "error": str, "at": str}, pk=("recording_id",)
        )


def is_scored(db: sqlite_utils.Database, recording_id: str, scorecard_version: str) -> bool:
    return bool(
        list(
            db.query(
                "select 1 from scores where recording_id = ? and scorecard_version = ?",
                [recording_id, scorecard_version],
            )
        )
    )


def call_id_conflict(
    db: sqlite_utils.Database, call_id: str, recording_id: str, path: str, source: str
) -> str | None:
    """Why `path` may not be stored under `call_id` (None: it may).

    A call id names one call. Storing a second input under it would replace the
    first one's transcript and scores and mix the two inputs' metadata in the
    calls row, so it is refused (docs/qa.md, "One call id, one call"):

    - another recording or transcript is stored under this id (a different
      recording id from another path): refused, naming it. The same path with
      new content (a re-exported recording, a corrected transcript) is scored
      into its call again;
    - an IVR call has this id (a calls row that QA did not create): its
      recording may be scored into it (QA adds its fields and keeps the IVR's);
      a transcript is refused, and so is a recording other than the file the
      call names as its own (`calls.recording_path`, when that file exists).

    The same recording scored again (with another scorecard version) is fine.
    """
    others = [
        r["path"]
        for r in db.query(
            "select path from recordings where call_id = ? and id != ?", [call_id, recording_id]
        )
        if not _same_path(r["path"], path)
    ]
    if others:
        return (
            f"call id '{call_id}' is already used by {others[0]} (another input); "
            "each call needs its own call id"
        )
    if list(db.query("select 1 from recordings where call_id = ? limit 1", [call_id])):
        return None  # this input (or an earlier version of it at the same path): a rescore
    rows = list(db.query("select recording_path from calls where id = ?", [call_id]))
    if not rows:
        return None
    ivr_recording = rows[0]["recording_path"]
    if source != "recording":
        return (
            f"call id '{call_id}' is an IVR call in the database; a transcript may not replace it "
            "(score the call's recording)"
        )
    if ivr_recording and Path(ivr_recording).is_file() and not _same_file(ivr_recording, path):
        return (
            f"call id '{call_id}' is an IVR call in the database recorded as {ivr_recording}; "
            "another recording may not replace it"
        )
    return None


def _same_path(a: str, b: str) -> bool:
    try:
        return Path(a).resolve() == Path(b).resolve()
    except (OSError, RuntimeError):
        return a == b


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return Path(a).resolve() == Path(b).resolve()


def save_scored_call(db: sqlite_utils.Database, sc: ScoredCall) -> bool:
    """Store a scored call atomically; False (and nothing written) when it was already stored.

    Raises `CallIdConflict` (nothing written) when its call id belongs to another input or to an
    IVR call (`call_id_conflict`).
    """
    now = now_utc()
    m, t, r = sc.meta, sc.transcript, sc.result
    with db.atomic():
        if is_scored(db, sc.recording_id, r.scorecard_version):
            return False
        conflict = call_id_conflict(db, m.call_id, sc.recording_id, sc.path, sc.source)
        if conflict is not None:
            raise CallIdConflict(
                f"{sc.path}: {conflict}",
                hint="give each call its own call_id (sidecar, manifest or transcript)",
            )
        call = {
            "id": m.call_id,
            "direction": m.direction,
            "agent": m.agent,
            "team": m.team,
            "customer": stored_customer(db, m.customer),  # a name: its pseudonym, never the name
            "attributes": _attributes_json(m),
            "queue": m.queue,
            "campaign": m.campaign,
            "disposition": m.disposition,
            "source": sc.source,
            "duration_s": round(t.duration_s, 3),
            "recording_path": sc.path,
        }
        call = {k: v for k, v in call.items() if v is not None}  # keep what the IVR logged
        if _has_call(db, m.call_id):
            db.table("calls").update(m.call_id, call)
        else:
            db.table("calls").insert({**call, "started_at": m.started_at or now})
        db.table("recordings").upsert(
            {
                "id": sc.recording_id,
                "call_id": m.call_id,
                "path": sc.path,
                "duration_s": t.duration_s,
                "channels": sc.channels,
                "rate": sc.rate,
                "ingested_at": now,
                "language": t.language,
                "language_probability": t.language_probability,
            },
            pk="id",
        )
        db.execute("delete from utterances where call_id = ?", [m.call_id])
        db.table("utterances").insert_all(
            (
                {
                    "call_id": m.call_id,
                    "idx": i,
                    "speaker": u.speaker,
                    "start": round(u.start, 3),
                    "end": round(u.end, 3),
                    "text": u.text,
                    "confidence": u.confidence,
                    "sentiment": u.sentiment,
                    "sentiment_label": u.sentiment_label,
                }
                for i, u in enumerate(t.utterances)
            )
        )
        if sc.metrics is not None:
            db.table("metrics").upsert(_metrics_row(m.call_id, sc.metrics), pk="call_id")
        _insert_result(db, sc.recording_id, m.call_id, r, now)
        db.execute("delete from qa_errors where recording_id = ?", [sc.recording_id])
    return True


def _attributes_json(meta: CallMeta) -> str | None:
    """A call's own fields as stored: text redacted like its transcript (a CRM export may hold
    an e-mail or the customer's name there), so they can choose a scorecard again on rescore."""
    from callwright.redaction import names_from_metadata, redact_text

    if not meta.attributes:
        return None
    names = names_from_metadata(meta.fields())
    shown = {k: redact_text(v, names=names).text if isinstance(v, str) else v for k, v in meta.attributes}
    return json.dumps(shown, ensure_ascii=False, sort_keys=True)


def _has_call(db: sqlite_utils.Database, call_id: str) -> bool:
    return bool(list(db.query("select 1 from calls where id = ?", [call_id])))


def _metrics_row(call_id: str, m: ConversationMetrics) -> dict[str, Any]:
    return {
        "call_id": call_id,
        "handle_time_s": m.handle_time_s,
        "talk_agent_s": m.talk_s.get("agent"),
        "talk_customer_s": m.talk_s.get("customer"),
        "talk_listen_ratio": m.talk_listen_ratio,
        "silence_total_s": m.silence_total_s,
        "silence_longest_s": m.silence_longest_s,
        "dead_air_count": len(m.dead_air),
        "dead_air_total_s": sum(s.duration for s in m.dead_air),
        "hold_count": len(m.holds),
        "hold_total_s": sum(s.duration for s in m.holds),
        "overtalk_count": len(m.overtalk),
        "overtalk_total_s": m.overtalk_total_s,
        "interruptions_by_agent": m.interruptions_by("agent"),
        "interruptions_by_customer": m.interruptions_by("customer"),
        "rate_agent_wpm": m.speech_rate_wpm.get("agent"),
        "rate_customer_wpm": m.speech_rate_wpm.get("customer"),
    }


def record_error(db: sqlite_utils.Database, recording_id: str, path: str, error: str) -> None:
    db.table("qa_errors").upsert(
        {
            "recording_id": recording_id,
            "path": path,
            "error": error,
            "at": now_utc(),
        },
        pk="recording_id",
    )


def add_review(
    db: sqlite_utils.Database,
    call_id: str,
    item_id: str,
    verdict: str,
    note: str,
    reviewer: str,
    scorecard_version: str | None = None,
) -> int:
    """Store a reviewer's verdict beside the automatic one (which is kept); the note is redacted
    like a transcript first (a reviewer may quote the card number they heard)."""
    note = redact_note(db, call_id, note)
    version = scorecard_version or latest_version(db, call_id)
    if version is None:
        raise LookupError(f"call {call_id} has not been scored")
    if not list(
        db.query(
            "select 1 from item_scores where call_id = ? and scorecard_version = ? and item_id = ?",
            [call_id, version, item_id],
        )
    ):
        raise LookupError(f"call {call_id} has no scorecard item '{item_id}'")
    table = db.table("reviews").insert(
        {
            "call_id": call_id,
            "scorecard_version": version,
            "item_id": item_id,
            "verdict": verdict,
            "note": note,
            "reviewer": reviewer,
            "reviewed_at": now_utc(),
        }
    )
    assert table.last_pk is not None  # sqlite-utils sets it on every insert
    return int(table.last_pk)


def find_call(db: sqlite_utils.Database, ref: str) -> str | None:
    """The call id for `ref`: a call id, a recording id, or a unique prefix (8+ characters) of one."""
    if _has_call(db, ref):
        return ref
    rows = list(db.query("select call_id from recordings where id = ?", [ref]))
    if not rows and len(ref) >= 8:
        rows = list(
            db.query(
                "select distinct call_id from recordings where id like ? || '%' "
                "union select id from calls where id like ? || '%' limit 2",
                [ref, ref],
            )
        )
    return rows[0]["call_id"] if len(rows) == 1 else None


def errors(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """Inputs a batch could not score, with the reason, newest first."""
    return list(db.query("select * from qa_errors order by at desc, path"))


def latest_version(db: sqlite_utils.Database, call_id: str) -> str | None:
    rows = list(
        db.query(
            "select scorecard_version from scores where call_id = ? order by scored_at desc limit 1",
            [call_id],
        )
    )
    return rows[0]["scorecard_version"] if rows else None


def call_view(db: sqlite_utils.Database, call_id: str) -> dict[str, Any] | None:
    """A call with its utterances, metrics, scores, items and reviews, for `qa show`."""
    calls = list(db.query("select * from calls where id = ?", [call_id]))
    if not calls:
        return None
    return {
        "call": calls[0],
        # the latest recording of the call: its path, and the language its transcript is in
        "recording": next(
            iter(
                db.query(
                    "select * from recordings where call_id = ? order by ingested_at desc limit 1", [call_id]
                )
            ),
            None,
        ),
        "utterances": list(db.query("select * from utterances where call_id = ? order by idx", [call_id])),
        "metrics": next(iter(db.query("select * from metrics where call_id = ?", [call_id])), None),
        "scores": list(db.query("select * from scores where call_id = ? order by scored_at", [call_id])),
        "items": list(db.query("select * from item_scores where call_id = ? order by rowid", [call_id])),
        "reviews": list(db.query("select * from reviews where call_id = ? order by id", [call_id])),
        # the score of record (reviewed where a reviewer changed a verdict; store.reviews)
        "scores_of_record": list(db.query("select * from scores_of_record where call_id = ?", [call_id])),
        "items_of_record": list(
            db.query(
                "select scorecard_version, item_id, verdict, points, max_points, auto_fail, reviewer "
                "from item_scores_of_record where call_id = ?",
                [call_id],
            )
        ),
    }


def calibration(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """Per item: how often the automatic verdict agrees with the latest human verdict."""
    return list(
        db.query("""
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
    """)
    )


_TERM = re.compile(r'"([^"]*)"?|(\S+)')


def fts_query(text: str) -> str:
    """A user's search as an FTS5 query that cannot be a syntax error.

    Words and "quoted phrases" (an unclosed quote runs to the end) are each
    quoted as FTS5 strings, so punctuation (`don't`, `-`, `:`, `OR`) is never
    read as FTS5 syntax; all of them must match. A word ending in `*` matches as
    a prefix (`refund*`). Empty when nothing searchable is left.
    """
    terms = []
    for m in _TERM.finditer(text):
        phrase, word = m.group(1), m.group(2)
        prefix = False
        if word is not None:
            prefix = word.endswith("*") and len(word.rstrip("*")) > 0
            phrase = word.rstrip("*") if prefix else word
        if phrase is None or not re.search(r"\w", phrase):
            continue
        terms.append('"' + phrase.replace('"', '""') + '"' + ("*" if prefix else ""))
    return " ".join(terms)


def search_utterances(db: sqlite_utils.Database, query: str, limit: int = 50) -> list[dict[str, Any]]:
    """Utterances whose redacted text has every word and phrase of `query` (`fts_query`)."""
    match = fts_query(query)
    if not match:
        return []
    return list(
        db.query(
            "select u.call_id, u.idx, u.speaker, u.start, u.text from utterances u "
            "join utterances_fts f on f.rowid = u.rowid where utterances_fts match ? limit ?",
            [match, limit],
        )
    )


# -- rescore and list (qa rescore, qa list) ---------------------------------------------------------------


def stored_call_ids(
    db: sqlite_utils.Database, *, call_ids: list[str] | None = None, scorecard: str | None = None
) -> list[str]:
    """Calls with a stored transcript (and a recording row), optionally only those given or those
    scored with a scorecard id; in call id order."""
    sql = "select distinct r.call_id from recordings r join utterances u on u.call_id = r.call_id"
    where, params = [], []
    if call_ids:
        where.append(f"r.call_id in ({', '.join('?' for _ in call_ids)})")
        params.extend(call_ids)
    if scorecard:
        where.append("r.call_id in (select call_id from scores where scorecard = ?)")
        params.append(scorecard)
    if where:
        sql += " where " + " and ".join(where)
    return [row["call_id"] for row in db.query(sql + " order by r.call_id", params)]


FILTER_COLUMNS = {
    "scorecard": "select distinct scorecard from scores",
    "agent": "select distinct agent from calls where agent is not null",
    "queue": "select distinct queue from calls where queue is not null",
    "campaign": "select distinct campaign from calls where campaign is not null",
    "item": "select distinct item_id from item_scores",
}
"""The stored values a `qa list` / `qa rescore` filter can name (`known_values`)."""


def known_values(db: sqlite_utils.Database, what: str) -> list[str]:
    """Every stored value of a filter (`FILTER_COLUMNS`), sorted: for a did-you-mean when a
    filter matches nothing."""
    return sorted(str(row[0]) for row in db.execute(FILTER_COLUMNS[what]).fetchall())


def stored_call(db: sqlite_utils.Database, call_id: str) -> tuple[str, Any, Any, Any]:
    """(recording id, CallMeta, Transcript, ConversationMetrics or None) of a stored call, rebuilt
    from its rows for a rescore without transcribing again.

    What the rows do not keep is rebuilt from their sums: word times (span times are then
    interpolated), and the single silences and over-talks (each dead air, hold and over-talk gets
    the mean duration; `rescore_gaps` names the measures this cannot give)."""
    from callwright.qa.model import CallMeta, Overtalk, Role, Silence, Transcript, Utterance

    call = db.table("calls").get(call_id)
    rec = next(
        iter(
            db.query(
                "select * from recordings where call_id = ? order by ingested_at desc limit 1", [call_id]
            )
        )
    )
    meta = CallMeta(
        call_id=call_id,
        direction=call.get("direction") if call.get("direction") in ("inbound", "outbound") else None,
        agent=call.get("agent"),
        team=call.get("team"),
        customer=call.get("customer"),
        queue=call.get("queue"),
        campaign=call.get("campaign"),
        started_at=call.get("started_at"),
        disposition=call.get("disposition"),
        attributes=tuple(sorted(json.loads(call.get("attributes") or "{}").items())),
    )
    utts = [
        Utterance(
            u["speaker"],
            u["start"],
            u["end"],
            u["text"] or "",
            confidence=u["confidence"] if u["confidence"] is not None else 1.0,
            sentiment=u["sentiment"],
            sentiment_label=u["sentiment_label"],
        )  # fmt: skip
        for u in db.query("select * from utterances where call_id = ? order by idx", [call_id])
    ]
    duration = rec.get("duration_s") or call.get("duration_s") or max((u.end for u in utts), default=0.0)
    source: Literal["audio", "transcript"] = "transcript" if call.get("source") == "transcript" else "audio"
    transcript = Transcript(
        call_id,
        duration,
        utts,
        # as ingest decides it: nobody labelled (a mono recording) is a call not separated
        diarization="none" if {u.speaker for u in utts} <= {"unknown"} else "channels",
        source=source,
        language=rec.get("language"),
        language_probability=rec.get("language_probability"),
    )
    m = next(iter(db.query("select * from metrics where call_id = ?", [call_id])), None)
    metrics = None
    if m is not None:
        from callwright.qa.model import ConversationMetrics

        def spread(count: int | None, total: float | None) -> list[Any]:
            n = int(count or 0)
            return [Silence(0.0, (total or 0.0) / n) for _ in range(n)]

        by_agent, by_customer = (
            int(m["interruptions_by_agent"] or 0),
            int(m["interruptions_by_customer"] or 0),
        )
        n_over = int(m["overtalk_count"] or 0)
        each = (m["overtalk_total_s"] or 0.0) / n_over if n_over else 0.0
        agent: list[Role] = ["agent"]
        customer: list[Role] = ["customer"]
        unknown: list[Role] = ["unknown"]
        roles = agent * by_agent + customer * by_customer
        roles += unknown * max(0, n_over - len(roles))
        metrics = ConversationMetrics(
            handle_time_s=m["handle_time_s"] or 0.0,
            talk_s={"agent": m["talk_agent_s"] or 0.0, "customer": m["talk_customer_s"] or 0.0},
            talk_listen_ratio=m["talk_listen_ratio"],
            silence_total_s=m["silence_total_s"] or 0.0,
            silence_longest_s=m["silence_longest_s"] or 0.0,
            dead_air=spread(m["dead_air_count"], m["dead_air_total_s"]),
            holds=spread(m["hold_count"], m["hold_total_s"]),
            overtalk=[Overtalk(0.0, each, r) for r in roles[:n_over]],
            speech_rate_wpm={
                k: v
                for k, v in (("agent", m["rate_agent_wpm"]), ("customer", m["rate_customer_wpm"]))
                if v is not None
            },
        )
    return rec["id"], meta, transcript, metrics


RESCORE_GAPS = ("dead_air_longest_s", "hold_longest_s")
"""Metrics a rescore cannot give: the rows keep counts and totals of silences, not each one."""


def stored_second_readings(db: sqlite_utils.Database, call_id: str) -> dict[str, list[StoredReading]]:
    """Per item id, the second readings a second listen passed it on in the call's latest score
    that has any for it (`qa.rescore`: a rescore reads them instead of listening again)."""
    out: dict[str, list[StoredReading]] = {}
    rows = db.query(
        "select i.item_id, i.evidence from item_scores i join scores s "
        "on s.call_id = i.call_id and s.scorecard_version = i.scorecard_version "
        "where i.call_id = ? and i.evidence like '%heard again at %' order by s.scored_at desc, i.rowid",
        [call_id],
    )
    for row in rows:
        if row["item_id"] in out:
            continue  # a later score's readings for this item came first
        evidence = [Evidence(**_evidence_fields(e)) for e in json.loads(row["evidence"] or "[]")]
        readings = stored_readings(evidence)
        if readings:
            out[row["item_id"]] = readings
    return out


def _evidence_fields(raw: dict[str, Any]) -> dict[str, Any]:
    known = {f.name for f in dataclasses.fields(Evidence)}
    return {k: tuple(v) if isinstance(v, list) else v for k, v in raw.items() if k in known}


def save_rescore(db: sqlite_utils.Database, recording_id: str, result: Any) -> bool:
    """Store a new scorecard version's result for a stored call (its transcript is kept as it is);
    False (nothing written) when this recording was already scored with that version."""
    now = now_utc()
    with db.atomic():
        if is_scored(db, recording_id, result.scorecard_version):
            return False
        _insert_result(db, recording_id, result.call_id, result, now)
    return True


def _after_latest(db: sqlite_utils.Database, call_id: str, scorecard: str, now: str) -> str:
    """`now`, or one second after the call's latest score on this scorecard when that is not older.

    Every reader takes a call's score of record as the row with the latest `scored_at` (to the
    second, the tables' one format): two scores within one second would both be "latest" and the
    call would be listed twice. Keeping `scored_at` strictly increasing per (call, scorecard)
    here, the one place scores are written, keeps every reader right."""
    row = db.execute(
        "select max(scored_at) from scores where call_id = ? and scorecard = ?", [call_id, scorecard]
    ).fetchone()
    latest = row[0] if row else None
    if latest is None or latest < now:
        return now
    try:
        bumped = datetime.strptime(latest, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC) + timedelta(seconds=1)
    except ValueError:  # not the tables' format (a hand-edited row): ordering it is not ours to guess
        return now
    return bumped.strftime("%Y-%m-%dT%H:%M:%SZ")


def _insert_result(db: sqlite_utils.Database, recording_id: str, call_id: str, result: Any, now: str) -> None:
    """A scorecard result's rows: its score and one row per item (inside the caller's transaction)."""
    db.table("scores").insert(
        {
            "recording_id": recording_id,
            "scorecard_version": result.scorecard_version,
            "call_id": call_id,
            "scorecard": result.scorecard,
            "score": result.score,
            "auto_failed": int(result.auto_failed),
            "scored_at": _after_latest(db, call_id, result.scorecard, now),
        }
    )
    db.table("item_scores").insert_all(
        (
            {
                "call_id": call_id,
                "scorecard_version": result.scorecard_version,
                "item_id": it.item_id,
                "section": it.section,
                "kind": it.kind,
                "verdict": it.verdict,
                "points": it.points,
                "max_points": it.max_points,
                "auto_fail": int(it.auto_fail),
                "evidence": evidence_json(it.evidence),
            }
            for it in result.items
        ),
        replace=True,
    )


def evidence_json(evidence: list[Any]) -> str:
    """item_scores.evidence: a JSON list of Evidence objects; `span_chars` and `span_times` are
    two-number lists (or null): the matched words' character offsets into `text` and their times."""
    return json.dumps([asdict(e) for e in evidence], ensure_ascii=False)


LIST_LIMIT = 10_000
"""Most rows `qa list` returns (it pages with --limit)."""


def _started_at_against(bound: datetime) -> tuple[str, str]:
    """The SQL side and the value to compare a call's start with.

    `calls.started_at` keeps the call's local time with its offset. A bound with an offset is
    an instant: compared in UTC (SQLite's `julianday` reads the offset). A bound without one is
    a wall-clock time, compared with each call's local time, as the reports count days: "since
    2024-05-06" is every call from that local midnight on, wherever it was taken."""
    if bound.tzinfo is not None:
        utc = bound.astimezone(UTC).replace(tzinfo=None)
        return "julianday(c.started_at)", utc.strftime("%Y-%m-%d %H:%M:%S.%f")[:23]
    return "julianday(substr(c.started_at, 1, 19))", bound.strftime("%Y-%m-%d %H:%M:%S.%f")[:23]


def list_scores(
    db: sqlite_utils.Database,
    *,
    scorecard: str | None = None,
    agent: str | None = None,
    queue: str | None = None,
    campaign: str | None = None,
    direction: str | None = None,
    min_score: float | None = None,
    max_score: float | None = None,
    auto_failed: bool | None = None,
    item: str | None = None,
    verdict: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Scored calls, the latest score of each (call, scorecard), newest call first, filtered.

    `item` with `verdict` keeps the calls whose latest score has that item with that verdict
    (`item` alone: those where the item was scored at all). `since` and `until` as
    `_started_at_against` compares them."""
    where = [
        "s.scored_at = (select max(s2.scored_at) from scores s2 "
        "where s2.call_id = s.call_id and s2.scorecard = s.scorecard)"
    ]
    params: list[Any] = []
    for column, value in (
        ("s.scorecard", scorecard),
        ("c.agent", agent),
        ("c.queue", queue),
        ("c.campaign", campaign),
        ("c.direction", direction),
    ):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    if min_score is not None:
        where.append("s.score >= ?")
        params.append(min_score)
    if max_score is not None:
        where.append("s.score <= ?")
        params.append(max_score)
    if auto_failed is not None:
        where.append("s.auto_failed = ?")
        params.append(int(auto_failed))
    for bound, op in ((since, ">="), (until, "<")):
        if bound is not None:
            column, value = _started_at_against(bound)
            where.append(f"{column} {op} julianday(?)")
            params.append(value)
    if item is not None:
        cond = "i.call_id = s.call_id and i.scorecard_version = s.scorecard_version and i.item_id = ?"
        params.append(item)
        if verdict is not None:
            cond += " and i.verdict = ?"
            params.append(verdict)
        where.append(f"exists (select 1 from item_scores i where {cond})")
    sql = (
        "select s.call_id, s.scorecard, s.scorecard_version, s.score, s.auto_failed, s.scored_at, "
        "c.started_at, c.direction, c.agent, c.queue, c.campaign, c.duration_s "
        "from scores s join calls c on c.id = s.call_id where "
        + " and ".join(where)
        + " order by julianday(c.started_at) desc, c.started_at desc, s.call_id limit ?"
    )
    params.append(min(max(limit, 1), LIST_LIMIT))
    return list(db.query(sql, params))

"""Reviews and the score of record; the calls list and call page reads of the review app.

A reviewer's verdict is stored beside the automatic one (`reviews`, every one kept, and the
audit log), and the call's score is recomputed with the scorecard's own rules
(`qa.scorecard.scoring.apply_reviews`: not-applicable items leave the denominator, a failed
auto-fail item zeroes the score) into `reviewed_scores` / `reviewed_items`. The views
`scores_of_record` and `item_scores_of_record` (migration 2) give the reviewed score where there
is one and the automatic one elsewhere; everything that reports a score reads them.

Reviews are keyed by (call, scorecard version, item): a review of one version never changes
another version's score. Recomputing needs the version's sections, weights and points, kept in
`scorecard_versions` when a batch scores (`save_scorecard`): the YAML file may have changed since.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal, cast

import sqlite_utils

from callwright.qa.model import ItemResult, ScoreResult, Verdict
from callwright.qa.scorecard.model import (
    DEFAULT_THRESHOLD,
    Item,
    ManualRule,
    OrderRule,
    PhraseRule,
    Scorecard,
    Section,
)
from callwright.store.pseudonyms import redact_note
from callwright.store.users import audit, now_utc

REVIEW_VERDICTS: tuple[str, ...] = ("pass", "fail", "na")
MAX_NOTE_CHARS = 4000
"""A review note longer than this is refused (a note is a sentence or two, not a document)."""


class ReviewError(ValueError):
    """A review that cannot be stored: an unknown call, item or verdict (the message says which)."""


@contextmanager
def write_transaction(db: sqlite_utils.Database) -> Iterator[None]:
    """A transaction that takes the write lock before it reads (`BEGIN IMMEDIATE`, waiting up to
    the busy timeout for another writer). sqlite-utils' `atomic` begins a deferred transaction: two
    reviewers saving at once both read, then the second one's upgrade to a writer fails at once with
    "database is locked" (its snapshot went stale). Inside a transaction already, a savepoint."""
    if db.conn.in_transaction:
        with db.atomic():
            yield
        return
    db.execute("begin immediate")
    try:
        yield
    except BaseException:
        if db.conn.in_transaction:
            db.execute("rollback")
        raise
    db.execute("commit")


# --- scorecard versions ----------------------------------------------------------------------------


def scorecard_definition(card: Scorecard) -> dict[str, Any]:
    """What recomputing a total needs of a scorecard, as JSON-able data."""
    return {
        "id": card.id,
        "name": card.name,
        "revision": card.revision,
        "applies_to": card.applies_to,
        "sections": [
            {
                "id": s.id,
                "name": s.name,
                "weight": s.weight,
                "items": [
                    {
                        "id": it.id,
                        "name": it.name,
                        "kind": it.kind,
                        "points": it.points,
                        "auto_fail": it.auto_fail,
                        "question": it.rule.question if isinstance(it.rule, ManualRule) else None,
                        # what a similarity was compared with (the low-confidence queue's margin)
                        "thresholds": _thresholds(it),
                    }
                    for it in s.items
                ],
            }
            for s in card.sections
        ],
    }


def _thresholds(item: Item) -> list[float]:
    """The similarity thresholds of a phrase, forbidden or order item (none for other kinds)."""
    if isinstance(item.rule, PhraseRule):
        return [item.rule.threshold]
    if isinstance(item.rule, OrderRule):
        return [item.rule.first.threshold, item.rule.then.threshold]
    return []


def save_scorecard(db: sqlite_utils.Database, card: Scorecard) -> None:
    """Keep a scorecard version's structure (once per version; a version is a content hash)."""
    db.execute(
        "insert or ignore into scorecard_versions (version, scorecard, name, revision, definition, saved_at) "
        "values (?, ?, ?, ?, ?, ?)",
        [
            card.version,
            card.id,
            card.name,
            card.revision,
            json.dumps(scorecard_definition(card), ensure_ascii=False),
            now_utc(),
        ],
    )


def load_scorecard_version(db: sqlite_utils.Database, version: str) -> Scorecard | None:
    """The kept structure of a scorecard version, for totals only: every item's rule is a
    `ManualRule` carrying the manual question (or ""), since reviews never rerun the matching."""
    rows = list(db.query("select definition from scorecard_versions where version = ?", [version]))
    if not rows:
        return None
    d = json.loads(rows[0]["definition"])
    sections = tuple(
        Section(
            s["id"],
            s["name"],
            s["weight"],
            tuple(
                Item(
                    id=i["id"],
                    section=s["id"],
                    kind=i["kind"],
                    rule=ManualRule(i.get("question") or ""),
                    name=i.get("name") or "",
                    points=float(i["points"]),
                    auto_fail=bool(i["auto_fail"]),
                )
                for i in s["items"]
            ),
        )
        for s in d["sections"]
    )
    return Scorecard(d["id"], d["name"], "", version, d.get("revision"), d["applies_to"], sections)


# --- reviews -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewOutcome:
    """A stored review: the verdict of record now, what it replaced, and the call's score of record."""

    review_id: int
    call_id: str
    scorecard_version: str
    item_id: str
    verdict: str
    automatic: str  # the machine's verdict, kept
    replaced: dict[str, Any] | None  # the review that was the verdict of record before this one
    superseded_since_seen: bool  # another review of this item landed after the reviewer's page loaded
    recomputed: bool  # False: the scorecard version is not kept, the score of record is unchanged
    score: float | None
    auto_failed: bool


def _latest_review(
    db: sqlite_utils.Database, call_id: str, version: str, item_id: str
) -> dict[str, Any] | None:
    rows = list(
        db.query(
            "select * from reviews where call_id = ? and scorecard_version = ? and item_id = ? "
            "order by id desc limit 1",
            [call_id, version, item_id],
        )
    )
    return rows[0] if rows else None


def latest_version(db: sqlite_utils.Database, call_id: str) -> str | None:
    rows = list(
        db.query(
            "select scorecard_version from scores where call_id = ? "
            "order by scored_at desc, rowid desc limit 1",
            [call_id],
        )
    )
    return rows[0]["scorecard_version"] if rows else None


def record_review(
    db: sqlite_utils.Database,
    call_id: str,
    item_id: str,
    verdict: str,
    note: str,
    reviewer: str,
    *,
    scorecard_version: str | None = None,
    seen_review_id: int | None = None,
) -> ReviewOutcome:
    """Store one reviewer's verdict on one item, audit it and recompute the call's score of record,
    all in one transaction. The note is redacted like a transcript first (a reviewer may quote the
    card number they heard). `seen_review_id` is the latest review id of the item the reviewer saw:
    when another one landed since, the outcome says so (the later save wins, both are kept).

    Raises ReviewError (nothing written) for an unknown call, version or item, a verdict other than
    pass/fail/na, or a note over `MAX_NOTE_CHARS`."""
    if verdict not in REVIEW_VERDICTS:
        raise ReviewError(f"verdict '{verdict}': expected one of {', '.join(REVIEW_VERDICTS)}")
    if len(note) > MAX_NOTE_CHARS:
        raise ReviewError(f"the note has {len(note)} characters; at most {MAX_NOTE_CHARS} are kept")
    if not reviewer.strip():
        raise ReviewError("a review needs the reviewer's name")
    if not list(db.query("select 1 from calls where id = ?", [call_id])):
        raise ReviewError(f"no call '{call_id}' in the database")
    version = scorecard_version or latest_version(db, call_id)
    if version is None:
        raise ReviewError(f"call '{call_id}' has not been scored")
    auto = list(
        db.query(
            "select verdict from item_scores where call_id = ? and scorecard_version = ? and item_id = ?",
            [call_id, version, item_id],
        )
    )
    if not auto:
        raise ReviewError(
            f"call '{call_id}' has no scorecard item '{item_id}' in scorecard version {version}"
        )
    note = redact_note(db, call_id, note)
    now = now_utc()
    with write_transaction(db):
        previous = _latest_review(db, call_id, version, item_id)
        cur = db.execute(
            "insert into reviews (call_id, scorecard_version, item_id, verdict, note, reviewer, reviewed_at) "
            "values (?, ?, ?, ?, ?, ?, ?)",
            [call_id, version, item_id, verdict, note, reviewer, now],
        )
        review_id = int(cur.lastrowid or 0)
        superseded = previous is not None and seen_review_id is not None and previous["id"] != seen_review_id
        audit(
            db,
            reviewer,
            "review",
            call_id=call_id,
            scorecard_version=version,
            item_id=item_id,
            detail={
                "review_id": review_id,
                "verdict": verdict,
                "automatic": auto[0]["verdict"],
                "replaced_review_id": None if previous is None else previous["id"],
                "replaced_verdict": None if previous is None else previous["verdict"],
                "note": note,
            },
        )
        recomputed = recompute(db, call_id, version)
    record = score_of_record(db, call_id, version)
    return ReviewOutcome(
        review_id,
        call_id,
        version,
        item_id,
        verdict,
        auto[0]["verdict"],
        previous,
        superseded,
        recomputed,
        None if record is None else record["score"],
        bool(record and record["auto_failed"]),
    )


def recompute(db: sqlite_utils.Database, call_id: str, version: str) -> bool:
    """Rewrite the score of record of (call, version) from its automatic items and the latest review
    of each item; False (nothing written) when the scorecard version is not kept."""
    from callwright.qa.scorecard.scoring import apply_reviews

    card = load_scorecard_version(db, version)
    if card is None:
        return False
    score_rows = list(
        db.query(
            "select score, auto_failed from scores where call_id = ? and scorecard_version = ? "
            "order by scored_at desc limit 1",
            [call_id, version],
        )
    )
    if not score_rows:
        return False
    items = [
        ItemResult(
            r["item_id"],
            r["section"],
            r["kind"],
            cast(Verdict, r["verdict"]),
            r["points"],
            r["max_points"],
            bool(r["auto_fail"]),
        )
        for r in db.query(
            "select * from item_scores where call_id = ? and scorecard_version = ? order by rowid",
            [call_id, version],
        )
    ]
    known = {it.id for it in card.items}
    if any(i.item_id not in known for i in items):
        return False  # not the structure these items were scored with
    latest = list(
        db.query(
            """select r.* from reviews r
               where r.call_id = ? and r.scorecard_version = ?
                 and r.id = (select max(r2.id) from reviews r2 where r2.call_id = r.call_id
                             and r2.scorecard_version = r.scorecard_version and r2.item_id = r.item_id)""",
            [call_id, version],
        )
    )
    if not latest:
        return False
    auto = ScoreResult(
        call_id,
        card.id,
        version,
        score_rows[0]["score"],
        bool(score_rows[0]["auto_failed"]),
        items,
        raw_score=None,
    )
    reviewed = apply_reviews(card, auto, {r["item_id"]: r["verdict"] for r in latest})
    by_item = {r.item_id: r for r in reviewed.items}
    last = max(latest, key=lambda r: r["id"])
    db.execute("delete from reviewed_items where call_id = ? and scorecard_version = ?", [call_id, version])
    for r in latest:
        it = by_item[r["item_id"]]
        db.execute(
            "insert into reviewed_items (call_id, scorecard_version, item_id, verdict, points, max_points, "
            "auto_fail, review_id, reviewer, reviewed_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                call_id,
                version,
                it.item_id,
                r["verdict"],
                it.points,
                it.max_points,
                int(it.auto_fail),
                r["id"],
                r["reviewer"],
                r["reviewed_at"],
            ],
        )
    db.execute(
        "insert or replace into reviewed_scores (call_id, scorecard_version, score, raw_score, auto_failed, "
        "reviewer, reviewed_at) values (?, ?, ?, ?, ?, ?, ?)",
        [
            call_id,
            version,
            reviewed.score,
            reviewed.raw_score,
            int(reviewed.auto_failed),
            last["reviewer"],
            last["reviewed_at"],
        ],
    )
    return True


def score_of_record(db: sqlite_utils.Database, call_id: str, version: str) -> dict[str, Any] | None:
    rows = list(
        db.query(
            "select * from scores_of_record where call_id = ? and scorecard_version = ? "
            "order by scored_at desc limit 1",
            [call_id, version],
        )
    )
    return rows[0] if rows else None


# --- the calls list -------------------------------------------------------------------------------------

SortKey = Literal["started_at", "score", "agent", "duration"]
SORT_COLUMNS: dict[str, str] = {
    "started_at": "c.started_at",
    "score": "s.record_score",
    "agent": "c.agent",
    "duration": "c.duration_s",
}
PAGE_SIZE = 50
MAX_PAGE = 2000
"""Pages past this are refused (100,000 calls at 50 a page); narrow the filters instead."""
COUNT_CAP = 1_000
"""The calls list counts matches up to this many ("more than 1,000" beyond): an exact count of a
large result costs more than the page itself (docs/benchmarks.md, "Review app")."""


SentimentLabel = Literal["negative", "neutral", "positive"]
SENTIMENT_LABELS: tuple[SentimentLabel, ...] = ("negative", "neutral", "positive")
SENTIMENT_END_UTTERANCES = 3
"""The caller's ending sentiment is the mean sentiment of their last this many utterances..."""
SENTIMENT_NEGATIVE_BELOW = -0.25
"""...negative below this (the scorecards' default `sentiment: end` minimum, qa.scorecard.model
DEFAULT_SENTIMENT_MIN), positive above `SENTIMENT_POSITIVE_ABOVE`, neutral in between."""
SENTIMENT_POSITIVE_ABOVE = 0.25
_END_SENTIMENT = f"""(select avg(e.sentiment) from (select u.sentiment from utterances u
     where u.call_id = c.id and u.speaker = 'customer' and u.sentiment is not null
     order by u.idx desc limit {SENTIMENT_END_UTTERANCES}) e)"""
_MEAN_SENTIMENT = """(select avg(u.sentiment) from utterances u
     where u.call_id = c.id and u.speaker = 'customer' and u.sentiment is not null)"""
_END_CONDITION: dict[str, str] = {
    "negative": f"{_END_SENTIMENT} < {SENTIMENT_NEGATIVE_BELOW}",
    "neutral": f"{_END_SENTIMENT} between {SENTIMENT_NEGATIVE_BELOW} and {SENTIMENT_POSITIVE_ABOVE}",
    "positive": f"{_END_SENTIMENT} > {SENTIMENT_POSITIVE_ABOVE}",
}


@dataclass(frozen=True)
class CallFilter:
    """The calls list's filters; None means "any". Dates are YYYY-MM-DD (the end day included)."""

    start: str | None = None
    end: str | None = None
    agent: str | None = None
    team: str | None = None
    queue: str | None = None
    direction: str | None = None
    scorecard: str | None = None
    score_min: float | None = None
    score_max: float | None = None
    auto_failed: bool | None = None
    reviewed: bool | None = None
    # the caller's sentiment (utterances.sentiment, -1..1, of speaker "customer"):
    end_sentiment: SentimentLabel | None = None  # how the caller ended (`_END_SENTIMENT`)
    sentiment_min: float | None = None  # the mean over every caller utterance, at least
    sentiment_max: float | None = None  # ... at most
    fts: str = ""  # already an FTS5 query (store.qa.fts_query), "" for none
    only_agent: str | None = None  # an agent account's own name: nothing else is visible
    drill: str | None = None  # a dashboard number's calls: a name in store.kpis.DRILLS


@dataclass
class CallPage:
    rows: list[dict[str, Any]]
    total: int  # capped at COUNT_CAP + 1
    page: int
    pages_known: int
    more: bool = False
    params: dict[str, Any] = field(default_factory=dict)


# The score of record as kept in the scores row (migration 2's triggers copy it from reviewed_scores).
_SCORE = "s.record_score"
_AUTO_FAILED = "s.record_auto_failed"


def _where(f: CallFilter, fts_walk: bool = False) -> tuple[str, dict[str, Any]]:
    where = [
        "s.scored_at = (select max(s2.scored_at) from scores s2 "
        "where s2.call_id = s.call_id and s2.scorecard = s.scorecard)"
    ]
    p: dict[str, Any] = {}
    if f.only_agent is not None:
        where.append("c.agent = :only_agent")
        p["only_agent"] = f.only_agent
    for col in ("agent", "team", "queue", "direction"):
        value = getattr(f, col)
        if value:
            where.append(f"c.{col} = :{col}")
            p[col] = value
    if f.scorecard:
        where.append("s.scorecard = :scorecard")
        p["scorecard"] = f.scorecard
    if f.start:
        where.append("c.started_at >= :start")
        p["start"] = f.start
    if f.end:
        where.append("c.started_at < date(:end, '+1 day')")
        p["end"] = f.end
    if f.score_min is not None:
        where.append(f"{_SCORE} >= :score_min")
        p["score_min"] = f.score_min
    if f.score_max is not None:
        where.append(f"{_SCORE} <= :score_max")
        p["score_max"] = f.score_max
    if f.auto_failed is not None:
        where.append(f"{_AUTO_FAILED} = :auto_failed")
        p["auto_failed"] = int(f.auto_failed)
    if f.reviewed is not None:
        where.append("r.call_id is not null" if f.reviewed else "r.call_id is null")
    if f.drill:
        from callwright.store.kpis import drill_condition

        where.append(drill_condition(f.drill))
    if f.end_sentiment is not None:  # calls without caller sentiment match no label
        where.append(_END_CONDITION[f.end_sentiment])
    if f.sentiment_min is not None:
        where.append(f"{_MEAN_SENTIMENT} >= :sentiment_min")
        p["sentiment_min"] = f.sentiment_min
    if f.sentiment_max is not None:
        where.append(f"{_MEAN_SENTIMENT} <= :sentiment_max")
        p["sentiment_max"] = f.sentiment_max
    if f.fts and fts_walk:  # a common term: each call walked asks the index about its utterances
        where.append(
            "exists (select 1 from utterances u join utterances_fts ft on ft.rowid = u.rowid "
            "where u.call_id = c.id and utterances_fts match :fts)"
        )
        p["fts"] = f.fts
    elif f.fts:  # a rarer term: the calls of the matching utterances
        where.append(
            "c.id in (select u.call_id from utterances_fts ft join utterances u on u.rowid = ft.rowid "
            "where utterances_fts match :fts)"
        )
        p["fts"] = f.fts
    return " and ".join(where), p


_REVIEWED_JOIN = (
    "left join reviewed_scores r on r.call_id = s.call_id and r.scorecard_version = s.scorecard_version"
)


def _from(f: CallFilter, sort: str = "started_at", fts_walk: bool = False) -> str:
    """The join, in the order SQLite should walk it (CROSS JOIN fixes the order). Calls first by
    default: a page of the newest calls (of an agent, a team, a queue) walks that index backwards
    and stops after one page. Reviewed calls are few: walked from reviewed_scores. A search leaves
    the order to the planner (it starts from the matching utterances)."""
    if f.reviewed:
        return (
            "from reviewed_scores r cross join scores s on s.call_id = r.call_id "
            "and s.scorecard_version = r.scorecard_version cross join calls c on c.id = s.call_id"
        )
    if f.fts and not fts_walk:
        return f"from calls c join scores s on s.call_id = c.id {_REVIEWED_JOIN}"
    if sort == "score" or f.auto_failed or f.score_min is not None or f.score_max is not None:
        # few matches, or an order only the scores index has: from the scores of record's indexes
        return f"from scores s cross join calls c on c.id = s.call_id {_REVIEWED_JOIN}"
    return f"from calls c cross join scores s on s.call_id = c.id {_REVIEWED_JOIN}"


FTS_COMMON_HITS = 2_000
"""A search matching at least this many utterances walks the calls (newest first) asking the index
about each one's utterances; a rarer one starts from the matching utterances. Either way a page
costs tens of milliseconds on 100,000 calls (docs/benchmarks.md, "Review app")."""


def _common(db: sqlite_utils.Database, fts: str) -> bool:
    sql = "select count(*) from (select rowid from utterances_fts where utterances_fts match ? limit ?)"
    return int(db.execute(sql, [fts, FTS_COMMON_HITS]).fetchone()[0]) >= FTS_COMMON_HITS


def list_calls(
    db: sqlite_utils.Database, f: CallFilter, *, sort: str = "started_at", desc: bool = True, page: int = 1
) -> CallPage:
    """One page of scored calls (each call's latest score per scorecard, with its score of record)."""
    if sort not in SORT_COLUMNS:
        raise ValueError(f"sort '{sort}': expected one of {', '.join(SORT_COLUMNS)}")
    page = max(1, min(page, MAX_PAGE))
    fts_walk = bool(f.fts) and _common(db, f.fts)
    where, p = _where(f, fts_walk)
    join = _from(f, sort, fts_walk)
    # ties broken by the row id of the table whose index gives the order, so SQLite walks that
    # index and stops after a page (breaking them by c.id would sort every tie: many calls share a score)
    way = "desc" if desc else "asc"
    order = f"{SORT_COLUMNS[sort]} {way}, {'s' if sort == 'score' else 'c'}.rowid {way}"
    rows = list(
        db.query(
            f"""select c.id, c.started_at, c.agent, c.team, c.queue, c.direction, c.duration_s,
                 s.scorecard, s.scorecard_version, s.score as auto_score, s.auto_failed as auto_auto_failed,
                 {_SCORE} as score, {_AUTO_FAILED} as auto_failed, r.call_id is not null as reviewed
               {join} where {where} order by {order} limit :limit offset :offset""",
            {**p, "limit": PAGE_SIZE + 1, "offset": (page - 1) * PAGE_SIZE},
        )
    )
    more = len(rows) > PAGE_SIZE
    counted = f"select count(*) from (select 1 {join} where {where} limit {COUNT_CAP + 1})"
    total = int(db.execute(counted, p).fetchone()[0])
    return CallPage(rows[:PAGE_SIZE], total, page, -(-min(total, COUNT_CAP) // PAGE_SIZE), more)


def distinct_values(db: sqlite_utils.Database, column: str, only_agent: str | None = None) -> list[str]:
    """The values of calls.agent/team/queue (for the filters' suggestions), from their indexes."""
    if column not in ("agent", "team", "queue"):
        raise ValueError(column)
    if only_agent is not None:
        return [
            r[0]
            for r in db.execute(
                f"select distinct {column} from calls where agent = ? and {column} is not null order by 1",
                [only_agent],
            )
        ]
    return [
        r[0]
        for r in db.execute(
            f"select distinct {column} from calls where {column} is not null order by 1 limit 500"
        )
    ]


def scorecards(db: sqlite_utils.Database) -> list[str]:
    return [r[0] for r in db.execute("select distinct scorecard from scores order by 1")]


# --- the call page -----------------------------------------------------------------------------------


def call_page(db: sqlite_utils.Database, call_id: str) -> dict[str, Any] | None:
    """Everything the call page shows: the call, utterances, metrics, its scores of record, and each
    item of each version with its automatic and reviewed verdict, evidence and review history."""
    calls = list(db.query("select * from calls where id = ?", [call_id]))
    if not calls:
        return None
    scores = list(
        db.query("select * from scores_of_record where call_id = ? order by scored_at desc", [call_id])
    )
    items = list(
        db.query(
            "select i.*, r.review_id from item_scores_of_record i left join reviewed_items r "
            "on r.call_id = i.call_id and r.scorecard_version = i.scorecard_version "
            "and r.item_id = i.item_id "
            "where i.call_id = ?",
            [call_id],
        )
    )
    reviews = list(db.query("select * from reviews where call_id = ? order by id", [call_id]))
    definitions: dict[str, Scorecard | None] = {}
    for s in scores:
        definitions[s["scorecard_version"]] = load_scorecard_version(db, s["scorecard_version"])
    for it in items:
        it["evidence"] = json.loads(it["evidence"] or "[]")
        it["history"] = [
            r
            for r in reviews
            if r["item_id"] == it["item_id"] and r["scorecard_version"] == it["scorecard_version"]
        ]
        it["latest_review_id"] = it["history"][-1]["id"] if it["history"] else 0
        card = definitions.get(it["scorecard_version"])
        it["name"] = it["question"] = ""
        if card is not None:
            try:
                item = card.item(it["item_id"])
            except KeyError:
                pass
            else:
                it["name"] = item.name
                it["question"] = item.rule.question if isinstance(item.rule, ManualRule) else ""
    return {
        "call": calls[0],
        "utterances": list(db.query("select * from utterances where call_id = ? order by idx", [call_id])),
        "metrics": next(iter(db.query("select * from metrics where call_id = ?", [call_id])), None),
        "scores": scores,
        "items": items,
        "kept_versions": [v for v, c in definitions.items() if c is not None],
    }


def recording_paths(db: sqlite_utils.Database, call_id: str) -> list[str]:
    """The call's recording files as stored (the recording QA scored, then the IVR's own)."""
    out = [
        r[0]
        for r in db.execute("select path from recordings where call_id = ? order by ingested_at", [call_id])
    ]
    row = db.execute("select recording_path from calls where id = ?", [call_id]).fetchone()
    if row and row[0] and row[0] not in out:
        out.append(row[0])
    return out


def calibration_verdicts(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """Every reviewer's latest verdict on every reviewed item, beside the automatic verdict: the
    rows calibration is computed from (web.calibration), per scorecard version."""
    return list(
        db.query("""
        select r.call_id, r.scorecard_version, r.item_id, i.kind, i.verdict as automatic,
               r.reviewer, r.verdict as human,
               r.id = (select max(r3.id) from reviews r3 where r3.call_id = r.call_id
                       and r3.scorecard_version = r.scorecard_version and r3.item_id = r.item_id) as of_record
        from reviews r join item_scores i
          on i.call_id = r.call_id and i.scorecard_version = r.scorecard_version and i.item_id = r.item_id
        where r.id = (select max(r2.id) from reviews r2 where r2.call_id = r.call_id
                      and r2.scorecard_version = r.scorecard_version and r2.item_id = r.item_id
                      and r2.reviewer = r.reviewer)
        order by r.scorecard_version, r.item_id, r.call_id, r.reviewer
    """)
    )


def save_scorecards(db: sqlite_utils.Database, cards: Sequence[Scorecard]) -> None:
    with write_transaction(db):
        for card in cards:
            save_scorecard(db, card)


# --- disputes and acknowledgements -------------------------------------------------------------------

DISPUTE_OUTCOMES: tuple[str, ...] = ("upheld", "rejected")


def _check_version(db: sqlite_utils.Database, call_id: str, version: str, item_id: str | None) -> None:
    sql = "select 1 from scores where call_id = ? and scorecard_version = ?"
    if not list(db.query(sql, [call_id, version])):
        raise ReviewError(f"call '{call_id}' has no score with scorecard version {version}")
    if item_id and not list(
        db.query(
            "select 1 from item_scores where call_id = ? and scorecard_version = ? and item_id = ?",
            [call_id, version, item_id],
        )
    ):
        raise ReviewError(f"call '{call_id}' has no item '{item_id}' in scorecard version {version}")


def raise_dispute(
    db: sqlite_utils.Database, call_id: str, version: str, item_id: str | None, reason: str, user: str
) -> int:
    """An agent disputes a call's result (or one item of it); audited. The reason is redacted."""
    reason = reason.strip()
    if not reason:
        raise ReviewError("a dispute needs a reason")
    if len(reason) > MAX_NOTE_CHARS:
        raise ReviewError(f"the reason has {len(reason)} characters; at most {MAX_NOTE_CHARS} are kept")
    _check_version(db, call_id, version, item_id)
    reason = redact_note(db, call_id, reason)
    with write_transaction(db):
        cur = db.execute(
            "insert into disputes (call_id, scorecard_version, item_id, raised_by, reason, raised_at) "
            "values (?, ?, ?, ?, ?, ?)",
            [call_id, version, item_id or None, user, reason, now_utc()],
        )
        dispute_id = int(cur.lastrowid or 0)
        audit(
            db,
            user,
            "dispute",
            call_id=call_id,
            scorecard_version=version,
            item_id=item_id or None,
            detail={"dispute_id": dispute_id, "reason": reason},
        )
    return dispute_id


def resolve_dispute(
    db: sqlite_utils.Database, dispute_id: int, outcome: str, resolution: str, user: str
) -> str:
    """A supervisor upholds or rejects an open dispute (a verdict to change is a review of its own);
    audited. Returns the dispute's call id."""
    if outcome not in DISPUTE_OUTCOMES:
        raise ReviewError(f"outcome '{outcome}': expected one of {', '.join(DISPUTE_OUTCOMES)}")
    if len(resolution) > MAX_NOTE_CHARS:
        raise ReviewError(f"the note has {len(resolution)} characters; at most {MAX_NOTE_CHARS} are kept")
    with write_transaction(db):
        rows = list(db.query("select * from disputes where id = ?", [dispute_id]))
        if not rows:
            raise ReviewError(f"no dispute {dispute_id}")
        d = rows[0]
        resolution = redact_note(db, d["call_id"], resolution)
        if d["status"] != "open":
            raise ReviewError(f"dispute {dispute_id} was already {d['status']} by {d['resolved_by']}")
        db.execute(
            "update disputes set status = ?, resolved_by = ?, resolution = ?, resolved_at = ? where id = ?",
            [outcome, user, resolution, now_utc(), dispute_id],
        )
        audit(
            db,
            user,
            "dispute_" + outcome,
            call_id=d["call_id"],
            scorecard_version=d["scorecard_version"],
            item_id=d["item_id"],
            detail={"dispute_id": dispute_id, "resolution": resolution},
        )
    return str(d["call_id"])


def acknowledge(db: sqlite_utils.Database, call_id: str, version: str, user: str) -> None:
    """An agent has read the call's result (once per version; audited the first time)."""
    _check_version(db, call_id, version, None)
    with write_transaction(db):
        cur = db.execute(
            "insert or ignore into acknowledgements (call_id, scorecard_version, user_name, at) "
            "values (?, ?, ?, ?)",
            [call_id, version, user, now_utc()],
        )
        if cur.rowcount:
            audit(db, user, "acknowledge", call_id=call_id, scorecard_version=version)


def add_coaching_note(db: sqlite_utils.Database, call_id: str, note: str, author: str) -> int:
    """A coaching note to the call's agent (redacted like a review note); audited."""
    note = note.strip()
    if not note:
        raise ReviewError("a coaching note needs some text")
    if len(note) > MAX_NOTE_CHARS:
        raise ReviewError(f"the note has {len(note)} characters; at most {MAX_NOTE_CHARS} are kept")
    if not list(db.query("select 1 from calls where id = ?", [call_id])):
        raise ReviewError(f"no call '{call_id}' in the database")
    note = redact_note(db, call_id, note)
    with write_transaction(db):
        cur = db.execute(
            "insert into coaching_notes (call_id, author, note, created_at) values (?, ?, ?, ?)",
            [call_id, author, note, now_utc()],
        )
        note_id = int(cur.lastrowid or 0)
        audit(db, author, "coaching_note", call_id=call_id, detail={"note_id": note_id, "note": note})
    return note_id


def assign(db: sqlite_utils.Database, call_id: str, reviewer: str, by: str) -> None:
    """Give a call to a reviewer (replacing an earlier assignment); audited. The reviewer must be
    an account that may review."""
    rows = list(db.query("select role from users where name = ? and not disabled", [reviewer]))
    if not rows or rows[0]["role"] == "agent":
        raise ReviewError(f"'{reviewer}' is not a reviewer's account")
    if not list(db.query("select 1 from calls where id = ?", [call_id])):
        raise ReviewError(f"no call '{call_id}' in the database")
    name = str(next(iter(db.query("select name from users where name = ?", [reviewer])))["name"])
    with write_transaction(db):
        db.execute(
            "insert or replace into assignments (call_id, reviewer, assigned_by, assigned_at) "
            "values (?, ?, ?, ?)",
            [call_id, name, by, now_utc()],
        )
        audit(db, by, "assign", call_id=call_id, detail={"reviewer": name})


def assigned_to(db: sqlite_utils.Database, reviewer: str, limit: int = 200) -> list[dict[str, Any]]:
    """The calls assigned to a reviewer that have no review since, oldest assignment first."""
    return list(
        db.query(
            """select a.*, c.agent, c.started_at from assignments a join calls c on c.id = a.call_id
               where a.reviewer = ? and not exists (
                 select 1 from reviews r where r.call_id = a.call_id
                 and r.reviewer = a.reviewer and r.reviewed_at >= a.assigned_at)
               order by a.assigned_at limit ?""",
            [reviewer, limit],
        )
    )


def reviewer_names(db: sqlite_utils.Database) -> list[str]:
    return [
        r[0]
        for r in db.execute("select name from users where role != 'agent' and not disabled order by name")
    ]


def call_workflow(db: sqlite_utils.Database, call_id: str) -> dict[str, Any]:
    """A call's disputes, acknowledgements and coaching notes (for its page)."""
    return {
        "coaching": list(db.query("select * from coaching_notes where call_id = ? order by id", [call_id])),
        "assignment": next(iter(db.query("select * from assignments where call_id = ?", [call_id])), None),
        "reviewers": reviewer_names(db),
        "disputes": list(db.query("select * from disputes where call_id = ? order by id", [call_id])),
        "acknowledgements": list(
            db.query("select * from acknowledgements where call_id = ? order by at", [call_id])
        ),
    }


def open_disputes(db: sqlite_utils.Database, limit: int = 200) -> list[dict[str, Any]]:
    return list(
        db.query(
            "select d.*, c.agent from disputes d join calls c on c.id = d.call_id "
            "where d.status = 'open' order by d.id limit ?",
            [limit],
        )
    )


# --- review queues ------------------------------------------------------------------------------------

SAMPLE_PER_AGENT_WEEK = 2
"""The weekly sample queue: this many unreviewed calls per agent and week."""
SAMPLE_WEEKS = 2
"""...over the last this many weeks of scored calls (counted back from the newest)."""


def weekly_sample(
    db: sqlite_utils.Database, per_week: int = SAMPLE_PER_AGENT_WEEK, weeks: int = SAMPLE_WEEKS
) -> list[dict[str, Any]]:
    """Unreviewed scored calls to review: up to `per_week` per agent and week (Monday-based,
    `%Y-%W`) over the last `weeks` weeks. The pick is a fixed pseudo-random order of the call's row
    id, so every reviewer sees the same sample and it does not follow the time of day."""
    newest_sql = "select max(c.started_at) from scores s join calls c on c.id = s.call_id"
    newest = db.execute(newest_sql).fetchone()[0]
    if newest is None:
        return []
    return list(
        db.query(
            """with pool as (
                 select c.id, c.agent, c.team, c.started_at, strftime('%Y-%W', c.started_at) as week,
                   s.scorecard, s.record_score as score, s.record_auto_failed as auto_failed,
                   row_number() over (partition by c.agent, strftime('%Y-%W', c.started_at)
                                      order by (c.rowid * 2654435761) % 4294967296) as pick
                 from calls c cross join scores s on s.call_id = c.id
                 left join reviewed_scores r
                   on r.call_id = s.call_id and r.scorecard_version = s.scorecard_version
                 where c.started_at >= date(:newest, :back) and c.agent is not null and r.call_id is null
                   and s.scored_at = (select max(s2.scored_at) from scores s2
                                      where s2.call_id = s.call_id and s2.scorecard = s.scorecard)
               )
               select * from pool where pick <= :per_week order by week desc, agent, pick""",
            {"newest": newest, "back": f"-{7 * weeks} days", "per_week": per_week},
        )
    )


def queue_counts(db: sqlite_utils.Database) -> dict[str, int]:
    """How many wait in the fixed queues: auto-failed calls not reviewed; open disputes;
    low-confidence verdicts (with the default margin)."""
    return {
        "auto_failed": int(
            db.execute(
                "select count(*) from scores s left join reviewed_scores r on r.call_id = s.call_id "
                "and r.scorecard_version = s.scorecard_version "
                "where s.record_auto_failed = 1 and r.call_id is null"
            ).fetchone()[0]
        ),
        "disputes": int(db.execute("select count(*) from disputes where status = 'open'").fetchone()[0]),
        # capped at LOW_CONFIDENCE_LIMIT
        "low_confidence": len(low_confidence_items(db)),
    }


# --- the low-confidence queue ------------------------------------------------------------------------

LOW_CONFIDENCE_MARGIN = 0.05
"""A similarity within this of the threshold it was compared with is a close call (the default of
the queue's `margin`, which may be 0 to `MAX_LOW_CONFIDENCE_MARGIN`). Scorecard thresholds sit
near 0.6, where a paraphrase and an unrelated sentence are a few hundredths apart."""
MAX_LOW_CONFIDENCE_MARGIN = 0.5
LOW_ASR_CONFIDENCE = 0.5
"""A verdict resting on an utterance the recogniser heard with less confidence than this (Whisper:
the mean token probability) is uncertain whatever its similarity."""
LOW_CONFIDENCE_WEEKS = 2
"""The queue looks at calls of the last this many weeks of scored calls (like the weekly sample)."""
LOW_CONFIDENCE_LIMIT = 200
"""...and lists at most this many items, the closest calls first."""
SECOND_LISTEN_PREFIX = "heard again at "
"""How qa.second_listen's evidence note starts: the item passed on a second reading."""
_NOTE_THRESHOLD = re.compile(r"threshold (\d+(?:\.\d+)?)")
LowReason = Literal["near threshold", "second listen", "low ASR confidence"]


@dataclass(frozen=True)
class LowConfidenceItem:
    """An automatic verdict a reviewer should check: why, and how close it came."""

    call_id: str
    agent: str | None
    started_at: str
    scorecard: str
    scorecard_version: str
    item_id: str
    kind: str
    verdict: str
    reasons: tuple[LowReason, ...]
    similarity: float | None  # of the evidence closest to its threshold
    threshold: float | None
    asr_confidence: float | None  # the lowest of the utterances the evidence quotes


def _kept_thresholds(db: sqlite_utils.Database) -> dict[tuple[str, str], list[float]]:
    """(version, item id) -> thresholds, from the kept scorecard versions that have them."""
    out: dict[tuple[str, str], list[float]] = {}
    for version, definition in db.execute("select version, definition from scorecard_versions"):
        for section in json.loads(definition).get("sections", []):
            for item in section.get("items", []):
                if item.get("thresholds"):
                    out[(version, item["id"])] = [float(t) for t in item["thresholds"]]
    return out


def low_confidence_items(
    db: sqlite_utils.Database,
    *,
    margin: float = LOW_CONFIDENCE_MARGIN,
    min_asr_confidence: float = LOW_ASR_CONFIDENCE,
    weeks: int = LOW_CONFIDENCE_WEEKS,
    limit: int = LOW_CONFIDENCE_LIMIT,
) -> list[LowConfidenceItem]:
    """Unreviewed automatic verdicts (pass or fail of a phrase, forbidden or order item of each
    call's latest score, calls of the last `weeks` weeks of scored calls) that are low-confidence:

    - **near threshold**: a piece of evidence has a similarity s with |s - t| <= `margin`, t the
      threshold it was compared with: the item's, kept with its scorecard version; for a version
      kept before thresholds were, the one its evidence note quotes ("under the threshold 0.6"),
      else `DEFAULT_THRESHOLD`;
    - **second listen**: the item passed only on a second reading of the audio;
    - **low ASR confidence**: an utterance the evidence quotes (same call, overlapping times) was
      recognised with confidence under `min_asr_confidence`.

    Closest to the threshold first (second listens and low ASR confidence count as 0 away), then
    newest; at most `limit`. An item leaves the queue once reviewed."""
    if not 0 <= margin <= MAX_LOW_CONFIDENCE_MARGIN:
        raise ReviewError(f"margin {margin:g}: expected 0 to {MAX_LOW_CONFIDENCE_MARGIN:g}")
    if not 0 <= min_asr_confidence <= 1:
        raise ReviewError(f"ASR confidence {min_asr_confidence:g}: expected 0 to 1")
    newest_sql = "select max(c.started_at) from scores s join calls c on c.id = s.call_id"
    newest = db.execute(newest_sql).fetchone()[0]
    if newest is None:
        return []
    window = {"newest": newest, "back": f"-{7 * weeks} days"}
    kept = _kept_thresholds(db)
    # In SQL, a superset of what qualifies (the final word is below): a similarity within the
    # margin of some threshold any kept version uses, a second listen, or a call with an unsure
    # utterance; JSON read by SQLite rather than every item's evidence parsed here. A version
    # without kept thresholds may use any: then every similarity is a candidate.
    known = {v for v, _ in kept}
    legacy = any(r[0] not in known for r in db.execute("select distinct scorecard_version from scores"))
    ts = [t for v in kept.values() for t in v] + [DEFAULT_THRESHOLD]
    bounds = (-1.0, 2.0) if legacy else (min(ts) - margin - 1e-9, max(ts) + margin + 1e-9)
    rows = db.query(
        """select i.call_id, c.agent, c.started_at, s.scorecard, i.scorecard_version, i.item_id, i.kind,
             i.verdict, i.evidence
           from calls c cross join scores s on s.call_id = c.id
           join item_scores i on i.call_id = s.call_id and i.scorecard_version = s.scorecard_version
           where c.started_at >= date(:newest, :back)
             and s.scored_at = (select max(s2.scored_at) from scores s2
                                where s2.call_id = s.call_id and s2.scorecard = s.scorecard)
             and i.kind in ('phrase', 'forbidden', 'order') and i.verdict in ('pass', 'fail')
             and not exists (select 1 from reviews r where r.call_id = i.call_id
                             and r.scorecard_version = i.scorecard_version and r.item_id = i.item_id)
             and json_valid(i.evidence)
             and (exists (select 1 from json_each(i.evidence) e
                          where e.value ->> 'similarity' between :lo and :hi
                             or e.value ->> 'note' like :second_listen)
                  or exists (select 1 from utterances u where u.call_id = i.call_id
                             and u.confidence < :min_conf))""",
        {
            **window,
            "lo": bounds[0],
            "hi": bounds[1],
            "second_listen": SECOND_LISTEN_PREFIX + "%",
            "min_conf": min_asr_confidence,
        },
    )
    unsure: dict[str, list[tuple[float, float, float]]] = {}
    for call_id, start, end, conf in db.execute(
        """select u.call_id, u.start, u.end, u.confidence from utterances u join calls c on c.id = u.call_id
           where c.started_at >= date(:newest, :back) and u.confidence < :min_conf""",
        {**window, "min_conf": min_asr_confidence},
    ):
        unsure.setdefault(call_id, []).append((start, end, conf))
    found: list[tuple[float, str, LowConfidenceItem]] = []
    for r in rows:
        reasons: list[LowReason] = []
        best: tuple[float, float, float] | None = None  # (distance, similarity, threshold)
        lowest_asr: float | None = None
        for e in json.loads(r["evidence"] or "[]"):
            note = str(e.get("note") or "")
            if note.startswith(SECOND_LISTEN_PREFIX) and "second listen" not in reasons:
                reasons.append("second listen")
            sim = e.get("similarity")
            if sim is not None:
                quoted = [float(t) for t in _NOTE_THRESHOLD.findall(note)]
                ts = kept.get((r["scorecard_version"], r["item_id"])) or quoted or [DEFAULT_THRESHOLD]
                for t in ts:
                    d = abs(float(sim) - t)
                    if best is None or d < best[0]:
                        best = (d, float(sim), t)
            if e.get("start") is not None and e.get("end") is not None:
                for u_start, u_end, conf in unsure.get(r["call_id"], []):
                    if u_start <= e["end"] and u_end >= e["start"]:
                        lowest_asr = conf if lowest_asr is None else min(lowest_asr, conf)
        if best is not None and best[0] <= margin + 1e-9:
            reasons.insert(0, "near threshold")
        if lowest_asr is not None:
            reasons.append("low ASR confidence")
        if not reasons:
            continue
        distance = 0.0 if reasons != ["near threshold"] else best[0] if best else 0.0
        found.append(
            (
                distance,
                r["started_at"],
                LowConfidenceItem(
                    r["call_id"],
                    r["agent"],
                    r["started_at"],
                    r["scorecard"],
                    r["scorecard_version"],
                    r["item_id"],
                    r["kind"],
                    r["verdict"],
                    tuple(reasons),
                    None if best is None else best[1],
                    None if best is None else best[2],
                    lowest_asr,
                ),
            )
        )
    found.sort(key=lambda f: (f[1], f[2].call_id, f[2].item_id), reverse=True)  # newest first...
    found.sort(key=lambda f: f[0])  # ...within the same distance (the sort is stable)
    return [f[2] for f in found[:limit]]


TREND_WEEKS = 8
"""Per-agent trends cover this many weeks back from the newest scored call."""


def agent_trends(
    db: sqlite_utils.Database, weeks: int = TREND_WEEKS, only_agent: str | None = None
) -> list[dict[str, Any]]:
    """Per agent and ISO week (of the call's own local date): scored calls, average score of record
    and auto-fails, over the last `weeks` weeks of scored calls. Summed per day in SQL (reading
    calls through the report index that covers agent and start) and per week here."""
    newest_sql = "select max(c.started_at) from scores s join calls c on c.id = s.call_id"
    newest = db.execute(newest_sql).fetchone()[0]
    if newest is None:
        return []
    agent_clause = "and c.agent = :only_agent" if only_agent is not None else ""
    days = db.query(
        f"""select c.agent, substr(c.started_at, 1, 10) as day, count(*) as calls,
             sum(s.record_score) as total, count(s.record_score) as with_score,
             sum(s.record_auto_failed) as auto_failed
           from calls c indexed by idx_calls_repeat cross join scores s on s.call_id = c.id
           where c.started_at >= date(:newest, :back) and c.agent is not null {agent_clause}
             and s.scored_at = (select max(s2.scored_at) from scores s2
                                where s2.call_id = s.call_id and s2.scorecard = s.scorecard)
           group by c.agent, day""",
        {"newest": newest, "back": f"-{7 * weeks} days", "only_agent": only_agent},
    )
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for d in days:
        year, week, _ = date.fromisoformat(d["day"]).isocalendar()
        key = (d["agent"], f"{year}-W{week:02d}")
        w = out.setdefault(
            key, {"agent": key[0], "week": key[1], "calls": 0, "total": 0.0, "n": 0, "auto_failed": 0}
        )
        w["calls"] += d["calls"]
        w["total"] += d["total"] or 0.0
        w["n"] += d["with_score"]
        w["auto_failed"] += d["auto_failed"] or 0
    rows = []
    for key in sorted(out):
        w = out[key]
        rows.append(
            {
                "agent": w["agent"],
                "week": w["week"],
                "calls": w["calls"],
                "avg_score": w["total"] / w["n"] if w["n"] else None,
                "auto_failed": w["auto_failed"],
            }
        )
    return rows

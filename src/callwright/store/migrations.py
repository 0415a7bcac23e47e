"""Schema changes as numbered migrations, with the applied version in `PRAGMA user_version`.

`MIGRATIONS[i]` brings a database at version `i` to version `i + 1`; `migrate` applies the
ones a database lacks, all in one `BEGIN IMMEDIATE` transaction (store.db.open_db retries it
while another process holds the lock), then stamps the application id and the new version in
the same transaction: a migration that fails leaves the database as it was. A database already at
`schema.SCHEMA_VERSION` is not written to at all; one at a newer version is refused unchanged
by `schema.check_identity`.

How to add a schema change (docs/database.md, "Schema versions and migrations"): write one small function
below that makes the change with plain DDL (no "if missing" checks: the version says exactly
what is there), give it a docstring saying what it changes and why, append it to
`MIGRATIONS`, and raise `schema.SCHEMA_VERSION` by one.

Migration 1 is the exception that has checks: it brings an empty file, or a database written
before the version was stamped (every Callwright before schema version 1, of unknown age), to
version 1. Its steps replay the schema's history in order, each creating only what is missing.

sqlite-utils' own `Migrations` (what the `sqlite-migrate` package re-exports) was not used: it
records applied migrations by name in a `_sqlite_migrations` table, so it cannot tell a
database from a newer Callwright (to refuse it) and would add a table to every database.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlite_utils

from callwright.errors import CallwrightError
from callwright.store import cubes, schema

Migration = Callable[[sqlite_utils.Database], None]


# --- migration 1: the schema as of version 1, from an empty or an unstamped database ---------


def _v1_call_log(db: sqlite_utils.Database) -> None:
    """The IVR call log (Callwright's first schema): calls, their events, survey answers."""
    names = set(db.table_names())
    if "calls" not in names:
        db.table("calls").create(schema.CALLS, pk="id", not_null={"started_at"})
        db.table("calls").create_index(["started_at"], if_not_exists=True)
        db.table("calls").create_index(["flow", "outcome"], if_not_exists=True)
    if "call_events" not in names:
        db.table("call_events").create(
            schema.CALL_EVENTS, pk=("call_id", "seq"), foreign_keys=[("call_id", "calls", "id")]
        )
        db.table("call_events").create_index(["kind", "state"], if_not_exists=True)
    if "survey_answers" not in names:
        db.table("survey_answers").create(
            schema.SURVEY_ANSWERS, pk=("call_id", "question"), foreign_keys=[("call_id", "calls", "id")]
        )


def _v1_qa(db: sqlite_utils.Database) -> None:
    """QA: the calls columns QA fills (agent, team, customer, campaign, source) and its tables."""
    from callwright.store import qa  # store.qa imports the QA model: loaded when a migration runs

    qa.create_tables(db)


def _v1_acd(db: sqlite_utils.Database) -> None:
    """ACD queue rows and outbound dials."""
    names = set(db.table_names())
    if "queue_calls" not in names:
        db.table("queue_calls").create(
            schema.QUEUE_CALLS, pk="call_id", foreign_keys=[("call_id", "calls", "id")]
        )
        db.table("queue_calls").create_index(["queue", "entered_at"], if_not_exists=True)
    if "dials" not in names:
        db.table("dials").create(schema.DIALS, pk="id", foreign_keys=[("call_id", "calls", "id")])
        db.table("dials").create_index(["dialed_at"], if_not_exists=True)


def _v1_next_contact(db: sqlite_utils.Database) -> None:
    """calls.next_contact_at (repeat-contact FCR at query time), its triggers, and a recount
    of it when the column is new (a database from before it)."""
    new = "next_contact_at" not in {c.name for c in db.table("calls").columns}
    if new:
        db.table("calls").add_column("next_contact_at", str)
    for sql in schema.NEXT_CONTACT_TRIGGERS.values():
        db.execute(sql)
    if new:
        schema.rebuild_next_contact(db)


def _v1_report_indexes(db: sqlite_utils.Database) -> None:
    """The indexes the report queries read, replacing idx_calls_day_direction."""
    db.execute("drop index if exists idx_calls_day_direction")
    for sql in schema.REPORT_INDEXES:
        db.execute(sql)


def _v1_waterfall(db: sqlite_utils.Database) -> None:
    """The IVR waterfall per day (ivr_state_daily) with its trigger, counted from the logged
    events when the table is new."""
    if "ivr_state_daily" not in set(db.table_names()):
        db.execute(schema.IVR_STATE_DAILY)
        db.execute(schema.WATERFALL_TRIGGER)
        schema.rebuild_waterfall(db)


def _v1_kpi_cubes(db: sqlite_utils.Database) -> None:
    """The daily KPI cubes, the kpi_dirty marks and their triggers, counted from the raw rows
    when they are new."""
    new = "kpi_dirty" not in set(db.table_names())
    for sql in cubes.KPI_TABLES:
        db.execute(sql)
    for sql in cubes.KPI_DIRTY_TRIGGERS.values():
        db.execute(sql)
    if new:
        from callwright.store import kpis

        kpis.rebuild(db)


# In the order the schema grew: a later step relies on an earlier one (the report index
# idx_calls_repeat covers calls.next_contact_at and the QA columns of calls).
V1_STEPS: tuple[Migration, ...] = (
    _v1_call_log,
    _v1_qa,
    _v1_acd,
    _v1_next_contact,
    _v1_report_indexes,
    _v1_waterfall,
    _v1_kpi_cubes,
)


def v1_callwright_schema(db: sqlite_utils.Database) -> None:
    """Version 1: every table, index and trigger of Callwright as of the version stamp.

    On an empty file it creates them; on a database from before the stamp (no
    application id, version 0, recognised by its calls table) it adds what that
    database's Callwright did not have yet, keeping every row, and recounts the
    summaries it adds (waterfall, next contacts, KPI cubes)."""
    for step in V1_STEPS:
        step(db)


# --- migration 2: the review web app (issue 15) -------------------------------------------------

V2_REVIEW_APP = (
    # Local accounts. `agent` links an account of role agent to the name in calls.agent.
    """create table if not exists users (
      id integer primary key,
      name text not null unique collate nocase,
      role text not null check (role in ('reviewer', 'supervisor', 'agent', 'admin')),
      agent text,
      password_hash text not null,
      created_at text not null,
      disabled integer not null default 0
    )""",
    # Server-side sessions: the cookie carries a signed random token, the row its SHA-256 (a
    # copy of the database does not hold live session tokens) with the per-session CSRF token.
    """create table if not exists sessions (
      token_hash text primary key,
      user_id integer not null references users(id),
      csrf_token text not null,
      created_at text not null,
      expires_at text not null
    )""",
    "create index if not exists idx_sessions_expires on sessions (expires_at)",
    # The key that signs session cookies, made once per database.
    "create table if not exists web_secret (id integer primary key check (id = 1), secret text not null)",
    "insert or ignore into web_secret (id, secret) values (1, lower(hex(randomblob(32))))",
    # Who did what when: logins (and failed ones), logouts, reviews, accounts added.
    """create table if not exists audit_log (
      id integer primary key,
      at text not null,
      user_name text,
      action text not null,
      call_id text,
      scorecard_version text,
      item_id text,
      detail text
    )""",
    "create index if not exists idx_audit_log_call on audit_log (call_id, id)",
    # What a scorecard version needs to recompute a total after a review (sections, weights,
    # items, points, auto-fail): the YAML file may have changed or gone since it scored.
    """create table if not exists scorecard_versions (
      version text primary key,
      scorecard text not null,
      name text,
      revision text,
      definition text not null,
      saved_at text not null
    )""",
    # The score of record where a reviewer changed something; the automatic score stays in scores.
    """create table if not exists reviewed_scores (
      call_id text not null references calls(id),
      scorecard_version text not null,
      score real,
      raw_score real,
      auto_failed integer not null,
      reviewer text not null,
      reviewed_at text not null,
      primary key (call_id, scorecard_version)
    )""",
    # Each reviewed item's verdict of record (the latest review), with its recomputed points.
    """create table if not exists reviewed_items (
      call_id text not null references calls(id),
      scorecard_version text not null,
      item_id text not null,
      verdict text not null,
      points real not null,
      max_points real not null,
      auto_fail integer not null,
      review_id integer not null references reviews(id),
      reviewer text not null,
      reviewed_at text not null,
      primary key (call_id, scorecard_version, item_id)
    )""",
    "create index if not exists idx_reviews_version_item "
    "on reviews (call_id, scorecard_version, item_id, id)",
    # The score of record: the reviewed one where there is one, else the automatic one.
    """create view if not exists scores_of_record as
    select s.recording_id, s.scorecard_version, s.call_id, s.scorecard,
      case when r.call_id is null then s.score else r.score end as score,
      case when r.call_id is null then s.auto_failed else r.auto_failed end as auto_failed,
      s.score as auto_score, s.auto_failed as auto_auto_failed,
      r.call_id is not null as reviewed, r.reviewer, r.reviewed_at, s.scored_at
    from scores s left join reviewed_scores r
      on r.call_id = s.call_id and r.scorecard_version = s.scorecard_version""",
    """create view if not exists item_scores_of_record as
    select i.call_id, i.scorecard_version, i.item_id, i.section, i.kind,
      coalesce(r.verdict, i.verdict) as verdict, coalesce(r.points, i.points) as points,
      coalesce(r.max_points, i.max_points) as max_points, coalesce(r.auto_fail, i.auto_fail) as auto_fail,
      i.verdict as auto_verdict, r.reviewer, r.reviewed_at, i.evidence
    from item_scores i left join reviewed_items r
      on r.call_id = i.call_id and r.scorecard_version = i.scorecard_version and r.item_id = i.item_id""",
    # The calls list (web app): newest first per agent, team, queue; scores by value.
    "create index if not exists idx_calls_agent_started on calls (agent, started_at)",
    "create index if not exists idx_calls_team_started on calls (team, started_at)",
    "create index if not exists idx_calls_queue_started on calls (queue, started_at)",
    "create index if not exists idx_scores_scorecard on scores (scorecard, score)",
    # An agent's dispute of a reviewed (or automatic) result, resolved by a supervisor.
    """create table if not exists disputes (
      id integer primary key,
      call_id text not null references calls(id),
      scorecard_version text not null,
      item_id text,
      raised_by text not null,
      reason text not null,
      raised_at text not null,
      status text not null default 'open' check (status in ('open', 'upheld', 'rejected')),
      resolved_by text,
      resolution text,
      resolved_at text
    )""",
    "create index if not exists idx_disputes_call on disputes (call_id, id)",
    "create index if not exists idx_disputes_status on disputes (status, id)",
    # Who is to review a call (one reviewer per call; reassigning replaces it).
    """create table if not exists assignments (
      call_id text primary key references calls(id),
      reviewer text not null,
      assigned_by text not null,
      assigned_at text not null
    )""",
    "create index if not exists idx_assignments_reviewer on assignments (reviewer, assigned_at)",
    # A reviewer's or supervisor's coaching note to the call's agent.
    """create table if not exists coaching_notes (
      id integer primary key,
      call_id text not null references calls(id),
      author text not null,
      note text not null,
      created_at text not null
    )""",
    "create index if not exists idx_coaching_notes_call on coaching_notes (call_id, id)",
    # An agent's acknowledgement that they have read a call's result.
    """create table if not exists acknowledgements (
      call_id text not null references calls(id),
      scorecard_version text not null,
      user_name text not null,
      at text not null,
      primary key (call_id, scorecard_version, user_name)
    )""",
)
# scores.record_score / record_auto_failed: a copy of the score of record in the scores row, kept
# by triggers from reviewed_scores, so the calls list can filter and sort by it from an index
# (the views above compute the same from reviewed_scores).
_RECORD_OF = """(select r.{col} from reviewed_scores r
     where r.call_id = {row}.call_id and r.scorecard_version = {row}.scorecard_version)"""
_HAS_REVIEW = """exists (select 1 from reviewed_scores r
     where r.call_id = {row}.call_id and r.scorecard_version = {row}.scorecard_version)"""
V2_RECORD_COPY = (
    f"""create trigger if not exists scores_record_insert after insert on scores begin
      update scores set
        record_score = case when {_HAS_REVIEW.format(row="new")}
                       then {_RECORD_OF.format(col="score", row="new")} else new.score end,
        record_auto_failed = coalesce({_RECORD_OF.format(col="auto_failed", row="new")}, new.auto_failed)
      where rowid = new.rowid;
    end""",
    """create trigger if not exists reviewed_scores_record_insert after insert on reviewed_scores begin
      update scores set record_score = new.score, record_auto_failed = new.auto_failed
      where call_id = new.call_id and scorecard_version = new.scorecard_version;
    end""",
    """create trigger if not exists reviewed_scores_record_update after update on reviewed_scores begin
      update scores set record_score = new.score, record_auto_failed = new.auto_failed
      where call_id = new.call_id and scorecard_version = new.scorecard_version;
    end""",
    """create trigger if not exists reviewed_scores_record_delete after delete on reviewed_scores begin
      update scores set record_score = score, record_auto_failed = auto_failed
      where call_id = old.call_id and scorecard_version = old.scorecard_version;
    end""",
    "create index if not exists idx_scores_record_score on scores (record_score)",
    "create index if not exists idx_scores_record_auto_failed on scores (record_auto_failed, call_id)",
)


def v2_review_app(db: sqlite_utils.Database) -> None:
    """Version 2: the review web app (issue 15): accounts, sessions, the audit log, scorecard
    versions kept for recomputing, reviewed scores of record beside the automatic ones (two
    views give the score of record), and the calls list's indexes.

    Written "if not exists" (unlike the rule above): migration 1 treats any unstamped database
    as older than the stamp, and one whose stamp was lost may already have these tables."""
    for sql in V2_REVIEW_APP:
        db.execute(sql)
    if "record_score" not in {c.name for c in db.table("scores").columns}:
        db.execute("alter table scores add column record_score real")
        db.execute("alter table scores add column record_auto_failed integer")
    db.execute(
        f"""update scores set
          record_score = case when {_HAS_REVIEW.format(row="scores")}
                         then {_RECORD_OF.format(col="score", row="scores")} else score end,
          record_auto_failed = coalesce({_RECORD_OF.format(col="auto_failed", row="scores")}, auto_failed)"""
    )
    for sql in V2_RECORD_COPY:
        db.execute(sql)


# --- migration 3: outbound contact lists, do-not-call, refusals (issue 18) -----------------------

V3_OUTBOUND_CONTACTS = (
    # One row per number (E.164): a number in several lists is one contact with one history.
    """create table if not exists contacts (
      id integer primary key,
      number text not null unique,
      name text,
      time_zone text,
      zone_note text,
      region text,
      attributes text,
      created_at text not null,
      updated_at text not null
    )""",
    """create table if not exists contact_consents (
      contact_id integer not null references contacts(id),
      kind text not null,
      granted integer not null,
      at text,
      primary key (contact_id, kind)
    )""",
    "create table if not exists contact_lists (name text primary key, created_at text not null, source text)",
    """create table if not exists list_members (
      list_name text not null references contact_lists(name),
      contact_id integer not null references contacts(id),
      line integer,
      added_at text not null,
      primary key (list_name, contact_id)
    )""",
    "create index if not exists idx_list_members_contact on list_members (contact_id)",
    # Do not call: imported numbers and opt-outs said in any call (a number, not a contact:
    # a number never imported as a contact can be on it).
    """create table if not exists dnc (
      number text primary key,
      source text not null check (source in ('import', 'opt_out')),
      added_at text not null,
      campaign text,
      call_id text,
      note text
    ) without rowid""",
    # Each compliance refusal with its reason (outbound.compliance.REASONS).
    """create table if not exists dial_refusals (
      id integer primary key,
      campaign text not null,
      list_name text,
      contact_id integer references contacts(id),
      decided_at text not null,
      reason text not null,
      next_allowed_at text,
      detail text
    )""",
    "create index if not exists idx_dial_refusals_campaign on dial_refusals (campaign, decided_at)",
    "create index if not exists idx_dial_refusals_contact on dial_refusals (contact_id)",
    """create table if not exists contact_callbacks (
      id integer primary key,
      contact_id integer references contacts(id),
      number text not null,
      campaign text,
      call_id text,
      requested_at text not null,
      due_at text not null,
      status text not null default 'scheduled'
    )""",
    "create index if not exists idx_contact_callbacks_number on contact_callbacks (number)",
    "create index if not exists idx_contact_callbacks_due on contact_callbacks (status, due_at)",
)
# dials: which contact and list an attempt was for, and what the far end did.
V3_DIALS_COLUMNS = (
    ("contact_id", "integer references contacts(id)"),
    ("list_name", "text"),
    ("sip_status", "integer"),
    ("answered_by", "text"),
    ("right_party", "integer"),
    ("abandoned", "integer not null default 0"),
)
V3_DIALS_INDEXES = (
    "create index if not exists idx_dials_contact on dials (contact_id, campaign, dialed_at)",
    "create index if not exists idx_dials_campaign on dials (campaign, list_name, dialed_at)",
)


def v3_outbound_contacts(db: sqlite_utils.Database) -> None:
    """Version 3: outbound contact lists (issue 18): contacts by E.164 number with consents and
    list membership, the do-not-call list, compliance refusals, callbacks, and the dials
    columns that tie an attempt to its contact and list and record the SIP outcome.

    Written "if not exists" like version 2, for the same reason (a database whose stamp was
    lost may already have them)."""
    for sql in V3_OUTBOUND_CONTACTS:
        db.execute(sql)
    have = {c.name for c in db.table("dials").columns}
    for name, kind in V3_DIALS_COLUMNS:
        if name not in have:
            db.execute(f"alter table dials add column {name} {kind}")
    for sql in V3_DIALS_INDEXES:
        db.execute(sql)


# MIGRATIONS[i] brings version i to version i + 1. Append only; never edit a released one.
# --- migration 4: foreign keys, one UTC format, calibration sessions, views for Datasette -----------

UTC_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
"""The one format of the timestamps Callwright itself makes (when a row was written, scored,
reviewed): UTC to the second with a Z, as `store.users.now_utc` writes. A call's own times
(`calls.started_at`, `queue_calls.entered_at`, `dials.dialed_at`...) are not of this kind: they
keep the caller's local time and offset, which the reports' days are counted in."""
_UTC_GLOB = "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z"
# (table, column) of every "when was this written" timestamp; before version 3 store.qa wrote
# isoformat (`+00:00`) and the review app the Z form.
UTC_COLUMNS: tuple[tuple[str, str], ...] = (
    ("recordings", "ingested_at"),
    ("scores", "scored_at"),
    ("reviews", "reviewed_at"),
    ("qa_errors", "at"),
    ("users", "created_at"),
    ("sessions", "created_at"),
    ("sessions", "expires_at"),
    ("audit_log", "at"),
    ("scorecard_versions", "saved_at"),
    ("reviewed_scores", "reviewed_at"),
    ("reviewed_items", "reviewed_at"),
    ("disputes", "raised_at"),
    ("disputes", "resolved_at"),
    ("assignments", "assigned_at"),
    ("coaching_notes", "created_at"),
    ("acknowledgements", "at"),
)
# Tables created without a foreign key to calls, rebuilt with one (SQLite cannot add a foreign key
# to an existing table): the new definition, and the columns copied.
V4_REBUILT = {
    "recordings": (
        """create table [{name}] (
          [id] TEXT PRIMARY KEY,
          [call_id] TEXT REFERENCES [calls]([id]),
          [path] TEXT,
          [duration_s] FLOAT,
          [channels] INTEGER,
          [rate] INTEGER,
          [ingested_at] TEXT
        )""",
        ("id", "call_id", "path", "duration_s", "channels", "rate", "ingested_at"),
    ),
    "audit_log": (
        """create table [{name}] (
          id integer primary key,
          at text not null,
          user_name text,
          action text not null,
          call_id text references calls(id),
          scorecard_version text,
          item_id text,
          detail text
        )""",
        ("id", "at", "user_name", "action", "call_id", "scorecard_version", "item_id", "detail"),
    ),
}
V4_TABLES = (
    # A blind calibration session: a supervisor picks a scorecard version, calls and reviewers;
    # each reviewer answers every item of every call without seeing the machine's verdicts or the
    # others' answers. Its answers are never reviews: they never change a score of record.
    """create table if not exists calibration_sessions (
      id integer primary key,
      name text not null,
      scorecard_version text not null,
      created_by text not null,
      created_at text not null,
      status text not null default 'open' check (status in ('open', 'closed')),
      closed_by text,
      closed_at text
    )""",
    """create table if not exists calibration_calls (
      session_id integer not null references calibration_sessions(id),
      call_id text not null references calls(id),
      position integer not null,
      primary key (session_id, call_id)
    )""",
    """create table if not exists calibration_reviewers (
      session_id integer not null references calibration_sessions(id),
      reviewer text not null,
      submitted_at text,
      primary key (session_id, reviewer)
    )""",
    """create table if not exists calibration_answers (
      session_id integer not null references calibration_sessions(id),
      call_id text not null references calls(id),
      item_id text not null,
      reviewer text not null,
      verdict text not null check (verdict in ('pass', 'fail', 'na')),
      note text,
      answered_at text not null,
      primary key (session_id, call_id, item_id, reviewer)
    )""",
    "create index if not exists idx_calibration_calls_call on calibration_calls (call_id)",
)
V4_VIEWS = (
    # Each call's latest score per scorecard, with who and what the call was: the table to browse.
    """create view if not exists scored_calls as
    select c.id as call_id, c.started_at, c.direction, c.agent, c.team, c.queue, c.campaign,
      c.duration_s, s.scorecard, s.scorecard_version,
      s.record_score as score, s.record_auto_failed as auto_failed,
      s.score as auto_score, s.auto_failed as auto_auto_failed,
      r.call_id is not null as reviewed, r.reviewer, r.reviewed_at, s.scored_at
    from scores s join calls c on c.id = s.call_id
    left join reviewed_scores r on r.call_id = s.call_id and r.scorecard_version = s.scorecard_version
    where s.scored_at = (select max(s2.scored_at) from scores s2
                         where s2.call_id = s.call_id and s2.scorecard = s.scorecard)""",
    # Every reviewed item: the machine's verdict beside the verdict of record, and whether they differ.
    """create view if not exists reviewed_vs_automatic as
    select r.call_id, c.agent, c.started_at, r.scorecard_version, r.item_id, i.section, i.kind,
      i.verdict as automatic, r.verdict as reviewed, i.verdict != r.verdict as changed,
      i.points as auto_points, r.points as reviewed_points, r.max_points, r.auto_fail,
      r.reviewer, r.reviewed_at, r.review_id
    from reviewed_items r
    join item_scores i on i.call_id = r.call_id and i.scorecard_version = r.scorecard_version
      and i.item_id = r.item_id
    join calls c on c.id = r.call_id""",
    # The schema version and application id (PRAGMA user_version / application_id) as a row.
    """create view if not exists schema_version as
    select v.user_version as version, a.application_id as application_id
    from pragma_user_version v, pragma_application_id a""",
)


class ForeignKeyViolation(CallwrightError):
    """Rows that refer to a missing row (found by `PRAGMA foreign_key_check` after migration 4)."""


def _rebuild_with_foreign_keys(db: sqlite_utils.Database, table: str) -> None:
    """SQLite's 12-step table change, inside the migration's transaction: create the new table,
    copy every row, drop the old one, rename the new one, recreate the old one's indexes (and
    triggers: none of these tables has any). Foreign keys are not enforced on Callwright's
    connections, so dropping a parent never cascades; `foreign_key_check` runs afterwards."""
    create, columns = V4_REBUILT[table]
    kept = [
        sql
        for (sql,) in db.execute(
            "select sql from sqlite_master where tbl_name = ? and type in ('index', 'trigger') "
            "and sql is not null",
            [table],
        ).fetchall()
    ]
    cols = ", ".join(f"[{c}]" for c in columns)
    db.execute(create.format(name=f"{table}_v4"))
    db.execute(f"insert into [{table}_v4] ({cols}) select {cols} from [{table}]")
    db.execute(f"drop table [{table}]")
    db.execute(f"alter table [{table}_v4] rename to [{table}]")
    for sql in kept:
        db.execute(sql)


def _utc(db: sqlite_utils.Database, table: str, column: str) -> None:
    """Rewrite a written-at column in `UTC_FORMAT` (any ISO 8601 offset converted to UTC); a value
    SQLite cannot read as a time is left as it is."""
    fmt = f"strftime('{UTC_FORMAT}', [{column}])"
    db.execute(
        f"update [{table}] set [{column}] = {fmt} "
        f"where [{column}] is not null and [{column}] not glob '{_UTC_GLOB}' and {fmt} is not null"
    )


def v4_foreign_keys_utc_and_calibration(db: sqlite_utils.Database) -> None:
    """Version 3 (issue 15 items 6 and 9): Datasette links every table to its call, times are in one
    format, blind calibration sessions get their tables.

    - `recordings` and `audit_log` are rebuilt with a foreign key to `calls` (every other table
      that names a call already has one); then `PRAGMA foreign_key_check` must find nothing, else
      the migration fails naming the rows (and the database stays as it was);
    - every written-at timestamp (`UTC_COLUMNS`) becomes `UTC_FORMAT` (store.qa wrote `+00:00`);
    - the calibration session tables (`calibration_sessions`, `_calls`, `_reviewers`, `_answers`);
    - the views `scored_calls`, `reviewed_vs_automatic` and `schema_version`.

    Like version 2, written "if not exists" (and a table already linked is not rebuilt): a
    database whose stamp was lost is migrated again from version 1."""
    for table in V4_REBUILT:
        parents = {r[2] for r in db.execute(f"pragma foreign_key_list([{table}])")}
        if "calls" not in parents:  # a database whose stamp was lost may have been rebuilt already
            _rebuild_with_foreign_keys(db, table)
    for table, column in UTC_COLUMNS:
        _utc(db, table, column)
    for sql in (*V4_TABLES, *V4_VIEWS):
        db.execute(sql)
    bad = db.execute("pragma foreign_key_check").fetchall()
    if bad:
        shown = "; ".join(
            f"{t} row {rowid} refers to a missing {parent} row" for t, rowid, parent, _ in bad[:5]
        )
        raise ForeignKeyViolation(
            f"cannot migrate to schema version {MIGRATIONS.index(v4_foreign_keys_utc_and_calibration) + 1}: "
            f"{len(bad)} row(s) refer to rows that do not exist "
            f"({shown}{', ...' if len(bad) > 5 else ''}); the database was left as it was",
            hint="add the missing rows or delete these (e.g. with sqlite3), then open it again",
        )


def v5_transcript_language(db: sqlite_utils.Database) -> None:
    """Version 5 (issue 17 item 5): the language a recording's transcript is in.

    `recordings.language` (an ISO 639 code such as `es`; null when not known: a database from
    before, an engine that does not say) and `recordings.language_probability` (the recogniser's
    probability when it detected the language itself; null when it was told: `qa score
    --language`, the call's metadata, an English-only model).

    Like versions 2 and 4, a column already there is kept: a database whose stamp was lost is
    migrated again from version 1."""
    have = {row[1] for row in db.execute("pragma table_info(recordings)")}
    for column, kind in (("language", "TEXT"), ("language_probability", "FLOAT")):
        if column not in have:
            db.execute(f"alter table recordings add column {column} {kind}")


def v6_customer_pseudonyms(db: sqlite_utils.Database) -> None:
    """Version 6 (issue 17 item 4): no customer's name in `calls.customer`.

    `customer_key` holds a random key made once per database; every `calls.customer` that is a
    name (letters, no digit: an id or a number is kept) is replaced by its keyed pseudonym
    (`store.pseudonyms`), the same one `record_call` writes from now on, so a customer's calls
    before and after still link. Like versions 2, 4 and 5, safe to run again on a database
    whose stamp was lost (a pseudonym is not a name and is kept)."""
    from callwright.store.pseudonyms import stored_customer

    db.execute(
        "create table if not exists customer_key (id integer primary key check (id = 1), key text not null)"
    )
    db.execute("insert or ignore into customer_key (id, key) values (1, lower(hex(randomblob(32))))")
    if "customer" not in {c.name for c in db.table("calls").columns}:
        return
    rows = db.execute("select distinct customer from calls where customer is not null").fetchall()
    for (value,) in rows:
        new = stored_customer(db, value)
        if new != value:
            db.execute("update calls set customer = ? where customer = ?", [new, value])


def v7_call_attributes(db: sqlite_utils.Database) -> None:
    """Version 7 (issue 17 item 6): `calls.attributes`, a call's own metadata fields (region,
    product...) as a JSON object, text values redacted, so `qa rescore` chooses a scorecard by
    them as `qa score` did. Null for calls without any. A column already there is kept (a
    database whose stamp was lost is migrated again from version 1)."""
    if "attributes" not in {c.name for c in db.table("calls").columns}:
        db.execute("alter table calls add column attributes TEXT")


# MIGRATIONS[i] brings version i to version i + 1. Append only; never edit a released one.
MIGRATIONS: tuple[Migration, ...] = (
    v1_callwright_schema,
    v2_review_app,
    v3_outbound_contacts,
    v4_foreign_keys_utc_and_calibration,
    v5_transcript_language,
    v6_customer_pseudonyms,
    v7_call_attributes,
)
if len(MIGRATIONS) != schema.SCHEMA_VERSION:
    raise RuntimeError(
        f"store.schema.SCHEMA_VERSION is {schema.SCHEMA_VERSION} but there are "
        f"{len(MIGRATIONS)} migrations: raise it with the migration you added"
    )


def _pragma(db: sqlite_utils.Database, name: str) -> int:
    return int(db.execute(f"pragma {name}").fetchone()[0])


def _is_current(db: sqlite_utils.Database) -> bool:
    return (
        _pragma(db, "application_id") == schema.APPLICATION_ID
        and _pragma(db, "user_version") == schema.SCHEMA_VERSION
    )


def migrate(db: sqlite_utils.Database, name: str = "the database") -> int:
    """Check the database is Callwright's and bring it to `schema.SCHEMA_VERSION`; returns
    how many migrations ran (0 when it was current: then nothing is written).

    Everything happens in one `BEGIN IMMEDIATE` transaction, rolled back on any error. The
    caller retries it while another process holds the lock (`store.db.open_db` runs it under
    `retry_busy`): of several processes opening a new database at once, one migrates it and
    the others find it current once they hold the lock."""
    if _is_current(db):
        return 0
    db.execute("begin immediate")
    try:
        schema.check_identity(db, name)  # again under the lock: the file may have changed since
        version = _pragma(db, "user_version")
        pending = MIGRATIONS[version:]
        for migration in pending:
            try:
                migration(db)
            except CallwrightError as err:
                raise CallwrightError(f"{name}: {err.message}", hint=err.hint) from None
        if _pragma(db, "application_id") != schema.APPLICATION_ID:
            db.execute(f"pragma application_id = {schema.APPLICATION_ID}")
        if version < schema.SCHEMA_VERSION:
            db.execute(f"pragma user_version = {schema.SCHEMA_VERSION}")
        db.execute("commit")
    except BaseException:
        if db.conn.in_transaction:
            db.execute("rollback")
        raise
    return len(pending)

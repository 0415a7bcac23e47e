"""Contact lists, the do-not-call list, and each contact's history (issue 18).

Tables (migration `v3_outbound_contacts`, described in docs/datasette-metadata.json):
`contacts` (one row per E.164 number), `contact_consents`, `contact_lists` and
`list_members` (a contact in many lists), `dnc` (imported numbers and opt-outs said in
any call), `dial_refusals` (each compliance refusal with its reason), `contact_callbacks`;
attempts are rows of `dials` (store.dials) with the contact, list, and the SIP outcome.

The dialer's calls, per attempt: `contact_history` (compliance.History for one campaign),
`is_dnc`, then `record_attempt` (a store.dials.Dial) or `record_refusal`; a flow that hears
"stop calling me" calls `add_opt_out`, which the very next `is_dnc` sees (same database).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import sqlite_utils

from callwright.outbound.compliance import History, Refuse
from callwright.outbound.contacts import Consent, Contact, ContactRow, row_of
from callwright.store.dials import Dial, save_dials

DncSource = Literal["import", "opt_out"]
_DNC_BATCH = 20_000


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class ImportCounts:
    rows: int = 0  # data rows read
    imported: int = 0  # contacts saved (new or updated)
    new: int = 0
    updated: int = 0  # numbers already in the database (from another list or an earlier import)
    duplicates: int = 0  # rows repeating a number earlier in the same file (skipped)
    errors: int = 0  # rows refused
    unknown_zones: int = 0


def ensure_list(db: sqlite_utils.Database, name: str, source: str) -> None:
    db.execute(
        "insert into contact_lists (name, created_at, source) values (?, ?, ?) "
        "on conflict(name) do update set source = excluded.source",
        [name, _now(), source],
    )


# A batch goes into a temporary table with one executemany (no indexes), then into the
# real tables with set-based statements: SQLite joins in C what a row-by-row upsert, member
# and consent insert (three statements per contact) did in Python.
_STAGE = """create temp table if not exists contact_import (
  number text, name text, time_zone text, zone_note text, region text, attributes text, line integer,
  consents text)"""
_STAGE_INSERT = "insert into temp.contact_import values (?, ?, ?, ?, ?, ?, ?, ?)"
_UPSERT = """insert into contacts
    (number, name, time_zone, zone_note, region, attributes, created_at, updated_at)
  select number, name, time_zone, zone_note, region, attributes, :now, :now
  from temp.contact_import where true
  on conflict(number) do update set name = coalesce(excluded.name, name),
    time_zone = excluded.time_zone,
    zone_note = excluded.zone_note, region = excluded.region, attributes = excluded.attributes,
    updated_at = excluded.updated_at"""
_MEMBER = """insert into list_members (list_name, contact_id, line, added_at)
  select :list, c.id, i.line, :now
  from temp.contact_import i join contacts c on c.number = i.number where true
  on conflict(list_name, contact_id) do update set line = excluded.line"""
_CONSENT = """insert or replace into contact_consents (contact_id, kind, granted, at)
  select c.id, j.value ->> 0, j.value ->> 1, j.value ->> 2
  from temp.contact_import i join contacts c on c.number = i.number, json_each(i.consents) j
  where i.consents is not null"""


def save_contacts(db: sqlite_utils.Database, list_name: str, contacts: list[Contact]) -> tuple[int, int]:
    """Upsert contacts (without repeated numbers) into a list, in one transaction; returns
    (new, updated)."""
    return save_rows(db, list_name, [row_of(c) for c in contacts])


def save_rows(db: sqlite_utils.Database, list_name: str, rows: list[ContactRow]) -> tuple[int, int]:
    """`save_contacts` for rows as outbound.contacts.parse_rows makes them (the bulk path)."""
    now = _now()
    with db.atomic():
        before = db.execute("select count(*) from contacts").fetchone()[0]
        db.execute(_STAGE)
        db.execute("delete from temp.contact_import")
        db.conn.executemany(_STAGE_INSERT, rows)
        db.execute(_UPSERT, {"now": now})
        db.execute(_MEMBER, {"list": list_name, "now": now})
        db.execute(_CONSENT)
        db.execute("delete from temp.contact_import")
        after = db.execute("select count(*) from contacts").fetchone()[0]
    new = after - before
    return new, len(rows) - new


def _contact(row: sqlite3_row, consents: Iterable[tuple[Any, ...]]) -> Contact:
    cid, number, name, zone, note, region, attributes = row
    return Contact(
        number=number,
        name=name,
        time_zone=zone,
        zone_note=note,
        region=region,
        consents=tuple(
            Consent(kind, bool(granted), datetime.fromisoformat(at) if at else None)
            for kind, granted, at in consents
        ),
        attributes=json.loads(attributes) if attributes else {},
        id=cid,
    )


sqlite3_row = tuple[Any, ...]
_CONTACT_COLS = "c.id, c.number, c.name, c.time_zone, c.zone_note, c.region, c.attributes"


def get_contact(db: sqlite_utils.Database, number: str) -> Contact | None:
    row = db.execute(f"select {_CONTACT_COLS} from contacts c where c.number = ?", [number]).fetchone()
    if row is None:
        return None
    consents = db.execute(
        "select kind, granted, at from contact_consents where contact_id = ? order by kind", [row[0]]
    ).fetchall()
    return _contact(row, consents)


def list_contacts(db: sqlite_utils.Database, list_name: str) -> Iterator[Contact]:
    """A list's contacts in the order they joined it (streamed: a list may hold millions)."""
    cur = db.conn.execute(
        f"""select {_CONTACT_COLS}, (select json_group_array(json_array(k.kind, k.granted, k.at))
              from contact_consents k where k.contact_id = c.id)
            from list_members m join contacts c on c.id = m.contact_id
            where m.list_name = ? order by m.rowid""",
        [list_name],
    )
    for row in cur:
        yield _contact(row[:7], json.loads(row[7]) if row[7] else [])


def list_names(db: sqlite_utils.Database) -> list[tuple[str, int]]:
    return [
        (r[0], r[1])
        for r in db.execute(
            "select l.name, (select count(*) from list_members m where m.list_name = l.name) "
            "from contact_lists l order by l.name"
        ).fetchall()
    ]


def has_list(db: sqlite_utils.Database, name: str) -> bool:
    return db.execute("select 1 from contact_lists where name = ?", [name]).fetchone() is not None


# --- do not call -----------------------------------------------------------------------------


def import_dnc(db: sqlite_utils.Database, numbers: Iterable[str], *, note: str | None = None) -> int:
    """Add E.164 numbers to the do-not-call list (an opt-out already there stays one);
    returns how many were new."""
    before = db.execute("select count(*) from dnc").fetchone()[0]
    now = _now()
    batch: list[tuple[Any, ...]] = []
    with db.atomic():
        for n in numbers:
            batch.append((n, now, note))
            if len(batch) >= _DNC_BATCH:
                db.conn.executemany(
                    "insert or ignore into dnc (number, source, added_at, note) values (?, 'import', ?, ?)",
                    batch,
                )
                batch = []
        db.conn.executemany(
            "insert or ignore into dnc (number, source, added_at, note) values (?, 'import', ?, ?)", batch
        )
    return int(db.execute("select count(*) from dnc").fetchone()[0] - before)


def add_opt_out(
    db: sqlite_utils.Database,
    number: str,
    *,
    campaign: str | None = None,
    call_id: str | None = None,
    at: datetime | None = None,
) -> None:
    """Record a caller's "do not call me": the number joins the do-not-call list at once
    (committed before returning, so the next `is_dnc` of any process sees it)."""
    when = (at or datetime.now(UTC)).isoformat(timespec="seconds")
    with db.atomic():
        db.conn.execute(
            """insert into dnc (number, source, added_at, campaign, call_id) values (?, 'opt_out', ?, ?, ?)
               on conflict(number) do update set source = 'opt_out', added_at = excluded.added_at,
                 campaign = excluded.campaign, call_id = excluded.call_id""",
            [number, when, campaign, call_id],
        )


def is_dnc(db: sqlite_utils.Database, number: str) -> bool:
    """Whether a number is on the do-not-call list (a primary-key lookup: microseconds)."""
    return db.conn.execute("select 1 from dnc where number = ?", [number]).fetchone() is not None


def dnc_count(db: sqlite_utils.Database) -> int:
    return int(db.execute("select count(*) from dnc").fetchone()[0])


# --- attempts, refusals, history ---------------------------------------------------------------


def record_attempt(db: sqlite_utils.Database, dial: Dial) -> None:
    """Save one attempt (a `dials` row; give it `contact_id` and `list_name`). A dial with
    `opted_out` also puts the contact's number on the do-not-call list."""
    save_dials(db, [dial])
    if dial.opted_out and dial.contact_id is not None:
        row = db.execute("select number from contacts where id = ?", [dial.contact_id]).fetchone()
        if row:
            add_opt_out(
                db,
                row[0],
                campaign=dial.campaign,
                call_id=dial.call_id,
                at=datetime.fromisoformat(dial.dialed_at),
            )


def record_refusal(
    db: sqlite_utils.Database,
    campaign: str,
    contact: Contact,
    refusal: Refuse,
    *,
    at: datetime,
    list_name: str | None = None,
) -> None:
    """Log one compliance refusal with its reason (the report counts them by reason)."""
    with db.atomic():
        db.conn.execute(
            """insert into dial_refusals
                 (campaign, list_name, contact_id, decided_at, reason, next_allowed_at, detail)
               values (?, ?, ?, ?, ?, ?, ?)""",
            [
                campaign,
                list_name,
                contact.id,
                at.astimezone(UTC).isoformat(timespec="seconds"),
                refusal.reason,
                refusal.next_allowed_at.isoformat(timespec="seconds") if refusal.next_allowed_at else None,
                refusal.detail,
            ],
        )


def disposition_of(result: str, disposition: str | None) -> str:
    """What compliance calls an attempt's outcome: the SIP result for one that did not
    connect, the flow's disposition for one that did ("completed" when it gave none)."""
    if result != "connected":
        return result
    return disposition or "completed"


def contact_history(db: sqlite_utils.Database, contact_id: int, campaign: str) -> History:
    """The contact's attempts in one campaign (an index lookup on dials)."""
    row = db.execute(
        """select count(*), max(dialed_at) from dials where contact_id = ? and campaign = ?""",
        [contact_id, campaign],
    ).fetchone()
    if not row[0]:
        return History()
    last = db.execute(
        """select result, disposition, opted_out from dials where contact_id = ? and campaign = ?
           order by dialed_at desc, rowid desc limit 1""",
        [contact_id, campaign],
    ).fetchone()
    disp = "opted_out" if last[2] else disposition_of(last[0], last[1])
    return History(attempts=row[0], last_attempt_at=datetime.fromisoformat(row[1]), last_disposition=disp)


def record_callback(
    db: sqlite_utils.Database,
    number: str,
    due_at: datetime,
    *,
    campaign: str | None = None,
    call_id: str | None = None,
    contact_id: int | None = None,
) -> int:
    """A callback a caller asked for (any flow); returns its id."""
    with db.atomic():
        cur = db.conn.execute(
            """insert into contact_callbacks
                 (contact_id, number, campaign, call_id, requested_at, due_at, status)
               values (?, ?, ?, ?, ?, ?, 'scheduled')""",
            [
                contact_id,
                number,
                campaign,
                call_id,
                _now(),
                due_at.astimezone(UTC).isoformat(timespec="seconds"),
            ],
        )
    return int(cur.lastrowid or 0)


@dataclass
class Timeline:
    """Everything that happened to one contact: for `callwright contacts show NUMBER`."""

    contact: Contact
    lists: list[str]
    attempts: list[dict[str, Any]] = field(default_factory=list)
    refusals: list[dict[str, Any]] = field(default_factory=list)
    callbacks: list[dict[str, Any]] = field(default_factory=list)
    dnc: dict[str, Any] | None = None

    @property
    def last_outcome(self) -> str | None:
        if not self.attempts:
            return None
        a = self.attempts[-1]
        return "opted_out" if a["opted_out"] else disposition_of(a["result"], a["disposition"])


def timeline(db: sqlite_utils.Database, number: str) -> Timeline | None:
    contact = get_contact(db, number)
    if contact is None:
        return None

    def rows(sql: str, *params: Any) -> list[dict[str, Any]]:
        cur = db.execute(sql, list(params))
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

    lists = [
        r["list_name"]
        for r in rows("select list_name from list_members where contact_id = ? order by 1", contact.id)
    ]
    t = Timeline(contact, lists)
    t.attempts = rows(
        """select id, campaign, list_name, dialed_at, result, disposition, sip_status, answered_by, converted,
             opted_out, call_id from dials where contact_id = ? order by dialed_at, rowid""",
        contact.id,
    )
    t.refusals = rows(
        "select campaign, decided_at, reason, next_allowed_at, detail from dial_refusals "
        "where contact_id = ? order by id",
        contact.id,
    )
    t.callbacks = rows(
        "select campaign, requested_at, due_at, status, call_id from contact_callbacks "
        "where number = ? order by id",
        number,
    )
    dnc = rows("select source, added_at, campaign, call_id from dnc where number = ?", number)
    t.dnc = dnc[0] if dnc else None
    return t


# --- importing a file ------------------------------------------------------------------------

MAX_PROBLEMS_KEPT = 1_000  # problems kept for the report (all are counted)


@dataclass
class ImportResult:
    counts: ImportCounts
    problems: list[Any]  # common.source.Problem, the first MAX_PROBLEMS_KEPT in file order
    saved: bool


def import_csv(
    db: sqlite_utils.Database,
    path: str,
    list_name: str,
    *,
    region: str | None = None,
    encoding: str = "utf-8",
    skip_bad: bool = False,
    workers: int | None = None,
) -> ImportResult:
    """Import a contacts CSV into a list, in one transaction.

    Numbers repeated in the file are kept once (the first row) and reported as warnings; a
    number already in the database (another list, an earlier import) is updated and joins the
    list. Rows with errors (not a number, an unknown zone...) are reported; unless `skip_bad`,
    any error saves nothing (the whole import rolls back), so a fixed file imports cleanly."""
    from callwright.common.source import Problem
    from callwright.outbound.contacts import mask, read_contacts

    counts = ImportCounts()
    problems: list[Problem] = []
    seen: dict[str, int] = {}

    def keep(p: Problem) -> None:
        if len(problems) < MAX_PROBLEMS_KEPT:
            problems.append(p)

    db.execute("begin immediate")
    try:
        ensure_list(db, list_name, path)
        for batch in read_contacts(path, region=region, encoding=encoding, workers=workers):
            counts.rows += batch.read
            for p in batch.problems:
                counts.errors += p.severity == "error"
                keep(p)
            unique: list[ContactRow] = []
            for r in batch.items:
                first = seen.setdefault(r[0], r[6])
                if first != r[6]:
                    counts.duplicates += 1
                    keep(Problem(path, r[6], 1, "warning", f"{mask(r[0])} repeats line {first}; skipped"))
                    continue
                counts.unknown_zones += r[2] is None
                unique.append(r)
            if counts.errors and not skip_bad:
                continue  # keep reading, to report every error; nothing will be saved
            new, updated = save_rows(db, list_name, unique)
            counts.new += new
            counts.updated += updated
            counts.imported += len(unique)
        saved = skip_bad or not counts.errors
        db.execute("commit" if saved else "rollback")
    except BaseException:
        if db.conn.in_transaction:
            db.execute("rollback")
        raise
    if not saved:
        counts.imported = counts.new = counts.updated = 0
    problems.sort(key=lambda p: (p.line, p.col))
    return ImportResult(counts, problems, saved)


def export_rows(db: sqlite_utils.Database, list_name: str) -> list[dict[str, Any]]:
    """A list's contacts with consents, attributes and a history summary, in file order."""
    cur = db.execute(
        """select c.id, c.number, c.name, c.time_zone, c.region, c.attributes,
             (select json_group_object(k.kind, json_array(k.granted, k.at)) from contact_consents k
              where k.contact_id = c.id),
             (select count(*) from dials d where d.contact_id = c.id),
             (select max(d.dialed_at) from dials d where d.contact_id = c.id),
             (select case when d.opted_out then 'opted_out' when d.result != 'connected' then d.result
                     else coalesce(d.disposition, 'completed') end
              from dials d where d.contact_id = c.id order by d.dialed_at desc, d.rowid desc limit 1),
             (select n.source from dnc n where n.number = c.number)
           from list_members m join contacts c on c.id = m.contact_id
           where m.list_name = ? order by m.rowid""",
        [list_name],
    )
    out = []
    for cid, number, name, zone, region, attrs, consents, attempts, last_at, last, dnc in cur.fetchall():
        out.append(
            {
                "id": cid,
                "number": number,
                "name": name,
                "time_zone": zone,
                "region": region,
                "attributes": json.loads(attrs) if attrs else {},
                "consents": {k: (bool(v[0]), v[1]) for k, v in json.loads(consents).items()}
                if consents
                else {},
                "attempts": attempts,
                "last_attempt_at": last_at,
                "last_outcome": last,
                "dnc": dnc,
            }
        )
    return out

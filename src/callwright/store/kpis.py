"""KPI queries: every report number is computed here, in SQL, over a date range.

Each function returns one dict per group (plain counts and sums next to the
ratios they make, so that a total can be checked by hand). The definitions,
variants and sources are in docs/kpis.md; `callwright.reports.kpis` validates
the parameters and turns the rows into dataclasses.

Conventions shared by every query:
- a call belongs to the range and to a day by its `calls.started_at` text
  (ISO 8601, the call's local time as recorded): `start <= started_at < end`;
- the group key is one of `GROUPS` (never text from the user); calls with no
  value for it (e.g. no agent) fall in the group `None`;
- ratios are None when their denominator is 0.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlite_utils

from callwright.store import cubes

# The group key over the `calls` row aliased c (whitelist: never user text in SQL).
GROUPS: dict[str, str] = {
    "all": "'all'",
    "day": "substr(c.started_at, 1, 10)",
    # Monday of the ISO week: 'weekday 0' moves to the next Sunday (or stays), -6 days is its Monday.
    "week": "date(substr(c.started_at, 1, 10), 'weekday 0', '-6 days')",
    "queue": "c.queue",
    "agent": "c.agent",
    "team": "c.team",
    "flow": "c.flow",
    "direction": "c.direction",
    "campaign": "c.campaign",
}
_RANGE = "c.started_at >= :start and c.started_at < :end"
SLICE_COLUMNS = ("queue", "team", "agent", "direction")


@dataclass(frozen=True)
class Slice:
    """A filter on the calls' dimensions (the dashboard's queue, team, agent and direction; None
    is any). Every family applies it to the same columns it groups by (a queue row's own queue
    and answering agent for the queue KPIs, the dial's agent and team for dials), so the KPIs of
    `Slice(agent=X)` are the report's row for X when it is grouped by agent."""

    queue: str | None = None
    team: str | None = None
    agent: str | None = None
    direction: str | None = None

    def __bool__(self) -> bool:
        return any(getattr(self, c) is not None for c in SLICE_COLUMNS)

    def sql(self, columns: dict[str, str] | None = None) -> tuple[str, dict[str, Any]]:
        """The condition (never user text: values are parameters) over `columns` (the SQL for
        each dimension; by default its bare name, the cube's column) and its parameters."""
        conds, params = [], {}
        for col in SLICE_COLUMNS:
            value = getattr(self, col)
            if value is not None:
                conds.append(f"{(columns or {}).get(col, col)} = :slice_{col}")
                params[f"slice_{col}"] = value
        return " and ".join(conds) or "1", params


ALL = Slice()
_CALL_COLUMNS = {c: f"c.{c}" for c in SLICE_COLUMNS}
_QUEUE_COLUMNS = {**_CALL_COLUMNS, "queue": "q.queue", "agent": "coalesce(q.agent, c.agent)"}


def _sliced(rollup: str, sl: Slice) -> tuple[str, dict[str, Any]]:
    """A rollup SELECT (`... from cube cross join g group by ...`) over the cube rows of `sl`."""
    cond, params = sl.sql()
    return rollup.replace("from cube cross join g", f"from cube cross join g where {cond}"), params


def prepare(db: sqlite_utils.Database) -> None:
    """Let the report's big scans read through memory-mapped I/O and a larger page cache
    (connection settings only; the file is unchanged)."""
    db.execute("pragma mmap_size = 4294967296")
    db.execute("pragma cache_size = -262144")  # KiB: 256 MB


def _group(group: str) -> str:
    return GROUPS[group]  # KeyError is a programming error: callers validate user input


def _rows(db: sqlite_utils.Database, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    return list(db.query(sql, params))


# Additive KPI families are computed in two steps inside one statement: first a
# "cube" of counts and sums per (day, queue, agent, team, flow, direction,
# campaign) -- one pass over the rows, one sort -- then each requested grouping
# sums the cube's few thousand rows. A report needs four groupings (its own,
# the total, the trend, the agents), so this is one pass instead of four.
CUBE_KEYS = "day, queue, agent, team, flow, direction, campaign"  # the first 7 columns of a cube
ROLLUP: dict[str, str] = {
    "all": "'all'",
    "day": "day",
    "week": "date(day, 'weekday 0', '-6 days')",
    "queue": "queue",
    "agent": "agent",
    "team": "team",
    "flow": "flow",
    "direction": "direction",
    "campaign": "campaign",
    # QA only (qa_groups' cube keeps it): the QA score histogram's 10-point bins, the last one
    # holding 100, as qa_score_bins counts them.
    "score_bin": "score_bin",
}


def _rollup(groups: Sequence[str]) -> tuple[str, str]:
    """The groupings table and the group-key expression over the cube (names are whitelisted)."""
    names = list(dict.fromkeys(groups))
    for g in names:
        if g not in ROLLUP:
            raise KeyError(g)  # a programming error: callers validate user input
    values = ", ".join(f"('{g}')" for g in names)
    case = "case g.name " + " ".join(f"when '{g}' then {ROLLUP[g]}" for g in names) + " end"
    return f"g(name) as (values {values})", case


def _cube_keys(
    queue: str = "c.queue",
    agent: str = "c.agent",
    team: str = "c.team",
    campaign: str = "c.campaign",
    day: str = "c.started_at",
    direction: str = "c.direction",
) -> str:
    return (
        f"substr({day}, 1, 10) as day, {queue} as queue, {agent} as agent, {team} as team, "
        f"c.flow as flow, {direction} as direction, {campaign} as campaign"
    )


# --- the additive families: a cube per (day, dimensions), rolled up to each grouping ----------
# Each family has one cube SELECT (over the raw rows, for a WHERE on the call's or dial's start)
# and one rollup SELECT (over a `cube`). The daily cube tables (store.cubes.KPI_CUBES) hold
# the cube SELECT's rows per day; a report rolls them up with the same rollup SELECT. The
# `*_raw` functions run both over the raw rows (the definition; used for ranges that are not
# whole days and for thresholds the cube does not keep).
_RANGE_LH = "c.started_at >= :lo and c.started_at < :hi"

_SURVEY_CUBE = f"""
          select {_cube_keys()},
            sum(s.question = 'csat') as csat_n, sum(s.question = 'csat' and s.value >= 4) as csat_top2,
            sum(s.question = 'csat' and s.value <= 2) as csat_bottom2,
            sum(case when s.question = 'csat' then s.value end) as csat_sum,
            sum(s.question = 'nps') as nps_n, sum(s.question = 'nps' and s.value >= 9) as promoters,
            sum(s.question = 'nps' and s.value <= 6) as detractors,
            sum(s.question = 'resolved') as resolved_n,
            sum(s.question = 'resolved' and s.value = 1) as resolved_yes
          from survey_answers s join calls c on c.id = s.call_id
          where {{where}} and c.direction = 'inbound'
          group by 1, 2, 3, 4, 5, 6, 7"""
_SURVEY_ROLLUP = """
        select g.name as grouping, {key} as grp,
          sum(csat_n) as csat_n, sum(csat_top2) as csat_top2, sum(csat_bottom2) as csat_bottom2,
          100.0 * sum(csat_top2) / nullif(sum(csat_n), 0) as csat,
          100.0 * sum(csat_bottom2) / nullif(sum(csat_n), 0) as dsat,
          1.0 * sum(csat_sum) / nullif(sum(csat_n), 0) as csat_mean,
          sum(nps_n) as nps_n, sum(promoters) as promoters, sum(detractors) as detractors,
          100.0 * (sum(promoters) - sum(detractors)) / nullif(sum(nps_n), 0) as nps,
          sum(resolved_n) as resolved_n, sum(resolved_yes) as resolved_yes,
          100.0 * sum(resolved_yes) / nullif(sum(resolved_n), 0) as fcr_survey
        from cube cross join g
        group by 1, 2 order by 1, 2"""

# Every call (all directions: agent_teams reads it too); the inbound rollup filters direction.
_CALLS_CUBE = f"""
          select {_cube_keys()}, count(*) as calls,
            sum(coalesce(c.customer, c.caller_id) is not null) as contacts,
            sum(c.flow is not null) as ivr_calls,
            sum(c.flow is not null and c.outcome = 'self_served') as contained,
            sum(c.flow is not null and c.outcome = 'transferred') as transferred,
            sum(c.flow is not null and c.outcome = 'abandoned') as ivr_abandoned
          from calls c
          where {{where}}
          group by 1, 2, 3, 4, 5, 6, 7"""
_INBOUND_ROLLUP = """
        select g.name as grouping, {key} as grp, sum(calls) as calls,
          sum(contacts) as contacts, sum(repeated) as repeated,
          100.0 * (sum(contacts) - sum(repeated)) / nullif(sum(contacts), 0) as fcr_repeat,
          sum(ivr_calls) as ivr_calls, sum(contained) as contained, sum(transferred) as transferred,
          sum(ivr_abandoned) as ivr_abandoned,
          100.0 * sum(contained) / nullif(sum(ivr_calls), 0) as containment
        from cube cross join g
        group by 1, 2 order by 1, 2"""
# Repeat contacts: the window is compared at query time with calls.next_contact_at (kept by
# triggers, store.schema), over the inbound calls of the range (an index-only scan).
_REPEATED = f"""
          select {_cube_keys()}, count(*) as repeated
          from calls c
          where {_RANGE} and c.direction = 'inbound' and c.next_contact_at is not null
            and julianday(c.next_contact_at) - julianday(c.started_at) <= :window
          group by 1, 2, 3, 4, 5, 6, 7"""

_ANSWERED = "(q.callback_accepted = 0 and q.answered_at is not null)"


def _abandoned(short: str) -> str:
    return f"(q.callback_accepted = 0 and q.outcome = 'abandoned' and q.wait_s >= {short})"


def _queue_cube(columns: str) -> str:
    return f"""
          select {_cube_keys(queue="q.queue", agent="coalesce(q.agent, c.agent)")}, count(*) as offered,
            sum({_ANSWERED}) as answered, sum(q.callback_accepted) as callbacks,
            sum(q.callback_accepted = 0 and q.outcome = 'unserved') as unserved,
            sum(case when {_ANSWERED} then q.wait_s end) as wait_answered_s,
            count(q.handle_s) as handled,
            sum(q.talk_s) as talk_s, sum(q.hold_s) as hold_s, sum(q.acw_s) as acw_s,
            {columns}
          from queue_calls q join calls c on c.id = q.call_id
          where {{where}}
          group by 1, 2, 3, 4, 5, 6, 7"""


def _threshold_columns(threshold: str, short: str, suffix_t: str = "", suffix_s: str = "") -> list[str]:
    return [
        f"sum({_ANSWERED} and q.wait_s <= {threshold}) as answered_within{suffix_t}",
        f"sum({_abandoned(short)}) as abandoned{suffix_s}",
        f"sum(q.callback_accepted = 0 and q.outcome = 'abandoned' and q.wait_s < {short}) "
        f"as short_abandoned{suffix_s}",
        f"sum(case when {_ANSWERED} or {_abandoned(short)} then q.wait_s end) as wait_all_s{suffix_s}",
    ]


_QUEUE_RAW_CUBE = _queue_cube(",\n            ".join(_threshold_columns(":threshold", ":short")))
# The daily table: `within_T` for each kept service-level threshold, abandoned / short-abandoned /
# wait of all counted calls for each kept short-abandon threshold.
_QUEUE_DAILY_CUBE = _queue_cube(
    ",\n            ".join(
        [f"sum({_ANSWERED} and q.wait_s <= {t}) as within_{t}" for t in cubes.SL_THRESHOLDS]
        + [c for s in cubes.SHORT_ABANDONS for c in _threshold_columns("0", str(s), "", f"_{s}")[1:]]
    )
)
_QUEUE_ROLLUP = """
        select g.name as grouping, {key} as grp, sum(offered) as offered, sum(answered) as answered,
          sum(abandoned) as abandoned, sum(short_abandoned) as short_abandoned, sum(callbacks) as callbacks,
          sum(unserved) as unserved, sum(answered_within) as answered_within,
          sum(wait_answered_s) as wait_answered_s, sum(wait_all_s) as wait_all_s, sum(handled) as handled,
          sum(talk_s) as talk_s, sum(hold_s) as hold_s, sum(acw_s) as acw_s,
          sum(wait_answered_s) / nullif(sum(answered), 0) as asa_s,
          sum(wait_all_s) / nullif(sum(answered) + sum(abandoned), 0) as avg_queue_s,
          100.0 * sum(abandoned) / nullif(sum(answered) + sum(abandoned), 0) as abandon_rate,
          100.0 * sum(answered_within) / nullif({sl_denominator}, 0) as service_level,
          (coalesce(sum(talk_s), 0) + coalesce(sum(hold_s), 0) + coalesce(sum(acw_s), 0))
            / nullif(sum(handled), 0) as aht_s
        from cube cross join g
        group by 1, 2 order by 1, 2"""

_DIALS_CUBE = """
          select {keys}, count(*) as dials, sum(d.connected) as connects, sum(d.converted) as conversions,
            sum(d.opted_out) as opt_outs
          from dials d left join calls c on c.id = d.call_id
          where {where}
          group by 1, 2, 3, 4, 5, 6, 7""".replace(
    "{keys}",
    _cube_keys(
        agent="coalesce(d.agent, c.agent)",
        team="coalesce(d.team, c.team)",
        campaign="coalesce(d.campaign, c.campaign)",
        day="d.dialed_at",
        direction="'outbound'",
    ),
)
_DIALS_RANGE = "d.dialed_at >= {lo} and d.dialed_at < {hi}"
_OUTBOUND_ROLLUP = """
        select g.name as grouping, {key} as grp, sum(dials) as dials, sum(connects) as connects,
          sum(conversions) as conversions, sum(opt_outs) as opt_outs,
          100.0 * sum(connects) / sum(dials) as connect_rate,
          100.0 * sum(conversions) / nullif(sum(connects), 0) as conversion_rate,
          100.0 * sum(opt_outs) / nullif(sum(connects), 0) as opt_out_rate,
          count(distinct case when agent is not null then agent || ' ' || day end) as agent_days,
          1.0 * sum(case when agent is not null then dials end)
            / nullif(count(distinct case when agent is not null then agent || ' ' || day end), 0)
            as dials_per_agent_day
        from cube cross join g
        group by 1, 2 order by 1, 2"""

# Histogram bins per day (distributions): survey answers, queue waits and handle times.
_BINS = """
          select substr(c.started_at, 1, 10) as day, s.question as kind, s.value as bin, count(*) as n
          from survey_answers s join calls c on c.id = s.call_id
          where {where} and c.direction = 'inbound' and s.question in ('csat', 'nps')
          group by 1, 2, 3
          union all
          select substr(c.started_at, 1, 10), 'wait', min(cast(q.wait_s / 10 as int), 30) * 10, count(*)
          from queue_calls q join calls c on c.id = q.call_id
          where {where} and q.wait_s is not null and q.callback_accepted = 0
          group by 1, 3
          union all
          select substr(c.started_at, 1, 10), 'handle', min(cast(q.handle_s / 60 as int), 30) * 60, count(*)
          from queue_calls q join calls c on c.id = q.call_id
          where {where} and q.handle_s is not null
          group by 1, 3"""

_CUBE_SQL = {
    "kpi_calls_daily": (_CALLS_CUBE, _RANGE_LH),
    "kpi_survey_daily": (_SURVEY_CUBE, _RANGE_LH),
    "kpi_queue_daily": (_QUEUE_DAILY_CUBE, _RANGE_LH),
    "kpi_dials_daily": (_DIALS_CUBE, _DIALS_RANGE.format(lo=":lo", hi=":hi")),
    "kpi_bins_daily": (_BINS, _RANGE_LH),
}
_COLUMNS = {
    **{
        t: ("day", "queue", "agent", "team", "flow", "direction", "campaign", *cols)
        for t, cols in cubes.KPI_CUBES.items()
    },
    "kpi_bins_daily": ("day", "kind", "bin", "n"),
}
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
# The exclusive end of a range whose last day is the last day a date can name (9999-12-31): the
# ISO text of every time on that day sorts below it ('~' sorts after the digits, 'T', ' ', '+'),
# so a call stamped 9999-12-31 stays countable without a day 10000-01-01.
AFTER_LAST_DAY = "9999-12-31~"


def day_after(day: date) -> str:
    """The exclusive end, as query text, of a range whose last day is `day`."""
    return AFTER_LAST_DAY if day >= date.max else (day + timedelta(days=1)).isoformat()


def _is_day(text: object) -> bool:
    if not (isinstance(text, str) and _DAY.fullmatch(text)):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _build(db: sqlite_utils.Database, lo: str | None, hi: str | None) -> None:
    """Recount the daily cubes for the days [lo, hi) (every day when lo is None)."""
    params = {"lo": lo, "hi": hi}
    for table, (select, where) in _CUBE_SQL.items():
        db.execute(f"delete from {table}" + ("" if lo is None else " where day >= :lo and day < :hi"), params)
        cols = ", ".join(_COLUMNS[table])
        select = select.format(where="1" if lo is None else where)
        db.execute(f"insert into {table} ({cols}) select * from ({select})", params)


def _day_ranges(days: list[str]) -> list[tuple[str, str]]:
    """Sorted days -> [lo, hi) ranges of consecutive days."""
    ranges: list[tuple[str, str]] = []
    for d in days:
        nxt = day_after(date.fromisoformat(d))
        if ranges and ranges[-1][1] == d:
            ranges[-1] = (ranges[-1][0], nxt)
        else:
            ranges.append((d, nxt))
    return ranges


def _in_own_transaction(db: sqlite_utils.Database, work) -> None:
    if db.conn.in_transaction:
        work()
        return
    db.execute("begin immediate")  # no writer can mark a day between the recount and the clearing
    try:
        work()
    except BaseException:
        db.execute("rollback")
        raise
    db.execute("commit")


def refresh(db: sqlite_utils.Database) -> int:
    """Recount the days triggers marked in `kpi_dirty`; returns how many. A report calls this
    first, so the cubes it reads are recounts of the raw rows."""
    if db.execute("select 1 from kpi_dirty limit 1").fetchone() is None:
        return 0
    done: list[int] = []

    def work() -> None:
        days = [r[0] for r in db.execute("select day from kpi_dirty order by day").fetchall()]
        if all(_is_day(d) for d in days):
            for lo, hi in _day_ranges(days):
                _build(db, lo, hi)
        else:  # a start that is not an ISO date: recount everything
            _build(db, None, None)
        db.execute("delete from kpi_dirty")
        done.append(len(days))

    _in_own_transaction(db, work)
    return done[0]


def rebuild(db: sqlite_utils.Database) -> None:
    """Recount every daily cube from the raw rows (after a bulk load, or to repair)."""

    def work() -> None:
        _build(db, None, None)
        db.execute("delete from kpi_dirty")

    _in_own_transaction(db, work)


def _whole_days(start: str, end: str) -> bool:
    """The daily cubes answer ranges of whole days only."""
    return _is_day(start) and (_is_day(end) or end == AFTER_LAST_DAY)


def survey_raw(
    db: sqlite_utils.Database, groups: Sequence[str], start: str, end: str, *, sl: Slice = ALL
) -> list[dict[str, Any]]:
    """CSAT (top-2-box), DSAT (bottom-2-box), mean CSAT, NPS and survey FCR of inbound calls."""
    table, key = _rollup(groups)
    rollup, params = _sliced(_SURVEY_ROLLUP.format(key=key), sl)
    return _rows(
        db,
        f"with cube as ({_SURVEY_CUBE.format(where=_RANGE)}), {table} " + rollup,
        {"start": start, "end": end, **params},
    )


def survey(
    db: sqlite_utils.Database, groups: Sequence[str], start: str, end: str, *, sl: Slice = ALL
) -> list[dict[str, Any]]:
    """`survey_raw`, rolled up from `kpi_survey_daily`."""
    if not _whole_days(start, end):
        return survey_raw(db, groups, start, end, sl=sl)
    return _from_daily(db, "kpi_survey_daily", _SURVEY_ROLLUP, groups, start, end, sl)


def _from_daily(
    db: sqlite_utils.Database,
    daily: str,
    rollup: str,
    groups: Sequence[str],
    start: str,
    end: str,
    sl: Slice = ALL,
) -> list[dict[str, Any]]:
    """A family whose daily summary table has the same columns as its raw cube: the same
    rollup reads either, so the summary's figures are the raw query's by construction."""
    refresh(db)
    table, key = _rollup(groups)
    sliced, params = _sliced(rollup.format(key=key), sl)
    return _rows(
        db,
        f"with cube as (select * from {daily} where day >= :start and day < :end), {table} " + sliced,
        {"start": start, "end": end, **params},
    )


def inbound_calls_raw(
    db: sqlite_utils.Database,
    groups: Sequence[str],
    start: str,
    end: str,
    window_days: float,
    *,
    sl: Slice = ALL,
) -> list[dict[str, Any]]:
    """Per inbound call: FCR by repeat contact and IVR containment.

    Repeat contact: no inbound call from the same customer (`customer`, else
    `caller_id`) within `window_days` after the call, looked up beyond the range
    end, over inbound calls whose customer is known. Containment: calls that
    entered an IVR flow and ended `self_served`, over calls that entered a flow.
    This version looks each call's next contact up (the definition);
    `inbound_calls` reads the cube and `calls.next_contact_at`.
    """
    table, key = _rollup(groups)
    rollup, params = _sliced(_INBOUND_ROLLUP.format(key=key), sl)
    return _rows(
        db,
        f"""
        with calls_in as (
          select {_cube_keys()}, c.outcome, c.started_at,
            coalesce(c.customer, c.caller_id) is not null as known,
            (select min(n.started_at) from calls n
              where coalesce(n.customer, n.caller_id) = coalesce(c.customer, c.caller_id)
                and n.direction = 'inbound' and n.started_at > c.started_at) as next_at
          from calls c
          where {_RANGE} and c.direction = 'inbound'
        ), cube as (
          select {CUBE_KEYS}, count(*) as calls, sum(known) as contacts,
            sum(known and next_at is not null and julianday(next_at) - julianday(started_at) <= :window)
              as repeated,
            sum(flow is not null) as ivr_calls,
            sum(flow is not null and outcome = 'self_served') as contained,
            sum(flow is not null and outcome = 'transferred') as transferred,
            sum(flow is not null and outcome = 'abandoned') as ivr_abandoned
          from calls_in group by 1, 2, 3, 4, 5, 6, 7
        ), {table}"""
        + rollup,
        {"start": start, "end": end, "window": window_days, **params},
    )


def inbound_calls(
    db: sqlite_utils.Database,
    groups: Sequence[str],
    start: str,
    end: str,
    window_days: float,
    *,
    sl: Slice = ALL,
) -> list[dict[str, Any]]:
    """`inbound_calls_raw` from `kpi_calls_daily` and the repeat contacts counted at query time."""
    if not _whole_days(start, end):
        return inbound_calls_raw(db, groups, start, end, window_days, sl=sl)
    refresh(db)
    table, key = _rollup(groups)
    rollup, params = _sliced(_INBOUND_ROLLUP.format(key=key), sl)
    return _rows(
        db,
        f"""
        with cube as (
          select {CUBE_KEYS}, calls, contacts, 0 as repeated, ivr_calls, contained, transferred,
            ivr_abandoned
          from kpi_calls_daily where day >= :start and day < :end and direction = 'inbound'
          union all
          select {CUBE_KEYS}, 0, 0, repeated, 0, 0, 0, 0 from ({_REPEATED})
        ), {table}"""
        + rollup,
        {"start": start, "end": end, "window": window_days, **params},
    )


def _sl_denominator(abandons_count: bool) -> str:
    return "sum(answered) + sum(abandoned)" if abandons_count else "sum(answered)"


def queue_raw(
    db: sqlite_utils.Database,
    groups: Sequence[str],
    start: str,
    end: str,
    *,
    threshold_s: float,
    short_abandon_s: float,
    abandons_count: bool,
    sl: Slice = ALL,
) -> list[dict[str, Any]]:
    """Queue KPIs over `queue_calls`: ASA, time in queue, abandonment, service level, AHT.

    Callback calls count in `offered` and in AHT (an agent handled them) but not in
    the waiting-time KPIs; abandons after less than `short_abandon_s` count only in
    `short_abandoned`; unserved calls (still waiting when the run ended) in `unserved`.
    The queue and agent of a row are the queue row's own (the answering agent).
    """
    table, key = _rollup(groups)
    rollup, sliced = _sliced(
        _QUEUE_ROLLUP.format(key=key, sl_denominator=_sl_denominator(abandons_count)), sl
    )
    return _rows(
        db,
        f"with cube as ({_QUEUE_RAW_CUBE.format(where=_RANGE)}), {table}" + rollup,
        {"start": start, "end": end, "threshold": threshold_s, "short": short_abandon_s, **sliced},
    )


def _nearest(value: float, kept: tuple[int, ...]) -> int:
    return min(kept, key=lambda k: (abs(k - value), k))


# Queue rows whose wait lies between a requested threshold and the nearest kept one: their
# counts (and waits) are added to or taken from the kept threshold's cube columns.
_QUEUE_BETWEEN = f"""
          select {_cube_keys(queue="q.queue", agent="coalesce(q.agent, c.agent)")},
            0, 0, 0, 0, null, 0, null, null, null,
            :t_sign * sum({_ANSWERED} and q.wait_s > :t_lo and q.wait_s <= :t_hi),
            -:s_sign * sum({{abandon}}), :s_sign * sum({{abandon}}),
            -:s_sign * sum(case when {{abandon}} then q.wait_s end)
          from queue_calls q cross join calls c on c.id = q.call_id
          where {_RANGE}
            and ((q.wait_s > :t_lo and q.wait_s <= :t_hi) or (q.wait_s >= :s_lo and q.wait_s < :s_hi))
          group by 1, 2, 3, 4, 5, 6, 7""".replace(
    "{abandon}",
    "(q.callback_accepted = 0 and q.outcome = 'abandoned' and q.wait_s >= :s_lo and q.wait_s < :s_hi)",
)


def queue(
    db: sqlite_utils.Database,
    groups: Sequence[str],
    start: str,
    end: str,
    *,
    threshold_s: float,
    short_abandon_s: float,
    abandons_count: bool,
    sl: Slice = ALL,
) -> list[dict[str, Any]]:
    """`queue_raw` from `kpi_queue_daily`. The cube keeps the threshold-dependent counts for the
    thresholds in store.cubes.SL_THRESHOLDS and SHORT_ABANDONS; for another threshold the
    nearest kept one is read and the queue rows whose wait lies between the two (an index
    range on `wait_s`) are added or taken away."""
    if not _whole_days(start, end):
        return queue_raw(
            db,
            groups,
            start,
            end,
            threshold_s=threshold_s,
            short_abandon_s=short_abandon_s,
            abandons_count=abandons_count,
            sl=sl,
        )
    refresh(db)
    t, s = _nearest(threshold_s, cubes.SL_THRESHOLDS), _nearest(short_abandon_s, cubes.SHORT_ABANDONS)
    params: dict[str, Any] = {
        "start": start,
        "end": end,
        "t_lo": min(t, threshold_s),
        "t_hi": max(t, threshold_s),
        "t_sign": 1 if threshold_s > t else -1,
        "s_lo": min(s, short_abandon_s),
        "s_hi": max(s, short_abandon_s),
        "s_sign": 1 if short_abandon_s > s else -1,
    }
    between = "" if (t, s) == (threshold_s, short_abandon_s) else f"union all {_QUEUE_BETWEEN}"
    table, key = _rollup(groups)
    rollup, sliced = _sliced(
        _QUEUE_ROLLUP.format(key=key, sl_denominator=_sl_denominator(abandons_count)), sl
    )
    params.update(sliced)
    return _rows(
        db,
        f"""
        with cube as (
          select {CUBE_KEYS}, offered, answered, callbacks, unserved, wait_answered_s, handled,
            talk_s, hold_s, acw_s, within_{t} as answered_within, abandoned_{s} as abandoned,
            short_abandoned_{s} as short_abandoned, wait_all_s_{s} as wait_all_s
          from kpi_queue_daily where day >= :start and day < :end
          {between}
        ), {table}"""
        + rollup,
        params,
    )


def outbound_raw(
    db: sqlite_utils.Database, groups: Sequence[str], start: str, end: str, *, sl: Slice = ALL
) -> list[dict[str, Any]]:
    """Dials, connects, conversions (per connect), opt-outs and dials per agent per day.

    Dials carry their own time, agent, team and campaign; a connected dial's call gives the rest."""
    table, key = _rollup(groups)
    cube = _DIALS_CUBE.format(where=_DIALS_RANGE.format(lo=":start", hi=":end"))
    rollup, params = _sliced(_OUTBOUND_ROLLUP.format(key=key), sl)
    return _rows(db, f"with cube as ({cube}), {table}" + rollup, {"start": start, "end": end, **params})


def outbound(
    db: sqlite_utils.Database, groups: Sequence[str], start: str, end: str, *, sl: Slice = ALL
) -> list[dict[str, Any]]:
    """`outbound_raw`, rolled up from `kpi_dials_daily`."""
    if not _whole_days(start, end):
        return outbound_raw(db, groups, start, end, sl=sl)
    return _from_daily(db, "kpi_dials_daily", _OUTBOUND_ROLLUP, groups, start, end, sl)


# The latest score of each (call, scorecard) of the calls in the range: a call rescored with a
# newer scorecard version counts once, with its newest result. Its score of record: the reviewed
# score where a reviewer changed a verdict of that version (store.reviews), else the automatic
# one, read from the copy in `scores` (record_score, record_auto_failed: kept by migration 2's
# triggers, equal to the view scores_of_record). Walked from the range's calls, so a month of a
# large database costs a month, not every score ever kept.
_LATEST_SCORES = """
    latest as materialized (
      select s.recording_id, s.scorecard_version, s.call_id, s.scorecard, s.record_score as score,
        s.record_auto_failed as auto_failed, s.scored_at
      from calls c cross join scores s on s.call_id = c.id
      where c.started_at >= :start and c.started_at < :end
        and s.scored_at = (select max(s2.scored_at) from scores s2
                           where s2.call_id = s.call_id and s2.scorecard = s.scorecard)
    )"""
# Item verdicts of record (a reviewed item's latest review, else the automatic verdict).
_ITEMS = "item_scores_of_record"


def qa_groups(
    db: sqlite_utils.Database,
    groups: Sequence[str],
    start: str,
    end: str,
    *,
    sl: Slice = ALL,
    compliance: bool = True,
) -> list[dict[str, Any]]:
    """Average QA score, auto-fail rate and compliance rate of scored calls, for each grouping
    (column `grouping`): one row per latest (call, scorecard) score with its compliance items,
    rolled up to each grouping. `compliance=False` leaves the compliance columns null and skips
    reading the items (most of the cost: the dashboard's per-agent table does not show them)."""
    table, key = _rollup(groups)
    cond, params = sl.sql(_CALL_COLUMNS)
    # one look at each call's items gives both counts (a JSON pair): half the lookups of two
    items = (
        f"""(select json_array(sum(i.verdict = 'pass'), sum(i.verdict in ('pass', 'fail'))) from {_ITEMS} i
             join compliance_items ci on ci.scorecard_version = i.scorecard_version and ci.item_id = i.item_id
             where i.call_id = l.call_id and i.scorecard_version = l.scorecard_version)"""
        if compliance
        else "null"
    )
    # The scores are walked from the range's calls once, carrying each call's dimensions (no
    # second look-up of the call by id): _LATEST_SCORES with the cube keys and the slice. They are
    # summed into a cube per (day, dimensions, score bin) first and the cube is rolled up to each
    # grouping, as the additive families do (a few thousand rows per grouping, not every score).
    return _rows(
        db,
        f"""
        with latest as materialized (
          select {_cube_keys()}, s.call_id, s.scorecard_version, s.record_score as score,
            s.record_auto_failed as auto_failed
          from calls c cross join scores s on s.call_id = c.id
          where {_RANGE} and {cond}
            and s.scored_at = (select max(s2.scored_at) from scores s2
                               where s2.call_id = s.call_id and s2.scorecard = s.scorecard)
        ),
        compliance_items as materialized (
          select distinct scorecard_version, item_id from item_scores
          where section = 'compliance' or auto_fail = 1
        ),
        paired as materialized (select l.*, {items} as pair from latest l),
        cube as (
          select {CUBE_KEYS}, min(cast(score / 10 as int), 9) * 10 as score_bin,
            count(*) as scored, count(score) as with_score, sum(score) as score_sum,
            sum(auto_failed) as auto_failed, sum(json_extract(pair, '$[0]')) as passed,
            sum(json_extract(pair, '$[1]')) as applicable
          from paired group by 1, 2, 3, 4, 5, 6, 7, 8
        ), {table}
        select g.name as grouping, {key} as grp, sum(scored) as scored, sum(with_score) as with_score,
          sum(score_sum) / nullif(sum(with_score), 0) as avg_score, sum(auto_failed) as auto_failed,
          100.0 * sum(auto_failed) / sum(scored) as auto_fail_rate,
          sum(passed) as compliance_passed, sum(applicable) as compliance_applicable,
          100.0 * sum(passed) / nullif(sum(applicable), 0) as compliance_rate
        from cube cross join g
        group by 1, 2 order by 1, 2
    """,
        {"start": start, "end": end, **params},
    )


def qa(db: sqlite_utils.Database, group: str, start: str, end: str) -> list[dict[str, Any]]:
    """`qa_groups` for one grouping."""
    return qa_groups(db, [group], start, end)


def qa_items(db: sqlite_utils.Database, start: str, end: str, *, sl: Slice = ALL) -> list[dict[str, Any]]:
    """Per scorecard item: how often it applied and passed, average points, auto-fails."""
    cond, params = sl.sql(_CALL_COLUMNS)
    return _rows(
        db,
        f"""
        with {_LATEST_SCORES}
        select l.scorecard, i.item_id, max(i.section) as section,
          sum(i.verdict in ('pass', 'fail')) as applicable, sum(i.verdict = 'pass') as passed,
          100.0 * sum(i.verdict = 'pass') / nullif(sum(i.verdict in ('pass', 'fail')), 0) as pass_rate,
          100.0 * sum(case when i.max_points > 0 then i.points end)
            / nullif(sum(case when i.max_points > 0 then i.max_points end), 0) as avg_score,
          sum(i.auto_fail) as auto_fails,
          100.0 * sum(i.auto_fail) / count(*) as auto_fail_rate
        from latest l cross join calls c on c.id = l.call_id
        cross join {_ITEMS} i on i.call_id = l.call_id and i.scorecard_version = l.scorecard_version
        where {_RANGE} and {cond}
        group by l.scorecard, i.item_id order by l.scorecard, i.item_id
    """,
        {"start": start, "end": end, **params},
    )


def sentiment_groups(
    db: sqlite_utils.Database, groups: Sequence[str], start: str, end: str, *, sl: Slice = ALL
) -> list[dict[str, Any]]:
    """Customer sentiment at the start (first customer utterance) and end (last one) of calls
    with at least two customer utterances that carry a sentiment score, for each grouping."""
    table, key = _rollup(groups)
    cond, params = sl.sql(_CALL_COLUMNS)
    return _rows(
        db,
        f"""
        with per_call as materialized (
          select u.call_id, min(u.idx) as first_idx, max(u.idx) as last_idx
          from utterances u where u.speaker = 'customer' and u.sentiment is not null
          group by u.call_id having count(*) >= 2
        ), se as (
          select {_cube_keys()}, p.call_id, f.sentiment as s_start, l.sentiment as s_end
          from per_call p cross join calls c on c.id = p.call_id
          cross join utterances f on f.call_id = p.call_id and f.idx = p.first_idx
          cross join utterances l on l.call_id = p.call_id and l.idx = p.last_idx
          where {_RANGE} and {cond}
        ), {table}
        select g.name as grouping, {key} as grp, count(*) as calls, avg(s_start) as start, avg(s_end) as end,
          avg(s_end - s_start) as change,
          100.0 * sum(s_end > s_start) / count(*) as improved,
          100.0 * sum(s_end < s_start) / count(*) as worsened
        from se cross join g group by 1, 2 order by 1, 2
    """,
        {"start": start, "end": end, **params},
    )


def sentiment(db: sqlite_utils.Database, group: str, start: str, end: str) -> list[dict[str, Any]]:
    """`sentiment_groups` for one grouping."""
    return sentiment_groups(db, [group], start, end)


def waterfall(db: sqlite_utils.Database, start: str, end: str) -> list[dict[str, Any]]:
    """Per IVR flow and state: entries, no-inputs, no-matches, transfers, caller hang-ups
    and calls that ended there (inbound and outbound IVR calls), by the calls' start day.

    Read from `ivr_state_daily`, which a trigger keeps as events are logged
    (store.schema), so the cost does not grow with the number of events."""
    return _rows(
        db,
        """
        select flow, state, sum(entered) as entered, sum(no_input) as no_input,
          sum(no_match) as no_match, sum(transfer) as transfer, sum(hangup) as hangup,
          sum(ended) as ended
        from ivr_state_daily
        where day >= :start and day < :end
        group by flow, state
        order by flow, entered desc, state
    """,
        {"start": start, "end": end},
    )


def agent_qa(db: sqlite_utils.Database, start: str, end: str, *, sl: Slice = ALL) -> list[dict[str, Any]]:
    """Per agent: average QA score of their inbound calls (for the QA-vs-CSAT/FCR correlation,
    whose CSAT and FCR are inbound-only)."""
    cond, params = sl.sql(_CALL_COLUMNS)
    return _rows(
        db,
        f"""
        with {_LATEST_SCORES}
        select c.agent, avg(l.score) as qa_score, count(l.score) as qa_n
        from latest l cross join calls c on c.id = l.call_id
        where {_RANGE} and c.agent is not null and c.direction = 'inbound' and {cond}
        group by c.agent order by c.agent
    """,
        {"start": start, "end": end, **params},
    )


def agent_teams(db: sqlite_utils.Database, start: str, end: str, *, sl: Slice = ALL) -> list[dict[str, Any]]:
    """Each agent's team (the latest one named on their calls in the range)."""
    if _whole_days(start, end):
        refresh(db)
        cond, params = sl.sql()
        return _rows(
            db,
            f"""
            select agent, max(team) as team from kpi_calls_daily
            where day >= :start and day < :end and agent is not null and team is not null and {cond}
            group by agent
        """,
            {"start": start, "end": end, **params},
        )
    cond, params = sl.sql(_CALL_COLUMNS)
    return _rows(
        db,
        f"""
        select c.agent, max(c.team) as team from calls c
        where {_RANGE} and c.agent is not null and c.team is not null and {cond} group by c.agent
    """,
        {"start": start, "end": end, **params},
    )


def qa_score_bins(db: sqlite_utils.Database, start: str, end: str, sl: Slice = ALL) -> list[dict[str, Any]]:
    cond, params = sl.sql(_CALL_COLUMNS)
    return _rows(
        db,
        f"""
        with {_LATEST_SCORES}
        select min(cast(l.score / 10 as int), 9) * 10 as bin, count(*) as n
        from latest l cross join calls c on c.id = l.call_id
        where {_RANGE} and l.score is not null and {cond} group by bin order by bin""",
        {"start": start, "end": end, **params},
    )


def distributions(
    db: sqlite_utils.Database, start: str, end: str, *, sl: Slice = ALL
) -> dict[str, list[dict[str, Any]]]:
    """Histograms: CSAT 1-5, NPS 0-10, queue wait (10 s bins up to 300 s), handle time
    (60 s bins up to 1800 s) and QA score (10-point bins); the last bin holds everything above.
    Whole days without a slice are read from `kpi_bins_daily` (which keeps no dimensions)."""
    if sl or not _whole_days(start, end):
        return distributions_raw(db, start, end, sl=sl)
    refresh(db)
    read = (
        "select bin, sum(n) as n from kpi_bins_daily where kind = :kind and day >= :start and day < :end "
        "group by bin order by bin"
    )
    out = {
        k: _rows(db, read, {"kind": k, "start": start, "end": end}) for k in ("csat", "nps", "wait", "handle")
    }
    out["qa_score"] = qa_score_bins(db, start, end)
    return out


def distributions_raw(
    db: sqlite_utils.Database, start: str, end: str, *, sl: Slice = ALL
) -> dict[str, list[dict[str, Any]]]:
    """Histograms: CSAT 1-5, NPS 0-10, queue wait (10 s bins up to 300 s), handle time
    (60 s bins up to 1800 s) and QA score (10-point bins); the last bin holds everything above."""
    cond, params = sl.sql(_CALL_COLUMNS)
    qcond, qparams = sl.sql(_QUEUE_COLUMNS)
    params = {"start": start, "end": end, **params, **qparams}
    answers = f"""
        select s.value as bin, count(*) as n from survey_answers s join calls c on c.id = s.call_id
        where {_RANGE} and c.direction = 'inbound' and s.question = :question and {cond}
        group by bin order by bin"""
    return {
        "csat": _rows(db, answers, {**params, "question": "csat"}),
        "nps": _rows(db, answers, {**params, "question": "nps"}),
        "wait": _rows(
            db,
            f"""
            select min(cast(q.wait_s / 10 as int), 30) * 10 as bin, count(*) as n
            from queue_calls q join calls c on c.id = q.call_id
            where {_RANGE} and q.wait_s is not null and q.callback_accepted = 0 and {qcond}
            group by bin order by bin""",
            params,
        ),
        "handle": _rows(
            db,
            f"""
            select min(cast(q.handle_s / 60 as int), 30) * 60 as bin, count(*) as n
            from queue_calls q join calls c on c.id = q.call_id
            where {_RANGE} and q.handle_s is not null and {qcond} group by bin order by bin""",
            params,
        ),
        "qa_score": qa_score_bins(db, start, end, sl),
    }


# --- drill-down: the calls behind a number ----------------------------------------------------------
# The dashboard links each number to the calls list filtered to the calls it counts
# (`/calls?drill=NAME`). Each condition is over the `calls` row aliased c and repeats its
# family's rule above (inbound surveys, queue rows, IVR flows); the thresholds are the
# dashboard's (service level 80/20, short abandons under 5 s, repeat window 7 days).
DRILL_SL_THRESHOLD_S = 20
DRILL_SHORT_ABANDON_S = 5
DRILL_REPEAT_DAYS = 7
_ANSWER = "exists (select 1 from survey_answers a where a.call_id = c.id and a.question = '{q}'{extra})"
_QUEUED = "exists (select 1 from queue_calls q where q.call_id = c.id and {cond})"
DRILLS: dict[str, tuple[str, str]] = {
    # name: (what the calls list says, condition)
    "csat": ("with a CSAT answer", "c.direction = 'inbound' and " + _ANSWER.format(q="csat", extra="")),
    "csat_low": (
        "with a CSAT answer of 1 or 2",
        "c.direction = 'inbound' and " + _ANSWER.format(q="csat", extra=" and a.value <= 2"),
    ),
    "nps": ("with an NPS answer", "c.direction = 'inbound' and " + _ANSWER.format(q="nps", extra="")),
    "nps_detractor": (
        "whose NPS answer was 0-6 (detractors)",
        "c.direction = 'inbound' and " + _ANSWER.format(q="nps", extra=" and a.value <= 6"),
    ),
    "fcr": (
        "with a 'resolved?' answer",
        "c.direction = 'inbound' and " + _ANSWER.format(q="resolved", extra=""),
    ),
    "fcr_no": (
        "the customer said were not resolved",
        "c.direction = 'inbound' and " + _ANSWER.format(q="resolved", extra=" and a.value <> 1"),
    ),
    "repeat": (
        f"followed by another call from the same customer within {DRILL_REPEAT_DAYS} days",
        "c.direction = 'inbound' and c.next_contact_at is not null "
        f"and julianday(c.next_contact_at) - julianday(c.started_at) <= {DRILL_REPEAT_DAYS}",
    ),
    "handled": ("handled by an agent from a queue", _QUEUED.format(cond="q.handle_s is not null")),
    "sl_missed": (
        f"not answered within {DRILL_SL_THRESHOLD_S} s (abandons after {DRILL_SHORT_ABANDON_S} s included)",
        _QUEUED.format(
            cond="q.callback_accepted = 0 and ("
            f"(q.answered_at is not null and q.wait_s > {DRILL_SL_THRESHOLD_S})"
            f" or (q.outcome = 'abandoned' and q.wait_s >= {DRILL_SHORT_ABANDON_S}))"
        ),
    ),
    "ivr": ("that entered the IVR", "c.direction = 'inbound' and c.flow is not null"),
    "not_contained": (
        "that left the IVR without self-service",
        "c.direction = 'inbound' and c.flow is not null and coalesce(c.outcome, '') <> 'self_served'",
    ),
}


def drill_condition(name: str) -> str:
    """The SQL condition of a drill-down set (a name from DRILLS; KeyError otherwise: the web
    layer checks the name, so no text from a request reaches SQL)."""
    return DRILLS[name][1]


def last_call_day(db: sqlite_utils.Database) -> str | None:
    """The day of the latest call (YYYY-MM-DD), from the started_at index; None without calls."""
    row = db.execute("select substr(max(started_at), 1, 10) from calls").fetchone()
    return row[0] if row and row[0] and _is_day(row[0]) else None

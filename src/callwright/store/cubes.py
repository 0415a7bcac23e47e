"""The daily KPI cubes' definitions: their tables, the thresholds they keep, the triggers
that mark changed days.

`store.schema` creates them and `store.kpis` builds and reads them; both import this
module, which imports neither (so the schema and the KPI queries do not import each other).
"""

from __future__ import annotations

# The report's additive KPI families, per day x queue x agent x team x flow x direction x campaign
# (store.kpis builds and reads them). Triggers only mark the days whose rows changed in
# kpi_dirty; store.kpis.refresh recounts those days from the raw rows before a report reads
# the cubes, with the same SQL that builds them, so a cube is always a recount.
# Queue KPIs that depend on a threshold are kept for these values (seconds); for another
# threshold store.kpis.queue corrects the nearest kept one with the rows in between.
SL_THRESHOLDS = (10, 15, 20, 25, 30, 45, 60, 90, 120, 180)
SHORT_ABANDONS = (0, 2, 3, 5, 10)
_DIMS = "day text not null, queue text, agent text, team text, flow text, direction text, campaign text"
KPI_CUBES: dict[str, tuple[str, ...]] = {
    "kpi_calls_daily": ("calls", "contacts", "ivr_calls", "contained", "transferred", "ivr_abandoned"),
    "kpi_survey_daily": (
        "csat_n",
        "csat_top2",
        "csat_bottom2",
        "csat_sum",
        "nps_n",
        "promoters",
        "detractors",
        "resolved_n",
        "resolved_yes",
    ),
    "kpi_queue_daily": (
        "offered",
        "answered",
        "callbacks",
        "unserved",
        "wait_answered_s",
        "handled",
        "talk_s",
        "hold_s",
        "acw_s",
        *(f"within_{t}" for t in SL_THRESHOLDS),
        *(f"{c}_{s}" for s in SHORT_ABANDONS for c in ("abandoned", "short_abandoned", "wait_all_s")),
    ),
    "kpi_dials_daily": ("dials", "connects", "conversions", "opt_outs"),
}
KPI_TABLES = [
    # counts and sums keep the type SQLite's sum() gave them (no column affinity)
    *(f"create table if not exists {t} ({_DIMS}, {', '.join(cols)})" for t, cols in KPI_CUBES.items()),
    *(f"create index if not exists idx_{t}_day on {t} (day)" for t in KPI_CUBES),
    "create table if not exists kpi_bins_daily (day text not null, kind text not null, bin, "
    "n integer not null)",
    "create index if not exists idx_kpi_bins_daily_day on kpi_bins_daily (day)",
    "create table if not exists kpi_dirty (day text primary key) without rowid",
]
_MARK = "insert or ignore into kpi_dirty (day) "
_CALL_DAY = "select substr(started_at, 1, 10) from calls where id = {row}.call_id"
# The columns of calls the cubes read (not next_contact_at, which triggers update).
_CUBE_CALL_COLUMNS = (
    "id, started_at, direction, flow, outcome, queue, agent, team, campaign, customer, caller_id"
)
KPI_DIRTY_TRIGGERS = {
    "kpi_dirty_calls_insert": f"""
create trigger if not exists kpi_dirty_calls_insert after insert on calls
begin {_MARK} values (substr(new.started_at, 1, 10)); end""",
    # before an INSERT OR REPLACE: the day of the row it replaces (and of that call's dials)
    "kpi_dirty_calls_replace": f"""
create trigger if not exists kpi_dirty_calls_replace before insert on calls
begin
  {_MARK} select substr(started_at, 1, 10) from calls where id = new.id;
  {_MARK} select substr(dialed_at, 1, 10) from dials where call_id = new.id;
end""",
    "kpi_dirty_dials_replace": f"""
create trigger if not exists kpi_dirty_dials_replace before insert on dials
begin {_MARK} select substr(dialed_at, 1, 10) from dials where id = new.id; end""",
    "kpi_dirty_calls_update": f"""
create trigger if not exists kpi_dirty_calls_update after update of {_CUBE_CALL_COLUMNS} on calls
begin
  {_MARK} values (substr(old.started_at, 1, 10)), (substr(new.started_at, 1, 10));
  {_MARK} select substr(dialed_at, 1, 10) from dials where call_id in (old.id, new.id);
end""",
    "kpi_dirty_calls_delete": f"""
create trigger if not exists kpi_dirty_calls_delete after delete on calls
begin
  {_MARK} values (substr(old.started_at, 1, 10));
  {_MARK} select substr(dialed_at, 1, 10) from dials where call_id = old.id;
end""",
    **{
        f"kpi_dirty_{t}_{ev}": f"""
create trigger if not exists kpi_dirty_{t}_{ev} after {ev} on {t}
begin {"; ".join(_MARK + _CALL_DAY.format(row=r) for r in rows)}; end"""
        for t in ("survey_answers", "queue_calls")
        for ev, rows in (("insert", ("new",)), ("update", ("old", "new")), ("delete", ("old",)))
    },
    **{
        f"kpi_dirty_dials_{ev}": f"""
create trigger if not exists kpi_dirty_dials_{ev} after {ev} on dials
begin {_MARK} values {", ".join(f"(substr({r}.dialed_at, 1, 10))" for r in rows)}; end"""
        for ev, rows in (("insert", ("new",)), ("update", ("old", "new")), ("delete", ("old",)))
    },
}

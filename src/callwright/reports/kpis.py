"""Report KPIs as typed results: parameters checked with user-facing errors, rows
from the SQL in `callwright.store.kpis` turned into dataclasses.

The numbers are computed in SQL (store.kpis); this module only merges the rows of
the KPI families by group and computes one thing in Python: the correlation
between agents' QA score and their CSAT and FCR, over a handful of per-agent
averages. Definitions: docs/kpis.md.
"""

from __future__ import annotations

import math
import re
import statistics
from dataclasses import dataclass, field, fields
from datetime import date
from typing import Any

import sqlite_utils

from callwright.errors import CallwrightError
from callwright.reports.staffing import MAX_DURATION_S, parse_duration, parse_target
from callwright.store import kpis as sql
from callwright.store import outbound_kpis as outbound_sql

GROUP_BY = ("day", "week", "queue", "agent", "team", "flow", "direction", "campaign")
# A trend over more days than this is drawn by week rather than by day.
MAX_DAILY_TREND_DAYS = 92


@dataclass(frozen=True)
class ReportParams:
    """What a report covers and the thresholds its KPIs use (see docs/kpis.md).

    `start` and `end` are inclusive days. Service level is `sl_fraction` of calls
    answered within `sl_threshold_s`; abandons after waiting less than
    `short_abandon_s` are left out of every queue denominator; with
    `sl_abandons_count` abandoned calls count against the service level.
    """

    start: date
    end: date
    group_by: str = "day"
    fcr_window_days: float = 7.0
    sl_fraction: float = 0.8
    sl_threshold_s: float = 20.0
    short_abandon_s: float = 5.0
    sl_abandons_count: bool = True
    filters: sql.Slice = sql.ALL
    """Only the calls of this queue, team, agent, direction (the dashboard's filters); the IVR
    waterfall, kept per day, flow and state only, is left empty when a filter is set."""

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise CallwrightError(
                f"--to {self.end} is before --from {self.start}",
                hint="give the first and the last day of the report, in that order",
            )
        if self.group_by not in GROUP_BY:
            raise CallwrightError(
                f"--group-by: unknown grouping {self.group_by!r}", hint="use one of " + ", ".join(GROUP_BY)
            )
        if not (self.fcr_window_days > 0 and math.isfinite(self.fcr_window_days)):
            raise CallwrightError("--fcr-window must be longer than 0", hint="e.g. --fcr-window 7d")
        if not 0 < self.sl_fraction < 1:
            raise CallwrightError(
                "--sl: the percentage must be above 0 and below 100", hint="e.g. --sl 80/20"
            )
        if not (self.sl_threshold_s >= 0 and math.isfinite(self.sl_threshold_s)):
            raise CallwrightError("--sl: the threshold must be 0 s or more", hint="e.g. --sl 80/20")
        if not (self.short_abandon_s >= 0 and math.isfinite(self.short_abandon_s)):
            raise CallwrightError("--short-abandon must be 0 s or more", hint="e.g. --short-abandon 5s")

    @property
    def sql_range(self) -> tuple[str, str]:
        """[start, end) as the text the queries compare `started_at` with."""
        return self.start.isoformat(), sql.day_after(self.end)

    @property
    def trend_by(self) -> str:
        if self.group_by in ("day", "week"):
            return self.group_by
        return "day" if (self.end - self.start).days < MAX_DAILY_TREND_DAYS else "week"


def parse_date(text: str, *, option: str) -> date:
    """A day as YYYY-MM-DD, from 0001-01-01 to 9999-12-31 (the days a date can name; a
    report over all of them is fine: store.kpis.day_after ends the last one)."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise CallwrightError(
            f"{option}: cannot read {text!r} as a date",
            hint=f"write the day as YYYY-MM-DD, from {date.min} to {date.max}, e.g. 2026-11-01",
        ) from None


def parse_window(text: str, *, option: str = "--fcr-window") -> float:
    """A repeat-contact window in days: "7d", "14d", "36h", "7" (days)."""
    cleaned = text.strip().lower()
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(d|days?)?", cleaned)
    days = float(m.group(1)) if m else parse_duration(cleaned, option=option) / 86400.0
    if not days <= MAX_DURATION_S / 86400.0:
        raise CallwrightError(f"{option}: the window must be at most 100 years", hint="e.g. 7d or 36h")
    if days <= 0:
        raise CallwrightError(f"{option}: the window must be longer than 0", hint="e.g. 7d or 36h")
    return days


def make_params(
    start: str,
    end: str,
    *,
    group_by: str = "day",
    fcr_window: str = "7d",
    sl: str = "80/20",
    short_abandon: str = "5s",
    sl_abandons_count: bool = True,
) -> ReportParams:
    """ReportParams from command-line text; every mistake is a CallwrightError naming the option."""
    target = parse_target(sl, option="--sl")
    return ReportParams(
        start=parse_date(start, option="--from"),
        end=parse_date(end, option="--to"),
        group_by=group_by.strip().lower(),
        fcr_window_days=parse_window(fcr_window),
        sl_fraction=target.fraction,
        sl_threshold_s=target.threshold_s,
        short_abandon_s=parse_duration(short_abandon, option="--short-abandon"),
        sl_abandons_count=sl_abandons_count,
    )


# --- results -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InboundKpis:
    """Surveys (CSAT, DSAT, NPS, FCR by survey), FCR by repeat contact and IVR containment."""

    group: str | None
    calls: int = 0
    csat_n: int = 0
    csat_top2: int = 0
    csat_bottom2: int = 0
    csat: float | None = None
    dsat: float | None = None
    csat_mean: float | None = None
    nps_n: int = 0
    promoters: int = 0
    detractors: int = 0
    nps: float | None = None
    resolved_n: int = 0
    resolved_yes: int = 0
    fcr_survey: float | None = None
    contacts: int = 0
    repeated: int = 0
    fcr_repeat: float | None = None
    ivr_calls: int = 0
    contained: int = 0
    transferred: int = 0
    ivr_abandoned: int = 0
    containment: float | None = None


@dataclass(frozen=True)
class QueueKpis:
    """ASA, time in queue, abandonment, service level and AHT over queue_calls."""

    group: str | None
    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    short_abandoned: int = 0
    callbacks: int = 0
    unserved: int = 0
    answered_within: int = 0
    wait_answered_s: float | None = None
    wait_all_s: float | None = None
    handled: int = 0
    talk_s: float | None = None
    hold_s: float | None = None
    acw_s: float | None = None
    asa_s: float | None = None
    avg_queue_s: float | None = None
    abandon_rate: float | None = None
    service_level: float | None = None
    aht_s: float | None = None


@dataclass(frozen=True)
class OutboundKpis:
    group: str | None
    dials: int = 0
    connects: int = 0
    conversions: int = 0
    opt_outs: int = 0
    connect_rate: float | None = None
    conversion_rate: float | None = None  # per connect
    opt_out_rate: float | None = None  # per connect
    agent_days: int = 0
    dials_per_agent_day: float | None = None


@dataclass(frozen=True)
class CampaignKpis:
    """One outbound campaign and contact list (issue 18; formulas in docs/kpis.md)."""

    campaign: str
    list_name: str | None
    attempts: int = 0
    contacts: int = 0
    connects: int = 0
    right_party: int = 0
    conversions: int = 0
    opt_outs: int = 0
    abandoned: int = 0
    machine: int = 0
    attempts_per_contact: float | None = None
    connect_rate: float | None = None  # per attempt
    right_party_rate: float | None = None  # per connect
    conversion_rate: float | None = None  # per connect
    opt_out_rate: float | None = None  # per connect
    abandon_rate: float | None = None  # per connect


@dataclass(frozen=True)
class RefusalCount:
    """Compliance refusals of one reason in one campaign and list."""

    campaign: str
    list_name: str | None
    reason: str
    refusals: int
    contacts: int


@dataclass(frozen=True)
class QaKpis:
    """QA scores, auto-fails, compliance items and customer sentiment start vs end."""

    group: str | None
    scored: int = 0
    with_score: int = 0
    avg_score: float | None = None
    auto_failed: int = 0
    auto_fail_rate: float | None = None
    compliance_passed: int | None = None
    compliance_applicable: int | None = None
    compliance_rate: float | None = None
    sentiment_calls: int = 0
    sentiment_start: float | None = None
    sentiment_end: float | None = None
    sentiment_change: float | None = None
    improved: float | None = None
    worsened: float | None = None


@dataclass(frozen=True)
class ItemKpis:
    scorecard: str
    item_id: str
    section: str | None
    applicable: int
    passed: int
    pass_rate: float | None
    avg_score: float | None
    auto_fails: int
    auto_fail_rate: float | None


@dataclass(frozen=True)
class StateFunnel:
    """One IVR state's row of the waterfall."""

    flow: str
    state: str
    entered: int
    no_input: int
    no_match: int
    transfer: int
    hangup: int
    ended: int


@dataclass(frozen=True)
class AgentKpis:
    agent: str
    team: str | None = None
    calls: int = 0
    handled: int = 0
    aht_s: float | None = None
    qa_score: float | None = None
    qa_n: int | None = None
    auto_fail_rate: float | None = None
    csat: float | None = None
    csat_n: int | None = None
    fcr_survey: float | None = None
    resolved_n: int | None = None
    fcr_repeat: float | None = None
    contacts: int | None = None


@dataclass(frozen=True)
class Correlation:
    """Pearson's r across agents between their average QA score and another KPI."""

    kpi: str
    r: float | None
    agents: int


@dataclass(frozen=True)
class Bin:
    start: float
    n: int


@dataclass(frozen=True)
class Report:
    params: ReportParams
    inbound_total: InboundKpis
    queue_total: QueueKpis
    outbound_total: OutboundKpis
    qa_total: QaKpis
    inbound: tuple[InboundKpis, ...]
    queues: tuple[QueueKpis, ...]
    outbound: tuple[OutboundKpis, ...]
    qa: tuple[QaKpis, ...]
    trend_inbound: tuple[InboundKpis, ...]
    trend_queue: tuple[QueueKpis, ...]
    agents: tuple[AgentKpis, ...]
    items: tuple[ItemKpis, ...]
    waterfall: tuple[StateFunnel, ...]
    correlations: tuple[Correlation, ...]
    distributions: dict[str, tuple[Bin, ...]] = field(default_factory=dict)
    campaigns: tuple[CampaignKpis, ...] = ()  # outbound, per campaign and list
    refusals: tuple[RefusalCount, ...] = ()


# --- building ------------------------------------------------------------------------------------


def _merge(cls: type, families: list[list[dict[str, Any]]], rename: dict[str, str] | None = None) -> list:
    """One `cls` per group from several queries' rows (keyed by `grp`), sorted by group."""
    names = {f.name for f in fields(cls)}
    merged: dict[Any, dict[str, Any]] = {}
    for rows in families:
        for row in rows:
            target = merged.setdefault(row["grp"], {"group": row["grp"]})
            for key, value in row.items():
                key = (rename or {}).get(key, key)
                if key in names and key != "group" and value is not None:
                    target[key] = value
    return [cls(**merged[k]) for k in sorted(merged, key=lambda g: (g is None, str(g)))]


_SENTIMENT = {
    "calls": "sentiment_calls",
    "start": "sentiment_start",
    "end": "sentiment_end",
    "change": "sentiment_change",
}


def _split(cls: type, rows: list[dict[str, Any]], rename: dict[str, str] | None = None) -> dict[str, list]:
    """Rows of several groupings (column `grouping`) -> one sorted list of `cls` per grouping."""
    by: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by.setdefault(row["grouping"], []).append(row)
    return {g: _merge(cls, [rs], rename) for g, rs in by.items()}


def _inbound(db: sqlite_utils.Database, p: ReportParams, groups: list[str]) -> dict[str, list[InboundKpis]]:
    start, end = p.sql_range
    return _split(
        InboundKpis,
        sql.survey(db, groups, start, end, sl=p.filters)
        + sql.inbound_calls(db, groups, start, end, p.fcr_window_days, sl=p.filters),
    )


def _queue(db: sqlite_utils.Database, p: ReportParams, groups: list[str]) -> dict[str, list[QueueKpis]]:
    start, end = p.sql_range
    return _split(
        QueueKpis,
        sql.queue(
            db,
            groups,
            start,
            end,
            threshold_s=p.sl_threshold_s,
            short_abandon_s=p.short_abandon_s,
            abandons_count=p.sl_abandons_count,
            sl=p.filters,
        ),
    )


def _outbound(db: sqlite_utils.Database, p: ReportParams, groups: list[str]) -> dict[str, list[OutboundKpis]]:
    start, end = p.sql_range
    return _split(OutboundKpis, sql.outbound(db, groups, start, end, sl=p.filters))


def inbound_kpis(db: sqlite_utils.Database, p: ReportParams, group: str) -> list[InboundKpis]:
    return _inbound(db, p, [group]).get(group, [])


def queue_kpis(db: sqlite_utils.Database, p: ReportParams, group: str) -> list[QueueKpis]:
    return _queue(db, p, [group]).get(group, [])


def outbound_kpis(db: sqlite_utils.Database, p: ReportParams, group: str) -> list[OutboundKpis]:
    return _outbound(db, p, [group]).get(group, [])


def _qa(
    db: sqlite_utils.Database,
    p: ReportParams,
    groups: list[str],
    *,
    compliance: bool = True,
    sentiment: bool = True,
) -> dict[str, list[QaKpis]]:
    start, end = p.sql_range
    by: dict[str, list[list[dict[str, Any]]]] = {g: [[], []] for g in groups}
    families = (
        sql.qa_groups(db, groups, start, end, sl=p.filters, compliance=compliance),
        sql.sentiment_groups(db, groups, start, end, sl=p.filters) if sentiment else [],
    )
    for i, rows in enumerate(families):
        for row in rows:
            by[row["grouping"]][i].append(row)
    return {g: _merge(QaKpis, families, rename=_SENTIMENT) for g, families in by.items()}


def qa_kpis(db: sqlite_utils.Database, p: ReportParams, group: str) -> list[QaKpis]:
    return _qa(db, p, [group])[group]


def _agents(
    db: sqlite_utils.Database,
    p: ReportParams,
    inbound: list[InboundKpis],
    queues: list[QueueKpis],
    qa: list[QaKpis],
) -> list[AgentKpis]:
    """Per agent: the agent groupings of the inbound, queue and QA families, and QA on inbound calls."""
    start, end = p.sql_range
    rows: dict[str, dict[str, Any]] = {}
    for i in inbound:
        if i.group is not None:
            rows.setdefault(i.group, {"agent": i.group}).update(
                calls=i.calls,
                csat=i.csat,
                csat_n=i.csat_n,
                fcr_survey=i.fcr_survey,
                resolved_n=i.resolved_n,
                fcr_repeat=i.fcr_repeat,
                contacts=i.contacts,
            )
    for q in queues:
        if q.group is not None:
            rows.setdefault(q.group, {"agent": q.group}).update(handled=q.handled, aht_s=q.aht_s)
    for a in qa:
        if a.group is not None and a.group in rows:
            rows[a.group]["auto_fail_rate"] = a.auto_fail_rate
    for r in sql.agent_qa(db, start, end, sl=p.filters):
        rows.setdefault(r["agent"], {"agent": r["agent"]}).update(qa_score=r["qa_score"], qa_n=r["qa_n"])
    for t in sql.agent_teams(db, start, end, sl=p.filters):
        if t["agent"] in rows:
            rows[t["agent"]]["team"] = t["team"]
    names = {f.name for f in fields(AgentKpis)}
    return [
        AgentKpis(**{k: v for k, v in rows[a].items() if k in names and v is not None}) for a in sorted(rows)
    ]


def agent_kpis(db: sqlite_utils.Database, p: ReportParams) -> list[AgentKpis]:
    return _agents(db, p, inbound_kpis(db, p, "agent"), queue_kpis(db, p, "agent"), qa_kpis(db, p, "agent"))


def correlation(agents: list[AgentKpis], kpi: str) -> Correlation:
    """Pearson's r between agents' QA score and `kpi`, over agents that have both."""
    pairs = [
        (a.qa_score, getattr(a, kpi))
        for a in agents
        if a.qa_score is not None and getattr(a, kpi) is not None
    ]
    if len(pairs) < 3:
        return Correlation(kpi, None, len(pairs))
    xs, ys = zip(*pairs, strict=True)
    try:
        r = statistics.correlation(xs, ys)
    except statistics.StatisticsError:  # one of them is constant
        r = None
    return Correlation(kpi, r, len(pairs))


def _one(items: list, cls: type) -> Any:
    return items[0] if items else cls(group="all")


def build_report(db: sqlite_utils.Database, p: ReportParams) -> Report:
    """Every KPI of the report for `p`, computed in SQL (one statement per family covers the
    report's grouping, the totals, the trend and the agents)."""
    start, end = p.sql_range
    sql.prepare(db)
    groups = list(dict.fromkeys([p.group_by, "all", p.trend_by, "agent"]))
    inbound, queues, outbound = _inbound(db, p, groups), _queue(db, p, groups), _outbound(db, p, groups)
    qa_by = _qa(db, p, list(dict.fromkeys([p.group_by, "all", "agent"])))
    agents = _agents(db, p, inbound.get("agent", []), queues.get("agent", []), qa_by["agent"])
    return Report(
        params=p,
        inbound_total=_one(inbound.get("all", []), InboundKpis),
        queue_total=_one(queues.get("all", []), QueueKpis),
        outbound_total=_one(outbound.get("all", []), OutboundKpis),
        qa_total=_one(qa_by["all"], QaKpis),
        inbound=tuple(inbound.get(p.group_by, [])),
        queues=tuple(queues.get(p.group_by, [])),
        outbound=tuple(outbound.get(p.group_by, [])),
        qa=tuple(qa_by[p.group_by]),
        trend_inbound=tuple(inbound.get(p.trend_by, [])),
        trend_queue=tuple(queues.get(p.trend_by, [])),
        agents=tuple(agents),
        items=tuple(ItemKpis(**r) for r in sql.qa_items(db, start, end, sl=p.filters)),
        waterfall=() if p.filters else tuple(StateFunnel(**r) for r in sql.waterfall(db, start, end)),
        correlations=tuple(correlation(agents, k) for k in ("csat", "fcr_survey", "fcr_repeat")),
        campaigns=tuple(CampaignKpis(**r) for r in outbound_sql.campaigns(db, start, end)),
        refusals=tuple(RefusalCount(**r) for r in outbound_sql.refusals(db, start, end)),
        distributions={
            k: tuple(Bin(r["bin"], r["n"]) for r in rows)
            for k, rows in sql.distributions(db, start, end, sl=p.filters).items()
        },
    )


@dataclass(frozen=True)
class Dashboard:
    """The supervisor dashboard's numbers: the report's families for its range and filters,
    totals, per agent and per day (or week), and the QA score histogram. Computed by the same
    functions as the report, so a dashboard figure is the report's figure for the same range and
    filters."""

    params: ReportParams
    inbound_total: InboundKpis
    queue_total: QueueKpis
    qa_total: QaKpis
    inbound_by_agent: tuple[InboundKpis, ...]
    queue_by_agent: tuple[QueueKpis, ...]
    qa_by_agent: tuple[QaKpis, ...]
    teams: dict[str, str | None]
    trend_inbound: tuple[InboundKpis, ...]
    trend_queue: tuple[QueueKpis, ...]
    trend_qa: tuple[QaKpis, ...]
    qa_bins: tuple[Bin, ...]


def build_dashboard(db: sqlite_utils.Database, p: ReportParams) -> Dashboard:
    """The dashboard for `p` (its `filters` applied to every family): four statements (surveys,
    calls, queues, QA with its histogram in one pass over the range's scores); sentiment and the
    compliance rate are left out (they read every utterance and every item of the range)."""
    start, end = p.sql_range
    sql.prepare(db)
    groups = ["all", "agent", p.trend_by]
    inbound, queues = _inbound(db, p, groups), _queue(db, p, groups)
    # one pass over the scores; the compliance rate (a look at every item of the range, most of
    # the QA cost) is left to the exported report
    qa_by = _qa(db, p, [*groups, "score_bin"], compliance=False, sentiment=False)
    return Dashboard(
        params=p,
        inbound_total=_one(inbound.get("all", []), InboundKpis),
        queue_total=_one(queues.get("all", []), QueueKpis),
        qa_total=_one(qa_by["all"], QaKpis),
        inbound_by_agent=tuple(inbound.get("agent", [])),
        queue_by_agent=tuple(queues.get("agent", [])),
        qa_by_agent=tuple(qa_by["agent"]),
        teams={t["agent"]: t["team"] for t in sql.agent_teams(db, start, end, sl=p.filters)},
        trend_inbound=tuple(inbound.get(p.trend_by, [])),
        trend_queue=tuple(queues.get(p.trend_by, [])),
        trend_qa=tuple(qa_by[p.trend_by]),
        qa_bins=tuple(Bin(float(r.group), r.scored) for r in qa_by["score_bin"] if r.group is not None),
    )

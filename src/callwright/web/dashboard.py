"""The supervisor dashboard: the KPI report's numbers (CSAT, NPS, FCR, AHT, service level, IVR
containment, QA from the score of record) for a date range and filters, as a page whose every
number links to the calls behind it (the calls list, pre-filtered), and the same report exported.

The numbers come from `reports.kpis.build_dashboard` (the report's own functions with the
filters as a `store.kpis.Slice`): a dashboard figure is the report's figure for the same range
and filters. Who may see it: supervisors and admins, and reviewers (who already read the KPI
report); an agent is refused (403) and pointed at Trends, which shows their own scores.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING

import sqlite_utils
from markupsafe import Markup
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from callwright.errors import CallwrightError
from callwright.reports import svg
from callwright.reports.html import HIST_BINS, qa_bin_label
from callwright.reports.kpis import Dashboard, ReportParams, build_dashboard, build_report
from callwright.store import kpis as store_kpis
from callwright.store import users

if TYPE_CHECKING:
    from callwright.web.app import ReviewApp

DEFAULT_DAYS = 28
"""Without dates the dashboard covers the 4 weeks up to the latest call's day."""
MAX_DAYS = 366
"""A longer range is refused (a year of calls is read in well under a second; ten years is not)."""
MAX_VALUE_CHARS = 200
ROLES = (users.Role.supervisor, users.Role.admin, users.Role.reviewer)
EXPORT_TYPES = {
    "html": "text/html; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
}
SCORE_GOOD = 80.0
"""A QA score at or above this shows green (the calls list's colour rule)."""


@dataclass(frozen=True)
class Query:
    """The dashboard's filters from the query string, with a message per bad field."""

    start: date
    end: date
    filters: store_kpis.Slice
    errors: dict[str, str] = field(default_factory=dict)

    def params(self) -> dict[str, str]:
        """The filters as calls-list (and dashboard) query parameters."""
        out = {"from": self.start.isoformat(), "to": self.end.isoformat()}
        for col in store_kpis.SLICE_COLUMNS:
            value = getattr(self.filters, col)
            if value is not None:
                out[col] = value
        return out


def parse_query(q: Mapping[str, str], last_day: date | None) -> Query:
    """From/to (default: the DEFAULT_DAYS up to the latest call), queue, team, agent, direction."""
    errors: dict[str, str] = {}
    end_default = last_day or date.today()

    def day(name: str, default: date) -> date:
        raw = (q.get(name) or "").strip()
        if not raw:
            return default
        try:
            if len(raw) != 10:
                raise ValueError
            return date.fromisoformat(raw)
        except ValueError:
            errors[name] = f"{name}: expected a date YYYY-MM-DD, got '{raw[:40]}'"
            return default

    end = day("to", end_default)
    start = day("from", end - timedelta(days=DEFAULT_DAYS - 1))
    if end < start:
        errors["to"] = f"to: {end} is before from: {start}"
        start, end = end - timedelta(days=DEFAULT_DAYS - 1), end
    elif (end - start).days + 1 > MAX_DAYS:
        errors["from"] = f"from: the range may cover at most {MAX_DAYS} days; narrow it"
        start = end - timedelta(days=MAX_DAYS - 1)
    values: dict[str, str | None] = {}
    for col in store_kpis.SLICE_COLUMNS:
        raw = (q.get(col) or "").strip()
        if len(raw) > MAX_VALUE_CHARS:
            errors[col] = f"{col}: at most {MAX_VALUE_CHARS} characters"
            raw = ""
        values[col] = raw or None
    if values["direction"] not in (None, "inbound", "outbound"):
        errors["direction"] = "direction: expected inbound or outbound"
        values["direction"] = None
    return Query(start, end, store_kpis.Slice(**values), errors)


# --- view data ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Link:
    text: str
    href: str


@dataclass(frozen=True)
class Tile:
    """One headline number: its value, what it is, how many it counts, and where its calls are."""

    key: str
    label: str
    value: str
    note: str
    href: str | None
    more: tuple[Link, ...] = ()
    tone: str = ""  # good / mid / bad: a coloured edge, always beside the number itself


@dataclass(frozen=True)
class AgentRow:
    agent: str
    team: str
    cells: tuple[tuple[str, str | None, str], ...]  # (text, drill-down link, css class)


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{v:.1f} %"


def _num(v: float | None, digits: int = 1) -> str:
    return "–" if v is None else f"{v:,.{digits}f}"


def _count(n: int | None) -> str:
    return "0" if not n else f"{n:,}"


def _mmss(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "–"
    s = int(round(seconds))
    return f"{s // 60}:{s % 60:02d}"


def _tone(v: float | None, good: float, bad: float, *, higher_is_better: bool = True) -> str:
    if v is None:
        return ""
    if not higher_is_better:
        v, good, bad = -v, -good, -bad
    return "good" if v >= good else "bad" if v < bad else "mid"


Drill = Callable[..., str]


def tiles(d: Dashboard, drill: Drill) -> list[Tile]:
    p = d.params
    i, q, a = d.inbound_total, d.queue_total, d.qa_total
    sl = f"{p.sl_fraction * 100:g}/{p.sl_threshold_s:g}"
    return [
        Tile(
            "qa",
            "QA score (score of record)",
            _num(a.avg_score),
            f"{_count(a.scored)} scored calls, reviewed scores included",
            drill(),
            (Link("lowest first", drill(sort="score", order="asc")),),
            _tone(a.avg_score, SCORE_GOOD, 60),
        ),
        Tile(
            "auto_fail",
            "Auto-fail rate",
            _pct(a.auto_fail_rate),
            f"{_count(a.auto_failed)} auto-failed calls",
            drill(auto_failed="yes"),
            (Link("not yet reviewed", drill(auto_failed="yes", reviewed="no")),),
            _tone(a.auto_fail_rate, 5, 15, higher_is_better=False),
        ),
        Tile(
            "csat",
            "CSAT (top-2-box)",
            _pct(i.csat),
            f"{_count(i.csat_n)} answers · mean {_num(i.csat_mean, 2)} of 5",
            drill(drill="csat"),
            (Link(f"DSAT {_pct(i.dsat)}: answers of 1-2", drill(drill="csat_low")),),
            _tone(i.csat, 80, 65),
        ),
        Tile(
            "nps",
            "NPS",
            "–" if i.nps is None else f"{i.nps:+.0f}",
            f"{_count(i.nps_n)} answers · {_count(i.promoters)} promoters, {_count(i.detractors)} detractors",
            drill(drill="nps"),
            (Link("detractors", drill(drill="nps_detractor")),),
            _tone(i.nps, 30, 0),
        ),
        Tile(
            "fcr",
            "FCR (survey)",
            _pct(i.fcr_survey),
            f"{_count(i.resolved_n)} answers",
            drill(drill="fcr"),
            (Link("not resolved", drill(drill="fcr_no")),),
            _tone(i.fcr_survey, 75, 60),
        ),
        Tile(
            "fcr_repeat",
            f"FCR (no repeat in {p.fcr_window_days:g} d)",
            _pct(i.fcr_repeat),
            f"{_count(i.contacts)} calls from known customers",
            drill(drill="repeat"),
            (),
            _tone(i.fcr_repeat, 75, 60),
        ),
        Tile(
            "aht",
            "AHT (talk + hold + wrap-up)",
            _mmss(q.aht_s),
            f"{_count(q.handled)} calls handled",
            drill(drill="handled"),
            (),
        ),
        Tile(
            "service_level",
            f"Service level {sl}",
            _pct(q.service_level),
            f"target {p.sl_fraction * 100:g} % within {p.sl_threshold_s:g} s · {_count(q.offered)} offered",
            drill(drill="sl_missed"),
            (),
            _tone(q.service_level, p.sl_fraction * 100, p.sl_fraction * 100 - 10),
        ),
        Tile(
            "containment",
            "IVR containment",
            _pct(i.containment),
            f"{_count(i.contained)} of {_count(i.ivr_calls)} IVR calls self-served",
            drill(drill="not_contained"),
            (),
        ),
    ]


def agent_rows(d: Dashboard, drill: Drill) -> list[AgentRow]:
    inbound = {r.group: r for r in d.inbound_by_agent if r.group is not None}
    queues = {r.group: r for r in d.queue_by_agent if r.group is not None}
    qa = {r.group: r for r in d.qa_by_agent if r.group is not None}
    rows = []
    for agent in sorted(set(inbound) | set(queues) | set(qa), key=str.lower):
        i, q, a = inbound.get(agent), queues.get(agent), qa.get(agent)
        score = a.avg_score if a else None
        tone = "" if score is None else "good" if score >= SCORE_GOOD else "mid"
        if a and a.auto_failed and a.scored and a.auto_failed == a.scored:
            tone = "fail"
        rows.append(
            AgentRow(
                agent,
                d.teams.get(agent) or "–",
                (
                    (_num(score), drill(agent=agent) if a else None, f"score {tone}"),
                    (_count(a.scored if a else 0), drill(agent=agent) if a else None, "n"),
                    (
                        _pct(a.auto_fail_rate if a else None),
                        drill(agent=agent, auto_failed="yes") if a else None,
                        "",
                    ),
                    (
                        _pct(i.csat if i else None),
                        drill(agent=agent, drill="csat") if i and i.csat_n else None,
                        "",
                    ),
                    (
                        _pct(i.fcr_survey if i else None),
                        drill(agent=agent, drill="fcr") if i and i.resolved_n else None,
                        "",
                    ),
                    (
                        _mmss(q.aht_s if q else None),
                        drill(agent=agent, drill="handled") if q and q.handled else None,
                        "",
                    ),
                    (
                        _count(q.handled if q else 0),
                        drill(agent=agent, drill="handled") if q and q.handled else None,
                        "n",
                    ),
                ),
            )
        )
    return rows


def charts(d: Dashboard, drill: Drill) -> list[Markup]:
    p = d.params
    by = p.trend_by
    ti = {r.group: r for r in d.trend_inbound if r.group is not None}
    tq = {r.group: r for r in d.trend_queue if r.group is not None}
    ta = {r.group: r for r in d.trend_qa if r.group is not None}
    periods = sorted(set(ti) | set(tq) | set(ta))
    labels = [k[5:] if by == "day" else f"wk {k[5:]}" for k in periods]  # MM-DD: the year is in the range
    out = [
        svg.line_chart(
            f"QA score per {by} (score of record)",
            labels,
            {"average QA score": [ta[k].avg_score if k in ta else None for k in periods]},
            percent=True,
        ),
        svg.line_chart(
            f"CSAT, FCR and service level per {by}",
            labels,
            {
                "CSAT": [ti[k].csat if k in ti else None for k in periods],
                "FCR (survey)": [ti[k].fcr_survey if k in ti else None for k in periods],
                "service level": [tq[k].service_level if k in tq else None for k in periods],
            },
            " %",
            percent=True,
        ),
    ]
    scored = sorted(
        (r for r in d.qa_by_agent if r.group is not None and r.avg_score is not None),
        key=lambda r: (r.avg_score, r.group),
    )
    out.append(
        svg.hbar_chart(
            "QA score by agent, lowest first",
            [r.group or "" for r in scored],
            [r.avg_score for r in scored],
            percent=True,
            hrefs=[drill(agent=r.group or "") for r in scored],
        )
    )
    lo, hi, step = HIST_BINS["qa_score"]
    bins = svg.fill_bins([(b.start, b.n) for b in d.qa_bins], lo, hi, step)
    out.append(
        svg.bar_chart(
            "QA score distribution (calls per 10-point bin)",
            [qa_bin_label(b) for b, _ in bins],
            [float(n) for _, n in bins],
            hrefs=[drill(min=f"{b:g}", max=("100" if b >= hi else f"{b + step - 1e-6:g}")) for b, _ in bins],
        )
    )
    return [Markup(c) for c in out]


# --- routes -----------------------------------------------------------------------------------------


def _params(query: Query) -> ReportParams:
    return ReportParams(start=query.start, end=query.end, group_by="agent", filters=query.filters)


def routes(app: ReviewApp) -> list[Route]:
    """The dashboard's routes over the review app's plumbing (sessions, database, templates)."""
    app.env.globals["drills"] = store_kpis.DRILLS  # the calls list names a drill-down it shows

    async def allowed(request: Request) -> users.Session:
        s = await app.require(request)
        if s.user.role not in ROLES:
            raise HTTPException(
                403, "the dashboard is for supervisors and reviewers; your own scores are under Trends"
            )
        return s

    def read(
        db: sqlite_utils.Database, q: Mapping[str, str]
    ) -> tuple[Query, Dashboard | None, dict[str, list[str]]]:
        last = store_kpis.last_call_day(db)
        query = parse_query(q, date.fromisoformat(last) if last else None)
        from callwright.store import reviews

        options = {c: reviews.distinct_values(db, c) for c in ("agent", "team", "queue")}
        if query.errors:
            return query, None, options
        return query, build_dashboard(db, _params(query)), options

    async def page(request: Request) -> Response:
        s = await allowed(request)
        query, d, options = await app.db(read, request.query_params)
        base = query.params()

        def drill(**extra: str) -> str:
            return app.url("/calls", **{**base, **extra})

        def export(fmt: str) -> str:
            return app.url("/dashboard/export", **{**base, "format": fmt})

        return app.page(
            "dashboard.html",
            400 if query.errors else 200,
            **app.base(
                s,
                query=query,
                q=dict(request.query_params),
                d=d,
                tiles=tiles(d, drill) if d else [],
                agents=agent_rows(d, drill) if d else [],
                charts=charts(d, drill) if d else [],
                options=options,
                export=export,
                drill=drill,
                default_days=DEFAULT_DAYS,
            ),
        )

    async def export(request: Request) -> Response:
        await allowed(request)
        fmt = request.query_params.get("format") or "html"
        if fmt not in EXPORT_TYPES:
            raise HTTPException(400, f"format: expected one of {', '.join(EXPORT_TYPES)}")

        def run(db: sqlite_utils.Database) -> str:
            from callwright.reports import export as out
            from callwright.reports import html

            last = store_kpis.last_call_day(db)
            query = parse_query(request.query_params, date.fromisoformat(last) if last else None)
            if query.errors:
                raise HTTPException(400, "; ".join(query.errors.values()))
            try:
                report = build_report(db, _params(query))
            except CallwrightError as err:
                raise HTTPException(400, str(err)) from None
            title = _title(query)
            if fmt == "csv":
                return out.to_csv(report)
            if fmt == "json":
                return out.to_json(report)
            return html.render(report, title=title)

        body = await app.db(run)
        response = Response(body, media_type=EXPORT_TYPES[fmt])
        if fmt == "html":
            from callwright.web.app import REPORT_CSP

            response.headers["Content-Security-Policy"] = REPORT_CSP
        else:
            response.headers["Content-Disposition"] = f'attachment; filename="callwright-report.{fmt}"'
        return response

    return [Route("/dashboard", page), Route("/dashboard/export", export)]


def _title(query: Query) -> str:
    parts = [
        f"{c} {getattr(query.filters, c)}" for c in store_kpis.SLICE_COLUMNS if getattr(query.filters, c)
    ]
    return "Callwright report" + (f" ({', '.join(parts)})" if parts else "")

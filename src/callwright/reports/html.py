"""The report as one self-contained HTML file: tables and inline SVG charts, no
scripts, no external files, every piece of text from the database escaped
(agent names, queue names and flow states are data, not markup).

This module turns a `Report` into plain view data (formatted strings, tables, the
charts as markup); templates/report.html lays it out. The template is autoescaped,
so escaping is not something each line of code has to remember.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import jinja2
from markupsafe import Markup

from callwright.reports import svg
from callwright.reports.kpis import Report

CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#111;max-width:1200px}
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:8px 0;font-size:13px}
th,td{padding:3px 8px;border-bottom:1px solid #eee;text-align:right}
th:first-child,td:first-child{text-align:left}th{background:#f5f5f5}
.tiles{display:flex;flex-wrap:wrap;gap:8px}.tile{border:1px solid #ddd;border-radius:6px;padding:6px 10px;
min-width:120px}.tile b{display:block;font-size:18px}.tile span{color:#555;font-size:12px}
.charts{display:flex;flex-wrap:wrap;gap:12px}svg .ax{font-size:10px;fill:#555}svg .tt{font-size:12px;
font-weight:600}svg .lg{font-size:11px}svg .gr{stroke:#eee}.note{color:#555;font-size:12px}
"""


# Each histogram's bins (first, last, step), as store.kpis.distributions counts them.
HIST_BINS: dict[str, tuple[float, float, float]] = {
    "csat": (1, 5, 1),
    "nps": (0, 10, 1),
    "wait": (0, 300, 10),
    "handle": (0, 1800, 60),
    "qa_score": (0, 90, 10),
}


def qa_bin_label(start: float) -> str:
    """A QA score bin's label: 0-9, ..., 90-100 (the last bin holds 100)."""
    return f"{start:g}-{start + 9:g}" if start < 90 else "90-100"


def _num(v: Any, digits: int = 1, suffix: str = "") -> str:
    if v is None:
        return "–"
    if isinstance(v, int):
        return f"{v:,}{suffix}"
    return f"{v:,.{digits}f}{suffix}"


def _pct(v: float | None) -> str:
    return _num(v, 1, " %")


def _secs(v: float | None) -> str:
    return _num(v, 1, " s")


@dataclass(frozen=True)
class Table:
    """Headers and rows of already formatted cells (escaped by the template)."""

    headers: Sequence[str]
    rows: Sequence[Sequence[str]]


def _name(v: Any) -> str:
    return "(none)" if v is None else str(v)


Column = tuple[str, Callable[[Any], str]]


def _rows(items: Sequence[Any], cols: Sequence[Column]) -> Table:
    return Table([c[0] for c in cols], [[fmt(it) for _, fmt in cols] for it in items])


INBOUND_COLS: list[Column] = [
    ("CSAT", lambda r: _pct(r.csat)),
    ("DSAT", lambda r: _pct(r.dsat)),
    ("surveys", lambda r: _num(r.csat_n)),
    ("NPS", lambda r: _num(r.nps)),
    ("FCR survey", lambda r: _pct(r.fcr_survey)),
    ("FCR repeat", lambda r: _pct(r.fcr_repeat)),
    ("IVR calls", lambda r: _num(r.ivr_calls)),
    ("containment", lambda r: _pct(r.containment)),
]
QUEUE_COLS: list[Column] = [
    ("offered", lambda r: _num(r.offered)),
    ("answered", lambda r: _num(r.answered)),
    ("abandoned", lambda r: _num(r.abandoned)),
    ("short abandons", lambda r: _num(r.short_abandoned)),
    ("callbacks", lambda r: _num(r.callbacks)),
    ("ASA", lambda r: _secs(r.asa_s)),
    ("time in queue", lambda r: _secs(r.avg_queue_s)),
    ("abandon rate", lambda r: _pct(r.abandon_rate)),
    ("service level", lambda r: _pct(r.service_level)),
    ("AHT", lambda r: _secs(r.aht_s)),
]
OUTBOUND_COLS: list[Column] = [
    ("dials", lambda r: _num(r.dials)),
    ("connects", lambda r: _num(r.connects)),
    ("connect rate", lambda r: _pct(r.connect_rate)),
    ("conversions", lambda r: _num(r.conversions)),
    ("conversion rate (of connects)", lambda r: _pct(r.conversion_rate)),
    ("opt-outs", lambda r: _num(r.opt_outs)),
    ("dials per agent-day", lambda r: _num(r.dials_per_agent_day)),
]
# Outbound per campaign and contact list (issue 18; formulas in docs/kpis.md).
CAMPAIGN_COLS: list[Column] = [
    ("campaign", lambda r: r.campaign),
    ("list", lambda r: _name(r.list_name)),
    ("attempts", lambda r: _num(r.attempts)),
    ("contacts", lambda r: _num(r.contacts)),
    ("attempts per contact", lambda r: _num(r.attempts_per_contact, 2)),
    ("connect rate", lambda r: _pct(r.connect_rate)),
    ("right-party rate (of connects)", lambda r: _pct(r.right_party_rate)),
    ("conversion rate (of connects)", lambda r: _pct(r.conversion_rate)),
    ("opt-out rate (of connects)", lambda r: _pct(r.opt_out_rate)),
    ("abandoned connects", lambda r: _num(r.abandoned)),
    ("abandon rate (of connects)", lambda r: _pct(r.abandon_rate)),
]
QA_COLS: list[Column] = [
    ("scored calls", lambda r: _num(r.scored)),
    ("avg score", lambda r: _num(r.avg_score)),
    ("auto-fail rate", lambda r: _pct(r.auto_fail_rate)),
    ("compliance", lambda r: _pct(r.compliance_rate)),
    ("sentiment start", lambda r: _num(r.sentiment_start, 2)),
    ("sentiment end", lambda r: _num(r.sentiment_end, 2)),
    ("improved", lambda r: _pct(r.improved)),
]


@dataclass(frozen=True)
class Grouped:
    title: str
    table: Table


def _grouped(title: str, group_by: str, items: Sequence[Any], cols: list[Column]) -> Grouped:
    return Grouped(title, _rows(items, [(group_by, lambda r: _name(r.group)), *cols]))


@dataclass(frozen=True)
class Waterfall:
    """One flow's waterfall: the chart (markup drawn by svg.py) and its table."""

    chart: Markup
    table: Table


@cache
def _template() -> jinja2.Template:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("callwright.reports", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    return env.get_template("report.html")


def render(report: Report, *, title: str = "Callwright report") -> str:
    """The whole report as an HTML document (a str)."""
    p = report.params
    i, q, o, a = report.inbound_total, report.queue_total, report.outbound_total, report.qa_total
    sl = f"{p.sl_fraction * 100:g}/{p.sl_threshold_s:g}"
    tiles = [
        ("CSAT (top-2-box)", _pct(i.csat)),
        ("DSAT (bottom-2-box)", _pct(i.dsat)),
        ("NPS", _num(i.nps)),
        ("FCR (survey)", _pct(i.fcr_survey)),
        (f"FCR (no repeat in {p.fcr_window_days:g} d)", _pct(i.fcr_repeat)),
        ("IVR containment", _pct(i.containment)),
        ("ASA", _secs(q.asa_s)),
        ("time in queue", _secs(q.avg_queue_s)),
        ("abandon rate", _pct(q.abandon_rate)),
        (f"service level {sl}", _pct(q.service_level)),
        ("AHT", _secs(q.aht_s)),
        ("dials", _num(o.dials)),
        ("connect rate", _pct(o.connect_rate)),
        ("conversion (of connects)", _pct(o.conversion_rate)),
        ("opt-outs", _num(o.opt_outs)),
        ("QA score", _num(a.avg_score)),
        ("auto-fail rate", _pct(a.auto_fail_rate)),
        ("compliance", _pct(a.compliance_rate)),
        ("sentiment start → end", f"{_num(a.sentiment_start, 2)} → {_num(a.sentiment_end, 2)}"),
    ]
    by = report.params.trend_by
    ti = {r.group: r for r in report.trend_inbound}
    tq = {r.group: r for r in report.trend_queue}
    periods = sorted(k for k in set(ti) | set(tq) if k is not None)
    trends = [
        svg.line_chart(
            f"Calls per {by}",
            periods,
            {
                "offered to queues": [tq[k].offered if k in tq else None for k in periods],
                "IVR calls": [ti[k].ivr_calls if k in ti else None for k in periods],
            },
        ),
        svg.line_chart(
            f"CSAT and FCR per {by}",
            periods,
            {
                "CSAT %": [ti[k].csat if k in ti else None for k in periods],
                "FCR survey %": [ti[k].fcr_survey if k in ti else None for k in periods],
                "containment %": [ti[k].containment if k in ti else None for k in periods],
            },
            unit=" %",
            percent=True,
        ),
        svg.line_chart(
            f"Service level and abandonment per {by}",
            periods,
            {
                "service level %": [tq[k].service_level if k in tq else None for k in periods],
                "abandon rate %": [tq[k].abandon_rate if k in tq else None for k in periods],
            },
            unit=" %",
            percent=True,
        ),
        svg.line_chart(
            f"AHT and ASA per {by}",
            periods,
            {
                "AHT s": [tq[k].aht_s if k in tq else None for k in periods],
                "ASA s": [tq[k].asa_s if k in tq else None for k in periods],
            },
            unit=" s",
        ),
    ]

    d = report.distributions

    def hist(
        kind: str, label: Callable[[float], str], bins: tuple[float, float, float]
    ) -> tuple[list[str], list[float]]:
        counts = [(b.start, b.n) for b in d.get(kind, ())]
        if not counts:
            return [], []
        filled = svg.fill_bins(counts, *bins)  # empty bins kept: the scale has no gaps
        return [label(b) for b, _ in filled], [float(n) for _, n in filled]

    dists = [
        svg.bar_chart("CSAT answers (1-5)", *hist("csat", lambda s: f"{s:g}", HIST_BINS["csat"])),
        svg.bar_chart("NPS answers (0-10)", *hist("nps", lambda s: f"{s:g}", HIST_BINS["nps"])),
        svg.bar_chart(
            "Queue wait, s (10 s bins; last = 300 s and over)",
            *hist("wait", lambda s: f"{s:g}", HIST_BINS["wait"]),
        ),
        svg.bar_chart(
            "Handle time, min (1 min bins; last = 30 min and over)",
            *hist("handle", lambda s: f"{s / 60:g}", HIST_BINS["handle"]),
        ),
        svg.bar_chart("QA score (10-point bins)", *hist("qa_score", qa_bin_label, HIST_BINS["qa_score"])),
    ]
    agents = _rows(
        report.agents,
        [
            ("agent", lambda r: r.agent),
            ("team", lambda r: _name(r.team)),
            ("calls", lambda r: _num(r.calls)),
            ("handled", lambda r: _num(r.handled)),
            ("AHT", lambda r: _secs(r.aht_s)),
            ("QA score", lambda r: _num(r.qa_score)),
            ("auto-fail", lambda r: _pct(r.auto_fail_rate)),
            ("CSAT", lambda r: _pct(r.csat)),
            ("FCR survey", lambda r: _pct(r.fcr_survey)),
            ("FCR repeat", lambda r: _pct(r.fcr_repeat)),
        ],
    )
    corr = _rows(
        report.correlations,
        [
            ("QA score against", lambda r: r.kpi),
            ("Pearson r", lambda r: _num(r.r, 3)),
            ("agents", lambda r: _num(r.agents)),
        ],
    )
    items = _rows(
        report.items,
        [
            ("scorecard", lambda r: r.scorecard),
            ("item", lambda r: r.item_id),
            ("section", lambda r: _name(r.section)),
            ("applicable", lambda r: _num(r.applicable)),
            ("pass rate", lambda r: _pct(r.pass_rate)),
            ("avg points %", lambda r: _pct(r.avg_score)),
            ("auto-fails", lambda r: _num(r.auto_fails)),
        ],
    )
    campaigns = _rows(report.campaigns, CAMPAIGN_COLS)
    refusals = _rows(
        report.refusals,
        [
            ("campaign", lambda r: r.campaign),
            ("list", lambda r: _name(r.list_name)),
            ("reason", lambda r: r.reason),
            ("refusals", lambda r: _num(r.refusals)),
            ("contacts", lambda r: _num(r.contacts)),
        ],
    )
    waterfall = []
    for flow in sorted({s.flow for s in report.waterfall}):
        states = [s for s in report.waterfall if s.flow == flow]
        chart = svg.stacked_bars(
            f"IVR waterfall: {flow}",
            [(s.state, (s.entered, s.no_input, s.no_match, s.transfer, s.hangup)) for s in states],
            ("entered", "no-input", "no-match", "transfer", "hang-up"),
        )
        waterfall.append(
            Waterfall(
                Markup(chart),
                _rows(
                    states,
                    [
                        ("state", lambda r: r.state),
                        ("entered", lambda r: _num(r.entered)),
                        ("no-input", lambda r: _num(r.no_input)),
                        ("no-match", lambda r: _num(r.no_match)),
                        ("transfer", lambda r: _num(r.transfer)),
                        ("hang-up", lambda r: _num(r.hangup)),
                        ("ended here", lambda r: _num(r.ended)),
                    ],
                ),
            )
        )
    g = p.group_by
    return (
        _template().render(
            title=title,
            css=Markup(CSS),
            start=p.start.isoformat(),
            end=p.end.isoformat(),
            sl=sl,
            sl_rule="abandons count" if p.sl_abandons_count else "answered calls only",
            short_abandon=f"{p.short_abandon_s:g}",
            fcr_window=f"{p.fcr_window_days:g}",
            tiles=tiles,
            trends=[Markup(c) for c in trends],
            group_by=g,
            grouped=[
                _grouped("Inbound", g, report.inbound, INBOUND_COLS),
                _grouped("Queues", g, report.queues, QUEUE_COLS),
                _grouped("Outbound", g, report.outbound, OUTBOUND_COLS),
                _grouped("QA", g, report.qa, QA_COLS),
            ],
            distributions=[Markup(c) for c in dists],
            agents=agents,
            correlations=corr,
            items=items,
            campaigns=campaigns,
            refusals=refusals,
            waterfall=waterfall,
        )
        + "\n"
    )

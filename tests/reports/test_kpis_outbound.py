"""Outbound KPIs on hand-built dials (kpi_fixtures.DIALS)."""

import pytest
from kpi_fixtures import NOV

from callwright.reports.kpis import ReportParams, outbound_kpis


def test_outbound_totals(db):
    o = outbound_kpis(db, ReportParams(**NOV), "all")[0]
    # d1..d5 in range (d6 is in October): connects d1, d3, d5 = 3 of 5 dials = 60 %;
    # conversions d1 = 1 of 3 connects; opt-outs d3 = 1 of 3 connects
    assert (o.dials, o.connects, o.conversions, o.opt_outs) == (5, 3, 1, 1)
    assert o.connect_rate == 60.0
    assert o.conversion_rate == pytest.approx(100 / 3) and o.opt_out_rate == pytest.approx(100 / 3)
    # agent-days: ann on 11-04, bob on 11-05 -> 5 dials / 2 agent-days
    assert (o.agent_days, o.dials_per_agent_day) == (2, 2.5)


def test_outbound_by_campaign_and_agent(db):
    p = ReportParams(**NOV)
    camp = {r.group: r for r in outbound_kpis(db, p, "campaign")}
    # renew: d1..d4 -> 2 connects of 4 (50 %), 1 conversion of 2 connects (50 %); winback: d5
    assert (camp["renew"].dials, camp["renew"].connect_rate, camp["renew"].conversion_rate) == (4, 50.0, 50.0)
    assert (camp["winback"].dials, camp["winback"].connects, camp["winback"].conversion_rate) == (1, 1, 0.0)
    agent = {r.group: r for r in outbound_kpis(db, p, "agent")}
    assert agent["ann"].dials == 3 and agent["ann"].dials_per_agent_day == 3.0
    day = {r.group: r for r in outbound_kpis(db, p, "day")}
    assert day["2026-11-04"].dials == 3 and day["2026-11-05"].dials == 2

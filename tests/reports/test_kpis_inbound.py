"""Inbound KPIs on hand-built rows (kpi_fixtures): CSAT, DSAT, NPS, FCR both ways, containment."""

import pytest
from kpi_fixtures import NOV

from callwright.reports.kpis import ReportParams, inbound_kpis


def by_group(rows):
    return {r.group: r for r in rows}


def test_csat_dsat_nps_and_survey_fcr(db):
    t = inbound_kpis(db, ReportParams(**NOV), "all")[0]
    # CSAT answers in range, inbound only (c6 is outbound, c7 before the range):
    # 5, 4, 2, 1, 3, 5 (c9) -> top-2-box {5, 4, 5} = 3/6 = 50 %; bottom-2-box {2, 1} = 2/6 = 33.33 %
    assert (t.csat_n, t.csat_top2, t.csat_bottom2) == (6, 3, 2)
    assert t.csat == pytest.approx(50.0) and t.dsat == pytest.approx(100 * 2 / 6)
    assert t.csat_mean == pytest.approx(20 / 6)
    # NPS answers 10, 7, 7, 8, 9, 1: promoters {10, 9} = 2, detractors {1} = 1 -> (2 - 1) / 6 = +16.67
    assert (t.nps_n, t.promoters, t.detractors) == (6, 2, 1)
    assert t.nps == pytest.approx(100 / 6)
    # resolved: c1 yes, c2 no, c3 yes, c5 yes -> 3/4
    assert (t.resolved_n, t.resolved_yes, t.fcr_survey) == (4, 3, 75.0)


def test_csat_by_week(db):
    rows = by_group(inbound_kpis(db, ReportParams(**NOV), "week"))
    # week of Mon 2026-11-02: c1 5, c2 4, c3 2, c9 5 -> 3/4 = 75 %, DSAT 1/4
    # week of Mon 2026-11-09: c4 1, c5 3 -> 0/2 = 0 %, DSAT 1/2
    assert rows["2026-11-02"].csat == 75.0 and rows["2026-11-02"].dsat == 25.0
    assert rows["2026-11-09"].csat == 0.0 and rows["2026-11-09"].dsat == 50.0


def test_fcr_repeat_contact_window(db):
    t = inbound_kpis(db, ReportParams(**NOV), "all")[0]
    # Inbound calls in range with a known customer: c1 +1, c2 +2, c3 +1, c4 +2, c5 K9, c8 +1,
    # c9/c10/c11 have none (not counted). Next inbound call of the same customer:
    # c1 -> c3 after 1 day (repeat); c2 -> c4 after 8 days (not within 7; c6 is outbound);
    # c3 -> c8 after 9 days; c4, c5, c8 -> none. FCR = 5/6.
    assert (t.contacts, t.repeated) == (6, 1)
    assert t.fcr_repeat == pytest.approx(100 * 5 / 6)
    # A 10-day window also catches c2 -> c4 (8 d) and c3 -> c8 (9 d): 3/6 = 50 %
    t10 = inbound_kpis(db, ReportParams(**NOV, fcr_window_days=10), "all")[0]
    assert (t10.repeated, t10.fcr_repeat) == (3, 50.0)


def test_ivr_containment(db):
    t = inbound_kpis(db, ReportParams(**NOV), "all")[0]
    # Inbound calls with a flow in range: c1, c2, c3, c4, c8; self-served c1, c8 -> 2/5 = 40 %
    # (c4, a caller hang-up in the menu, is not contained)
    assert (t.ivr_calls, t.contained, t.transferred, t.ivr_abandoned) == (5, 2, 2, 1)
    assert t.containment == 40.0


def test_grouped_by_agent(db):
    rows = by_group(inbound_kpis(db, ReportParams(**NOV), "agent"))
    # ann: c2 (csat 4), c5 (csat 3) -> 50 %; bob: c3 (2) -> 0 %; cara: c9 (5) -> 100 %
    assert rows["ann"].csat == 50.0 and rows["bob"].csat == 0.0 and rows["cara"].csat == 100.0
    # calls with no agent: c1 5, c4 1 -> 50 %
    assert rows[None].csat == 50.0


def test_ivr_waterfall_per_state(db):
    from callwright.reports.kpis import build_report

    funnel = {(s.flow, s.state): s for s in build_report(db, ReportParams(**NOV)).waterfall}
    # events of c1, c2, c4 (c7's are before the range)
    w = funnel[("acme", "welcome")]
    assert (w.entered, w.no_input, w.no_match, w.transfer, w.hangup, w.ended) == (3, 0, 0, 0, 0, 0)
    m = funnel[("acme", "menu")]
    # c1 one no-input, c2 two no-matches, c4 hung up there
    assert (m.entered, m.no_input, m.no_match, m.transfer, m.hangup, m.ended) == (3, 1, 2, 0, 1, 1)
    b = funnel[("acme", "billing-queue")]
    assert (b.entered, b.transfer, b.ended) == (1, 1, 1)
    assert set(funnel) == {("acme", s) for s in ("welcome", "menu", "goodbye", "billing-queue")}


def test_waterfall_summary_matches_a_recount(db):
    from callwright.store.schema import rebuild_waterfall

    before = list(db.query("select * from ivr_state_daily order by day, flow, state"))
    rebuild_waterfall(db)
    assert list(db.query("select * from ivr_state_daily order by day, flow, state")) == before
    # c7's welcome is on 2026-10-31: in the table, outside the November range
    assert ("2026-10-31", "acme", "welcome") in {(r["day"], r["flow"], r["state"]) for r in before}

"""QA KPIs on hand-built scores (kpi_fixtures): average score, auto-fail rate, compliance,
per item, customer sentiment start vs end, and QA-vs-CSAT/FCR correlation per agent."""

import math

import pytest
from kpi_fixtures import NOV

from callwright.reports.kpis import ReportParams, agent_kpis, correlation, qa_kpis


def test_scores_auto_fail_and_compliance(db):
    t = qa_kpis(db, ReportParams(**NOV), "all")[0]
    # latest score per call and scorecard: c2 80, c3 0 (auto-failed), c5 90 (v1, not v0's 10),
    # c6 70, c9 50 -> (80 + 0 + 90 + 70 + 50) / 5 = 58; auto-fail 1/5 = 20 %
    assert (t.scored, t.avg_score, t.auto_failed, t.auto_fail_rate) == (5, 58.0, 1, 20.0)
    # compliance items: 'disclosure' (auto-failed somewhere in v1) and 'opt-out-offer' (section
    # compliance); verdicts c2 pass, c3 fail, c5 pass, c6 pass -> 3/4
    assert (t.compliance_passed, t.compliance_applicable, t.compliance_rate) == (3, 4, 75.0)


def test_qa_by_agent_and_team(db):
    p = ReportParams(**NOV)
    agents = {r.group: r for r in qa_kpis(db, p, "agent")}
    # ann: c2 80, c5 90, c6 70 -> 80; bob: c3 0, auto-failed 100 %
    assert agents["ann"].avg_score == 80.0 and agents["ann"].auto_fail_rate == 0.0
    assert agents["bob"].avg_score == 0.0 and agents["bob"].auto_fail_rate == 100.0
    teams = {r.group: r for r in qa_kpis(db, p, "team")}
    # south: bob c3 0 + cara c9 50 -> 25, 1 auto-fail of 2
    assert teams["south"].avg_score == 25.0 and teams["south"].auto_fail_rate == 50.0


def test_per_item(db):
    from callwright.reports.kpis import build_report

    items = {(i.scorecard, i.item_id): i for i in build_report(db, ReportParams(**NOV)).items}
    d = items[("inbound-service", "disclosure")]
    # c2 pass 2/2, c3 fail 0/2 (auto-fail), c5 pass 2/2 (v1 only) -> pass 2/3, points 4/6
    assert (d.applicable, d.passed, d.auto_fails) == (3, 2, 1)
    assert d.pass_rate == pytest.approx(200 / 3) and d.avg_score == pytest.approx(400 / 6)
    g = items[("inbound-service", "greeting")]
    # c2 pass, c3 pass, c5 not applicable -> 2/2; 'na' has no points to average
    assert (g.applicable, g.passed, g.pass_rate, g.avg_score) == (2, 2, 100.0, 100.0)
    assert items[("inbound-service", "verify")].pass_rate == 0.0


def test_sentiment_start_vs_end(db):
    t = qa_kpis(db, ReportParams(**NOV), "all")[0]
    # customer utterances with sentiment: c2 -0.5 ... 0.3 (agent's 0.9 ignored), c3 0.2 -> -0.4;
    # c5 has one only (left out). start (-0.5 + 0.2) / 2, end (0.3 - 0.4) / 2, change (0.8 - 0.6) / 2
    assert t.sentiment_calls == 2
    assert t.sentiment_start == pytest.approx(-0.15) and t.sentiment_end == pytest.approx(-0.05)
    assert t.sentiment_change == pytest.approx(0.1)
    assert (t.improved, t.worsened) == (50.0, 50.0)


def test_qa_vs_csat_and_fcr_per_agent(db):
    agents = {a.agent: a for a in agent_kpis(db, ReportParams(**NOV))}
    # inbound calls only: ann c2 80, c5 90 -> 85, CSAT {4, 3} -> 50 %; bob c3 0, CSAT {2} -> 0 %;
    # cara c9 50, CSAT {5} -> 100 %
    assert (agents["ann"].qa_score, agents["ann"].csat) == (85.0, 50.0)
    assert (agents["bob"].qa_score, agents["bob"].csat) == (0.0, 0.0)
    assert (agents["cara"].qa_score, agents["cara"].csat) == (50.0, 100.0)
    # AHT per agent from the queue: ann c2 390, c10 180 -> 285
    assert agents["ann"].aht_s == 285.0 and agents["ann"].handled == 2
    # x = (85, 0, 50), y = (50, 0, 100): deviations (40, -45, 5), (0, -50, 50);
    # r = 2500 / sqrt(3650 * 5000) = 0.58521
    r = correlation(list(agents.values()), "csat")
    assert r.agents == 3 and r.r == pytest.approx(2500 / math.sqrt(3650 * 5000))
    # survey FCR: ann {0, 1} -> 50 %, bob {1} -> 100 %, cara none -> only 2 agents: no r
    assert correlation(list(agents.values()), "fcr_survey").r is None

"""The supervisor dashboard over HTTP (Starlette's TestClient): who may see it, that its numbers
are the KPI report's for the same range and filters, that every number's link lists the calls
behind it, bad filters, hostile names escaped, and the exported report."""

from __future__ import annotations

import json
import re
from datetime import date
from html import unescape

import pytest

from callwright.reports.kpis import ReportParams, build_report
from callwright.store import kpis as store_kpis
from callwright.store.db import open_db
from tests.web.conftest import HOSTILE, sign_in


def _tiles(html: str) -> dict[str, str]:
    return dict(
        re.findall(
            r'data-kpi="([a-z_]+)">\s*<span class="label">[^<]*</span>\s*<a class="value" href="([^"]+)"',
            html,
        )
    )


def _tile_value(html: str, key: str) -> str:
    m = re.search(
        rf'data-kpi="{key}">\s*<span class="label">[^<]*</span>\s*<a class="value" href="[^"]+"[^>]*>([^<]+)</a>',
        html,
    )
    assert m, key
    return m.group(1)


def _listed(client, href: str) -> int:
    page = client.get(unescape(href))
    assert page.status_code == 200, page.text[:500]
    summary = re.search(r'id="summary">([^<]*)<', page.text).group(1)
    return int(summary.split()[0].replace(",", ""))


@pytest.mark.parametrize(("name", "status"), [("sam", 200), ("rita", 200), ("maria.lopez", 403)])
def test_who_may_see_the_dashboard(client, name, status):
    assert client.get("/dashboard").status_code == 303  # no session: sign in first
    sign_in(client, name)
    page = client.get("/dashboard")
    assert page.status_code == status
    if status == 403:
        assert "Trends" in page.text
        assert client.get("/dashboard/export?format=json").status_code == 403


def test_the_numbers_are_the_reports_and_link_to_their_calls(client, db_copy):
    sign_in(client, "sam")
    page = client.get("/dashboard")
    assert page.status_code == 200
    # the range defaults to the 4 weeks up to the latest call
    assert "2024-04-10 to 2024-05-07" in page.text
    db = open_db(db_copy.path)
    report = build_report(db, ReportParams(date(2024, 4, 10), date(2024, 5, 7), group_by="agent"))
    assert _tile_value(page.text, "qa") == f"{report.qa_total.avg_score:.1f}"
    assert _tile_value(page.text, "auto_fail") == f"{report.qa_total.auto_fail_rate:.1f} %"
    links = _tiles(page.text)
    assert {"qa", "auto_fail", "csat", "nps", "fcr", "aht", "service_level", "containment"} <= set(links)
    assert _listed(client, links["qa"]) == report.qa_total.scored
    assert _listed(client, links["auto_fail"]) == report.qa_total.auto_failed
    # per agent: the report's agent row, and the calls behind it
    maria = next(r for r in report.qa if r.group == "maria.lopez")
    row = re.search(r'<tr data-agent="maria.lopez">(.*?)</tr>', page.text, re.S).group(1)
    cells = re.findall(r'<td class="num[^"]*"><a href="([^"]+)">([^<]+)</a>', row)
    assert cells[0][1] == f"{maria.avg_score:.1f}"
    assert _listed(client, cells[0][0]) == maria.scored


def test_filters_narrow_every_number_and_bad_ones_are_named(client):
    sign_in(client, "sam")
    page = client.get("/dashboard?agent=tom.okafor&from=2024-05-01&to=2024-05-31")
    assert page.status_code == 200
    assert re.findall(r'<tr data-agent="([^"]+)"', page.text) == ["tom.okafor"]
    for bad, field in [
        ("from=2024-13-01", "from"),
        ("to=yesterday", "to"),
        ("from=2024-05-07&to=2024-05-01", "to"),
        ("direction=sideways", "direction"),
        ("from=2020-01-01&to=2024-05-01", "from"),
        ("agent=" + "x" * 201, "agent"),
    ]:
        page = client.get(f"/dashboard?{bad}")
        assert page.status_code == 400, bad
        assert f'data-field="{field}"' in page.text, bad


def test_hostile_names_are_text(client):
    sign_in(client, "sam")
    page = client.get("/dashboard?from=2024-04-01&to=2024-05-31")
    assert page.status_code == 200
    assert HOSTILE not in page.text and "<script>alert" not in page.text
    assert "&lt;script&gt;alert" in page.text  # the table and the chart's tooltip, escaped
    page = client.get("/dashboard?agent=" + HOSTILE)
    assert HOSTILE not in page.text


def test_the_export_is_the_filtered_report(client):
    sign_in(client, "sam")
    got = client.get("/dashboard/export?format=json&from=2024-05-01&to=2024-05-31&agent=maria.lopez")
    assert got.status_code == 200 and got.headers["content-type"].startswith("application/json")
    data = json.loads(got.text)
    assert data["params"]["filters"]["agent"] == "maria.lopez"
    assert [r["group"] for r in data["qa"]] == ["maria.lopez"]
    csv = client.get("/dashboard/export?format=csv&agent=maria.lopez").text
    assert "params,,filters.agent,maria.lopez" in csv
    html = client.get("/dashboard/export?format=html&agent=maria.lopez")
    assert html.status_code == 200 and "agent maria.lopez" in html.text
    assert "script-src" not in html.headers["content-security-policy"]
    assert client.get("/dashboard/export?format=xlsx").status_code == 400


def test_a_drill_down_name_is_checked(client):
    sign_in(client, "sam")
    page = client.get("/calls?drill=csat%27%20or%201=1")
    assert page.status_code == 400 and 'data-field="drill"' in page.text
    page = client.get("/calls?drill=handled")
    assert page.status_code == 200 and 'id="drill"' in page.text


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """A generated database where every answered inbound call is scored (so every drill-down's
    calls are on the calls list) with a supervisor."""
    from callwright.reports.synthetic import SyntheticSpec, generate
    from callwright.store import users
    from callwright.web.auth import hash_password
    from tests.web.conftest import PASSWORD

    path = tmp_path_factory.mktemp("dash") / "s.db"
    db = open_db(path)
    generate(db, SyntheticSpec(calls=1200, start=date(2026, 2, 2), days=7, seed=11, qa_share=1.0))
    users.add_user(db, "sam", users.Role.supervisor, hash_password(PASSWORD))
    db.conn.close()
    return path


def test_every_drill_down_lists_the_calls_its_number_counts(synthetic):
    """For one agent every call is answered and scored, so each number's list holds exactly the
    calls it counts; over all calls, the IVR's own calls (surveyed, never scored) are left out."""
    from starlette.testclient import TestClient

    from callwright.web.app import create_app

    db = open_db(synthetic)
    agent = next(iter(db.query("select agent from calls where agent like 'agent-%' limit 1")))["agent"]
    sliced = build_report(
        db, ReportParams(date(2026, 2, 2), date(2026, 2, 8), filters=store_kpis.Slice(agent=agent))
    )
    whole = build_report(db, ReportParams(date(2026, 2, 2), date(2026, 2, 8)))
    with TestClient(create_app(synthetic), base_url="https://testserver", follow_redirects=False) as client:
        sign_in(client, "sam")
        page = client.get(f"/dashboard?from=2026-02-02&to=2026-02-08&agent={agent}")
        assert page.status_code == 200 and f"agent {agent}" in page.text
        links = _tiles(page.text)
        more = {k: v for v, k in re.findall(r'<a class="more" href="([^"]+)">([^<]+) →</a>', page.text)}
        i, q, a = sliced.inbound_total, sliced.queue_total, sliced.qa_total
        assert _listed(client, links["csat"]) == i.csat_n > 0
        assert _listed(client, more["detractors"]) == i.detractors > 0
        assert _listed(client, links["nps"]) == i.nps_n
        assert _listed(client, links["fcr"]) == i.resolved_n
        assert _listed(client, more["not resolved"]) == i.resolved_n - i.resolved_yes
        assert _listed(client, links["aht"]) == q.handled > 0
        assert _listed(client, links["qa"]) == a.scored > 0
        assert _listed(client, links["auto_fail"]) == a.auto_failed
        missed = _listed(client, links["service_level"])
        assert missed == q.answered - q.answered_within  # its abandoned calls have no agent
        page = client.get("/dashboard?from=2026-02-02&to=2026-02-08")
        links = _tiles(page.text)
        i = whole.inbound_total
        assert 0 < _listed(client, links["csat"]) < i.csat_n  # surveys after self-service: not scored
        assert _listed(client, links["containment"]) <= i.ivr_calls - i.contained

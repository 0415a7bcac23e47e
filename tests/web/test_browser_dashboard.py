"""The supervisor dashboard in a real browser (Playwright, the system Chromium, headless) against
uvicorn on 127.0.0.1: note an agent's QA figure, overturn an auto-failed item on one of that
agent's calls, and see the dashboard and the exported report change; drill down from a number to
the calls list. Writes docs/img/dashboard.png (the documentation shows it).

The database is the scored sample calls (tests/web/conftest.py) plus four weeks of generated
contact-centre traffic (queues, surveys, IVR, scores) around them, so the page has every KPI."""

from __future__ import annotations

import json
import re
import shutil
import threading
import time
from datetime import date
from pathlib import Path
from urllib.parse import urljoin

import pytest

from tests.web.conftest import PASSWORD
from tests.web.test_browser import CHROMIUM, _free_port, browser, page  # noqa: F401  (fixtures)

IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
CALL = "inbound-no-disclosure"  # maria.lopez's auto-failed call
OTHER = "inbound-billing-ok"  # her other call
ITEM = "recording-disclosure"

pytestmark = pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="the system Chromium is not installed")


@pytest.fixture
def rich_server(db_copy):
    import uvicorn

    from callwright.reports.synthetic import SyntheticSpec, generate
    from callwright.store.db import open_db
    from callwright.web.app import create_app

    db = open_db(db_copy.path)
    generate(db, SyntheticSpec(calls=3000, start=date(2024, 4, 10), days=28, seed=5, qa_share=0.5))
    # the hostile call is for the escaping tests; in the screenshot it would only be noise
    db.execute("update calls set agent = 'li.wei', team = 'billing' where id = 'hostile-call'")
    db.conn.commit()
    db.conn.close()
    port = _free_port()
    app = create_app(db_copy.path, redacted_audio_dir=db_copy.redacted)
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(10)


def _agent_score(pg, agent: str) -> float:
    return float(pg.locator(f"#agents-table tr[data-agent='{agent}'] td.score").inner_text())


def _exported(pg, fmt: str) -> str:
    href = pg.locator(f"#export-{fmt}").get_attribute("href")
    response = pg.request.get(urljoin(pg.url, href))
    assert response.ok
    return response.text()


def _report_score(report: dict, agent: str) -> float:
    return next(r["avg_score"] for r in report["qa"] if r["group"] == agent)


def test_a_review_moves_the_dashboard_and_the_exported_report(rich_server, page):  # noqa: F811
    base = rich_server
    page.goto(f"{base}/dashboard")
    page.fill("input[name=name]", "sam")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/dashboard$"))
    assert "2024-04-10 to 2024-05-07" in page.locator("#range").inner_text()
    for kpi in ("qa", "csat", "nps", "fcr", "aht", "service_level", "containment"):
        assert re.search(r"\d", page.locator(f".tile[data-kpi={kpi}] .value").inner_text()), kpi
    IMG.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(IMG / "dashboard.png"), full_page=True)

    before = _agent_score(page, "maria.lopez")
    report_before = json.loads(_exported(page, "json"))
    assert round(_report_score(report_before, "maria.lopez"), 1) == before
    html_before = _exported(page, "html")

    # drill down from her QA figure: her calls in the range, the auto-failed one among them
    page.locator("#agents-table tr[data-agent='maria.lopez'] td.score a").click()
    page.wait_for_url(re.compile(r".*/calls\?.*agent=maria.lopez"))
    listed = page.eval_on_selector_all("#calls tbody tr[data-call]", "rows => rows.map(r => r.dataset.call)")
    assert sorted(listed) == sorted([CALL, OTHER])
    other = float(page.locator(f"#calls tr[data-call='{OTHER}'] .score-badge").inner_text())
    assert before == round((0.0 + other) / 2, 1)

    # overturn the auto-failed item
    page.locator(f"#calls tr[data-call='{CALL}'] a").first.click()
    page.wait_for_url(re.compile(f".*/calls/{CALL}$"))
    item = page.locator(f"#item-{ITEM}")
    item.locator("input[value=pass]").check()
    item.locator("textarea[name=note]").fill("The IVR played the disclosure before the agent answered.")
    item.locator("form.review button[type=submit]").click()
    page.wait_for_selector("#notice")
    score = float(page.locator("#score-1 .big").inner_text())
    assert score > 50

    page.goto(f"{base}/dashboard")
    after = _agent_score(page, "maria.lopez")
    assert after == round((score + other) / 2, 1) and after > before
    report_after = json.loads(_exported(page, "json"))
    assert round(_report_score(report_after, "maria.lopez"), 1) == after
    html_after = _exported(page, "html")
    assert html_after != html_before and f"{after:.1f}" in html_after

    # drill down from the auto-fail tile: the overturned call has left the list
    page.locator(".tile[data-kpi=auto_fail] a.value").click()
    page.wait_for_url(re.compile(r".*/calls\?.*auto_failed=yes"))
    assert page.locator(f"#calls tr[data-call='{CALL}']").count() == 0
    assert page.locator("#calls tbody tr[data-call]").count() > 0

"""A blind calibration session in a real browser (Playwright driving the system Chromium against
uvicorn on 127.0.0.1): a supervisor creates it, two reviewer accounts answer blind in their own
browser contexts, and the comparison shows agreement and kappa per item. Writes
docs/img/review-calibration-session.png."""

from __future__ import annotations

import re
import shutil
import sqlite3

import pytest

from tests.web.test_browser import CHROMIUM, IMG, browser, server, sign_in  # noqa: F401 (fixtures)
from tests.web.test_calibration_sessions import CALLS, _add_reviewer, _snapshot, _version

pytestmark = pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="the system Chromium is not installed")


def _answer_all(page, base: str, session_path: str, verdict: str) -> None:
    page.goto(f"{base}{session_path}")
    assert page.locator("#answers").count() == 1
    # blind: no machine verdict, no evidence, no other reviewer's answer on the page
    assert page.locator(".verdict").count() == 0 and page.locator(".evidence").count() == 0
    for radio in page.locator(f"#answers input[type=radio][value={verdict}]").all():
        radio.check()
    page.click("#answers button[value=submit]")
    page.wait_for_selector("#message")
    assert "submitted" in page.locator("#message").inner_text()


def test_two_reviewers_calibrate_blind_and_compare(server, browser, db_copy):  # noqa: F811
    _add_reviewer(db_copy.path, "ravi")
    before = _snapshot(db_copy.path)
    contexts = [browser.new_context(viewport={"width": 1360, "height": 900}) for _ in range(3)]
    try:
        sam, rita, ravi = (c.new_page() for c in contexts)
        sign_in(sam, server, "sam")
        sam.goto(f"{server}/calibration")
        sam.click("#sessions-link")
        sam.fill("#new-session input[name=name]", "Week 48 calibration")
        sam.select_option("#new-session select[name=scorecard_version]", _version(db_copy.path, CALLS[0]))
        sam.fill("#new-session textarea[name=calls]", "\n".join(CALLS))
        for name in ("rita", "ravi"):
            sam.check(f"#new-session input[name=reviewer][value='{name}']")
        sam.click("#new-session button[type=submit]")
        sam.wait_for_url(re.compile(r".*/calibration/sessions/\d+\?created=1$"))
        session_path = re.search(r"/calibration/sessions/\d+", sam.url).group(0)
        assert sam.locator("#reviewers li").count() == 2 and sam.locator("#answers").count() == 0

        sign_in(rita, server, "rita")
        _answer_all(rita, server, session_path, "pass")
        assert rita.locator("#waiting").count() == 1 and rita.locator("#comparison").count() == 0

        sign_in(ravi, server, "ravi")
        _answer_all(ravi, server, session_path, "fail")
        ravi.wait_for_selector("#comparison")
        # rita passed everything and ravi failed everything: they never agree, and kappa is 0
        rows = ravi.locator("#comparison table.calibration tbody tr").all()
        assert rows
        for row in rows:
            assert row.locator(".rr-agree").inner_text() == "0 %"
            assert row.locator(".rr-kappa").inner_text() == "0.00"
        grid = ravi.locator("#answers-grid tbody tr").all()
        assert grid and all(len(r.locator("td").all()) == 5 for r in grid)  # call, item, machine, ravi, rita
        IMG.mkdir(parents=True, exist_ok=True)
        ravi.screenshot(path=str(IMG / "review-calibration-session.png"), full_page=True)

        sam.goto(f"{server}{session_path}")
        assert sam.locator("#comparison").count() == 1 and sam.locator("#close-session").count() == 0
    finally:
        for c in contexts:
            c.close()
    assert _snapshot(db_copy.path) == before  # calibration answers are not scores of record
    con = sqlite3.connect(db_copy.path)
    assert con.execute("select count(*) from calibration_answers").fetchone()[0] > 0
    con.close()

"""The review app in a real browser: Playwright driving the system Chromium (headless) against
uvicorn serving the real app on 127.0.0.1 over a real scored database. Screenshots of the calls
list and the call page are written to docs/img/ (the documentation shows them)."""

from __future__ import annotations

import re
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

from tests.web.conftest import PASSWORD

CHROMIUM = "/usr/bin/chromium"
IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
CALL = "inbound-no-disclosure"
ITEM = "recording-disclosure"

pytestmark = pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="the system Chromium is not installed")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(db_copy):
    """uvicorn serving the app on a free loopback port in a thread; yields its base URL."""
    import uvicorn

    from callwright.web.app import create_app

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


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required", "--mute-audio"],
        )
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    pg = context.new_page()
    yield pg
    context.close()


def sign_in(page, base: str, name: str) -> None:
    page.goto(f"{base}/calls")
    assert "/login" in page.url  # no session: the sign-in page
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/calls$"))


def listed(page) -> list[str]:
    return page.eval_on_selector_all("#calls tbody tr[data-call]", "rows => rows.map(r => r.dataset.call)")


def test_sign_in_find_a_call_by_agent_and_by_a_phrase(server, page, db_copy):
    sign_in(page, server, "rita")
    assert len(listed(page)) == len(db_copy.calls)
    page.fill("input[name=agent]", "maria.lopez")
    page.click("form.filters button[type=submit]")
    page.wait_for_load_state()
    assert CALL in listed(page) and all(db_copy.calls[c]["agent"] == "maria.lopez" for c in listed(page))
    page.click("a.button:has-text('Clear')")
    text = db_copy.calls["outbound-sales-compliant"]["segments"][1]["text"]
    phrase = " ".join(w.strip(".,?!") for w in text.split()[:4])
    page.fill("input[name=q]", f'"{phrase}"')
    page.click("form.filters button[type=submit]")
    page.wait_for_load_state()
    assert "outbound-sales-compliant" in listed(page)
    page.fill("input[name=q]", "don't \"recorded line")
    page.click("form.filters button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("#summary").is_visible()


def test_play_from_an_utterance_and_it_is_highlighted(server, page, db_copy):
    sign_in(page, server, "rita")
    page.goto(f"{server}/calls/{CALL}")
    page.wait_for_function("document.getElementById('player').readyState >= 1")
    target = page.locator("#transcript .utt").nth(3)
    start = float(target.get_attribute("data-start"))
    assert start > 0
    target.click()
    page.wait_for_function(
        "([s]) => { const p = document.getElementById('player'); return p.currentTime >= s - 0.05; }",
        arg=[start],
    )
    now = page.evaluate("document.getElementById('player').currentTime")
    assert start - 0.05 <= now < start + 5
    page.wait_for_selector("#transcript .utt.playing")
    playing = page.locator("#transcript .utt.playing")
    assert float(playing.get_attribute("data-start")) <= now < float(playing.get_attribute("data-end"))
    page.evaluate("document.getElementById('player').pause()")
    IMG.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(IMG / "review-call-page.png"), full_page=True)


def test_overturn_an_auto_failed_item_and_see_the_score_list_and_report_change(server, page):
    sign_in(page, server, "rita")
    page.goto(f"{server}/report?group_by=agent")
    report_before = page.content()
    page.goto(f"{server}/calls?sort=score&order=asc")
    row = page.locator(f"#calls tr[data-call='{CALL}']")
    assert "auto-failed" in row.inner_text()
    IMG.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(IMG / "review-calls-list.png"), full_page=True)
    row.locator("a").first.click()
    page.wait_for_url(re.compile(f".*/calls/{CALL}$"))
    assert page.locator("#score-1 .big").inner_text() == "0.0"
    item = page.locator(f"#item-{ITEM}")
    assert item.locator(".verdict").inner_text().lower() == "fail"
    item.locator("input[value=pass]").check()
    item.locator("textarea[name=note]").fill("The IVR played the disclosure before the agent answered.")
    item.locator("form.review button[type=submit]").click()
    page.wait_for_selector("#notice")
    score = float(page.locator("#score-1 .big").inner_text())
    assert score > 50
    assert page.locator(f"#item-{ITEM} .verdict").inner_text().lower() == "pass"
    assert "automatic 0.0" in page.locator("#score-1").inner_text()
    page.goto(f"{server}/calls")
    row = page.locator(f"#calls tr[data-call='{CALL}']")
    assert "reviewed" in row.inner_text() and "auto-failed" not in row.inner_text()
    assert float(row.locator(".score-badge").inner_text()) == score
    page.goto(f"{server}/report?group_by=agent")
    assert page.content() != report_before


def test_an_agent_cannot_open_another_agents_call(server, page, db_copy):
    sign_in(page, server, "maria.lopez")
    assert set(listed(page)) == {c for c, b in db_copy.calls.items() if b["agent"] == "maria.lopez"}
    other = next(c for c, b in db_copy.calls.items() if b["agent"] != "maria.lopez")
    response = page.goto(f"{server}/calls/{other}")
    assert response.status == 403
    response = page.goto(f"{server}/recording/{other}")
    assert response.status == 403


def test_a_stale_csrf_token_is_refused(server, page):
    sign_in(page, server, "rita")
    page.goto(f"{server}/calls/{CALL}")
    form = page.locator(f"#item-{ITEM} form.review")
    form.locator("input[name=csrf]").evaluate("e => e.value = 'stale-token'")
    form.locator("input[value=pass]").check()
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert "security token is stale" in page.content()
    page.goto(f"{server}/calls/{CALL}")
    assert page.locator(f"#item-{ITEM} .verdict").inner_text().lower() == "fail"


def test_without_a_session_no_recording_is_served(server, page):
    response = page.goto(f"{server}/recording/{CALL}")
    assert response.status == 401
    response = page.goto(f"{server}/calls/{CALL}")
    assert "/login" in page.url

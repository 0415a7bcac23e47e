"""The dialer's scheduling on a real database with scripted lines: compliance right before
every attempt, refusals with reasons, retries after the campaign's spacing, pacing, one call
per number at once, opt-outs honoured within the run, callbacks, and a clean stop."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from callwright.outbound.campaign import load_campaign
from callwright.outbound.contacts import Contact
from callwright.outbound.dialer import CallOutcome, Dialer, callback_time, lines_for, outcome_of
from callwright.store import contacts as cstore
from callwright.store import dial_callbacks
from callwright.store.db import open_db
from tests.outbound.dialer_support import DATA, FAR_ZONE, ScriptedLines, campaign_file, save_list

UTC_ZONE = "Etc/UTC"


@pytest.fixture
def setup(tmp_path):
    db = open_db(tmp_path / "calls.db")
    campaign = load_campaign(campaign_file(tmp_path, flow=DATA / "optout.yaml", retry_s=1.0, lines=2))
    return db, campaign


def dials(db):
    return db.execute(
        "select customer, result, disposition, opted_out, sip_status from dials order by dialed_at, customer"
    ).fetchall()


def per_number(rows):
    """Attempts per number in the order they were dialled."""
    out: dict[str, list[tuple]] = {}
    for number, *rest in rows:
        out.setdefault(number, []).append(tuple(rest))
    return out


def refusals(db):
    return db.execute(
        "select c.number, r.reason from dial_refusals r join contacts c on c.id = r.contact_id order by r.id"
    ).fetchall()


def connected(disposition, **kw):
    return CallOutcome("connected", "flow completed", 200, call_id=None, disposition=disposition, **kw)


def test_a_campaign_run_refuses_retries_and_honours_an_opt_out(setup):
    db, campaign = setup
    contacts = save_list(
        db,
        [
            Contact("+15550000001", "Dee", UTC_ZONE),  # on the DNC list
            Contact("+15550000002", "Far", FAR_ZONE),  # outside calling hours
            Contact("+15550000003", "Busy", UTC_ZONE),  # busy, then answers and confirms
            Contact("+15550000004", "Olive", UTC_ZONE),  # answers and opts out
        ],
    )
    cstore.import_dnc(db, ["+15550000001"])
    lines = ScriptedLines(
        {
            "+15550000003": [CallOutcome("busy", "486 Busy Here", 486), connected("confirmed")],
            "+15550000004": [connected("opted_out")],
        }
    )
    # a callback for the opt-out's number, due just after its call: refused within the same run
    dial_callbacks_due = datetime.now(UTC) + timedelta(seconds=0.5)
    cstore.record_callback(db, "+15550000004", dial_callbacks_due, campaign=campaign.name)
    t0 = time.monotonic()
    summary = Dialer(db, campaign, lines, max_lines=lines_for(campaign), max_wait_s=10, callbacks=True).run(
        threading.Event()
    )
    took = time.monotonic() - t0
    assert refusals(db) == [
        ("+15550000001", "dnc"),
        ("+15550000002", "outside_hours"),
        ("+15550000004", "dnc"),
    ]
    # two lines: 03 and 04 are dialled at once, so only each number's own order is fixed
    assert per_number(dials(db)) == {
        "+15550000003": [("busy", None, 0, 486), ("connected", "confirmed", 0, 200)],
        "+15550000004": [("connected", "opted_out", 1, 200)],
    }
    assert cstore.is_dnc(db, "+15550000004")
    assert 1.0 <= took < 15  # the busy retry waited its 1 s spacing (bounded generously: a loaded CI)
    assert summary.refusals == {"dnc": 2, "outside_hours": 1} and summary.opted_out == 1
    assert lines.max_same_number == 1
    assert [j.contact.number for j in lines.jobs].count("+15550000001") == 0
    assert dial_callbacks.scheduled_callbacks(db, campaign.name) == []  # marked refused
    assert contacts["+15550000002"].time_zone == FAR_ZONE


def test_pacing_holds_the_lines_and_never_two_calls_to_one_number(setup):
    db, campaign = setup
    save_list(db, [Contact(f"+1555000{i:04d}", None, UTC_ZONE) for i in range(8)])
    lines = ScriptedLines({f"+1555000{i:04d}": [connected("confirmed")] for i in range(8)}, delay_s=0.3)
    summary = Dialer(db, campaign, lines, max_lines=lines_for(campaign), max_wait_s=5).run(threading.Event())
    assert summary.attempts == 8 and summary.max_in_flight == 2 and lines.max_active == 2


def test_stop_cancels_attempts_in_flight_and_records_them(setup):
    db, campaign = setup
    save_list(db, [Contact(f"+1555000{i:04d}", None, UTC_ZONE) for i in range(4)])
    lines = ScriptedLines({f"+1555000{i:04d}": [connected("confirmed")] for i in range(4)}, delay_s=30)
    stop = threading.Event()
    threading.Timer(0.5, stop.set).start()
    t0 = time.monotonic()
    summary = Dialer(db, campaign, lines, max_lines=2, max_wait_s=5).run(stop)
    assert time.monotonic() - t0 < 3 and summary.stopped
    assert [r[1] for r in dials(db)] == ["no_answer", "no_answer"]  # both in flight, both recorded


def test_outcome_meanings():
    now = datetime(2026, 12, 1, 15, tzinfo=UTC)
    assert outcome_of(connected(None), now).disposition == "answered_no_decision"
    assert outcome_of(connected("x", answered_by="machine"), now).disposition == "voicemail"
    m = outcome_of(connected("survey_done", variables={"opt_out": True}), now)
    assert m.opted_out and m.disposition == "opted_out"
    m = outcome_of(connected("callback_requested", variables={"callback_in_minutes": 90}), now)
    assert m.callback_at == now + timedelta(minutes=90)
    assert outcome_of(CallOutcome("busy", "486", 486), now).disposition is None
    assert outcome_of(connected("wrong_party"), now).right_party is False


def test_callback_time_is_bounded_and_never_in_the_past():
    now = datetime(2026, 12, 1, 15, tzinfo=UTC)
    assert callback_time({"callback_at": "2026-12-01T18:30:00+00:00"}, now) == datetime(
        2026, 12, 1, 18, 30, tzinfo=UTC
    )
    assert callback_time({"callback_at": "2020-01-01T00:00"}, now) == now
    assert callback_time({"callback_at": "2030-01-01T00:00"}, now) == now  # past MAX_CALLBACK_AHEAD
    assert callback_time({"callback_at": "next tuesday"}, now) == now


def test_a_callback_number_without_a_contact_gets_its_zone_from_the_number():
    from callwright.outbound.dialer import _with_zone

    assert _with_zone(Contact("+442079460000")).time_zone == "Europe/London"
    assert _with_zone(Contact("+12125550101")).time_zone == "America/New_York"
    assert _with_zone(Contact("+18005550100")).time_zone is None  # toll-free: several zones


def test_new_calls_are_spread_at_the_calls_per_second_limit(setup):
    db, campaign = setup
    save_list(db, [Contact(f"+1555000{i:04d}", None, UTC_ZONE) for i in range(6)])
    lines = ScriptedLines({f"+1555000{i:04d}": [connected("confirmed")] for i in range(6)}, delay_s=5)
    starts: list[float] = []
    place = lines.place

    def timed(job):
        starts.append(time.monotonic())
        return place(job)

    lines.place = timed  # type: ignore[method-assign]
    stop = threading.Event()
    threading.Timer(1.5, stop.set).start()
    Dialer(db, campaign, lines, max_lines=6, max_wait_s=5, cps=4).run(stop)
    assert len(starts) >= 5
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert min(gaps) > 0.15 and (starts[-1] - starts[0]) / (len(starts) - 1) >= 0.22  # 4 a second

"""Callbacks requested in any flow (here an inbound one, run on the real engine with the call
log) become scheduled attempts of a callback campaign at the time the caller chose, and a
dialer run with callbacks on dials them inside the calling hours."""

from __future__ import annotations

import io
import threading
from datetime import UTC, datetime, timedelta

from callwright.flows.loader import load_flow
from callwright.ivr.channels.text import TextChannel
from callwright.ivr.clock import FakeClock
from callwright.ivr.engine import FlowEngine
from callwright.ivr.runner import run_call
from callwright.outbound.campaign import load_campaign
from callwright.outbound.contacts import Contact
from callwright.outbound.dialer import CallOutcome, Dialer
from callwright.store import dial_callbacks
from callwright.store.calllog import CallLog
from callwright.store.db import open_db
from tests.outbound.dialer_support import DATA, FAR_ZONE, ScriptedLines, campaign_file, save_list

CALLER, FAR_CALLER = "+15550000888", "+15550000889"


def inbound_call(db_path, caller: str, keys: str, when: datetime) -> str:
    engine = FlowEngine(load_flow(DATA / "callback.yaml"))
    log = CallLog.open(db_path)
    session = run_call(
        engine,
        TextChannel(io.StringIO(keys + "\n"), io.StringIO()),
        FakeClock(when),
        calllog=log,
        caller_id=caller,
    )
    assert session.disposition == "callback_requested"
    return session.call_id


def test_a_callback_asked_for_in_an_inbound_call_is_dialed_at_the_chosen_time(tmp_path):
    db_path = tmp_path / "calls.db"
    db = open_db(db_path)
    campaign = load_campaign(campaign_file(tmp_path, flow=DATA / "optout.yaml"))
    # the callers are known contacts (their zones), but on no campaign list
    save_list(db, [])
    from callwright.store import contacts as cstore

    cstore.ensure_list(db, "customers", "test")
    cstore.save_contacts(
        db,
        "customers",
        [Contact(CALLER, "Cal", "Etc/UTC", line=1), Contact(FAR_CALLER, "Far", FAR_ZONE, line=2)],
    )
    now = datetime.now(UTC)
    call_id = inbound_call(db_path, CALLER, "#30#", now - timedelta(minutes=31))  # due a minute ago
    inbound_call(db_path, FAR_CALLER, "#5#", now - timedelta(minutes=10))  # due, but night there
    inbound_call(db_path, "+15550000890", "#600#", now)  # due in 10 hours: not this run

    assert dial_callbacks.harvest_requests(db, campaign.name, now) == 3
    assert dial_callbacks.harvest_requests(db, campaign.name, now) == 0  # once per request
    scheduled = {
        n: datetime.fromisoformat(d) for _, n, d, _ in dial_callbacks.scheduled_callbacks(db, campaign.name)
    }
    chosen = scheduled[CALLER] - (now - timedelta(minutes=31))
    assert (
        timedelta(minutes=29, seconds=59) <= chosen < timedelta(minutes=30, seconds=10)
    )  # their 30 minutes (to the second)

    lines = ScriptedLines({CALLER: [CallOutcome("connected", "ok", 200, disposition="confirmed")]})
    summary = Dialer(db, campaign, lines, max_lines=2, max_wait_s=5, callbacks=True).run(threading.Event())
    assert [j.contact.number for j in lines.jobs] == [CALLER]
    assert summary.refusals == {"outside_hours": 1}
    status = dict(db.execute("select number, status from contact_callbacks").fetchall())
    assert status == {CALLER: "dialed", FAR_CALLER: "scheduled", "+15550000890": "scheduled"}
    assert db.execute("select customer, campaign from dials").fetchall() == [(CALLER, campaign.name)]
    assert (
        db.execute("select call_id from contact_callbacks where number = ?", [CALLER]).fetchone()[0]
        == call_id
    )

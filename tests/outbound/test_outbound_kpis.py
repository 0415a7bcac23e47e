"""Outbound KPIs per campaign and list, from attempts and refusals the store recorded."""

from datetime import UTC, datetime

import pytest

from callwright.outbound.compliance import Refuse
from callwright.outbound.contacts import Contact
from callwright.reports import export, html
from callwright.reports.kpis import build_report, make_params
from callwright.store import contacts as store
from callwright.store.db import open_db
from callwright.store.dials import Dial


@pytest.fixture
def db(tmp_path):
    db = open_db(tmp_path / "k.db")
    people = [Contact(f"+1212555010{i}", time_zone="America/New_York") for i in range(4)]
    store.ensure_list(db, "nov", "test")
    store.save_contacts(db, "nov", people)
    ids = [store.get_contact(db, p.number).id for p in people]  # type: ignore[union-attr]
    db["calls"].insert_all(
        [
            {"id": f"c{i}", "direction": "outbound", "started_at": "2026-11-10T15:00:00+00:00"}
            for i in range(4)
        ]
    )

    def dial(n, contact, result, **kw):
        return Dial(
            f"d{n}",
            "spring",
            f"2026-11-1{n % 9}T15:00:00+00:00",
            result,
            contact_id=ids[contact],
            list_name="nov",
            **kw,
        )

    for d in [
        dial(0, 0, "no_answer"),
        dial(1, 0, "busy", sip_status=486),
        dial(2, 0, "connected", call_id="c0", answered_by="human", right_party=True, converted=True),
        dial(3, 1, "connected", call_id="c1", answered_by="human", right_party=False),
        dial(4, 2, "connected", call_id="c2", answered_by="human", right_party=True, opted_out=True),
        dial(5, 3, "connected", call_id="c3", answered_by="human", abandoned=True),
    ]:
        store.record_attempt(db, d)
    # a demo-style dial with no list still counts, in its own row
    store.record_attempt(db, Dial("x1", "spring", "2026-11-12T15:00:00+00:00", "failed"))
    at = datetime(2026, 11, 12, 3, tzinfo=UTC)
    c0 = store.get_contact(db, people[0].number)
    c2 = store.get_contact(db, people[2].number)
    for c, reason in [(c0, "outside_hours"), (c0, "outside_hours"), (c2, "dnc")]:
        store.record_refusal(db, "spring", c, Refuse(reason), at=at, list_name="nov")  # type: ignore[arg-type]
    return db


def test_campaign_and_list_kpis_and_refusals_by_reason(db):
    r = build_report(db, make_params("2026-11-01", "2026-11-30"))
    by_list = {c.list_name: c for c in r.campaigns}
    k = by_list["nov"]
    # 6 attempts to 4 contacts; 4 connects; 2 right-party of 4 connects; 1 sale, 1 opt-out, 1 abandoned
    assert (k.attempts, k.contacts, k.connects, k.right_party, k.conversions, k.opt_outs, k.abandoned) == (
        6,
        4,
        4,
        2,
        1,
        1,
        1,
    )
    assert k.attempts_per_contact == pytest.approx(1.5) and k.connect_rate == pytest.approx(400 / 6)
    assert (k.right_party_rate, k.conversion_rate, k.opt_out_rate, k.abandon_rate) == (50.0, 25.0, 25.0, 25.0)
    assert by_list[None].attempts == 1 and by_list[None].connect_rate == 0.0
    assert [(x.reason, x.refusals, x.contacts) for x in r.refusals] == [
        ("outside_hours", 2, 1),
        ("dnc", 1, 1),
    ]
    # the range applies: nothing in December
    assert build_report(db, make_params("2026-12-01", "2026-12-31")).campaigns == ()
    # the opt-out put the number on the do-not-call list
    assert store.is_dnc(db, "+12125550102")


def test_the_report_shows_and_exports_them(db):
    r = build_report(db, make_params("2026-11-01", "2026-11-30"))
    page = html.render(r)
    assert "Outbound campaigns" in page and "right-party rate" in page and "outside_hours" in page
    data = export.to_dict(r)
    assert data["outbound_campaigns"][0]["campaign"] == "spring"
    assert {x["reason"] for x in data["outbound_refusals"]} == {"outside_hours", "dnc"}
    assert "outbound_refusals,spring/nov/dnc,refusals,1" in export.to_csv(r)

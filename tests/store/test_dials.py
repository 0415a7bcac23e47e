"""Dial attempts stored through store.dials count in the outbound KPIs."""

import pytest

from callwright.errors import DataError
from callwright.reports.kpis import build_report, make_params
from callwright.store.db import open_db
from callwright.store.dials import Dial, save_dials


def test_dials_feed_connect_conversion_and_opt_out(tmp_path):
    db = open_db(tmp_path / "d.db")
    db["calls"].insert_all(
        [
            {"id": f"c{i}", "direction": "outbound", "started_at": f"2026-11-1{i}T10:00:00+00:00"}
            for i in range(3)
        ]
    )
    save_dials(
        db,
        [
            Dial("d0", "spring", "2026-11-10T10:00:00+00:00", "connected", call_id="c0", converted=True),
            Dial("d1", "spring", "2026-11-11T10:00:00+00:00", "connected", call_id="c1", opted_out=True),
            Dial("d2", "spring", "2026-11-12T10:00:00+00:00", "connected", call_id="c2"),
            Dial("d3", "spring", "2026-11-12T11:00:00+00:00", "no_answer"),
        ],
    )
    o = build_report(db, make_params("2026-11-01", "2026-11-30", group_by="campaign")).outbound_total
    # 4 dials, 3 connected: connect 75 %; 1 sale of 3 connects: 33.3 %; 1 opt-out
    assert (o.dials, o.connects, o.conversions, o.opt_outs) == (4, 3, 1, 1)
    assert o.connect_rate == pytest.approx(75.0) and o.conversion_rate == pytest.approx(100 / 3)


def test_a_dial_that_did_not_connect_has_no_call():
    with pytest.raises(DataError, match="only a connected dial has a call"):
        Dial("d9", "spring", "2026-11-12T11:00:00+00:00", "busy", call_id="c0")
    with pytest.raises(DataError, match="not one of"):
        Dial("d9", "spring", "2026-11-12T11:00:00+00:00", "hung")  # type: ignore[arg-type]

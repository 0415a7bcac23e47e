"""Queue KPIs on hand-built queue_calls rows (kpi_fixtures.QUEUE): ASA, time in queue,
abandonment with a short-abandon threshold, service level both ways, AHT."""

import pytest
from kpi_fixtures import NOV

from callwright.reports.kpis import ReportParams, queue_kpis


def test_queue_kpis_default_short_abandon_5s(db):
    q = queue_kpis(db, ReportParams(**NOV), "all")[0]
    # rows: c2 answered 10 s, c3 answered 25 s, c4 abandoned 40 s, c5 abandoned 3 s (short),
    # c9 callback, c10 answered 0 s, c11 unserved
    assert (q.offered, q.answered, q.abandoned, q.short_abandoned, q.callbacks, q.unserved) == (
        7,
        3,
        1,
        1,
        1,
        1,
    )
    # ASA over answered: (10 + 25 + 0) / 3; time in queue adds the counted abandon: (35 + 40) / 4
    assert q.asa_s == pytest.approx(35 / 3) and q.avg_queue_s == pytest.approx(75 / 4)
    # abandonment: 1 / (3 + 1)
    assert q.abandon_rate == 25.0
    # answered within 20 s: c2 (10), c10 (0) -> 2 / (3 answered + 1 abandoned) = 50 %
    assert q.answered_within == 2 and q.service_level == 50.0
    # AHT over handled calls c2 390, c3 240, c9 120 (callbacks are handled), c10 180: 930 / 4
    assert q.handled == 4 and q.aht_s == 232.5
    assert (q.talk_s, q.hold_s, q.acw_s) == (750, 40, 140)


def test_service_level_without_abandons(db):
    q = queue_kpis(db, ReportParams(**NOV, sl_abandons_count=False), "all")[0]
    assert q.service_level == pytest.approx(100 * 2 / 3)  # 2 within 20 s / 3 answered


def test_short_abandon_threshold_zero_counts_every_abandon(db):
    q = queue_kpis(db, ReportParams(**NOV, short_abandon_s=0), "all")[0]
    # c5 (3 s) now counts: abandonment 2 / 5, SL 2 / 5, time in queue (35 + 40 + 3) / 5
    assert (q.abandoned, q.short_abandoned) == (2, 0)
    assert q.abandon_rate == 40.0 and q.service_level == 40.0
    assert q.avg_queue_s == pytest.approx(78 / 5)


def test_threshold_is_inclusive_and_grouped_by_queue(db):
    rows = {r.group: r for r in queue_kpis(db, ReportParams(**NOV, sl_threshold_s=25), "queue")}
    # support: c3 answered at exactly 25 s -> within; billing: c2, c10 within / (2 answered + c4)
    assert rows["support"].service_level == 100.0
    assert rows["billing"].service_level == pytest.approx(100 * 2 / 3)
    assert rows["billing"].offered == 6 and rows["support"].offered == 1

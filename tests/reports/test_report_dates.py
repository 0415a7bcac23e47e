"""Reports at the ends of the calendar: a call dated 9999-12-31 (or 0001-01-01) and a range
over every day a date can name."""

from __future__ import annotations

import subprocess
import sys
from datetime import date

import pytest
from kpi_fixtures import NOV

from callwright.reports.kpis import ReportParams, build_report, make_params
from callwright.store import kpis

FAR = [("far-future", "9999-12-31T23:59:59+14:00"), ("far-past", "0001-01-01T00:00:00-12:00")]


def _add_far_calls(db) -> None:
    for cid, at in FAR:
        db["calls"].insert(
            {
                "id": cid,
                "started_at": at,
                "direction": "inbound",
                "flow": "acme",
                "outcome": "self_served",
                "caller_id": "+9",
                "agent": "zed",
            }
        )
        db["survey_answers"].insert({"call_id": cid, "question": "csat", "value": 5})
        db["queue_calls"].insert(
            {
                "call_id": cid,
                "queue": "billing",
                "wait_s": 3.0,
                "handle_s": 60.0,
                "callback_accepted": 0,
                "outcome": "completed",
                "answered_at": at,
            }
        )


def test_a_call_dated_9999_12_31_does_not_break_reports_before_or_after_it_is_deleted(db):
    expected = build_report(db, ReportParams(**NOV))
    _add_far_calls(db)
    assert build_report(db, ReportParams(**NOV)) == expected  # outside the range: no change
    db.execute("delete from calls where id in ('far-future', 'far-past')")
    db.execute("delete from queue_calls where call_id in ('far-future', 'far-past')")
    db.execute("delete from survey_answers where call_id in ('far-future', 'far-past')")
    # the deleted rows' days are still marked for a recount: it must not fail either
    assert (
        db.execute("select count(*) from kpi_dirty where day in ('9999-12-31', '0001-01-01')").fetchone()[0]
        == 2
    )
    assert build_report(db, ReportParams(**NOV)) == expected


@pytest.mark.parametrize("group_by", ["day", "week", "agent"])
def test_a_report_over_every_day_counts_the_calls_at_both_ends(db, group_by):
    everything = ReportParams(start=date.min, end=date.max, group_by=group_by)
    before = build_report(db, everything).inbound_total
    _add_far_calls(db)
    report = build_report(db, everything)
    assert report.inbound_total.calls == before.calls + 2
    assert report.inbound_total.csat_n == before.csat_n + 2
    assert report.queue_total.offered - build_report(db, ReportParams(**NOV)).queue_total.offered >= 2
    # the summaries agree with the raw rows on the last day too
    start, end = everything.sql_range
    assert end == kpis.AFTER_LAST_DAY
    assert kpis.survey(db, ["all"], start, end) == kpis.survey_raw(db, ["all"], start, end)
    assert kpis.queue(
        db, ["all"], start, end, threshold_s=20, short_abandon_s=5, abandons_count=True
    ) == kpis.queue_raw(db, ["all"], start, end, threshold_s=20, short_abandon_s=5, abandons_count=True)


def test_day_after_the_last_day_sorts_after_every_time_of_that_day():
    last = kpis.day_after(date.max)
    for at in ("9999-12-31", "9999-12-31T23:59:59.999+14:00", "9999-12-31 23:59", "9999-12-31Z"):
        assert at < last
    assert kpis.day_after(date(2026, 12, 31)) == "2027-01-01"


@pytest.mark.parametrize(
    "start, end, message",
    [
        ("10000-01-01", "10000-01-02", "--from: cannot read '10000-01-01' as a date"),
        ("2026-11-01", "9999-12-32", "--to: cannot read '9999-12-32' as a date"),
        ("0000-12-31", "2026-11-01", "--from: cannot read '0000-12-31' as a date"),
    ],
)
def test_days_outside_the_calendar_are_clear_errors(start, end, message):
    from callwright.errors import CallwrightError

    with pytest.raises(CallwrightError, match=message) as caught:
        make_params(start, end)
    assert "0001-01-01 to 9999-12-31" in str(caught.value)


def test_report_from_0001_01_01_to_9999_12_31_through_the_cli(tmp_path):
    from kpi_fixtures import build

    path = tmp_path / "k.db"
    db = build(path)
    _add_far_calls(db)
    db.conn.close()
    for fmt in ("html", "csv", "json"):
        out = tmp_path / f"r.{fmt}"
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "callwright",
                "report",
                "--from",
                "0001-01-01",
                "--to",
                "9999-12-31",
                "--db",
                str(path),
                "-o",
                str(out),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert out.stat().st_size > 0

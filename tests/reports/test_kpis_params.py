"""Report parameters from command-line text: clear CallwrightErrors, never tracebacks."""

from datetime import date

import pytest

from callwright.errors import CallwrightError
from callwright.reports.kpis import ReportParams, make_params, parse_window


def test_defaults_and_parsing():
    p = make_params(
        "2026-11-01",
        "2026-11-30",
        group_by="Agent",
        fcr_window="14d",
        sl="90/30",
        short_abandon="10s",
        sl_abandons_count=False,
    )
    assert (p.start, p.end, p.group_by) == (date(2026, 11, 1), date(2026, 11, 30), "agent")
    assert (p.fcr_window_days, p.sl_fraction, p.sl_threshold_s, p.short_abandon_s) == (14, 0.9, 30, 10)
    assert p.sql_range == ("2026-11-01", "2026-12-01")  # the last day is included
    assert p.trend_by == "day"
    assert ReportParams(date(2026, 1, 1), date(2026, 12, 31), group_by="queue").trend_by == "week"


@pytest.mark.parametrize("text, days", [("7d", 7), ("7", 7), ("36h", 1.5), ("2 days", 2)])
def test_window(text, days):
    assert parse_window(text) == days


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(start="2026-13-01", end="2026-11-30"), "--from: cannot read '2026-13-01' as a date"),
        (dict(start="2026-11-01", end="yesterday"), "--to: cannot read 'yesterday' as a date"),
        (dict(start="2026-11-30", end="2026-11-01"), "--to 2026-11-01 is before --from 2026-11-30"),
        (
            dict(start="2026-11-01", end="2026-11-30", group_by="month"),
            "--group-by: unknown grouping 'month'",
        ),
        (dict(start="2026-11-01", end="2026-11-30", fcr_window="0d"), "--fcr-window: the window must be"),
        (dict(start="2026-11-01", end="2026-11-30", fcr_window="soon"), "--fcr-window: cannot read 'soon'"),
        (dict(start="2026-11-01", end="2026-11-30", sl="80"), "--sl: cannot read '80'"),
        (dict(start="2026-11-01", end="2026-11-30", sl="100/20"), "--sl: the percentage"),
        (dict(start="2026-11-01", end="2026-11-30", short_abandon="-5s"), "--short-abandon"),
    ],
)
def test_errors_name_the_option(kwargs, message):
    with pytest.raises(CallwrightError) as err:
        make_params(**kwargs)
    assert str(err.value).startswith(message)

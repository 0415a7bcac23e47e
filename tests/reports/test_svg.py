"""The charts' pure parts (round ticks, kept bins, shortened labels) as table tests, and the
charts themselves read as a supervisor would: percentage axes end at 100, tooltips, escaping."""

from __future__ import annotations

import math
import re

import pytest

from callwright.reports import svg


@pytest.mark.parametrize(
    ("lo", "hi", "ticks"),
    [
        (0, 87, [0, 20, 40, 60, 80, 100]),
        (0, 100, [0, 20, 40, 60, 80, 100]),
        (0, 1, [0, 0.2, 0.4, 0.6, 0.8, 1]),
        (0, 7, [0, 2, 4, 6, 8]),
        (0, 3, [0, 1, 2, 3]),
        (0, 1234, [0, 500, 1000, 1500]),
        (0, 0.03, [0, 0.01, 0.02, 0.03]),
        (-0.7, 0.4, [-1.0, -0.5, 0, 0.5]),
        (5, 5, [5, 6, 7, 8, 9, 10]),
        (0, 0, [0, 0.2, 0.4, 0.6, 0.8, 1]),
        (0, 23, [0, 5, 10, 15, 20, 25]),
    ],
)
def test_nice_ticks(lo, hi, ticks):
    got = svg.nice_ticks(lo, hi)
    assert got == ticks
    assert got[0] <= min(lo, hi) and got[-1] >= max(lo, hi)
    assert len(got) - 1 <= 5
    step = got[1] - got[0]
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert round(mantissa, 6) in (1, 2, 5)


@pytest.mark.parametrize(
    ("counts", "bins", "expected"),
    [
        ([(1, 3), (5, 2)], (1, 5, 1), [(1, 3), (2, 0), (3, 0), (4, 0), (5, 2)]),
        ([], (0, 20, 10), [(0, 0), (10, 0), (20, 0)]),
        ([(0, 1), (300, 9)], (0, 30, 10), [(0, 1), (10, 0), (20, 0), (30, 0), (300, 9)]),  # kept, not lost
        ([(60, 4)], (0, 180, 60), [(0, 0), (60, 4), (120, 0), (180, 0)]),
        ([(0.1, 2)], (0, 0.3, 0.1), [(0, 0), (0.1, 2), (0.2, 0), (0.3, 0)]),
    ],
)
def test_fill_bins_keeps_empty_bins(counts, bins, expected):
    assert svg.fill_bins(counts, *bins) == expected


@pytest.mark.parametrize(
    ("text", "n", "expected"),
    [
        ("maria.lopez", 18, "maria.lopez"),
        ("a" * 18, 18, "a" * 18),
        ("a" * 19, 18, "a" * 17 + "…"),
        ("Alexandria Montgomery-Featherstonehaugh", 18, "Alexandria Montgo…"),
        ("ab cd", 4, "ab…"),
        ("", 5, ""),
    ],
)
def test_truncate(text, n, expected):
    got = svg.truncate(text, n)
    assert got == expected and len(got) <= n


@pytest.mark.parametrize(
    ("n", "chars", "width", "step"),
    [(7, 5, 500, 1), (28, 5, 494, 3), (90, 10, 494, 14), (0, 5, 500, 1), (1, 50, 100, 4)],
)
def test_label_step(n, chars, width, step):
    assert svg.label_step(n, chars, width) == step


def test_a_percentage_axis_ends_at_100_and_every_point_has_a_tooltip():
    chart = svg.line_chart("CSAT", ["2026-01-01", "2026-01-02"], {"CSAT %": [81.3, 84.0]}, " %", percent=True)
    labels = re.findall(r">([\d.,]+) %</text>", chart)
    assert labels[0] == "0" and labels[-1] == "100"
    assert len(re.findall(r"<circle[^>]*><title>", chart)) == 2 and "CSAT %, 2026-01-02: 84 %" in chart


def test_long_labels_are_shortened_with_the_full_text_in_the_tooltip_and_escaped():
    name = "<b>Alexandria Montgomery-Featherstonehaugh</b>"
    chart = svg.hbar_chart(
        "QA score by agent", [name, "bo"], [72.5, None], percent=True, hrefs=["/x?a=1&b=2", None]
    )
    assert "<b>" not in chart and "&lt;b&gt;Alexandria Montgomery-Featherstonehaugh&lt;/b&gt;: 72.5" in chart
    assert "&lt;b&gt;Alexandria Mon…" in chart
    assert 'href="/x?a=1&amp;b=2"' in chart and "bo: –" in chart


def test_the_palette_is_okabe_ito():
    assert svg.COLORS[:3] == ("#0072B2", "#E69F00", "#009E73")

"""Inline SVG charts drawn by hand (no plotting library): the report must be one
self-contained HTML file that opens offline, and the review app's pages allow no inline
script. Every label goes through html.escape.

Drawn as a supervisor reads them: axis ticks are round numbers (1-2-5 steps), a percentage axis
runs from 0 to 100 %, a histogram keeps its empty bins, long labels are shortened with the full
text in a tooltip, the title, legend and axis labels have rows of their own (nothing overlaps),
the colours are the Okabe-Ito palette (told apart with the common colour-vision deficiencies),
and every point, bar and segment carries a tooltip (`<title>`). Text is styled by presentation
attributes, so a chart looks the same without any stylesheet.

The pure parts (`nice_ticks`, `fill_bins`, `truncate`, `label_step`) are tested on their own.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

W, H = 560, 220
PAD_L, PAD_R = 52, 14
TITLE_H = 20  # the title's row
LEGEND_ROW_H = 16  # each legend row
AXIS_H = 30  # the x labels' row under the plot
CHAR_W = 6.2  # average width of a 10-11 px sans-serif character (for laying labels out)
# Okabe & Ito, "Color Universal Design" (2008): distinguishable with protanopia, deuteranopia and
# tritanopia, and in greyscale by lightness. Blue first: the one series of most charts.
COLORS = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
TEXT = 'font-family="system-ui, -apple-system, Segoe UI, sans-serif"'
AX = f'{TEXT} font-size="10" fill="#555"'
TT = f'{TEXT} font-size="12" font-weight="600" fill="#111"'
LG = f'{TEXT} font-size="11" fill="#222"'
GRID = 'stroke="#e5e7eb" stroke-width="1"'
PERCENT_TICKS = (0.0, 20.0, 40.0, 60.0, 80.0, 100.0)
"""A percentage (or a 0-100 score) axis: always the whole scale, so 85 % never looks like the top."""
MAX_LABEL_CHARS = 18
"""Category labels (agent names, states) longer than this are shortened with an ellipsis; the
full label is in the tooltip."""


# --- pure helpers ------------------------------------------------------------------------------


def nice_step(span: float, max_ticks: int = 5) -> float:
    """The smallest 1-2-5 x 10^k step that covers `span` in at most `max_ticks` intervals."""
    if not span > 0 or not math.isfinite(span):
        return 1.0
    raw = span / max(1, max_ticks)
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if m * mag >= raw * (1 - 1e-9):
            return m * mag
    return 10 * mag  # unreachable: 10 * mag >= raw


def nice_ticks(lo: float, hi: float, max_ticks: int = 5) -> list[float]:
    """Round tick values from a multiple of a 1-2-5 step at or below `lo` to one at or above `hi`
    (at most `max_ticks` intervals): 0-87 gives 0, 20, 40, 60, 80, 100."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError("nice_ticks: the range must be finite")
    if hi < lo:
        lo, hi = hi, lo
    if hi == lo:
        hi = lo + (abs(lo) or 1.0)
    step = nice_step(hi - lo, max_ticks)
    while True:
        first = math.floor(lo / step + 1e-9) * step
        last = math.ceil(hi / step - 1e-9) * step
        if round((last - first) / step) <= max_ticks:
            break
        step = nice_step(step * 1.5, 1)  # the next 1-2-5 step up
    n = round((last - first) / step)
    return [_clean(first + i * step) for i in range(n + 1)]


def _clean(v: float) -> float:
    """Drop float noise (0.30000000000000004 -> 0.3) and negative zero."""
    r = round(v, 10)
    return 0.0 if r == 0 else r


def fill_bins(
    counts: Sequence[tuple[float, int]], start: float, stop: float, step: float
) -> list[tuple[float, int]]:
    """Every bin from `start` to `stop` (inclusive) by `step`, with 0 where `counts` has none: a
    histogram whose empty bins are dropped reads as if the scale had no gap. Bins outside the
    range are kept (appended in order) rather than lost."""
    if not step > 0:
        raise ValueError("fill_bins: the step must be positive")
    n = int(round((stop - start) / step))
    have = {round(float(b), 9): int(c) for b, c in counts}
    out = []
    for i in range(n + 1):
        b = _clean(start + i * step)
        out.append((b, have.pop(round(b, 9), 0)))
    out.extend(sorted(have.items()))
    return sorted(out)


def truncate(text: str, max_chars: int = MAX_LABEL_CHARS) -> str:
    """`text` shortened to at most `max_chars` characters with an ellipsis when longer."""
    if max_chars < 1:
        raise ValueError("truncate: max_chars must be at least 1")
    return text if len(text) <= max_chars else text[: max_chars - 1].rstrip() + "…"


def label_step(n: int, label_chars: int, width: float) -> int:
    """Show every k-th of `n` x labels so that labels of `label_chars` characters do not touch."""
    if n <= 0:
        return 1
    need = (label_chars + 2) * CHAR_W
    return max(1, math.ceil(n * need / max(width, 1.0)))


def fmt(v: float) -> str:
    """A tick or tooltip number: thousands separated, no needless decimals."""
    if abs(v) >= 100 or float(v).is_integer():
        return f"{v:,.0f}"
    return f"{v:,.2f}".rstrip("0").rstrip(".")


# --- charts --------------------------------------------------------------------------------------


def _legend(names: Sequence[str], width: float) -> tuple[list[str], int]:
    """Legend entries laid out in rows under the title; returns the markup and the rows used."""
    parts: list[str] = []
    x, row = float(PAD_L), 0
    for k, name in enumerate(names):
        label = truncate(name, 28)
        w = 16 + len(label) * CHAR_W + 14
        if x + w > width - PAD_R and x > PAD_L:
            x, row = float(PAD_L), row + 1
        y = TITLE_H + row * LEGEND_ROW_H + 10
        color = COLORS[k % len(COLORS)]
        parts.append(
            f'<g><title>{escape(name)}</title><rect x="{x:.1f}" y="{y - 8}" width="10" height="10" rx="2" '
            f'fill="{color}"/><text x="{x + 14:.1f}" y="{y + 1}" {LG}>{escape(label)}</text></g>'
        )
        x += w
    return parts, (row + 1 if names else 0)


def _y_axis(ticks: list[float], y, x0: float, x1: float, unit: str) -> list[str]:
    return [
        f'<line x1="{x0}" x2="{x1}" y1="{y(t):.1f}" y2="{y(t):.1f}" {GRID}/>'
        f'<text x="{x0 - 5}" y="{y(t) + 3.5:.1f}" text-anchor="end" {AX}>{escape(fmt(t) + unit)}</text>'
        for t in ticks
    ]


def line_chart(
    title: str,
    labels: Sequence[str],
    series: dict[str, Sequence[float | None]],
    unit: str = "",
    *,
    percent: bool = False,
    width: int = W,
    height: int = H,
) -> str:
    """Lines over labelled x positions (days or weeks); gaps where a value is None. A `percent`
    chart's axis runs from 0 to 100 %; otherwise from 0 (or the lowest value, if negative) to a
    round number above the highest. `unit` follows each tick and tooltip value (" %", " s")."""
    values = [v for vs in series.values() for v in vs if v is not None and math.isfinite(v)]
    if not labels or not values:
        return _empty(title, width, height)
    legend, rows = _legend(list(series), width)
    top_y = TITLE_H + rows * LEGEND_ROW_H + 6
    bottom_y = height - AXIS_H
    if percent:
        ticks = list(PERCENT_TICKS)
    else:
        ticks = nice_ticks(min(0.0, min(values)), max(values))
    lo, hi = ticks[0], ticks[-1]
    n = len(labels)
    pw = width - PAD_L - PAD_R

    def x(i: int) -> float:
        return PAD_L + (pw * i / (n - 1) if n > 1 else pw / 2)

    def y(v: float) -> float:
        v = min(max(v, lo), hi)
        return bottom_y - (bottom_y - top_y) * (v - lo) / (hi - lo)

    parts = [f'<text x="4" y="14" {TT}>{escape(title)}</text>', *legend]
    parts += _y_axis(ticks, y, PAD_L, width - PAD_R, unit)
    step = label_step(n, max(len(s) for s in labels), pw)
    for i in range(0, n, step):
        parts.append(
            f'<text x="{x(i):.1f}" y="{bottom_y + 16}" text-anchor="middle" {AX}>'
            f"{escape(truncate(labels[i], 12))}</text>"
        )
    dot = 3.0 if n <= 40 else 1.8  # a dense series stays a line, each point still has its tooltip
    for k, (name, vs) in enumerate(series.items()):
        color = COLORS[k % len(COLORS)]
        run: list[str] = []
        runs: list[list[str]] = [run]
        for i, v in enumerate(vs):
            if v is None or not math.isfinite(v):
                run = []
                runs.append(run)
            else:
                run.append(f"{x(i):.1f},{y(v):.1f}")
        for r in runs:
            if len(r) > 1:
                parts.append(
                    f'<polyline fill="none" stroke="{color}" stroke-width="2" stroke-linejoin="round" '
                    f'points="{" ".join(r)}"/>'
                )
        for i, v in enumerate(vs):
            if v is not None and math.isfinite(v):
                parts.append(
                    f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="{dot}" fill="{color}">'
                    f"<title>{escape(name)}, {escape(labels[i])}: {escape(fmt(v) + unit)}</title></circle>"
                )
    return _svg(title, parts, width, height)


def bar_chart(
    title: str,
    labels: Sequence[str],
    values: Sequence[float],
    unit: str = "",
    *,
    width: int = W,
    height: int = H,
    hrefs: Sequence[str | None] | None = None,
) -> str:
    """Vertical bars, one per label (a histogram or a category count); every label keeps its bar,
    an empty bin included. `hrefs` links each bar (the dashboard's drill-down)."""
    if not labels or not any(values):
        return _empty(title, width, height)
    top_y, bottom_y = TITLE_H + 8, height - AXIS_H
    ticks = nice_ticks(0.0, max(values))
    hi = ticks[-1]
    n = len(labels)
    pw = width - PAD_L - PAD_R
    bw = pw / n

    def y(v: float) -> float:
        return bottom_y - (bottom_y - top_y) * v / hi

    parts = [f'<text x="4" y="14" {TT}>{escape(title)}</text>']
    parts += _y_axis(ticks, y, PAD_L, width - PAD_R, "")
    step = label_step(n, max(len(s) for s in labels), pw)
    for i, (label, v) in enumerate(zip(labels, values, strict=True)):
        h = bottom_y - y(v)
        bar = (
            f'<rect x="{PAD_L + i * bw + 1:.1f}" y="{y(v):.1f}" width="{max(1.0, bw - 2):.1f}" '
            f'height="{h:.1f}" fill="{COLORS[0]}">'
            f"<title>{escape(label)}: {escape(fmt(v) + unit)}</title></rect>"
        )
        href = hrefs[i] if hrefs else None
        parts.append(f'<a href="{escape(href)}">{bar}</a>' if href else bar)
        if i % step == 0:
            parts.append(
                f'<text x="{PAD_L + (i + 0.5) * bw:.1f}" y="{bottom_y + 16}" text-anchor="middle" {AX}>'
                f"{escape(truncate(label, 10))}</text>"
            )
    return _svg(title, parts, width, height)


def hbar_chart(
    title: str,
    labels: Sequence[str],
    values: Sequence[float | None],
    unit: str = "",
    *,
    percent: bool = False,
    width: int = W,
    hrefs: Sequence[str | None] | None = None,
) -> str:
    """Horizontal bars, one row per label (agents, items): long labels are shortened with the
    full one in the tooltip, the value is written at the bar's end. A `percent` (or 0-100
    score) axis ends at 100."""
    shown = [v for v in values if v is not None and math.isfinite(v)]
    if not labels or not shown:
        return _empty(title, width, H)
    row_h, label_w = 20, int(MAX_LABEL_CHARS * CHAR_W) + 10
    top_y = TITLE_H + 20
    height = top_y + row_h * len(labels) + 8
    ticks = list(PERCENT_TICKS) if percent else nice_ticks(0.0, max(shown))
    hi = ticks[-1]
    x0, x1 = label_w, width - PAD_R - 40

    def x(v: float) -> float:
        return x0 + (x1 - x0) * min(max(v, 0.0), hi) / hi

    parts = [f'<text x="4" y="14" {TT}>{escape(title)}</text>']
    for t in ticks:
        parts.append(
            f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{top_y - 4}" y2="{height - 6}" {GRID}/>'
            f'<text x="{x(t):.1f}" y="{top_y - 8}" text-anchor="middle" {AX}>{escape(fmt(t) + unit)}</text>'
        )
    for r, (label, v) in enumerate(zip(labels, values, strict=True)):
        y0 = top_y + r * row_h
        value = "–" if v is None or not math.isfinite(v) else f"{v:,.1f}{unit}"
        row = [
            f"<title>{escape(label)}: {escape(value)}</title>",
            f'<text x="{x0 - 6}" y="{y0 + 14}" text-anchor="end" {LG}>{escape(truncate(label))}</text>',
        ]
        if v is not None and math.isfinite(v):
            row.append(
                f'<rect x="{x0}" y="{y0 + 3}" width="{max(0.0, x(v) - x0):.1f}" height="{row_h - 6}" '
                f'rx="2" fill="{COLORS[0]}"/>'
            )
        row.append(f'<text x="{x(v or 0) + 4:.1f}" y="{y0 + 14}" {AX}>{escape(value)}</text>')
        g = "<g>" + "".join(row) + "</g>"
        href = hrefs[r] if hrefs else None
        parts.append(f'<a href="{escape(href)}">{g}</a>' if href else g)
    return _svg(title, parts, width, height)


def stacked_bars(title: str, rows: Sequence[tuple[str, Sequence[float]]], keys: Sequence[str]) -> str:
    """Horizontal stacked bars (one row per label, one segment per key): the IVR waterfall."""
    if not rows:
        return _empty(title, W, H)
    width = W + 120
    legend, legend_rows = _legend(list(keys), width)
    row_h, label_w = 18, int(MAX_LABEL_CHARS * CHAR_W) + 10
    top_y = TITLE_H + legend_rows * LEGEND_ROW_H + 22
    height = top_y + row_h * len(rows) + 8
    top = max(sum(v) for _, v in rows) or 1.0
    ticks = nice_ticks(0.0, top)
    hi = ticks[-1]
    bar_w = width - label_w - PAD_R
    parts = [f'<text x="4" y="14" {TT}>{escape(title)}</text>', *legend]
    for t in ticks:
        xx = label_w + bar_w * t / hi
        parts.append(
            f'<line x1="{xx:.1f}" x2="{xx:.1f}" y1="{top_y - 4}" y2="{height - 6}" {GRID}/>'
            f'<text x="{xx:.1f}" y="{top_y - 8}" text-anchor="middle" {AX}>{escape(fmt(t))}</text>'
        )
    for r, (label, vals) in enumerate(rows):
        y0 = top_y + r * row_h
        parts.append(
            f'<g><title>{escape(label)}</title><text x="{label_w - 6}" y="{y0 + 12}" text-anchor="end" {AX}>'
            f"{escape(truncate(label))}</text></g>"
        )
        x0 = float(label_w)
        for k, v in enumerate(vals):
            w = bar_w * v / hi
            if w > 0:
                parts.append(
                    f'<rect x="{x0:.1f}" y="{y0 + 2}" width="{w:.1f}" height="{row_h - 4}" '
                    f'fill="{COLORS[k % len(COLORS)]}"><title>{escape(label)}, {escape(keys[k])}: '
                    f"{escape(fmt(v))}</title></rect>"
                )
            x0 += w
    return _svg(title, parts, width, height)


def _svg(title: str, parts: list[str], width: float = W, height: float = H) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="{escape(title)}">' + "".join(parts) + "</svg>"
    )


def _empty(title: str, width: float = W, height: float = H) -> str:
    return _svg(
        title,
        [
            f'<text x="4" y="14" {TT}>{escape(title)}</text>',
            f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" {AX}>no data</text>',
        ],
        width,
        height,
    )

"""Inline SVG charts drawn by hand (no plotting library): the report must be one
self-contained HTML file that opens offline. Every label goes through html.escape.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

W, H = 560, 200
PAD_L, PAD_R, PAD_T, PAD_B = 48, 12, 14, 34
COLORS = ("#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2")


def _fmt(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.1f}".rstrip("0").rstrip(".") if v % 1 else f"{v:,.0f}"


def line_chart(
    title: str, labels: Sequence[str], series: dict[str, Sequence[float | None]], unit: str = ""
) -> str:
    """Lines over labelled x positions (days or weeks); gaps where a value is None."""
    values = [v for vs in series.values() for v in vs if v is not None]
    if not labels or not values:
        return _empty(title)
    top = max(values) * 1.1 or 1.0
    n = len(labels)
    pw, ph = W - PAD_L - PAD_R, H - PAD_T - PAD_B

    def x(i: int) -> float:
        return PAD_L + (pw * i / (n - 1) if n > 1 else pw / 2)

    def y(v: float) -> float:
        return PAD_T + ph * (1 - v / top)

    parts = [_frame(title, top, unit)]
    step = max(1, n // 8)
    for i in range(0, n, step):
        parts.append(
            f'<text x="{x(i):.1f}" y="{H - PAD_B + 14}" text-anchor="middle" '
            f'class="ax">{escape(labels[i])}</text>'
        )
    for k, (name, vs) in enumerate(series.items()):
        color = COLORS[k % len(COLORS)]
        run: list[str] = []
        runs: list[list[str]] = [run]
        for i, v in enumerate(vs):
            if v is None:
                run = []
                runs.append(run)
            else:
                run.append(f"{x(i):.1f},{y(v):.1f}")
        for r in runs:
            if len(r) > 1:
                points = " ".join(r)
                parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.8" points="{points}"/>')
            elif r:
                cx, cy = r[0].split(",")
                parts.append(f'<circle cx="{cx}" cy="{cy}" r="2.5" fill="{color}"/>')
        parts.append(
            f'<text x="{PAD_L + 8 + 130 * k}" y="{PAD_T + 10}" fill="{color}" class="lg">'
            f"{escape(name)}</text>"
        )
    return _svg(title, parts)


def bar_chart(title: str, labels: Sequence[str], values: Sequence[float], unit: str = "") -> str:
    """Vertical bars, one per label (a histogram or a category count)."""
    if not labels or not any(values):
        return _empty(title)
    top = max(values) * 1.1 or 1.0
    n = len(labels)
    pw, ph = W - PAD_L - PAD_R, H - PAD_T - PAD_B
    bw = pw / n
    parts = [_frame(title, top, unit)]
    step = max(1, n // 12)
    for i, (label, v) in enumerate(zip(labels, values, strict=True)):
        h = ph * v / top
        parts.append(
            f'<rect x="{PAD_L + i * bw + 1:.1f}" y="{PAD_T + ph - h:.1f}" '
            f'width="{max(1.0, bw - 2):.1f}" height="{h:.1f}" fill="{COLORS[0]}">'
            f"<title>{escape(label)}: {_fmt(v)}</title></rect>"
        )
        if i % step == 0:
            parts.append(
                f'<text x="{PAD_L + (i + 0.5) * bw:.1f}" y="{H - PAD_B + 14}" text-anchor="middle" '
                f'class="ax">{escape(label)}</text>'
            )
    return _svg(title, parts)


def stacked_bars(title: str, rows: Sequence[tuple[str, Sequence[float]]], keys: Sequence[str]) -> str:
    """Horizontal stacked bars (one row per label, one segment per key): the IVR waterfall."""
    if not rows:
        return _empty(title)
    top = max(sum(v) for _, v in rows) or 1.0
    row_h, label_w = 18, 150
    height = PAD_T + 24 + row_h * len(rows) + 10
    width = W + 120
    bar_w = width - label_w - 20
    parts = [f'<text x="4" y="12" class="tt">{escape(title)}</text>']
    for k, key in enumerate(keys):
        color = COLORS[k % len(COLORS)]
        parts.append(
            f'<rect x="{label_w + 110 * k}" y="20" width="10" height="10" fill="{color}"/>'
            f'<text x="{label_w + 14 + 110 * k}" y="29" class="lg">{escape(key)}</text>'
        )
    for r, (label, vals) in enumerate(rows):
        y0 = PAD_T + 24 + r * row_h
        parts.append(
            f'<text x="{label_w - 6}" y="{y0 + 12}" text-anchor="end" class="ax">{escape(label)}</text>'
        )
        x0 = float(label_w)
        for k, v in enumerate(vals):
            w = bar_w * v / top
            if w > 0:
                parts.append(
                    f'<rect x="{x0:.1f}" y="{y0 + 2}" width="{w:.1f}" height="{row_h - 4}" '
                    f'fill="{COLORS[k % len(COLORS)]}"><title>{escape(label)} {escape(keys[k])}: '
                    f"{_fmt(v)}</title></rect>"
                )
            x0 += w
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="{escape(title)}">' + "".join(parts) + "</svg>"
    )


def _frame(title: str, top: float, unit: str) -> str:
    ph = H - PAD_T - PAD_B
    parts = [f'<text x="4" y="10" class="tt">{escape(title)}</text>']
    for k in range(5):
        v = top * k / 4
        yy = PAD_T + ph * (1 - k / 4)
        parts.append(
            f'<line x1="{PAD_L}" x2="{W - PAD_R}" y1="{yy:.1f}" y2="{yy:.1f}" class="gr"/>'
            f'<text x="{PAD_L - 4}" y="{yy + 3:.1f}" text-anchor="end" class="ax">'
            f"{escape(_fmt(v) + unit)}</text>"
        )
    return "".join(parts)


def _svg(title: str, parts: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="{W}" height="{H}" '
        f'role="img" aria-label="{escape(title)}">' + "".join(parts) + "</svg>"
    )


def _empty(title: str) -> str:
    return _svg(
        title,
        [
            f'<text x="4" y="10" class="tt">{escape(title)}</text>',
            f'<text x="{W / 2}" y="{H / 2}" text-anchor="middle" class="ax">no data</text>',
        ],
    )

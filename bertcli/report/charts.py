"""SVG charts drawn in Python: line charts (several series overlaid) and heatmaps. No script, no fonts or styles
from elsewhere: the page that holds them opens offline, and a browser draws them as they are."""

from __future__ import annotations

import math
from html import escape

COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"]


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About `count` round numbers spanning [low, high]."""
    if high <= low:
        return [low]
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((high - first) / step) + 1)]


def _label(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 10000 or abs(value) < 0.001:
        return f"{value:.1e}"
    return f"{value:.4g}"


def line_chart(
    title: str, series: dict[str, list[tuple[float, float]]], x_label: str = "step", width: int = 560, height: int = 260
) -> str:
    """`series`: name -> [(x, y), ...]. One line each, in the colors of `COLORS` by position (the legend says)."""
    points = [p for values in series.values() for p in values if math.isfinite(p[1])]
    if not points:
        return ""
    legend_rows = (len(series) + 2) // 3 if len(series) > 1 else 0  # the legend above the plot, three names a row
    left, right, top, bottom = 60, 12, 30 + 14 * legend_rows, 40
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys), max(ys)
    if x1 == x0:
        x0, x1 = x0 - 1, x1 + 1
    if y1 == y0:
        y0, y1 = y0 - abs(y0) * 0.1 - 1e-9, y1 + abs(y1) * 0.1 + 1e-9
    pad = (y1 - y0) * 0.05
    y0, y1 = y0 - pad, y1 + pad
    plot_w, plot_h = width - left - right, height - top - bottom

    def sx(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * plot_w

    def sy(y: float) -> float:
        return top + (1 - (y - y0) / (y1 - y0)) * plot_h

    parts = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
        f'<text x="{left}" y="17" class="title">{escape(title)}</text>',
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" class="frame"/>',
    ]
    for y in _ticks(y0, y1):
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{sy(y):.1f}" y2="{sy(y):.1f}" class="grid"/>'
            f'<text x="{left - 6}" y="{sy(y) + 4:.1f}" class="tick" text-anchor="end">{_label(y)}</text>'
        )
    for x in _ticks(x0, x1):
        parts.append(
            f'<text x="{sx(x):.1f}" y="{top + plot_h + 16}" class="tick" text-anchor="middle">{_label(x)}</text>'
        )
    parts.append(
        f'<text x="{left + plot_w / 2}" y="{height - 6}" class="tick" text-anchor="middle">{escape(x_label)}</text>'
    )
    for i, (name, values) in enumerate(series.items()):
        color = COLORS[i % len(COLORS)]
        finite = sorted(p for p in values if math.isfinite(p[1]))
        if not finite:
            continue
        path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in finite)
        parts.append(
            f'<polyline class="series" data-series="{escape(name)}" data-points="{len(finite)}" '
            f'points="{path}" fill="none" stroke="{color}" stroke-width="1.8"/>'
        )
        if len(finite) <= 40:
            parts += [f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="2.6" fill="{color}"/>' for x, y in finite]
        if legend_rows:
            lx, ly = left + (i % 3) * (plot_w // 3), 24 + 14 * (i // 3)
            parts.append(
                f'<rect x="{lx}" y="{ly}" width="10" height="10" fill="{color}"/>'
                f'<text x="{lx + 14}" y="{ly + 9}" class="legend">{escape(name[-30:])}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def heatmap(title: str, labels: list[str], matrix: list[list[int]], cell: int = 44) -> str:
    """A confusion matrix: rows the reference labels, columns the predictions, each cell shaded by its share of its
    row and labelled with its count."""
    k = len(labels)
    left, top = 130, 62
    width, height = max(left + cell * k + 12, 8 + 7 * len(title)), top + cell * k + 12
    parts = [
        f'<svg class="chart heatmap" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
        f'<text x="8" y="17" class="title">{escape(title)}</text>',
        f'<text x="{left + cell * k / 2}" y="36" class="tick" text-anchor="middle">predicted</text>',
        f'<text x="{left - 8}" y="{top - 8}" class="tick" text-anchor="end">reference</text>',
    ]
    for j, label in enumerate(labels):
        parts.append(
            f'<text x="{left + cell * j + cell / 2}" y="{top - 8}" class="tick" text-anchor="middle">'
            f"{escape(label[:7])}</text>"
        )
    for i, row in enumerate(matrix):
        total = sum(row) or 1
        parts.append(
            f'<text x="{left - 8}" y="{top + cell * i + cell / 2 + 4}" class="tick" text-anchor="end">'
            f"{escape(labels[i][:14])}</text>"
        )
        for j, count in enumerate(row):
            share = count / total
            shade = int(255 - 200 * share)
            text_color = "#fff" if share > 0.55 else "#222"
            parts.append(
                f'<rect class="cell" x="{left + cell * j}" y="{top + cell * i}" width="{cell - 2}" '
                f'height="{cell - 2}" fill="rgb({shade},{shade + (255 - shade) // 3},255)"/>'
                f'<text x="{left + cell * j + cell / 2 - 1}" y="{top + cell * i + cell / 2 + 4}" '
                f'class="count" text-anchor="middle" fill="{text_color}">{count}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)

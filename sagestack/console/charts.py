"""Metric curves drawn server-side as SVG: no chart library, no JavaScript."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

_COLOURS = ("#0972d3", "#d45b07", "#037f0c", "#8456ce", "#c33d69", "#067f6f", "#7d8998")
_W, _H = 560, 220
_L, _R, _T, _B = 56, 12, 12, 40
# Points per line at most: the plot is ~500 px wide, so more adds bytes and CPU on every poll
# of a running job, not detail.
MAX_POINTS = 500


def thin(
    values: Sequence[tuple[int, float]], limit: int = MAX_POINTS
) -> Sequence[tuple[int, float]]:
    """Every k-th point and the last, so a line keeps its shape and its end."""
    if len(values) <= limit:
        return values
    step = -(-len(values) // limit)
    kept = list(values[::step])
    if kept[-1] != values[-1]:
        kept.append(values[-1])
    return kept


def _ticks(low: float, high: float, count: int = 4) -> list[float]:
    if high == low:
        return [low]
    step = (high - low) / count
    return [low + i * step for i in range(count + 1)]


def line_chart(title: str, series: Mapping[str, Sequence[tuple[int, float]]]) -> str:
    """One chart, one polyline per series, x = round, with axes, ticks and a legend."""
    series = {name: thin(values) for name, values in series.items()}
    points = [p for values in series.values() for p in values]
    if not points:
        return f'<p class="muted">No {escape(title)} values yet.</p>'
    xs = [x for x, _ in points]
    ys = [y for _, y in points]
    x0, x1 = min(xs), max(max(xs), min(xs) + 1)
    y0, y1 = min(ys), max(ys)
    if y1 == y0:
        y0, y1 = y0 - 0.5, y1 + 0.5
    plot_w, plot_h = _W - _L - _R, _H - _T - _B

    def sx(x: float) -> float:
        return _L + (x - x0) / (x1 - x0) * plot_w

    def sy(y: float) -> float:
        return _T + (1 - (y - y0) / (y1 - y0)) * plot_h

    parts = [
        f'<svg class="chart" viewBox="0 0 {_W} {_H}" role="img" aria-label="{escape(title)}" '
        'xmlns="http://www.w3.org/2000/svg">',
        f'<rect x="{_L}" y="{_T}" width="{plot_w}" height="{plot_h}" '
        'fill="none" stroke="#d1d5db"/>',
    ]
    for tick in _ticks(y0, y1):
        y = sy(tick)
        parts.append(
            f'<line x1="{_L}" x2="{_L + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eef0f2"/>'
            f'<text x="{_L - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">{tick:.4g}</text>'
        )
    for tick in _ticks(x0, x1):
        x = sx(tick)
        parts.append(
            f'<text x="{x:.1f}" y="{_T + plot_h + 16}" text-anchor="middle" class="tick">'
            f"{tick:.0f}</text>"
        )
    parts.append(
        f'<text x="{_L + plot_w / 2}" y="{_H - 4}" text-anchor="middle" class="tick">round</text>'
    )
    for index, (name, values) in enumerate(series.items()):
        colour = _COLOURS[index % len(_COLOURS)]
        coords = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in values)
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{coords}">'
            f"<title>{escape(name)}</title></polyline>"
        )
        parts.append(
            f'<rect x="{_L + 8 + index * 150}" y="{_T + 6}" width="10" height="10" '
            f'fill="{colour}"/>'
            f'<text x="{_L + 22 + index * 150}" y="{_T + 15}" class="legend">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def charts_by_metric(series: Mapping[str, Sequence[tuple[int, float]]]) -> list[tuple[str, str]]:
    """``train:auc`` and ``validation:auc`` share one chart titled ``auc``."""
    grouped: dict[str, dict[str, Sequence[tuple[int, float]]]] = {}
    for name, values in series.items():
        data, _, metric = name.partition(":")
        grouped.setdefault(metric or name, {})[data] = values
    return [(metric, line_chart(metric, lines)) for metric, lines in grouped.items()]

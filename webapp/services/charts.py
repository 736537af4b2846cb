"""Server-rendered SVG charts (no JavaScript, no external resources)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape


@dataclass(frozen=True)
class Point:
    """One observation: an x label (time point), a y value."""

    label: str
    value: float


def _fmt(v: float) -> str:
    return f"{v:.3f}".rstrip("0").rstrip(".") if abs(v) < 10 else f"{v:.1f}"


def line_chart(
    points: Sequence[Point],
    *,
    title: str,
    y_min: float,
    y_max: float,
    band: tuple[float, float] | None = None,
    band_label: str = "",
    width: int = 560,
    height: int = 220,
) -> str:
    """A line chart of ``points`` with an optional shaded band (e.g. baseline ± MID).

    Returns an inline ``<svg>`` with ``role="img"``, a ``<title>`` and a ``<desc>`` that
    lists the values, so screen readers get the numbers too.
    """
    left, right, top, bottom = 48, 16, 16, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    span = (y_max - y_min) or 1.0

    def y(v: float) -> float:
        return top + plot_h * (1 - (min(max(v, y_min), y_max) - y_min) / span)

    def x(i: int) -> float:
        return left + (plot_w * (i + 0.5) / max(len(points), 1))

    desc = "; ".join(f"{p.label}: {_fmt(p.value)}" for p in points) or "no values"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'class="chart" role="img" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title><desc>{escape(desc)}</desc>",
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" class="chart-bg"/>',
    ]
    if band is not None:
        lo, hi = sorted(band)
        parts.append(
            f'<rect x="{left}" y="{y(hi):.1f}" width="{plot_w}" '
            f'height="{max(y(lo) - y(hi), 1):.1f}" class="chart-band">'
            f"<title>{escape(band_label)}</title></rect>"
        )
    for tick in (y_min, (y_min + y_max) / 2, y_max):
        parts.append(
            f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end" '
            f'class="chart-tick">{_fmt(tick)}</text>'
        )
    coords = [(x(i), y(p.value)) for i, p in enumerate(points)]
    if len(coords) > 1:
        path = " ".join(f"{cx:.1f},{cy:.1f}" for cx, cy in coords)
        parts.append(f'<polyline points="{path}" class="chart-line"/>')
    for (cx, cy), p in zip(coords, points, strict=True):
        parts.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="5" class="chart-dot"/>')
        parts.append(
            f'<text x="{cx:.1f}" y="{cy - 9:.1f}" text-anchor="middle" class="chart-value">'
            f"{_fmt(p.value)}</text>"
        )
        parts.append(
            f'<text x="{cx:.1f}" y="{height - 12}" text-anchor="middle" class="chart-tick">'
            f"{escape(p.label)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def histogram(
    counts: Sequence[int],
    edges: Sequence[float],
    *,
    title: str,
    width: int = 320,
    height: int = 120,
) -> str:
    """A small bar histogram (``len(edges) == len(counts) + 1``) as inline SVG."""
    top, bottom, left = 8, 22, 4
    plot_h = height - top - bottom
    peak = max(counts) if counts else 0
    bar_w = (width - 2 * left) / max(len(counts), 1)
    desc = "; ".join(f"{_fmt(edges[i])}–{_fmt(edges[i + 1])}: {c}" for i, c in enumerate(counts))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" class="chart" '
        f'role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>'
        f"<desc>{escape(desc)}</desc>"
    ]
    for i, c in enumerate(counts):
        h = plot_h * c / peak if peak else 0
        parts.append(
            f'<rect x="{left + i * bar_w:.1f}" y="{top + plot_h - h:.1f}" '
            f'width="{max(bar_w - 1, 1):.1f}" height="{h:.1f}" class="chart-bar"/>'
        )
    if edges:
        parts.append(
            f'<text x="{left}" y="{height - 6}" class="chart-tick">{_fmt(edges[0])}</text>'
        )
        parts.append(
            f'<text x="{width - left}" y="{height - 6}" text-anchor="end" class="chart-tick">'
            f"{_fmt(edges[-1])}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)

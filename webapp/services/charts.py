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


def _two_lines(label: str, width: int = 14) -> list[str]:
    """Split a long axis label at the space nearest its middle."""
    if len(label) <= width or " " not in label:
        return [label]
    middle = len(label) // 2
    cut = min((i for i, c in enumerate(label) if c == " "), key=lambda i: abs(i - middle))
    return [label[:cut], label[cut + 1 :]]


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
    left, right, top, bottom = 48, 16, 24, 44
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
        lines = _two_lines(p.label)
        parts.append(
            f'<text x="{cx:.1f}" y="{height - bottom + 16}" text-anchor="middle" '
            f'class="chart-tick">'
            + "".join(
                f'<tspan x="{cx:.1f}" dy="{0 if i == 0 else 14}">{escape(line)}</tspan>'
                for i, line in enumerate(lines)
            )
            + "</text>"
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


def indicator_bars(
    bars: Sequence[tuple[str, float | None, bool]],
    *,
    high: float,
    moderate: float,
    better: str,
    title: str,
    width: int = 760,
) -> str:
    """Horizontal bars of shares (0..1) per unit with the target levels as bands.

    ``bars`` holds (label, share or None when suppressed, highlighted). The background
    bands carry the level names in their ``<title>`` and the values are written beside
    each bar, so the chart never relies on colour alone.
    """
    row_h, label_w, top, right = 26, 330, 24, 56
    plot_w = width - label_w - right
    height = top + row_h * len(bars) + 8

    def x(share: float) -> float:
        return label_w + plot_w * min(max(share, 0.0), 1.0)

    lo, hi = sorted((moderate, high))
    if better == "higher":
        bands = ((0.0, lo, "low", "lav"), (lo, hi, "moderate", "moderat"), (hi, 1.0, "high", "høy"))
    else:
        bands = ((0.0, lo, "high", "høy"), (lo, hi, "moderate", "moderat"), (hi, 1.0, "low", "lav"))
    desc = "; ".join(f"{label}: {'n<5' if v is None else f'{v:.0%}'}" for label, v, _ in bars)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" class="chart" '
        f'role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>'
        f"<desc>{escape(desc)}</desc>"
    ]
    for start, end, level, word in bands:
        parts.append(
            f'<rect x="{x(start):.1f}" y="{top - 4}" width="{x(end) - x(start):.1f}" '
            f'height="{row_h * len(bars) + 4}" class="band-{level}">'
            f"<title>{word} måloppnåelse</title></rect>"
        )
    for tick in (0.0, lo, hi, 1.0):
        parts.append(
            f'<text x="{x(tick):.1f}" y="{top - 8}" text-anchor="middle" class="chart-tick">'
            f"{tick:.0%}</text>"
        )
    for i, (label, share, strong) in enumerate(bars):
        y = top + i * row_h
        cls = "chart-bar strong" if strong else "chart-bar"
        short = label if len(label) <= 44 else label[:43].rstrip(" ,") + "…"
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end" class="chart-tick">'
            f"<title>{escape(label)}</title>{escape(short)}</text>"
        )
        if share is None:
            parts.append(f'<text x="{label_w + 4}" y="{y + 16}" class="chart-value">n&lt;5</text>')
            continue
        parts.append(
            f'<rect x="{label_w}" y="{y + 4}" width="{x(share) - label_w:.1f}" height="14" '
            f'class="{cls}"/>'
        )
        parts.append(
            f'<text x="{x(share) + 4:.1f}" y="{y + 16}" class="chart-value">{share:.0%}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)

"""Server-rendered SVG charts (no JavaScript, no external resources).

Words and numbers follow the language of the moment (:func:`webapp.i18n.current_language`,
bokmål outside an app context): decimal comma in nb/nn, shares written ``60 %`` as on the
staff pages."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from html import escape

from babel.numbers import format_decimal
from flask import has_app_context
from flask_babel import gettext as _

from scoring.funnel import Funnel, limit_curve
from webapp.i18n import DEFAULT_LANGUAGE, FORMAT_LOCALES, current_language


@dataclass(frozen=True)
class Point:
    """One observation: an x label (time point), a y value."""

    label: str
    value: float


def _fmt(v: float) -> str:
    """Up to three decimals below 10, one from 10 on (``0,512``, ``47,0`` in nb/nn)."""
    lang = current_language() if has_app_context() else DEFAULT_LANGUAGE
    return _formatted(float(v), lang)


@lru_cache(maxsize=8192)
def _formatted(v: float, lang: str) -> str:
    """Babel's formatting, remembered: charts repeat the same axis and edge values."""
    pattern = "0.###" if abs(v) < 10 else "0.0"
    return format_decimal(v, format=pattern, locale=FORMAT_LOCALES[lang])


def _pct(share: float) -> str:
    """A share (0..1) as a whole percentage, ``60 %``."""
    return f"{share * 100:.0f} %"


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

    desc = "; ".join(f"{p.label}: {_fmt(p.value)}" for p in points) or _("no values")
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
    words = {
        "low": _("Low target achievement"),
        "moderate": _("Moderate target achievement"),
        "high": _("High target achievement"),
    }
    order = ("low", "moderate", "high") if better == "higher" else ("high", "moderate", "low")
    bands = tuple(zip((0.0, lo, hi), (lo, hi, 1.0), order, strict=True))
    desc = "; ".join(f"{label}: {'n<5' if v is None else _pct(v)}" for label, v, _strong in bars)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" class="chart" '
        f'role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>'
        f"<desc>{escape(desc)}</desc>"
    ]
    for start, end, level in bands:
        parts.append(
            f'<rect x="{x(start):.1f}" y="{top - 4}" width="{x(end) - x(start):.1f}" '
            f'height="{row_h * len(bars) + 4}" class="band-{level}">'
            f"<title>{escape(words[level])}</title></rect>"
        )
    for tick in (0.0, lo, hi, 1.0):
        parts.append(
            f'<text x="{x(tick):.1f}" y="{top - 8}" text-anchor="middle" class="chart-tick">'
            f"{_pct(tick)}</text>"
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
            f'<text x="{x(share) + 4:.1f}" y="{y + 16}" class="chart-value">{_pct(share)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


@dataclass(frozen=True)
class Series:
    """One score over the x labels of a chart (None where it was not measured)."""

    name: str
    values: tuple[float | None, ...]


@dataclass(frozen=True)
class Panel:
    """Scores that share a y range (e.g. the eight RAND-36 scales, 0..100)."""

    y_min: float
    y_max: float
    series: tuple[Series, ...]
    band: tuple[float, float] | None = None  # shaded (e.g. baseline ± MID of a lone score)
    band_label: str = ""
    fmt: Callable[[float], str] | None = None  # numbers of this panel (else the chart's)


# Marker shapes drawn in turn, so series differ by more than colour.
_MARKERS = ("circle", "square", "triangle", "diamond")


def _marker(kind: str, cx: float, cy: float, css: str) -> str:
    if kind == "square":
        return f'<rect x="{cx - 4.5:.1f}" y="{cy - 4.5:.1f}" width="9" height="9" class="{css}"/>'
    if kind == "triangle":
        pts = f"{cx:.1f},{cy - 6:.1f} {cx - 5.5:.1f},{cy + 4.5:.1f} {cx + 5.5:.1f},{cy + 4.5:.1f}"
        return f'<polygon points="{pts}" class="{css}"/>'
    if kind == "diamond":
        pts = (
            f"{cx:.1f},{cy - 6:.1f} {cx + 6:.1f},{cy:.1f} "
            f"{cx:.1f},{cy + 6:.1f} {cx - 6:.1f},{cy:.1f}"
        )
        return f'<polygon points="{pts}" class="{css}"/>'
    return f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="5" class="{css}"/>'


def panel_chart(
    panels: Sequence[Panel],
    x_labels: Sequence[str],
    *,
    title: str,
    fmt: Callable[[float], str] = _fmt,
    width: int = 640,
    panel_height: int = 200,
) -> str:
    """One chart for several scores: stacked panels (one per y range) over the same time
    points, each series with its own line style and marker, a legend under each panel.

    Values are written beside the points when a panel has at most three series; the
    ``<desc>`` lists every value (formatted by ``fmt``) for screen readers.
    """
    left, right, top, bottom = 48, 16, 24, 44
    plot_w = width - left - right
    legend_row = 18
    heights, columns = [], []
    for panel in panels:
        cols = 4 if all(len(s.name) <= 18 for s in panel.series) else 2
        columns.append(cols)
        heights.append(panel_height + ((len(panel.series) + cols - 1) // cols) * legend_row + 8)
    height = sum(heights)
    n_x = max(len(x_labels), 1)

    def x(i: int) -> float:
        return left + plot_w * (i + 0.5) / n_x

    def told(s: Series, f: Callable[[float], str]) -> str:
        pairs = zip(x_labels, s.values, strict=True)
        return f"{s.name}: " + ", ".join(f"{lbl} {f(v)}" for lbl, v in pairs if v is not None)

    desc = "; ".join(told(s, p.fmt or fmt) for p in panels for s in p.series)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'class="chart panel-chart" role="img" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title><desc>{escape(desc)}</desc>"
    ]
    offset = 0
    plot_h = panel_height - top - bottom
    for panel, panel_h, cols in zip(panels, heights, columns, strict=True):
        number = panel.fmt or fmt
        span = (panel.y_max - panel.y_min) or 1.0

        def y(v: float, _o: int = offset, _p: Panel = panel, _s: float = span) -> float:
            clipped = min(max(v, _p.y_min), _p.y_max)
            return _o + top + plot_h * (1 - (clipped - _p.y_min) / _s)

        parts.append(
            f'<rect x="{left}" y="{offset + top}" width="{plot_w}" height="{plot_h}" '
            'class="chart-bg"/>'
        )
        if panel.band is not None:
            lo, hi = sorted(panel.band)
            parts.append(
                f'<rect x="{left}" y="{y(hi):.1f}" width="{plot_w}" '
                f'height="{max(y(lo) - y(hi), 1):.1f}" class="chart-band">'
                f"<title>{escape(panel.band_label)}</title></rect>"
            )
        for tick in (panel.y_min, (panel.y_min + panel.y_max) / 2, panel.y_max):
            parts.append(
                f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end" '
                f'class="chart-tick">{escape(number(tick))}</text>'
            )
        for i, label in enumerate(x_labels):
            lines = _two_lines(label)
            parts.append(
                f'<text x="{x(i):.1f}" y="{offset + panel_height - bottom + 16}" '
                'text-anchor="middle" class="chart-tick">'
                + "".join(
                    f'<tspan x="{x(i):.1f}" dy="{0 if j == 0 else 14}">{escape(line)}</tspan>'
                    for j, line in enumerate(lines)
                )
                + "</text>"
            )
        write_values = len(panel.series) <= 3
        # where each value is written: above the highest point of a time point, below
        # the lowest, beside one in the middle (so that labels of close values do not meet)
        place: dict[tuple[int, int], str] = {}
        for i in range(len(x_labels)):
            here = sorted(
                (s.values[i], k) for k, s in enumerate(panel.series) if s.values[i] is not None
            )
            for rank, (_v, k) in enumerate(here):
                top_one = rank == len(here) - 1
                place[(k, i)] = "above" if top_one else "below" if rank == 0 else "beside"
        for k, series in enumerate(panel.series):
            css = f"series series-{k % 8}"
            marker = _MARKERS[k % len(_MARKERS)]
            coords = [(i, x(i), y(v), v) for i, v in enumerate(series.values) if v is not None]
            if len(coords) > 1:
                path = " ".join(f"{cx:.1f},{cy:.1f}" for _, cx, cy, _ in coords)
                parts.append(f'<polyline points="{path}" class="{css} series-line"/>')
            for i, cx, cy, v in coords:
                parts.append(_marker(marker, cx, cy, f"{css} series-dot"))
                if write_values:
                    where = place[(k, i)]
                    ty = cy - 9 if where == "above" else cy + 19 if where == "below" else cy + 4
                    parts.append(
                        f'<text x="{cx + (12 if where == "beside" else 6):.1f}" y="{ty:.1f}" '
                        f'class="chart-value">{escape(number(v))}</text>'
                    )
            width_chars = 26 if cols == 4 else 38
            name = (
                series.name if len(series.name) <= width_chars else series.name[:width_chars] + "…"
            )
            col, row = k % cols, k // cols
            lx = left + col * (plot_w / cols)
            ly = offset + panel_height + row * legend_row
            parts.append(
                f'<line x1="{lx:.1f}" y1="{ly - 4}" x2="{lx + 22:.1f}" y2="{ly - 4}" '
                f'class="{css} series-line"/>'
                + _marker(marker, lx + 11, ly - 4, f"{css} series-dot")
                + f'<text x="{lx + 28:.1f}" y="{ly}" class="chart-tick">'
                f"{escape(name)}</text>"
            )
        offset += panel_h
    parts.append("</svg>")
    return "".join(parts)


def funnel_chart(
    result: Funnel,
    *,
    title: str,
    highlight: str | None = None,
    words: Mapping[str, str],
    width: int = 640,
    height: int = 320,
) -> str:
    """A funnel plot: each unit's proportion against its number of cases, the target line
    and the 95 % (dashed) and 99.8 % (dotted) control limits of :mod:`scoring.funnel`.

    ``words`` names the positions (``inside``, ``above95`` …) and the legend entries
    (``target``, ``limit95``, ``limit998``, ``cases``) in the page's language. Units outside
    the 95 % limits and ``highlight`` are labelled; the ``<desc>`` lists every unit.
    """
    left, right, top, bottom = 52, 16, 16, 64
    plot_w, plot_h = width - left - right, height - top - bottom
    n_max = max((p.n for p in result.points), default=1)
    n_top = max(10, math.ceil(n_max * 1.1))
    grid = sorted({max(1, round(n_top * (i / 60) ** 2)) for i in range(1, 61)})
    curves = {
        key: list(
            zip(
                grid,
                limit_curve(result.target, grid, p, result.method, result.phi).tolist(),
                strict=True,
            )
        )
        for key, p in (("lo95", 0.025), ("hi95", 0.975), ("lo998", 0.001), ("hi998", 0.999))
    }
    shown = [p.proportion for p in result.points] + [result.target]
    n_min = min((p.n for p in result.points), default=1)
    shown += [v for n, v in curves["lo95"] + curves["hi95"] if n >= n_min]
    y_min = max(0.0, math.floor((min(shown) - 0.05) * 10) / 10)
    y_max = min(1.0, math.ceil((max(shown) + 0.05) * 10) / 10)
    span = (y_max - y_min) or 1.0

    def x(n: float) -> float:
        return left + plot_w * n / n_top

    def y(v: float) -> float:
        return top + plot_h * (1 - (min(max(v, y_min), y_max) - y_min) / span)

    desc = "; ".join(
        f"{p.label}: {p.k}/{p.n} = {_pct(p.proportion)} ({words[p.position]})"
        for p in result.points
    )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'class="chart funnel" role="img" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title><desc>{escape(desc)}</desc>",
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" class="chart-bg"/>',
    ]
    steps = 4
    for i in range(steps + 1):
        tick = y_min + span * i / steps
        parts.append(
            f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end" class="chart-tick">'
            f"{_pct(tick)}</text>"
        )
        n_tick = round(n_top * i / steps)
        parts.append(
            f'<text x="{x(n_tick):.1f}" y="{top + plot_h + 16}" text-anchor="middle" '
            f'class="chart-tick">{n_tick}</text>'
        )
    parts.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{top + plot_h + 32}" text-anchor="middle" '
        f'class="chart-tick">{escape(words["cases"])}</text>'
    )
    lines = (("lo95", "limit95"), ("hi95", "limit95"), ("lo998", "limit998"), ("hi998", "limit998"))
    for key, css in lines:
        path = " ".join(f"{x(n):.1f},{y(v):.1f}" for n, v in curves[key])
        parts.append(f'<polyline points="{path}" class="funnel-{css}"/>')
    parts.append(
        f'<line x1="{left}" y1="{y(result.target):.1f}" x2="{left + plot_w}" '
        f'y2="{y(result.target):.1f}" class="funnel-target"/>'
    )
    for p in result.points:
        strong = p.label == highlight
        css = "funnel-unit strong" if strong else "funnel-unit"
        if p.position != "inside":
            css += " outside"
        parts.append(
            f'<circle cx="{x(p.n):.1f}" cy="{y(p.proportion):.1f}" r="{6 if strong else 5}" '
            f'class="{css}"><title>{escape(p.label)}: {p.k}/{p.n} = {_pct(p.proportion)} '
            f"({escape(words[p.position])})</title></circle>"
        )
        if strong or p.position != "inside":
            short = p.label if len(p.label) <= 24 else p.label[:23] + "…"
            parts.append(
                f'<text x="{x(p.n) + 8:.1f}" y="{y(p.proportion) - 8:.1f}" class="chart-value">'
                f"{escape(short)}</text>"
            )
    ly = height - 14
    legend = (
        ("funnel-target", words["target"]),
        ("funnel-limit95", words["limit95"]),
        ("funnel-limit998", words["limit998"]),
    )
    for i, (css, text) in enumerate(legend):
        lx = left + i * (plot_w / 3)
        parts.append(
            f'<line x1="{lx:.1f}" y1="{ly - 4}" x2="{lx + 26:.1f}" y2="{ly - 4}" class="{css}"/>'
            f'<text x="{lx + 32:.1f}" y="{ly}" class="chart-tick">{escape(text)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)

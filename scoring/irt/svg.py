"""Tiny inline SVG charts (no JavaScript, no external files) for the IRT reports."""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np

WIDTH, HEIGHT, PAD = 520, 220, 40
COLOURS = ("#1f5fa8", "#b5461f", "#3a7d2c", "#7a3fa0", "#8a6d1e")


def _axes(title: str, x_label: str, y_label: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{html.escape(title)}">',
        f'<text x="{PAD}" y="14" font-size="12">{html.escape(title)}</text>',
        f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - 10}" y2="{HEIGHT - PAD}" '
        'stroke="#444"/>',
        f'<line x1="{PAD}" y1="24" x2="{PAD}" y2="{HEIGHT - PAD}" stroke="#444"/>',
        f'<text x="{WIDTH // 2}" y="{HEIGHT - 6}" font-size="11" text-anchor="middle">'
        f"{html.escape(x_label)}</text>",
        f'<text x="12" y="{HEIGHT // 2}" font-size="11" text-anchor="middle" '
        f'transform="rotate(-90 12 {HEIGHT // 2})">{html.escape(y_label)}</text>',
    ]


def _scale(values: np.ndarray, lo: float, hi: float, out_lo: float, out_hi: float) -> np.ndarray:
    span = hi - lo if hi > lo else 1.0
    return out_lo + (values - lo) / span * (out_hi - out_lo)


def bar_chart(
    labels: Sequence[str], values: Sequence[float], title: str, x_label: str, y_label: str
) -> str:
    """Vertical bars, one per label."""
    vals = np.asarray(values, dtype=float)
    top = float(vals.max()) if vals.size and vals.max() > 0 else 1.0
    parts = _axes(title, x_label, y_label)
    slot = (WIDTH - PAD - 20) / max(len(vals), 1)
    for k, (label, v) in enumerate(zip(labels, vals, strict=True)):
        h = (HEIGHT - PAD - 30) * v / top
        x = PAD + 4 + k * slot
        parts.append(
            f'<rect x="{x:.1f}" y="{HEIGHT - PAD - h:.1f}" width="{max(slot - 3, 1):.1f}" '
            f'height="{h:.1f}" fill="{COLOURS[0]}"><title>{html.escape(str(label))}: '
            f"{v:g}</title></rect>"
        )
        if len(vals) <= 25:
            parts.append(
                f'<text x="{x + slot / 2:.1f}" y="{HEIGHT - PAD + 13}" font-size="10" '
                f'text-anchor="middle">{html.escape(str(label))}</text>'
            )
    parts.append(f'<text x="{PAD - 4}" y="30" font-size="10" text-anchor="end">{top:g}</text>')
    parts.append("</svg>")
    return "".join(parts)


def line_chart(
    x: np.ndarray,
    series: dict[str, np.ndarray],
    title: str,
    x_label: str,
    y_label: str,
    y_max: float | None = None,
) -> str:
    """One polyline per series over a common x; a legend names them."""
    x = np.asarray(x, dtype=float)
    finite = [np.asarray(s, dtype=float)[np.isfinite(s)] for s in series.values()]
    top = y_max if y_max is not None else max(float(f.max()) for f in finite if f.size)
    parts = _axes(title, x_label, y_label)
    px = _scale(x, float(x.min()), float(x.max()), PAD, WIDTH - 10)
    for k, (name, ys) in enumerate(series.items()):
        ys = np.minimum(np.asarray(ys, dtype=float), top)
        py = _scale(ys, 0.0, top, HEIGHT - PAD, 30)
        points = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(px, py, strict=True) if np.isfinite(b))
        colour = COLOURS[k % len(COLOURS)]
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="1.6" points="{points}"/>'
        )
        parts.append(
            f'<text x="{WIDTH - 14}" y="{30 + 13 * k}" font-size="11" text-anchor="end" '
            f'fill="{colour}">{html.escape(name)}</text>'
        )
    for tick in np.linspace(float(x.min()), float(x.max()), 7):
        tx = _scale(np.array([tick]), float(x.min()), float(x.max()), PAD, WIDTH - 10)[0]
        parts.append(
            f'<text x="{tx:.1f}" y="{HEIGHT - PAD + 13}" font-size="10" text-anchor="middle">'
            f"{tick:.3g}</text>"
        )
    parts.append(f'<text x="{PAD - 4}" y="34" font-size="10" text-anchor="end">{top:.3g}</text>')
    parts.append("</svg>")
    return "".join(parts)

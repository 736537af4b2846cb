"""Funnel plots and trends of the register's quality indicators (unit lead view).

The numbers come from the indicator tables (:mod:`webapp.services.unit_report`); the
limits from :mod:`scoring.funnel` (exact binomial, Spiegelhalter 2005). Units with fewer
than the minimum cell size are left out of the funnel (and named as left out), as in the
tables; the target is the whole register's share, all years.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _

from scoring.funnel import Funnel, funnel
from webapp.services.charts import Panel, Series, funnel_chart, panel_chart
from webapp.services.unit_report import IndicatorTable


@dataclass
class FunnelRow:
    """One unit on the funnel, in words."""

    label: str
    k: int
    n: int
    share: str
    position: str
    outside: bool


@dataclass
class IndicatorFunnel:
    """The funnel and the trend over index years of one indicator."""

    indicator_id: str
    title: str
    better: str
    target: str
    funnel_svg: str
    trend_svg: str
    rows: list[FunnelRow]
    left_out: list[str]
    phi: float | None = None  # the overdispersion estimate when the limits were adjusted


def position_words(lang: str = "nb") -> dict[str, str]:
    """Funnel positions and legend entries in the request's language."""
    l95, l998 = "95 %", "99.8 %" if lang == "en" else "99,8 %"
    return {
        "inside": _("within the control limits"),
        "above95": _("above the %(level)s limit", level=l95),
        "below95": _("below the %(level)s limit", level=l95),
        "above998": _("above the %(level)s limit", level=l998),
        "below998": _("below the %(level)s limit", level=l998),
        "target": _("register mean"),
        "limit95": _("%(level)s control limits", level=l95),
        "limit998": _("%(level)s control limits", level=l998),
        "cases": _("number of patients (n)"),
    }


def _percent(value: float, lang: str) -> str:
    text = f"{value * 100:.0f} %"
    return text if lang == "en" else text.replace(".", ",")


def indicator_funnel(
    table: IndicatorTable,
    *,
    highlight_unit_id: int | None = None,
    lang: str = "nb",
    overdispersion: bool = False,
) -> IndicatorFunnel | None:
    """Funnel and trend of one indicator table (None when the register has no cases);
    ``overdispersion`` widens the limits (scoring.funnel, Spiegelhalter's phi)."""
    words = position_words(lang)
    units = [r for r in table.rows if r.unit_id is not None]
    whole = next((r for r in table.rows if r.unit_id is None), None)
    if whole is None or whole.cells[-1][0].n == 0:
        return None
    total = whole.cells[-1][0]
    shown = [
        (r.label, r.cells[-1][0].k, r.cells[-1][0].n)
        for r in units
        if not r.cells[-1][0].suppressed
    ]
    left_out = [r.label for r in units if r.cells[-1][0].suppressed]
    target = total.k / total.n
    adjust = overdispersion and bool(shown) and 0.0 < target < 1.0
    result: Funnel = funnel(shown, target=target, overdispersion=adjust)
    highlight = next((r.label for r in units if r.unit_id == highlight_unit_id), None)
    title = table.indicator.title
    svg = funnel_chart(
        result,
        title=_("%(title)s: units against the register mean", title=title),
        highlight=highlight,
        words=words,
    )
    rows = [
        FunnelRow(
            p.label,
            p.k,
            p.n,
            _percent(p.proportion, lang),
            words[p.position],
            p.position != "inside",
        )
        for p in result.points
    ]
    trend_rows = [whole] + (
        [r for r in units if r.unit_id == highlight_unit_id] if highlight_unit_id else units
    )
    years = table.columns[:-1]
    series = tuple(
        Series(
            r.label,
            tuple(None if s.suppressed else 100 * s.k / s.n for s, _level in r.cells[:-1]),
        )
        for r in trend_rows
    )
    trend = panel_chart(
        [Panel(0.0, 100.0, series)],
        years,
        title=_("%(title)s by index year (%%)", title=title),
        fmt=lambda v: f"{v:.0f}",
    )
    return IndicatorFunnel(
        table.indicator.id,
        title,
        table.indicator.better,
        _percent(result.target, lang),
        svg,
        trend,
        rows,
        left_out,
        result.phi_estimate,
    )


def indicator_funnels(
    tables: list[IndicatorTable],
    *,
    highlight_unit_id: int | None = None,
    lang: str = "nb",
    overdispersion: bool = False,
) -> dict[str, IndicatorFunnel]:
    """Funnels of every indicator that has cases, keyed by indicator id."""
    out = {}
    for table in tables:
        found = indicator_funnel(
            table, highlight_unit_id=highlight_unit_id, lang=lang, overdispersion=overdispersion
        )
        if found is not None:
            out[found.indicator_id] = found
    return out

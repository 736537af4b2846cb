"""What the unit dashboard and the register's indicator page show, ready for templates and
CSV downloads. Numbers come from the aggregate queries of
:class:`webapp.services.dashboard.RegisterStats` (suppression included)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field

from flask_babel import gettext as _

import instruments
from webapp.i18n import current_language
from webapp.models import Register, Unit
from webapp.services import dashboard as d
from webapp.services import indicators as ind
from webapp.services.charts import histogram, indicator_bars
from webapp.services.score_info import score_info

HIDDEN_SCALES = {("rand36", "HT")}  # health transition is an item, not a change measure


def instrument_title(instrument_id: str) -> str:
    """The instrument's title in the staff language (its id when unknown)."""
    try:
        title = instruments.load(instrument_id).title
    except KeyError:
        return instrument_id
    lang = current_language()
    return title.get_text(lang if lang in title else "nb")


@dataclass
class RateRow:
    """Response rate of one time point and instrument, unit and whole register."""

    time_point: str
    instrument: str
    unit: d.Share
    register: d.Share


@dataclass
class ScoreRow:
    """Distribution of one score at one time point, unit and whole register."""

    time_point: str
    unit: d.Summary
    register: d.Summary
    svg: str


@dataclass
class ScoreBlock:
    """One score of one instrument over the time points."""

    instrument: str
    instrument_title: str
    scale: str
    label: str
    direction: str
    rows: list[ScoreRow]


@dataclass
class ChangeRow:
    """Improved / worsened beyond the MID from the first time point to a follow-up."""

    instrument_title: str
    scale: str
    mid: float
    follow_up: str
    improved: d.Share
    worsened: d.Share
    register_improved: d.Share
    scale_id: str = ""  # the score's name (``scale`` holds its label)


@dataclass
class ProtocolBlock:
    """Everything the unit dashboard shows for one protocol."""

    name: str
    title: str
    rates: list[RateRow] = field(default_factory=list)
    scores: list[ScoreBlock] = field(default_factory=list)
    changes: list[ChangeRow] = field(default_factory=list)


@dataclass
class IndicatorRow:
    """One row (a unit or the whole register) of an indicator table, by year."""

    label: str
    unit_id: int | None
    cells: list[tuple[d.Share, str | None]]  # (share, level) per column


@dataclass
class IndicatorTable:
    """A quality indicator across units (rows) and index years (columns)."""

    indicator: ind.Indicator
    columns: list[str]
    rows: list[IndicatorRow]
    svg: str


@dataclass
class UnitReport:
    """The unit dashboard."""

    unit: Unit
    register: Register
    year: int | None
    years: list[int]
    protocols: list[ProtocolBlock]
    indicators: list[IndicatorTable]


def _protocol_block(
    stats: d.RegisterStats, name: str, unit: Unit, year: int | None
) -> ProtocolBlock:
    protocol = stats.protocols[name]
    time_points = list(protocol.time_points)
    block = ProtocolBlock(name, protocol.title)
    mine = frozenset({unit.id})
    instrument_ids = list(dict.fromkeys(i for tp in time_points for i in tp.instruments))
    for tp in time_points:
        for iid in tp.instruments:
            block.rates.append(
                RateRow(
                    tp.title,
                    instrument_title(iid),
                    stats.response_rate(name, tp.name, iid, mine, year),
                    stats.response_rate(name, tp.name, iid, None, year),
                )
            )
    scales = [
        (iid, scale)
        for iid, scale in stats.scales(name)
        if iid in instrument_ids and (iid, scale) not in HIDDEN_SCALES
    ]
    scales.sort(key=lambda key: instrument_ids.index(key[0]))  # stable: scoring order within
    for iid, scale in scales:
        info = score_info(iid, scale)
        rows = []
        for tp in time_points:
            if iid not in tp.instruments:
                continue
            cell = (name, tp.name, iid, scale)
            bounds = (info.low, info.high)
            own = stats.summary(*cell, mine, year, bounds, info.decimals)
            reg = stats.summary(*cell, None, year, bounds, info.decimals)
            title = _(
                "Distribution of %(score)s, %(time_point)s, n=%(n)s",
                score=info.label,
                time_point=tp.title,
                n=own.n,
            )
            svg = "" if own.suppressed else histogram(own.counts, own.edges, title=title)
            rows.append(ScoreRow(tp.title, own, reg, svg))
        block.scores.append(
            ScoreBlock(iid, instrument_title(iid), scale, info.label, info.direction_text, rows)
        )
        found = d.lookup_mid(iid, scale)
        if found is None:
            continue
        first = time_points[0]
        for tp in time_points[1:]:
            improved, worsened = stats.change(
                name, iid, scale, first.name, tp.name, mine, year
            ) or ((d.Share(0, 0),) * 2)
            reg_improved = (
                stats.change(name, iid, scale, first.name, tp.name, None, year) or (d.Share(0, 0),)
            )[0]
            block.changes.append(
                ChangeRow(
                    instrument_title(iid),
                    info.label,
                    found.value,
                    tp.title,
                    improved,
                    worsened,
                    reg_improved,
                    scale,
                )
            )
    return block


def indicator_tables(
    stats: d.RegisterStats,
    indicators: tuple[ind.Indicator, ...],
    *,
    highlight: int | None = None,
    max_years: int = 3,
) -> list[IndicatorTable]:
    """Each indicator by unit (rows, plus the whole register) and index year (columns)."""
    years = sorted(stats.years[:max_years])
    columns = [str(y) for y in years] + [_("All years")]
    tables = []
    for indicator in indicators:
        rows = []
        taking_part = stats.units_taking_part(indicator.protocol)
        groups: list[tuple[str, int | None, d.Units]] = [
            (u.title, u.id, frozenset({u.id}))
            for u in sorted(stats.units.values(), key=lambda u: u.name)
            if u.id in taking_part
        ]
        groups.append((_("Whole register"), None, None))
        for label, unit_id, ids in groups:
            cells = []
            for year in [*years, None]:
                share = stats.indicator_share(indicator, ids, year)
                cells.append((share, None if share.suppressed else indicator.level(share.value)))
            rows.append(IndicatorRow(label, unit_id, cells))
        bars = [(r.label, r.cells[-1][0].value, r.unit_id == highlight) for r in rows]
        svg = indicator_bars(
            bars,
            high=indicator.high,
            moderate=indicator.moderate,
            better=indicator.better,
            title=_("%(title)s, all years", title=indicator.title),
        )
        tables.append(IndicatorTable(indicator, columns, rows, svg))
    return tables


def unit_report(
    unit: Unit, year: int | None = None, *, now: dt.datetime | None = None
) -> UnitReport:
    """The dashboard of ``unit`` for index ``year`` (None = all years), as at ``now``
    (default: the present; the monthly report passes the end of its month)."""
    register = unit.register
    stats = d.RegisterStats(register, now)
    blocks = [_protocol_block(stats, name, unit, year) for name in stats.protocols_of(unit.id)]
    runs = set(stats.protocols_of(unit.id))  # only indicators of protocols the unit runs
    indicators = tuple(i for i in ind.for_register(register.name) if i.protocol in runs)
    tables = indicator_tables(stats, indicators, highlight=unit.id)
    return UnitReport(unit, register, year, stats.years, blocks, tables)


def register_indicators(register: Register) -> tuple[list[IndicatorTable], list[int]]:
    """The register's indicator tables and the index years in its data."""
    stats = d.RegisterStats(register)
    return indicator_tables(stats, ind.for_register(register.name)), stats.years


def _share_cells(share: d.Share) -> list[str]:
    if share.suppressed:
        return [d.SUPPRESSED, d.SUPPRESSED, "", ""]
    low, high = share.ci or (0.0, 0.0)
    return [str(share.n), f"{share.value:.4f}", f"{low:.4f}", f"{high:.4f}"]


def _summary_cells(summary: d.Summary) -> list[str]:
    if summary.suppressed:
        return [d.SUPPRESSED, d.SUPPRESSED, "", ""]
    return [str(summary.n), f"{summary.median:.4g}", f"{summary.q1:.4g}", f"{summary.q3:.4g}"]


def unit_report_csv(report: UnitReport) -> str:
    """The unit dashboard as CSV, suppressed cells written as ``n<5``.

    The header and the codes (``section``, ``scale``, ``population``) are the same in every
    language (scripts read them); instrument titles are in the staff language."""
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(
        [
            "section",
            "protocol",
            "time_point",
            "instrument",
            "scale",
            "population",
            "n",
            "value",
            "low",
            "high",
        ]
    )
    for block in report.protocols:
        for r in block.rates:
            for who, share in (("unit", r.unit), ("register", r.register)):
                w.writerow(
                    [
                        "response_rate",
                        block.name,
                        r.time_point,
                        r.instrument,
                        "",
                        who,
                        *_share_cells(share),
                    ]
                )
        for s in block.scores:
            for row in s.rows:
                for who, summary in (("unit", row.unit), ("register", row.register)):
                    w.writerow(
                        [
                            "median_iqr",
                            block.name,
                            row.time_point,
                            s.instrument_title,
                            s.scale,
                            who,
                            *_summary_cells(summary),
                        ]
                    )
        for c in block.changes:
            for section, who, share in (
                ("improved_mid", "unit", c.improved),
                ("worsened_mid", "unit", c.worsened),
                ("improved_mid", "register", c.register_improved),
            ):
                w.writerow(
                    [
                        section,
                        block.name,
                        c.follow_up,
                        c.instrument_title,
                        c.scale_id,
                        who,
                        *_share_cells(share),
                    ]
                )
    return out.getvalue()


def indicators_csv(tables: list[IndicatorTable]) -> str:
    """Indicator tables as CSV (one row per indicator, unit and year), ``n<5`` suppressed.

    The header, indicator ids and levels are the same in every language; the labels "whole
    register" (``unit``) and "all years" (``year``) are in the staff language."""
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["indicator", "unit", "year", "n", "value", "low", "high", "level"])
    for table in tables:
        for row in table.rows:
            for column, (share, level) in zip(table.columns, row.cells, strict=True):
                w.writerow(
                    [table.indicator.id, row.label, column, *_share_cells(share), level or ""]
                )
    return out.getvalue()

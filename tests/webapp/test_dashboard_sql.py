"""The SQL aggregates of the dashboards give exactly the numbers of the earlier
implementation, which loaded the whole register into Python and scanned it per cell.

Reference: ``dashboard_reference.py`` (that implementation, kept unchanged for this test;
it shares no counting code with :mod:`webapp.services.dashboard`). Data: the synthetic
demo register (300 patients, three units, two protocols, two years of answers), on SQLite
and PostgreSQL. Compared: every response rate, n, median, quartiles, histogram (and its
SVG), change beyond the MID and indicator cell of every unit's dashboard, for all years
and each year, and the register's indicator page.
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import select

from tests.webapp import dashboard_reference as ref
from webapp.extensions import db
from webapp.models import Register, Response, Score, Unit
from webapp.services import unit_report
from webapp.services.demo import create_demo

PATIENTS = 300


def _share(share: Any) -> tuple[int, int]:
    return share.k, share.n


def _summary(summary: Any) -> tuple[Any, ...]:
    return summary.n, summary.median, summary.q1, summary.q3, summary.counts, summary.edges


def _tables(tables: list[unit_report.IndicatorTable]) -> dict[tuple[str, ...], Any]:
    out: dict[tuple[str, ...], Any] = {}
    for table in tables:
        out[("columns", table.indicator.id)] = table.columns
        out[("svg", table.indicator.id)] = table.svg
        for row in table.rows:
            out[("indicator", table.indicator.id, row.label)] = [
                (_share(share), level) for share, level in row.cells
            ]
    return out


def numbers(report: unit_report.UnitReport) -> dict[tuple[str, ...], Any]:
    """Every number (and chart) of a unit dashboard, keyed by what it is."""
    out: dict[tuple[str, ...], Any] = {
        ("years",): report.years,
        ("protocols",): sorted(b.name for b in report.protocols),
    }
    for b in report.protocols:
        for r in b.rates:
            out[(b.name, "rate", r.time_point, r.instrument)] = (_share(r.unit), _share(r.register))
        for s in b.scores:
            for row in s.rows:
                key = (b.name, "score", s.instrument, s.scale, row.time_point)
                out[key] = (_summary(row.unit), _summary(row.register), row.svg)
        for c in b.changes:
            out[(b.name, "change", c.instrument_title, c.scale, c.follow_up)] = (
                c.mid,
                _share(c.improved),
                _share(c.worsened),
                _share(c.register_improved),
            )
    out.update(_tables(report.indicators))
    return out


def _spoil_some_scores() -> None:
    """Non-finite scores must count nowhere (the reference drops them with isfinite)."""
    rows = db.session.scalars(
        select(Score)
        .join(Response)
        .where(Response.instrument_id == "eq5d5l", Score.scale == "vas")
        .order_by(Score.id)
        .limit(3)
    ).all()
    bad = [math.inf, -math.inf, math.nan if db.engine.dialect.name == "postgresql" else None]
    for score, value in zip(rows, bad, strict=True):
        score.value = value
    db.session.commit()


def test_sql_dashboards_equal_the_python_reference(database_url, app_factory):
    app = app_factory(database_url)
    with app.app_context():
        create_demo(patients=PATIENTS)
        _spoil_some_scores()
        register = db.session.scalar(select(Register).where(Register.name == "demo-register"))
        units = db.session.scalars(select(Unit).order_by(Unit.name)).all()
        compared = 0
        for unit in units:
            for year in [None, *ref.load_facts(register).years]:
                new = numbers(unit_report.unit_report(unit, year))
                old = numbers(ref.unit_report(unit, year))
                differ = sorted(k for k in new.keys() | old.keys() if new.get(k) != old.get(k))
                assert not differ, f"{unit.name} {year}: {differ[:5]}"
                compared += len(new)
        assert compared > 300  # the comparison covered real cells
        tables, years = unit_report.register_indicators(register)
        old_tables, old_years = ref.register_indicators(register)
        assert years == old_years
        assert _tables(tables) == _tables(old_tables)
        shown = [share for t in tables for row in t.rows for share, _ in row.cells]
        assert any(not s.suppressed for s in shown) and any(s.suppressed for s in shown)

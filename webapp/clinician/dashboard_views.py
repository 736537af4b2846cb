"""Unit dashboard and register quality indicators (unit leads, register administrators)."""

from __future__ import annotations

from flask import Response, abort, g, render_template, request
from flask_babel import gettext as _
from sqlalchemy import select

from webapp.auth import guarded
from webapp.clinician import bp
from webapp.extensions import db
from webapp.i18n import current_language
from webapp.models import Register, Unit, User
from webapp.services import access, unit_report
from webapp.services.dashboard import MIN_CELL
from webapp.services.funnel_view import indicator_funnels
from webapp.services.indicators import IndicatorConfigError
from webapp.whole_numbers import parse_whole_number


def _level_text() -> dict[str, str]:
    """The levels of target achievement in the staff language."""
    return {
        "high": _("High target achievement"),
        "moderate": _("Moderate target achievement"),
        "low": _("Low target achievement"),
    }


def _overdispersion() -> bool:
    """Whether the funnel limits are widened for overdispersion (``?overdispersion=1``;
    off by default)."""
    return request.args.get("overdispersion") == "1"


def _unit(unit_name: str) -> Unit:
    unit = db.session.scalar(select(Unit).where(Unit.name == unit_name))
    if unit is None:
        abort(404)
    return unit


def _may_see_unit(user: User, unit_name: str) -> bool:
    unit = db.session.scalar(select(Unit).where(Unit.name == unit_name))
    return unit is not None and access.can_view_unit_dashboard(user, unit)


def _may_see_register(user: User, register_name: str) -> bool:
    register = db.session.scalar(select(Register).where(Register.name == register_name))
    return register is not None and access.can_view_register_indicators(user, register)


def _year() -> int | None:
    raw = request.args.get("year", "")
    if not raw:
        return None
    year = parse_whole_number(raw, max_digits=4, signed=False)
    if year is None or not 1900 <= year <= 2999:
        abort(400, description="Indeksåret må være et årstall med fire siffer, for eksempel 2025.")
    return year


def _report(unit_name: str) -> unit_report.UnitReport:
    try:
        return unit_report.unit_report(_unit(unit_name), _year())
    except IndicatorConfigError as exc:
        abort(500, description=str(exc))


@bp.get("/units/<unit_name>/dashboard")
@guarded("unit lead of the unit or register admin", _may_see_unit)
def dashboard(unit_name: str):  # type: ignore[no-untyped-def]
    """Response rates, score distributions, change beyond the MID, indicators, by year."""
    report = _report(unit_name)
    return render_template(
        "clinician/dashboard.html",
        report=report,
        funnels=indicator_funnels(
            report.indicators,
            highlight_unit_id=report.unit.id,
            lang=current_language(),
            overdispersion=_overdispersion(),
        ),
        overdispersion=_overdispersion(),
        min_cell=MIN_CELL,
        level_text=_level_text(),
        may_see_register=access.can_view_register_indicators(g.user, report.register),
    )


@bp.get("/units/<unit_name>/dashboard.csv")
@guarded("unit lead of the unit or register admin", _may_see_unit)
def dashboard_csv(unit_name: str):  # type: ignore[no-untyped-def]
    """The dashboard's numbers as CSV (cells with n < 5 suppressed)."""
    report = _report(unit_name)
    suffix = f"-{report.year}" if report.year else ""
    return Response(
        unit_report.unit_report_csv(report),
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename={unit_name}{suffix}.csv"},
    )


def _register(register_name: str) -> Register:
    register = db.session.scalar(select(Register).where(Register.name == register_name))
    if register is None:
        abort(404)
    return register


@bp.get("/registers/<register_name>/indicators")
@guarded("register admin, or unit lead in the register", _may_see_register)
def indicators(register_name: str):  # type: ignore[no-untyped-def]
    """Quality indicators per unit and year with target levels (as the results portals)."""
    register = _register(register_name)
    try:
        tables, years = unit_report.register_indicators(register)
    except IndicatorConfigError as exc:
        abort(500, description=str(exc))
    return render_template(
        "clinician/indicators.html",
        register=register,
        tables=tables,
        funnels=indicator_funnels(
            tables, lang=current_language(), overdispersion=_overdispersion()
        ),
        overdispersion=_overdispersion(),
        years=years,
        min_cell=MIN_CELL,
        level_text=_level_text(),
    )


@bp.get("/registers/<register_name>/indicators.csv")
@guarded("register admin, or unit lead in the register", _may_see_register)
def indicators_csv(register_name: str):  # type: ignore[no-untyped-def]
    """The indicator tables as CSV (cells with n < 5 suppressed)."""
    register = _register(register_name)
    tables, _ = unit_report.register_indicators(register)
    return Response(
        unit_report.indicators_csv(tables),
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename={register_name}-indicators.csv"},
    )

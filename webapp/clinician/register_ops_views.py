"""Register administration: withdrawing a patient from a register (confirm, then POST),
the register's coverage and PROM completeness page, the monthly unit report (PDF) and
aggregate questions with disclosure control (/clinician/analysis)."""

from __future__ import annotations

from flask import Response, abort, current_app, g, render_template, request
from flask_babel import gettext
from sqlalchemy import select

from webapp.auth import guarded
from webapp.clinician import bp
from webapp.extensions import db
from webapp.models import Enrolment, Patient, Register, Unit, User
from webapp.services import access, analysis, audit, coverage, monthly_report
from webapp.services.dashboard import MIN_CELL
from webapp.services.withdrawal import (
    WithdrawalError,
    erasure_required,
    is_withdrawn,
    withdraw,
)


def withdrawable_registers(user: User, patient_id: int) -> list[Register]:
    """Registers the user administers in which the patient is enrolled and not withdrawn."""
    ids = {r.register_id for r in user.roles if r.role == "register_admin" and r.register_id}
    if not ids:
        return []
    registers = db.session.scalars(
        select(Register)
        .join(Unit, Unit.register_id == Register.id)
        .join(Enrolment, Enrolment.unit_id == Unit.id)
        .where(Register.id.in_(ids), Enrolment.patient_id == patient_id)
        .distinct()
        .order_by(Register.name)
    ).all()
    return [r for r in registers if not is_withdrawn(patient_id, r.id)]


def _may_withdraw(user: User, patient_id: int, register_id: int) -> bool:
    return any(r.id == register_id for r in withdrawable_registers(user, patient_id))


@bp.route("/patients/<int:patient_id>/withdraw/<int:register_id>", methods=["GET", "POST"])
@guarded("register admin of the patient's register", _may_withdraw)
def patient_withdraw(patient_id: int, register_id: int):  # type: ignore[no-untyped-def]
    """Confirmation page (GET) and the withdrawal itself (POST, CSRF, confirmed)."""
    patient = db.session.get(Patient, patient_id)
    register = db.session.get(Register, register_id)
    if patient is None or register is None:
        abort(404)
    required = erasure_required(register)
    error = None
    if request.method == "POST":
        if request.form.get("confirm") != "yes":
            error = gettext("Tick the box that the patient has withdrawn before you confirm.")
        else:
            try:
                result = withdraw(
                    patient,
                    register,
                    erase=required or request.form.get("erase") == "yes",
                    actor_type="user",
                    actor_id=g.user.id,
                    actor_label=g.user.email,
                )
            except WithdrawalError as exc:
                db.session.rollback()
                error = str(exc)
            else:
                db.session.commit()
                return render_template(
                    "admin/withdrawn.html", patient_id=patient_id, register=register, result=result
                )
    return render_template(
        "admin/withdraw.html",
        patient_id=patient_id,
        register=register,
        erasure_required=required,
        error=error,
    ), (400 if error else 200)


def _may_see_coverage(user: User, register_name: str) -> bool:
    register = db.session.scalar(select(Register).where(Register.name == register_name))
    return register is not None and access.can_view_register_indicators(user, register)


@bp.get("/registers/<register_name>/coverage")
@guarded("register admin or unit lead of the register", _may_see_coverage)
def coverage_page(register_name: str):  # type: ignore[no-untyped-def]
    """Coverage against the national patient register and PROM completeness per unit."""
    register = db.session.scalar(select(Register).where(Register.name == register_name))
    return render_template(
        "admin/coverage.html",
        register=register,
        rows=coverage.coverage(register),
        completeness=coverage.completeness(register),
        high=coverage.HIGH,
        moderate=coverage.MODERATE,
        min_cell=MIN_CELL,
    )


def render_month_html(report: monthly_report.MonthlyReport) -> str:
    """The monthly unit report as a standalone HTML document (styles inline, for files
    and PDF; never served as a page)."""
    # the app's Jinja environment without the page context processors (no request here)
    template = current_app.jinja_env.get_template("reports/unit_month.html")
    return template.render(report=report)


def render_month_pdf(report: monthly_report.MonthlyReport) -> bytes:
    """The monthly unit report as PDF (WeasyPrint)."""
    import weasyprint

    return weasyprint.HTML(string=render_month_html(report)).write_pdf()


def _may_see_unit_report(user: User, unit_name: str, month: str) -> bool:
    unit = db.session.scalar(select(Unit).where(Unit.name == unit_name))
    return unit is not None and access.can_view_unit_dashboard(user, unit)


@bp.get("/units/<unit_name>/report/<month>.pdf")
@guarded("unit lead of the unit or register admin", _may_see_unit_report)
def unit_month_report(unit_name: str, month: str):  # type: ignore[no-untyped-def]
    """The monthly report of a unit (the link in the unit lead's monthly e-mail)."""
    unit = db.session.scalar(select(Unit).where(Unit.name == unit_name))
    try:
        report = monthly_report.build(unit, month)
    except monthly_report.MonthError:
        abort(404)
    return Response(
        render_month_pdf(report),
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{unit.name}-{month}.pdf"'},
    )


def _may_analyse(user: User) -> bool:
    return bool(access.register_ids(user, access.EXPORT_ROLES))


@bp.route("/analysis", methods=["GET", "POST"])
@guarded("methodologist or register admin", _may_analyse)
def analysis_page():  # type: ignore[no-untyped-def]
    """Counts, means and quartiles of a score by unit, year, sex, age band: no rows, small
    cells suppressed (also from the margins); every query audited."""
    registers = access.registers(g.user, access.EXPORT_ROLES)
    form = {"instrument": "", "scale": "", "time_point": "", "by": [], "register_id": ""}
    table, error = None, None
    if request.method == "POST":
        form = {
            "register_id": request.form.get("register_id", ""),
            "instrument": request.form.get("instrument", "").strip(),
            "scale": request.form.get("scale", "").strip(),
            "time_point": request.form.get("time_point", "").strip(),
            "by": [b for b in request.form.getlist("by") if b in analysis.DIMENSIONS],
        }
        register = next((r for r in registers if str(r.id) == form["register_id"]), None)
        query = {"instrument": form["instrument"], "scale": form["scale"], "by": form["by"]}
        if form["time_point"]:
            query["time_point"] = form["time_point"]
        if register is None:
            error = gettext("Choose a register.")
        else:
            try:
                table = analysis.analyse(register, query)
            except analysis.AnalysisError as exc:
                error = str(exc)
            else:
                audit.record_by(
                    g.user,
                    "analysis.query",
                    subject=f"register {register.name}",
                    details={
                        "query": table.query,
                        "cells": len(table.cells),
                        "suppressed": sum(c.suppressed for c in table.cells.values()),
                    },
                )
                db.session.commit()
    return render_template(
        "admin/analysis.html",
        registers=registers,
        form=form,
        dimensions=analysis.DIMENSIONS,
        table=table,
        error=error,
        all_label=analysis.ALL,
    ), (400 if error else 200)

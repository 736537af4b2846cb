"""Register administration: withdrawing a patient from a register (confirm, then POST) and
the register's coverage and PROM completeness page."""

from __future__ import annotations

from flask import abort, g, render_template, request
from sqlalchemy import select

from webapp.auth import guarded
from webapp.clinician import bp
from webapp.extensions import db
from webapp.models import Enrolment, Patient, Register, Unit, User
from webapp.services import access, coverage
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
            error = "Kryss av for at pasienten har trukket seg, før du bekrefter."
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

"""The register admin's list of withdrawals from a register, with a lookup by national ID
(posted, never in a URL) that leads to the reinstatement page — the way back for a patient
whose withdrawal erased every enrolment (the patient page is closed then)."""

from __future__ import annotations

from flask import abort, g, redirect, render_template, url_for
from flask_babel import gettext
from sqlalchemy import select

from webapp.auth import guarded
from webapp.clinician import bp
from webapp.clinician.forms import PatientSearchForm
from webapp.extensions import db
from webapp.models import Register, User, Withdrawal
from webapp.services import access, audit
from webapp.services.patients import find_patient
from webapp.services.withdrawal import IN_FORCE


def _register_or_404(name: str) -> Register:
    register = db.session.scalar(select(Register).where(Register.name == name))
    if register is None:
        abort(404)
    return register


def _may_administer(user: User, register_name: str) -> bool:
    register = db.session.scalar(select(Register).where(Register.name == register_name))
    return register is not None and register.id in access.register_ids(user, ("register_admin",))


def _page(register: Register, form: PatientSearchForm, status: int = 200):  # type: ignore[no-untyped-def]
    rows = db.session.scalars(
        select(Withdrawal)
        .where(Withdrawal.register_id == register.id)
        .order_by(Withdrawal.at.desc(), Withdrawal.id.desc())
    ).all()
    in_force = [w for w in rows if w.reinstated_at is None]
    history = [w for w in rows if w.reinstated_at is not None]
    audit.record_by(
        g.user,
        "register.withdrawals.view",
        subject=f"register {register.name}",
        details={"in_force": len(in_force), "reinstated": len(history)},
    )
    db.session.commit()
    return render_template(
        "admin/withdrawals.html",
        register=register,
        search=form,
        in_force=in_force,
        history=history,
    ), status


@bp.route("/registers/<register_name>/withdrawals", methods=["GET", "POST"])
@guarded("register admin of the register", _may_administer)
def register_withdrawals(register_name: str):  # type: ignore[no-untyped-def]
    """Withdrawals in force and undone (patients by internal number); POST: find one
    withdrawn patient by national ID and go to the reinstatement page."""
    register = _register_or_404(register_name)
    form = PatientSearchForm()
    if not form.is_submitted():
        return _page(register, form)
    if not form.validate():
        return _page(register, form, 400)
    patient = find_patient(form.national_id.data)
    withdrawal = None
    if patient is not None:
        withdrawal = db.session.scalar(
            select(Withdrawal).where(
                Withdrawal.patient_id == patient.id,
                Withdrawal.register_id == register.id,
                IN_FORCE,
            )
        )
    audit.record_by(
        g.user,
        "patient.search",
        patient_id=patient.id if withdrawal is not None else None,
        subject=f"withdrawn from {register.name}: {'found' if withdrawal else 'not found'}",
    )
    db.session.commit()
    if withdrawal is None:
        form.national_id.errors = [
            gettext("No patient with this number has withdrawn from this register.")
        ]
        return _page(register, form, 404)
    return redirect(
        url_for("clinician.patient_reinstate", patient_id=patient.id, register_id=register.id),
        code=303,
    )

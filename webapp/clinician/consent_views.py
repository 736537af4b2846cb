"""Consent and contact on the patient page ("Samtykke og kontakt"), for the register
admin of the patient's register: record a consent given or withdrawn (the services the
CLI uses), set or remove the SMS phone number, and undo a withdrawal (reinstate, with a
reason; the CLI's ``reinstate``). Each action is a POST with CSRF token, audited; the
national ID is never shown, logged or audited here."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from flask import abort, g, redirect, render_template, request, url_for
from flask_babel import gettext
from sqlalchemy import or_, select

from webapp.auth import guarded
from webapp.clinician import bp
from webapp.extensions import db
from webapp.models import (
    CONSENT_METHODS,
    Consent,
    Enrolment,
    Patient,
    Register,
    Unit,
    User,
    Withdrawal,
    utcnow,
)
from webapp.services import access, audit, patient_contact
from webapp.services.sms import InvalidPhone
from webapp.services.withdrawal import (
    IN_FORCE,
    MAX_REASON,
    WithdrawalError,
    has_consent,
    is_withdrawn,
    record_consent,
    reinstate,
    withdraw,
)

OSLO_OFFSET_CHECK = dt.timedelta(hours=14)  # no time zone is further ahead of UTC
SAVED = ("consent", "phone", "phone_removed", "reinstated")
MAX_VERSION = 40


@dataclass
class RegisterStatus:
    """One register the user administers, as it concerns the patient."""

    register: Register
    consent_based: bool
    withdrawn: Withdrawal | None
    consent_valid: bool
    consents: list[Consent] = field(default_factory=list)
    history: list[Withdrawal] = field(default_factory=list)  # reinstated withdrawals

    @property
    def last_reinstated(self) -> dt.datetime | None:
        """When the latest reinstatement was recorded (earlier consents ended)."""
        return max((w.reinstated_at for w in self.history if w.reinstated_at), default=None)


@dataclass
class ConsentContact:
    """What the "Samtykke og kontakt" section shows."""

    patient_id: int
    registers: list[RegisterStatus]
    phone_ending: str | None
    may_edit_phone: bool
    saved: str | None = None


def _admin_register_ids(user: User) -> set[int]:
    return {r.register_id for r in user.roles if r.role == "register_admin" and r.register_id}


def managed_registers(user: User, patient_id: int) -> list[Register]:
    """Registers the user administers in which the patient is enrolled or withdrawn."""
    ids = _admin_register_ids(user)
    if not ids:
        return []
    enrolled = (
        select(Unit.register_id)
        .join(Enrolment, Enrolment.unit_id == Unit.id)
        .where(Enrolment.patient_id == patient_id)
    )
    withdrawn = select(Withdrawal.register_id).where(Withdrawal.patient_id == patient_id)
    return list(
        db.session.scalars(
            select(Register)
            .where(Register.id.in_(ids), or_(Register.id.in_(enrolled), Register.id.in_(withdrawn)))
            .order_by(Register.name)
        )
    )


def _may_manage(user: User, patient_id: int, register_id: int) -> bool:
    return any(r.id == register_id for r in managed_registers(user, patient_id))


def _may_edit_phone(user: User, patient_id: int) -> bool:
    ids = _admin_register_ids(user)
    if not ids:
        return False
    found = db.session.scalar(
        select(Enrolment.id)
        .join(Unit, Unit.id == Enrolment.unit_id)
        .where(Enrolment.patient_id == patient_id, Unit.register_id.in_(ids))
        .limit(1)
    )
    return found is not None


def _active_withdrawal(patient_id: int, register_id: int) -> Withdrawal | None:
    return db.session.scalar(
        select(Withdrawal).where(
            Withdrawal.patient_id == patient_id, Withdrawal.register_id == register_id, IN_FORCE
        )
    )


def consent_section(
    user: User, patient: Patient, saved: str | None = None
) -> ConsentContact | None:
    """The section's content for ``user`` (None: the user may change none of it)."""
    registers = managed_registers(user, patient.id)
    may_phone = _may_edit_phone(user, patient.id)
    if not registers and not may_phone:
        return None
    statuses = []
    for register in registers:
        consents = list(
            db.session.scalars(
                select(Consent)
                .where(Consent.patient_id == patient.id, Consent.register_id == register.id)
                .order_by(Consent.recorded_at)
            )
        )
        history = list(
            db.session.scalars(
                select(Withdrawal)
                .where(
                    Withdrawal.patient_id == patient.id,
                    Withdrawal.register_id == register.id,
                    Withdrawal.reinstated_at.is_not(None),
                )
                .order_by(Withdrawal.at)
            )
        )
        statuses.append(
            RegisterStatus(
                register=register,
                consent_based=register.legal_basis == "consent",
                withdrawn=_active_withdrawal(patient.id, register.id),
                consent_valid=has_consent(patient.id, register.id),
                consents=consents,
                history=history,
            )
        )
    return ConsentContact(
        patient_id=patient.id,
        registers=statuses,
        phone_ending=patient_contact.phone_ending(patient) if may_phone else None,
        may_edit_phone=may_phone,
        saved=saved if saved in SAVED else None,
    )


def _day(raw: str | None) -> tuple[dt.datetime | None, str | None]:
    """The form's date as a UTC time (midnight, or now for today), or an error message."""
    text = (raw or "").strip()
    if not text:
        return None, gettext("Give the date (YYYY-MM-DD).")
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        return None, gettext("%(value)s is not a date: write it as YYYY-MM-DD.", value=text[:20])
    now = utcnow()
    # the latest calendar date anywhere is at most 14 h ahead of UTC: today in Norway
    # counts, tomorrow does not
    if day > (now + OSLO_OFFSET_CHECK).date():
        return None, gettext("The date lies in the future.")
    return min(dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC), now), None


def _error_page(patient: Patient, form: str | None, message: str):  # type: ignore[no-untyped-def]
    return render_template(
        "clinician/consent_contact.html",
        cc=consent_section(g.user, patient),
        error_form=form,
        error=message,
        values=request.form,
    ), 400


def _back(patient_id: int, saved: str):  # type: ignore[no-untyped-def]
    return redirect(
        url_for("clinician.patient", patient_id=patient_id, saved=saved) + "#cc-h", code=303
    )


def _patient_and_register(patient_id: int, register_id: int) -> tuple[Patient, Register]:
    patient = db.session.get(Patient, patient_id)
    register = db.session.get(Register, register_id)
    if patient is None or register is None:
        abort(404)
    return patient, register


@bp.post("/patients/<int:patient_id>/registers/<int:register_id>/consent")
@guarded("register admin of the patient's register", _may_manage)
def consent_given(patient_id: int, register_id: int):  # type: ignore[no-untyped-def]
    """Record the patient's consent to a consent-based register (date, method, version)."""
    patient, register = _patient_and_register(patient_id, register_id)
    form = f"consent-{register.id}"
    if register.legal_basis != "consent":
        return _error_page(patient, None, gettext("The register is not consent-based."))
    if is_withdrawn(patient.id, register.id):
        return _error_page(patient, None, gettext("The patient has withdrawn from this register."))
    given_at, error = _day(request.form.get("date"))
    method = request.form.get("method", "")
    version = request.form.get("information_version", "").strip()
    if error is None and method not in CONSENT_METHODS:
        error = gettext("Choose how the patient consented.")
    if error is None and not 0 < len(version) <= MAX_VERSION:
        error = gettext(
            "Give the version of the information text the patient was given (1–%(n)s characters).",
            n=MAX_VERSION,
        )
    if error is not None:
        return _error_page(patient, form, error)
    try:
        consent = record_consent(
            patient, register, given_at=given_at, method=method, information_version=version
        )
    except WithdrawalError as exc:  # checked above; a race with another admin
        db.session.rollback()
        return _error_page(patient, form, str(exc))
    audit.record_by(
        g.user,
        "consent.record",
        patient_id=patient.id,
        subject=f"register {register.name}",
        details={
            "method": consent.method,
            "version": consent.information_version,
            "given_on": given_at.date().isoformat(),
        },
    )
    db.session.commit()
    return _back(patient.id, "consent")


@bp.post("/patients/<int:patient_id>/registers/<int:register_id>/consent-withdrawn")
@guarded("register admin of the patient's register", _may_manage)
def consent_withdrawn(patient_id: int, register_id: int):  # type: ignore[no-untyped-def]
    """Record that the patient withdrew the consent on a date: the withdrawal the CLI's
    ``withdraw`` makes (a consent-based register always erases the answers)."""
    patient, register = _patient_and_register(patient_id, register_id)
    form = f"withdrawn-{register.id}"
    if register.legal_basis != "consent":
        return _error_page(patient, None, gettext("The register is not consent-based."))
    at, error = _day(request.form.get("date"))
    if error is None and request.form.get("confirm") != "yes":
        error = gettext("Tick the box that the patient has withdrawn before you confirm.")
    if error is not None:
        return _error_page(patient, form, error)
    try:
        result = withdraw(
            patient,
            register,
            erase=True,
            actor_type="user",
            actor_id=g.user.id,
            actor_label=g.user.email,
            now=at,
        )
    except WithdrawalError:
        db.session.rollback()
        return _error_page(
            patient,
            None,
            gettext("The patient has already withdrawn from this register, or is not enrolled."),
        )
    db.session.commit()
    # the answers and enrolments are erased: the patient page is closed to the admin now
    return render_template(
        "admin/withdrawn.html", patient_id=patient.id, register=register, result=result
    )


@bp.post("/patients/<int:patient_id>/phone")
@guarded("register admin of the patient's register", _may_edit_phone)
def patient_phone(patient_id: int):  # type: ignore[no-untyped-def]
    """Set (``action=save``) or remove (``action=remove``) the patient's SMS number."""
    patient = db.session.get(Patient, patient_id)
    if patient is None:
        abort(404)
    action = request.form.get("action")
    if action == "remove":
        if not patient_contact.remove_phone(patient):
            return _error_page(patient, "phone", gettext("No phone number is stored."))
        audit.record_by(g.user, "patient.phone.remove", patient_id=patient.id)
        db.session.commit()
        return _back(patient.id, "phone_removed")
    if action != "save":
        return _error_page(patient, "phone", gettext("Choose whether to save or remove."))
    raw = request.form.get("phone", "")
    if not raw.strip():
        return _error_page(patient, "phone", gettext("Write the mobile number."))
    try:
        patient_contact.set_phone(patient, raw)
    except InvalidPhone:
        return _error_page(
            patient,
            "phone",
            gettext(
                "Not a mobile number: write 8 digits (Norwegian number) or + and the country"
                " code, e.g. 912 34 567 or +46 70 123 45 67. Nothing was saved."
            ),
        )
    audit.record_by(g.user, "patient.phone.set", patient_id=patient.id)
    db.session.commit()
    return _back(patient.id, "phone")


@bp.route(
    "/patients/<int:patient_id>/registers/<int:register_id>/reinstate", methods=["GET", "POST"]
)
@guarded("register admin of the patient's register", _may_manage)
def patient_reinstate(patient_id: int, register_id: int):  # type: ignore[no-untyped-def]
    """Undo a withdrawal: the page says what comes back and what does not (GET); the
    reinstatement with its required reason (POST, CSRF)."""
    patient, register = _patient_and_register(patient_id, register_id)
    withdrawal = _active_withdrawal(patient.id, register.id)
    error = None
    if request.method == "POST" and withdrawal is not None:
        reason = " ".join(request.form.get("reason", "").split())
        if not reason:
            error = gettext("Give the reason for the reinstatement.")
        elif len(reason) > MAX_REASON:
            error = gettext("The reason is too long (at most %(n)s characters).", n=MAX_REASON)
        else:
            try:
                result = reinstate(
                    patient,
                    register,
                    reason=reason,
                    actor_type="user",
                    actor_id=g.user.id,
                    actor_label=g.user.email,
                )
            except WithdrawalError:  # another admin was quicker
                db.session.rollback()
                withdrawal = None
            else:
                db.session.commit()
                if access.can_view_patient(g.user, patient.id):
                    return _back(patient.id, "reinstated")
                return render_template(
                    "admin/reinstated.html", patient_id=patient.id, register=register, result=result
                )
    return render_template(
        "admin/reinstate.html",
        patient_id=patient.id,
        register=register,
        withdrawal=withdrawal,
        error=error,
        reason=request.form.get("reason", "") if error else "",
        max_reason=MAX_REASON,
    ), (400 if error or (request.method == "POST" and withdrawal is None) else 200)

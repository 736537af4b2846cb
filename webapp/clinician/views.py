"""Clinician views: sign in and out, second factor, start page, patient lookup and record."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    abort,
    g,
    redirect,
    render_template,
    request,
    url_for,
)

from webapp.auth import clear_session_cookie, guarded, public, set_session_cookie
from webapp.clinician import bp
from webapp.clinician.forms import LoginForm, PatientSearchForm, SecondFactorForm
from webapp.extensions import db
from webapp.models import Patient
from webapp.services import access, audit, auth, patient_record
from webapp.services.patients import find_patient


def _index_page(form: PatientSearchForm, status: int = 200):  # type: ignore[no-untyped-def]
    return render_template(
        "clinician/index.html",
        search=form,
        can_search=bool(access.unit_ids(g.user, access.PATIENT_ROLES)),
        dashboards=patient_record.dashboard_units(g.user),
        indicator_registers=access.registers(g.user, access.DASHBOARD_ROLES),
        export_registers=access.registers(g.user, access.EXPORT_ROLES),
        is_admin=access.has_role(g.user, "sysadmin", "register_admin"),
    ), status


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths are followed after login."""
    if target and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("clinician.index")


@bp.route("/login", methods=["GET", "POST"])
@public("the login form itself")
def login():  # type: ignore[no-untyped-def]
    """E-mail + password; after repeated failures the account is locked for a while."""
    form = LoginForm()
    error = None
    status = 200
    if form.validate_on_submit():
        try:
            user = auth.authenticate(form.email.data, form.password.data)
        except auth.LockedOut:
            user, status = None, 429
            error = "For mange mislykkede forsøk. Vent 15 minutter og prøv igjen."
        if user is not None:
            token = auth.start_session(user, request.remote_addr)
            audit.record_by(user, "user.login")
            db.session.commit()
            target = (
                url_for("clinician.second_factor")
                if user.totp_secret
                else _safe_next(request.args.get("next"))
            )
            return set_session_cookie(redirect(target), token)
        if error is None:
            error, status = "Feil e-post eller passord.", 401
    elif request.method == "POST":
        status = 400
    return render_template("clinician/login.html", form=form, error=error), status


@bp.route("/second-factor", methods=["GET", "POST"])
@public("needs a session that passed the password step")
def second_factor():  # type: ignore[no-untyped-def]
    """Ask for the TOTP code of a user who has a second factor."""
    info = auth.load_session(request.cookies.get("openprom_session"))
    if info is None:
        return redirect(url_for("clinician.login"))
    if not info.needs_second_factor:
        return redirect(url_for("clinician.index"))
    form = SecondFactorForm()
    error = None
    if form.validate_on_submit():
        if auth.verify_second_factor(info, form.code.data):
            return redirect(url_for("clinician.index"))
        error = "Koden stemmer ikke. Prøv den nyeste koden i appen."
    return render_template("clinician/second_factor.html", form=form, error=error)


@bp.post("/logout")
@public("ends whatever session the cookie names")
def logout():  # type: ignore[no-untyped-def]
    """End the session on the server and remove the cookie."""
    auth.end_session(request.cookies.get("openprom_session"))
    return clear_session_cookie(redirect(url_for("clinician.login")))


@bp.get("/")
@guarded("signed in")
def index():  # type: ignore[no-untyped-def]
    """What the signed-in user can do."""
    return _index_page(PatientSearchForm())


@bp.post("/patients/search")
@guarded("patient roles", lambda user: bool(access.unit_ids(user, access.PATIENT_ROLES)))
def search():  # type: ignore[no-untyped-def]
    """Look up by national ID (posted; the result page uses the internal id only)."""
    form = PatientSearchForm()
    if not form.validate_on_submit():
        return _index_page(form, 400)
    patient = find_patient(form.national_id.data)
    found = patient is not None and access.can_view_patient(g.user, patient.id)
    audit.record_by(
        g.user,
        "patient.search",
        patient_id=patient.id if found else None,
        subject="found" if found else "not found or not permitted",
    )
    db.session.commit()
    if not found:
        form.national_id.errors = ["Fant ingen pasient med dette nummeret i dine enheter."]
        return _index_page(form, 404)
    return redirect(url_for("clinician.patient", patient_id=patient.id))


def _patient_or_404(patient_id: int) -> Patient:
    patient = db.session.get(Patient, patient_id)
    if patient is None or not access.can_view_patient(g.user, patient_id):
        abort(404)
    return patient


def _record_page(patient_id: int, action: str, printable: bool):  # type: ignore[no-untyped-def]
    """The patient page (or its printable version), audited as ``action``."""
    p = _patient_or_404(patient_id)
    record = patient_record.build(p, access.unit_ids(g.user, access.PATIENT_ROLES))
    audit.record_by(g.user, action, patient_id=p.id)
    db.session.commit()
    return render_template("clinician/patient.html", record=record, printable=printable)


@bp.get("/patients/<int:patient_id>")
@guarded("patient of own unit", lambda user, patient_id: access.can_view_patient(user, patient_id))
def patient(patient_id: int):  # type: ignore[no-untyped-def]
    """Time points, scores over time with MID, raw answers."""
    return _record_page(patient_id, "patient.view", printable=False)


@bp.get("/patients/<int:patient_id>/summary")
@guarded("patient of own unit", lambda user, patient_id: access.can_view_patient(user, patient_id))
def patient_summary(patient_id: int):  # type: ignore[no-untyped-def]
    """Printable one-page summary for the patient record."""
    return _record_page(patient_id, "patient.print", printable=True)

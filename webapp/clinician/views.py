"""Clinician views: sign in and out, second factor, start page, patient lookup and record."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import (
    abort,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from webapp.auth import COOKIE, clear_session_cookie, guarded, public, set_session_cookie
from webapp.clinician import bp
from webapp.clinician.forms import LoginForm, PatientSearchForm, SecondFactorForm
from webapp.extensions import db
from webapp.i18n import current_language, long_date
from webapp.models import Patient
from webapp.services import access, audit, auth, patient_record, security_events
from webapp.services.patients import find_patient


def _index_page(form: PatientSearchForm, status: int = 200):  # type: ignore[no-untyped-def]
    return render_template(
        "clinician/index.html",
        search=form,
        can_search=bool(access.unit_ids(g.user, access.PATIENT_ROLES)),
        dashboards=patient_record.dashboard_units(g.user),
        indicator_registers=access.registers(g.user, access.DASHBOARD_ROLES),
        export_registers=access.registers(g.user, access.EXPORT_ROLES),
        withdrawal_registers=access.registers(g.user, ("register_admin",)),
        is_admin=access.has_role(g.user, "sysadmin", "register_admin"),
    ), status


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths are followed after login."""
    if target and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("clinician.index")


WRONG_LOGIN = _l("Wrong e-mail or password.")
OSLO = ZoneInfo("Europe/Oslo")  # the printing date is the date in Norway


def _wait_text(seconds: int) -> str:
    if seconds < 120:
        return _("%(n)s seconds", n=seconds)
    return _("%(n)s minutes", n=(seconds + 59) // 60)


@bp.route("/login", methods=["GET", "POST"])
@public("the login form itself")
def login():  # type: ignore[no-untyped-def]
    """E-mail + password; repeated failures from an address slow that address down.

    A disabled account and one waiting for approval get the same answer as a wrong
    password.
    """
    form = LoginForm()
    error = None
    status = 200
    if form.validate_on_submit():
        email = form.email.data
        try:
            result = auth.authenticate(email, form.password.data, request.remote_addr)
        except auth.LockedOut as exc:
            security_events.record(
                "login.throttled",
                email=email,
                outcome="blocked",
                details={"retry_after": exc.retry_after},
            )
            db.session.commit()
            error = _(
                "Too many failed attempts from this address. Wait %(wait)s and try again.",
                wait=_wait_text(exc.retry_after),
            )
            response = render_template("clinician/login.html", form=form, error=error)
            return response, 429, {"Retry-After": str(exc.retry_after)}
        user = result.user
        if user is not None:
            # a session this browser held before (any account) ends: new login, new token
            auth.end_session(request.cookies.get(COOKIE))
            token = auth.start_session(user, request.remote_addr)
            second = auth.has_totp(user)
            security_events.record(
                "login.password_ok" if second else "login.success",
                user_id=user.id,
                email=user.email,
                outcome="success",
            )
            db.session.commit()
            target = (
                url_for("clinician.second_factor")
                if second
                else _safe_next(request.args.get("next"))
            )
            return set_session_cookie(redirect(target), token)
        security_events.record(
            "login.failed",
            user_id=result.account_id,
            email=email if result.account_id else None,
            details={"reason": result.reason},
        )
        db.session.commit()
        error, status = str(WRONG_LOGIN), 401
    elif request.method == "POST":
        status = 400
    return render_template("clinician/login.html", form=form, error=error), status


@bp.route("/second-factor", methods=["GET", "POST"])
@public("needs a session that passed the password step")
def second_factor():  # type: ignore[no-untyped-def]
    """Ask for the TOTP code of a user who has a second factor.

    Wrong codes slow the account's second factor down (never its password step); the
    fifth wrong code in a session ends it (back to the password).
    """
    info = auth.load_session(request.cookies.get(COOKIE))
    if info is None:
        return redirect(url_for("clinician.login"))
    if not info.needs_second_factor:
        return redirect(url_for("clinician.index"))
    form = SecondFactorForm()
    error = None
    status = 200
    if form.validate_on_submit():
        user = info.user
        try:
            result = auth.verify_second_factor(info, form.code.data)
        except auth.LockedOut as exc:
            security_events.record(
                "totp.throttled",
                user_id=user.id,
                email=user.email,
                outcome="blocked",
                details={"retry_after": exc.retry_after},
            )
            db.session.commit()
            error = _(
                "Too many attempts. Wait %(wait)s and try again.", wait=_wait_text(exc.retry_after)
            )
            response = render_template("clinician/second_factor.html", form=form, error=error)
            return response, 429, {"Retry-After": str(exc.retry_after)}
        if result.ok:
            # fully signed in: a new token, the one from the password step ends
            auth.end_session(request.cookies.get(COOKIE))
            token = auth.start_session(user, request.remote_addr, second_factor_ok=True)
            security_events.record(
                "login.success",
                user_id=user.id,
                email=user.email,
                outcome="success",
                details={"second_factor": True},
            )
            db.session.commit()
            return set_session_cookie(redirect(url_for("clinician.index")), token)
        security_events.record(
            "totp.failed",
            user_id=user.id,
            email=user.email,
            details={"replay": result.replay, "wrong_in_session": result.wrong_in_session},
        )
        if result.session_revoked:
            security_events.record(
                "totp.session_revoked", user_id=user.id, email=user.email, outcome="blocked"
            )
        db.session.commit()
        if result.session_revoked:
            page = render_template(
                "clinician/login.html",
                form=LoginForm(formdata=None),
                error=_("Too many wrong codes. Sign in again."),
            )
            return clear_session_cookie(make_response(page, 401))
        error, status = _("The code does not match. Try the newest code in the app."), 401
    elif request.method == "POST":
        status = 400
    return render_template("clinician/second_factor.html", form=form, error=error), status


@bp.post("/logout")
@public("ends whatever session the cookie names")
def logout():  # type: ignore[no-untyped-def]
    """End the session on the server and remove the cookie."""
    ended = auth.end_session(request.cookies.get(COOKIE))
    if ended is not None:
        security_events.record(
            "logout", user_id=ended.user_id, email=ended.user.email, outcome="success"
        )
        db.session.commit()
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
        form.national_id.errors = [_("No patient with this number was found at your units.")]
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
    lang = current_language()
    record = patient_record.build(p, access.unit_ids(g.user, access.PATIENT_ROLES), lang=lang)
    audit.record_by(g.user, action, patient_id=p.id)
    db.session.commit()
    return render_template(
        "clinician/patient.html",
        record=record,
        printable=printable,
        printed_on=long_date(dt.datetime.now(OSLO), lang),
        withdrawable=[] if printable else withdrawable_registers(g.user, p.id),
        cc=None if printable else consent_section(g.user, p, request.args.get("saved")),
    )


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


# register administration of a patient (withdrawal): its routes live in their own module
from webapp.clinician.consent_views import consent_section  # noqa: E402
from webapp.clinician.register_ops_views import withdrawable_registers  # noqa: E402

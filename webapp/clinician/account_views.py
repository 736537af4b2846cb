"""A signed-in user's own account: change the password, turn the second factor on or off."""

from __future__ import annotations

import base64

from flask import current_app, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from webapp.auth import guarded, set_session_cookie
from webapp.clinician import bp
from webapp.clinician.forms import (
    TOTP_SECRET,
    PasswordChangeForm,
    TotpDisableForm,
    TotpEnableForm,
)
from webapp.extensions import db
from webapp.services import auth, security_events


def _qr_data_uri(uri: str) -> str:
    """The otpauth URI as an SVG QR code in a data: URI (no inline SVG styles: CSP)."""
    import qrcode
    import qrcode.image.svg

    svg = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8).to_string()
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode()


def _render(status: int = 200, **forms):  # type: ignore[no-untyped-def]
    password = forms.get("password") or PasswordChangeForm(prefix="pw")
    enable = forms.get("enable") or TotpEnableForm(prefix="totp")
    disable = forms.get("disable") or TotpDisableForm(prefix="off")
    secret = enable.secret.data or ""
    if not TOTP_SECRET.fullmatch(secret):  # posted back: only a well-formed secret is kept
        secret = auth.new_totp_secret()
    enable.secret.data = secret
    return render_template(
        "clinician/account.html",
        password=password,
        enable=enable,
        disable=disable,
        secret=secret,
        has_totp=auth.has_totp(g.user),
        totp_required=bool(current_app.config.get("OPENPROM_REQUIRE_SECOND_FACTOR")),
        qr=_qr_data_uri(auth.totp_uri(g.user, secret)),
        message=forms.get("message"),
    ), status


def _event(event: str, outcome: str = "success") -> None:
    security_events.record(event, user_id=g.user.id, email=g.user.email, outcome=outcome)


def _password_attempt():  # type: ignore[no-untyped-def]
    """Count a check of the current password like a login attempt (None, or a 429 page)."""
    try:
        auth.take_attempt(auth.login_key(g.user.email, request.remote_addr))
    except auth.LockedOut:
        _event("password.throttled", "blocked")
        db.session.commit()
        return _render(429, message=_("Too many attempts. Wait a little and try again."))
    return None


@bp.route("/account", methods=["GET", "POST"])
@guarded("signed in")
def account():  # type: ignore[no-untyped-def]
    """Password change and TOTP on or off (each ends every other session of the user).

    Every change and every wrong current password is a security event.
    """
    if request.method == "GET":
        return _render()
    action = request.form.get("action")
    if action == "password":
        form = PasswordChangeForm(prefix="pw")
        if not form.validate():
            return _render(400, password=form)
        refused = _password_attempt()
        if refused is not None:
            return refused
        forced = g.user.must_change_password
        try:
            auth.change_password(g.user, form.current.data, form.new.data)
        except ValueError as exc:
            _event("password.change_failed", "failure")
            db.session.commit()
            field = form.new if isinstance(exc, auth.PasswordRefused) else form.current
            field.errors = [str(exc)]
            return _render(400, password=form)
        auth.forget_attempts(auth.login_key(g.user.email, request.remote_addr))
        security_events.record(
            "password.changed",
            user_id=g.user.id,
            email=g.user.email,
            outcome="success",
            details={"forced": forced},
        )
        db.session.commit()
        # this browser stays in (it passed the second factor already)
        token = auth.start_session(g.user, request.remote_addr, second_factor_ok=True)
        return set_session_cookie(redirect(url_for("clinician.account", done="password")), token)
    if action == "totp-on":
        form = TotpEnableForm(prefix="totp")
        if not form.validate() or not auth.enable_totp(g.user, form.secret.data, form.code.data):
            _event("totp.enable_failed", "failure")
            db.session.commit()
            form.code.errors = [_("The code does not match. Type in the code the app shows now.")]
            return _render(400, enable=form)
        auth.revoke_all(g.user, keep=g.user_session)  # a new factor: other browsers sign in again
        _event("totp.enabled")
        db.session.commit()
        return redirect(url_for("clinician.account", done="totp-on"))
    if action == "totp-off":
        form = TotpDisableForm(prefix="off")
        if form.validate():
            refused = _password_attempt()
            if refused is not None:
                return refused
        if not form.validate() or not auth.disable_totp(g.user, form.password.data):
            _event("totp.disable_failed", "failure")
            db.session.commit()
            form.password.errors = [_("The password does not match.")]
            return _render(400, disable=form)
        auth.forget_attempts(auth.login_key(g.user.email, request.remote_addr))
        auth.revoke_all(g.user, keep=g.user_session)  # this browser stays in, no other does
        _event("totp.disabled")
        db.session.commit()
        return redirect(url_for("clinician.account", done="totp-off"))
    return _render(400, message=_("Unknown action."))

"""A signed-in user's own account: change the password, turn the second factor on or off."""

from __future__ import annotations

import base64

from flask import g, redirect, render_template, request, url_for

from webapp.auth import guarded, set_session_cookie
from webapp.clinician import bp
from webapp.clinician.forms import PasswordChangeForm, TotpDisableForm, TotpEnableForm
from webapp.extensions import db
from webapp.services import audit, auth


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
    secret = enable.secret.data or auth.new_totp_secret()
    enable.secret.data = secret
    return render_template(
        "clinician/account.html",
        password=password,
        enable=enable,
        disable=disable,
        secret=secret,
        qr=_qr_data_uri(auth.totp_uri(g.user, secret)),
        message=forms.get("message"),
    ), status


def _audit(action: str) -> None:
    audit.record_by(g.user, action)


@bp.route("/account", methods=["GET", "POST"])
@guarded("signed in")
def account():  # type: ignore[no-untyped-def]
    """Password change (ends every other session) and TOTP set-up."""
    if request.method == "GET":
        return _render()
    action = request.form.get("action")
    if action == "password":
        form = PasswordChangeForm(prefix="pw")
        if not form.validate():
            return _render(400, password=form)
        try:
            auth.change_password(g.user, form.current.data, form.new.data)
        except ValueError as exc:
            form.current.errors = [str(exc)]
            return _render(400, password=form)
        _audit("user.password")
        db.session.commit()
        token = auth.start_session(g.user, request.remote_addr)  # this browser stays in
        return set_session_cookie(redirect(url_for("clinician.account", done="password")), token)
    if action == "totp-on":
        form = TotpEnableForm(prefix="totp")
        if not form.validate() or not auth.enable_totp(g.user, form.secret.data, form.code.data):
            form.code.errors = ["Koden stemmer ikke. Skriv inn koden appen viser nå."]
            return _render(400, enable=form)
        _audit("user.totp_on")
        db.session.commit()
        return redirect(url_for("clinician.account", done="totp-on"))
    if action == "totp-off":
        form = TotpDisableForm(prefix="off")
        if not form.validate() or not auth.disable_totp(g.user, form.password.data):
            form.password.errors = ["Passordet stemmer ikke."]
            return _render(400, disable=form)
        _audit("user.totp_off")
        db.session.commit()
        return redirect(url_for("clinician.account", done="totp-off"))
    return _render(400, message="Ukjent handling.")

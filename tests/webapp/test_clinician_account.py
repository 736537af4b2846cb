"""A user's own account page: password change ends other sessions, TOTP set-up."""

from __future__ import annotations

import re

import pyotp

from webapp.extensions import db
from webapp.models import AuditEvent, User
from webapp.services import auth

PASSWORD = "correct horse battery staple"


def _secret(html: str) -> str:
    return re.search(r'name="totp-secret" type="hidden" value="([A-Z2-7]+)"', html).group(1)


def test_password_change(app, world, login_as):
    other = app.test_client()
    other.set_cookie("openprom_session", login_as("clinician").get_cookie("openprom_session").value)
    client = app.test_client()
    client.set_cookie(
        "openprom_session", login_as("clinician").get_cookie("openprom_session").value
    )
    wrong = client.post(
        "/clinician/account",
        data={
            "action": "password",
            "pw-current": "not it at all",
            "pw-new": "a new long passphrase",
            "pw-repeat": "a new long passphrase",
        },
    )
    assert wrong.status_code == 400 and "Nåværende passord stemmer ikke" in wrong.text
    short = client.post(
        "/clinician/account",
        data={
            "action": "password",
            "pw-current": PASSWORD,
            "pw-new": "short",
            "pw-repeat": "short",
        },
    )
    assert short.status_code == 400 and "minst 12" in short.text
    differ = client.post(
        "/clinician/account",
        data={
            "action": "password",
            "pw-current": PASSWORD,
            "pw-new": "a new long passphrase",
            "pw-repeat": "another long passphrase",
        },
    )
    assert differ.status_code == 400 and "Passordene er ikke like" in differ.text
    ok = client.post(
        "/clinician/account",
        data={
            "action": "password",
            "pw-current": PASSWORD,
            "pw-new": "a new long passphrase",
            "pw-repeat": "a new long passphrase",
        },
    )
    assert ok.status_code == 302
    assert client.get("/clinician/account?done=password").status_code == 200  # still in
    assert other.get("/clinician/").status_code == 302  # the other session ended
    login = app.test_client().post(
        "/clinician/login", data={"email": "clin@a1.test", "password": "a new long passphrase"}
    )
    assert login.status_code == 302
    with app.app_context():
        changed = db.session.query(AuditEvent).filter_by(action="security.password.changed")
        assert changed.count() == 1


def test_totp_on_and_off(app, world, login_as):
    client = login_as("clinician")
    page = client.get("/clinician/account")
    assert page.status_code == 200 and 'src="data:image/svg+xml;base64,' in page.text
    secret = _secret(page.text)
    bad = client.post(
        "/clinician/account",
        data={"action": "totp-on", "totp-secret": secret, "totp-code": "000000"},
    )
    assert bad.status_code == 400 and "Koden stemmer ikke" in bad.text
    assert _secret(bad.text) == secret  # the same secret is offered again
    good = client.post(
        "/clinician/account",
        data={"action": "totp-on", "totp-secret": secret, "totp-code": pyotp.TOTP(secret).now()},
    )
    assert good.status_code == 302
    with app.app_context():
        user = db.session.get(User, world.users["clinician"])
        assert auth.totp_secret_of(user) == secret and user.totp_secret is None
    fresh = app.test_client()
    step = fresh.post("/clinician/login", data={"email": "clin@a1.test", "password": PASSWORD})
    assert step.headers["Location"].endswith("/clinician/second-factor")
    off_bad = client.post(
        "/clinician/account", data={"action": "totp-off", "off-password": "wrong"}
    )
    assert off_bad.status_code == 400 and "Passordet stemmer ikke" in off_bad.text
    off = client.post("/clinician/account", data={"action": "totp-off", "off-password": PASSWORD})
    assert off.status_code == 302
    with app.app_context():
        user = db.session.get(User, world.users["clinician"])
        assert not auth.has_totp(user) and user.totp_secret_encrypted is None

"""Clinician login: argon2id, lockout, revocable server-side sessions, TOTP, cookie flags."""

from __future__ import annotations

import pyotp
import sqlalchemy as sa

from webapp.extensions import db
from webapp.models import AuditEvent, User, UserSession
from webapp.services import auth

PASSWORD = "correct horse battery staple"


def _login(client, email, password=PASSWORD):
    return client.post("/clinician/login", data={"email": email, "password": password})


def test_login_sets_hardened_cookie_and_opens_start_page(app, client, world):
    app.config["SESSION_COOKIE_SECURE"] = True
    response = _login(client, "clin@a1.test")
    assert response.status_code == 302
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if "openprom_session" in h)
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" in cookie
    app.config["SESSION_COOKIE_SECURE"] = False
    client2 = app.test_client()
    _login(client2, "clin@a1.test")
    page = client2.get("/clinician/")
    assert page.status_code == 200 and "Finn pasient" in page.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(AuditEvent.action)) == "security.login.success"
        stored = db.session.scalar(sa.select(UserSession.token_hash))
        assert len(stored) == 64 and stored not in cookie  # only the hash is stored


def test_wrong_password_and_unknown_user_look_the_same(client, world):
    a = _login(client, "clin@a1.test", "wrong password!")
    b = _login(client, "nobody-here@x.test", "wrong password!")
    assert a.status_code == b.status_code == 401
    assert "Feil e-post eller passord." in a.get_data(as_text=True)
    body_a = a.get_data(as_text=True).replace("clin@a1.test", "EMAIL")
    body_b = b.get_data(as_text=True).replace("nobody-here@x.test", "EMAIL")
    assert body_a == body_b


def test_lockout_after_repeated_failures_even_with_right_password(client, world):
    for _ in range(auth.MAX_FAILURES):
        assert _login(client, "clin@a1.test", "wrong password!").status_code == 401
    locked = _login(client, "clin@a1.test")
    assert locked.status_code == 429
    assert "For mange" in locked.get_data(as_text=True)


def test_anonymous_is_sent_to_login(client, world):
    response = client.get("/clinician/")
    assert response.status_code == 302 and "/clinician/login" in response.headers["Location"]


def test_logout_revokes_the_session_on_the_server(app, client, world):
    _login(client, "clin@a1.test")
    token = client.get_cookie("openprom_session").value
    client.post("/clinician/logout")
    replay = app.test_client()
    replay.set_cookie("openprom_session", token)
    assert replay.get("/clinician/").status_code == 302


def test_password_change_and_disabling_end_every_session(app, world, login_as):
    c = login_as("clinician")
    assert c.get("/clinician/").status_code == 200
    with app.app_context():
        user = db.session.get(User, world.users["clinician"])
        auth.set_password(user, "a brand new long passphrase")
        db.session.commit()
    assert c.get("/clinician/").status_code == 302
    c2 = login_as("unit_lead")
    with app.app_context():
        auth.set_active(db.session.get(User, world.users["unit_lead"]), False)
        db.session.commit()
    assert c2.get("/clinician/").status_code == 302


def test_totp_second_factor(app, client, world):
    secret = pyotp.random_base32()
    with app.app_context():
        db.session.get(User, world.users["clinician"]).totp_secret = secret
        db.session.commit()
    response = _login(client, "clin@a1.test")
    assert response.headers["Location"].endswith("/clinician/second-factor")
    assert client.get("/clinician/").status_code == 302  # not in before the code
    bad = client.post("/clinician/second-factor", data={"code": "000000"})
    assert "Koden stemmer ikke" in bad.get_data(as_text=True)
    ok = client.post("/clinician/second-factor", data={"code": pyotp.TOTP(secret).now()})
    assert ok.status_code == 302
    assert client.get("/clinician/").status_code == 200


def test_open_redirect_is_refused(client, world):
    response = client.post(
        "/clinician/login?next=//evil.example/x",
        data={"email": "clin@a1.test", "password": PASSWORD},
    )
    assert response.headers["Location"] == "/clinician/"

"""Session cookie verified once per process, CSRF token signed once per session: neither
cache accepts anything the plain Flask / Flask-WTF checks would refuse."""

from __future__ import annotations

import datetime as dt

from tests.conftest import make_app
from tests.webapp import patient_support as support
from webapp import signed_tokens
from webapp.extensions import db
from webapp.models import PageSubmission


def _started_app(tmp_path, **config):  # type: ignore[no-untyped-def]
    """An app with CSRF on, one patient who chose "self"; returns (app, client, token)."""
    app = make_app(f"sqlite:///{tmp_path / 'signed.sqlite'}", tmp_path / "inst", **config)
    enrolled = support.setup_world(app)
    client = app.test_client()
    start = client.get(f"/s/{enrolled.token}/start")
    chosen = client.post(
        f"/s/{enrolled.token}/start",
        data={"mode": "self", "csrf_token": support.csrf_from(start.text)},
    )
    assert chosen.status_code == 302
    return app, client, enrolled.token


def _saves(app) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        return db.session.query(PageSubmission).count()


def _post(client, url: str, csrf: str, answer: str = "1"):  # type: ignore[no-untyped-def]
    return client.post(url, data={"MO": answer, "csrf_token": csrf, "idem": "ab" * 16})


def test_csrf_token_is_signed_once_per_session_and_still_checked(tmp_path):
    app, client, token = _started_app(tmp_path)
    url = f"/s/{token}/q/eq5d5l/0"
    first = support.csrf_from(client.get(url).text)
    assert support.csrf_from(client.get(url).text) == first  # the same signed token
    other = app.test_client()  # another browser: another session, another token
    other_start = other.get(f"/s/{token}/start")
    assert support.csrf_from(other_start.text) != first
    assert _post(other, url, first).status_code == 400  # bound to the first session
    assert _saves(app) == 0
    assert _post(client, url, first).status_code == 302
    assert _saves(app) == 1
    with app.app_context():
        db.engine.dispose()


def test_a_forged_cookie_is_refused_after_the_real_one_was_accepted(tmp_path):
    app, client, token = _started_app(tmp_path)
    url = f"/s/{token}/q/eq5d5l/0"
    csrf = support.csrf_from(client.get(url).text)  # the real cookie is verified and kept
    real = client.get_cookie("session").value
    forged = real[:-2] + ("AA" if real[-2:] != "AA" else "BB")  # another signature
    client.set_cookie("session", forged)
    assert _post(client, url, csrf).status_code == 400  # no session: the token is unbound
    assert _saves(app) == 0
    client.set_cookie("session", real)
    assert _post(client, url, csrf).status_code == 302
    with app.app_context():
        db.engine.dispose()


def test_a_kept_cookie_expires_with_the_session_lifetime(tmp_path, monkeypatch):
    lifetime = dt.timedelta(minutes=10)
    app, client, token = _started_app(tmp_path, PERMANENT_SESSION_LIFETIME=lifetime)
    url = f"/s/{token}/q/eq5d5l/0"
    csrf = support.csrf_from(client.get(url).text)
    now = signed_tokens.time.time()
    monkeypatch.setattr(signed_tokens.time, "time", lambda: now + lifetime.total_seconds() + 5)
    assert _post(client, url, csrf).status_code == 400  # kept, but too old: refused
    assert _saves(app) == 0
    monkeypatch.undo()
    with app.app_context():
        db.engine.dispose()


def test_with_a_csrf_time_limit_tokens_are_signed_per_request(tmp_path, monkeypatch):
    signed: list[str] = []
    original = signed_tokens.generate_csrf

    def counting() -> str:  # type: ignore[no-untyped-def]
        signed.append(original())
        return signed[-1]

    monkeypatch.setattr(signed_tokens, "generate_csrf", counting)
    app, client, token = _started_app(tmp_path, WTF_CSRF_TIME_LIMIT=3600)
    url = f"/s/{token}/q/eq5d5l/0"
    client.get(url)
    client.get(url)
    assert signed == []  # not reused: Flask-WTF signs a fresh, time-limited token each time
    with app.app_context():
        db.engine.dispose()

"""Guessing invitation tokens: counted in the database, valid links never throttled,
client addresses taken from trusted proxies only (``OPENPROM_TRUSTED_PROXIES``)."""

from __future__ import annotations

import datetime as dt
import json
import logging

import pytest

from tests.conftest import make_app
from tests.webapp import patient_support as support
from webapp.config import ConfigError
from webapp.extensions import db
from webapp.models import AttemptCounter, AuditEvent
from webapp.services import invitations

GUESSER = "203.0.113.7"


def _client(app, address: str):  # type: ignore[no-untyped-def]
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_a_guesser_is_blocked_after_the_limit_with_one_security_event(app, caplog):
    support.setup_world(app)
    app.config["OPENPROM_TOKEN_MAX_FAILURES"] = 5
    guesser = _client(app, GUESSER)
    with caplog.at_level(logging.WARNING, logger="openprom.security"):
        statuses = [guesser.get(f"/s/guess{i:019d}").status_code for i in range(8)]
    assert statuses == [404] * 5 + [429] * 3
    blocked = guesser.get("/s/guess-again-000000000000")
    assert blocked.status_code == 429 and "Denne lenken virker ikke" in blocked.text
    assert 0 < int(blocked.headers["Retry-After"]) <= 900
    with app.app_context():
        counter = db.session.query(AttemptCounter).one()
        assert (counter.key, counter.count) == (f"token:{GUESSER}", 9)
        assert counter.last_at is not None
        events = db.session.query(AuditEvent).filter_by(action="security.token.blocked").all()
        assert len(events) == 1 and events[0].ip == GUESSER  # once per window, not per try
    lines = [json.loads(r.getMessage()) for r in caplog.records if "token.blocked" in r.message]
    assert len(lines) == 1 and lines[0]["ip"] == GUESSER
    assert not any("guess" in r.getMessage() for r in caplog.records)  # no token in the log


def test_a_patient_with_a_valid_link_keeps_working_while_their_address_is_blocked(app):
    enrolled = support.setup_world(app)
    app.config["OPENPROM_TOKEN_MAX_FAILURES"] = 3
    shared_address = _client(app, GUESSER)  # carrier-grade NAT: one address, many people
    for i in range(10):
        shared_address.get(f"/s/guess{i:019d}")
    with app.app_context():
        assert invitations.is_blocked(GUESSER)
    patient = _client(app, GUESSER)
    assert patient.get(f"/s/{enrolled.token}").status_code == 302
    assert patient.post(f"/s/{enrolled.token}/start", data={"mode": "self"}).status_code == 302
    page = patient.get(f"/s/{enrolled.token}/q/eq5d5l/0")
    assert page.status_code == 200
    saved = patient.post(
        f"/s/{enrolled.token}/q/eq5d5l/0", data={"MO": "1", "idem": support.idem_from(page.text)}
    )
    assert saved.status_code == 302 and saved.headers["Location"].endswith("/q/eq5d5l/1")
    with app.app_context():  # valid requests never touch the counter
        assert db.session.query(AttemptCounter).one().count == 10


def test_the_window_ends_and_the_count_starts_again(app):
    support.setup_world(app)
    app.config.update(OPENPROM_TOKEN_MAX_FAILURES=2, OPENPROM_TOKEN_FAILURE_WINDOW=60)
    now = dt.datetime(2030, 1, 1, 12, 0, 30, tzinfo=dt.UTC)
    with app.test_request_context(environ_base={"REMOTE_ADDR": GUESSER}):
        assert [invitations.count_failure(GUESSER, now) for _ in range(3)] == [
            False,
            False,
            True,
        ]
        assert invitations.retry_after(now) == 30
        assert invitations.count_failure(GUESSER, now + dt.timedelta(seconds=30)) is False
        assert not invitations.is_blocked(GUESSER, now + dt.timedelta(seconds=31))


def test_limit_and_window_come_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENPROM_TOKEN_MAX_FAILURES", "2")
    monkeypatch.setenv("OPENPROM_TOKEN_FAILURE_WINDOW", "3600")
    app = make_app(f"sqlite:///{tmp_path / 'e.sqlite'}", tmp_path / "inst")
    assert app.config["OPENPROM_TOKEN_MAX_FAILURES"] == 2
    assert app.config["OPENPROM_TOKEN_FAILURE_WINDOW"] == 3600
    support.setup_world(app)
    guesser = _client(app, GUESSER)
    assert [guesser.get(f"/s/guess{i:019d}").status_code for i in range(3)] == [404, 404, 429]
    assert 0 < int(guesser.get("/s/guess-more").headers["Retry-After"]) <= 3600
    with app.app_context():
        db.engine.dispose()


@pytest.mark.parametrize("name", ["OPENPROM_TOKEN_MAX_FAILURES", "OPENPROM_TRUSTED_PROXIES"])
def test_bad_numbers_in_the_environment_are_refused(tmp_path, monkeypatch, name):
    monkeypatch.setenv(name, "many")
    with pytest.raises(ConfigError, match=name):
        make_app(f"sqlite:///{tmp_path / 'e.sqlite'}", tmp_path / "inst")


def _proxied_app(tmp_path, monkeypatch, hops: str):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("OPENPROM_TRUSTED_PROXIES", hops)
    app = make_app(f"sqlite:///{tmp_path / 'p.sqlite'}", tmp_path / "inst", TESTING=True)

    @app.get("/_whoami")
    def whoami():  # type: ignore[no-untyped-def]
        from flask import request

        return {"addr": request.remote_addr, "scheme": request.scheme, "host": request.host}

    return app


FORWARDED = {
    "X-Forwarded-For": "198.51.100.1, 192.0.2.60",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "prom.example.no",
}


def test_behind_one_trusted_proxy_the_client_address_and_https_come_from_its_headers(
    tmp_path, monkeypatch
):
    app = _proxied_app(tmp_path, monkeypatch, "1")
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "127.0.0.1"  # nginx on the same host
    seen = client.get("/_whoami", headers=FORWARDED).json
    # one hop trusted: the address nginx saw (the last one), never the client's own claim
    assert seen == {"addr": "192.0.2.60", "scheme": "https", "host": "prom.example.no"}
    with app.app_context():
        db.engine.dispose()


def test_without_trusted_proxies_forwarded_headers_are_ignored(tmp_path, monkeypatch):
    app = _proxied_app(tmp_path, monkeypatch, "0")
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "10.1.2.3"
    seen = client.get("/_whoami", headers=FORWARDED).json
    assert seen == {"addr": "10.1.2.3", "scheme": "http", "host": "localhost"}
    with app.app_context():
        db.engine.dispose()


def test_guess_counting_keys_on_the_forwarded_client_address(tmp_path, monkeypatch):
    app = _proxied_app(tmp_path, monkeypatch, "1")
    app.config["OPENPROM_TOKEN_MAX_FAILURES"] = 1
    support.setup_world(app)
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "127.0.0.1"
    for address in ("198.51.100.1", "198.51.100.2"):
        client.get("/s/guess000000000000000000", headers={"X-Forwarded-For": address})
    with app.app_context():
        keys = sorted(c.key for c in db.session.query(AttemptCounter))
        assert keys == ["token:198.51.100.1", "token:198.51.100.2"]
        db.engine.dispose()

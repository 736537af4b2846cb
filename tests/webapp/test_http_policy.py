"""Response policy (issue #9 items 6 and 7): request size cap with a 413 page in the user's
language, ``Cache-Control: no-store`` on every staff response, HSTS over HTTPS only."""

from __future__ import annotations

import re
import select
import socket
import urllib.request
from pathlib import Path

import pytest
from werkzeug.datastructures import MultiDict

from tests.serving import gunicorn_server
from tests.webapp import patient_support as support
from webapp.config import load_settings
from webapp.extensions import db
from webapp.models import Response, User
from webapp.services import auth

TWO_MB = "x" * (2 * 1024 * 1024)
STAFF = ("clinician.", "admin.", "api.")


# --- 413 ------------------------------------------------------------------------------


@pytest.fixture
def csrf_app(database_url, app_factory):  # type: ignore[no-untyped-def]
    """The app as in production: CSRF on, default limits, on SQLite and PostgreSQL."""
    return app_factory(database_url)


def test_limits_are_set_and_configurable(app, tmp_path: Path):
    assert app.config["MAX_CONTENT_LENGTH"] == 1024 * 1024
    assert app.config["MAX_FORM_PARTS"] == 200
    env = {"OPENPROM_MAX_CONTENT_LENGTH": "65536", "OPENPROM_MAX_FORM_PARTS": "50"}
    settings = load_settings(tmp_path, env)
    assert (settings.max_content_length, settings.max_form_parts) == (65536, 50)


@pytest.mark.parametrize(
    ("lang", "title"),
    [("nb", "For mye ble sendt"), ("nn", "For mykje vart sendt"), ("en", "Too much was sent")],
)
def test_big_post_to_a_patient_page_is_413_in_the_patients_language(csrf_app, lang, title):
    enrolled = support.setup_world(csrf_app)
    client = csrf_app.test_client()
    start = client.get(f"/s/{enrolled.token}/start?lang={lang}")
    client.post(
        f"/s/{enrolled.token}/start",
        data={"mode": "self", "csrf_token": support.csrf_from(start.text)},
    )
    with csrf_app.app_context():
        before = [dict(r.answers or {}) for r in db.session.query(Response).all()]
    response = client.post(f"/s/{enrolled.token}/q/eq5d5l/0", data={"MO": "1", "pad": TWO_MB})
    assert response.status_code == 413
    html = response.get_data(as_text=True)
    assert f'<html lang="{lang}">' in html and f"<h1>{title}</h1>" in html
    assert f'href="/s/{enrolled.token}"' in html  # a way back to the saved answers
    with csrf_app.app_context():
        assert [dict(r.answers or {}) for r in db.session.query(Response).all()] == before


def test_big_post_to_staff_login_is_413_with_a_norwegian_page(csrf_app):
    response = csrf_app.test_client().post(
        "/clinician/login", data={"email": "a@b.test", "password": TWO_MB}
    )
    assert response.status_code == 413
    assert "<h1>For stor forespørsel</h1>" in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"


def test_too_many_form_parts_is_413(csrf_app):
    fields = MultiDict([(f"f{i}", "1") for i in range(300)])
    response = csrf_app.test_client().post(
        "/clinician/login", data=fields, content_type="multipart/form-data"
    )
    assert response.status_code == 413


def _raw_post(port: int, path: str, size: int, *, chunked: bool) -> bytes:
    """Send a ``size``-byte body until the server answers; return the answer."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=15)
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}"
    sock.sendall(
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: application/x-www-form-urlencoded\r\n{framing}\r\n\r\n".encode()
    )
    chunk, sent = b"a" * 65536, 0
    try:
        while sent < size and not select.select([sock], [], [], 0)[0]:
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
            sent += len(chunk)
        if chunked and sent >= size:
            sock.sendall(b"0\r\n\r\n")
    except OSError:  # the server closed the connection after answering
        pass
    answer = b""
    try:
        while part := sock.recv(65536):
            answer += part
    except OSError:
        pass
    sock.close()
    return answer


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_gunicorn_refuses_a_20_mb_body_and_stays_responsive(tmp_path, app_factory, chunked):
    url = f"sqlite:///{tmp_path / 'served.sqlite'}"
    app_factory(url)
    with gunicorn_server(url, workers=2, tmp_path=tmp_path) as server:
        answer = _raw_post(server.port, "/clinician/login", 20 * 1024 * 1024, chunked=chunked)
        if chunked:
            # gunicorn does not mark a chunked body as terminated, so Werkzeug reads none
            # of it (the form is empty): refused without reading the 20 MB either
            assert answer.startswith((b"HTTP/1.1 400", b"HTTP/1.1 413")), answer[:200]
        else:
            assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
            assert "For stor forespørsel".encode() in answer
        with urllib.request.urlopen(server.base_url + "/clinician/login", timeout=10) as page:
            assert page.status == 200
        with urllib.request.urlopen(server.base_url + "/healthz", timeout=10) as health:
            assert health.status == 200


# --- no-store and HSTS ----------------------------------------------------------------


def _staff_rules(app):  # type: ignore[no-untyped-def]
    return [r for r in app.url_map.iter_rules() if r.endpoint.startswith(STAFF)]


def _url(rule, world) -> str:  # type: ignore[no-untyped-def]
    values = {
        "unit_name": "unit-a1",
        "register_name": "reg-a",
        "register_id": world.registers["a"],
        "patient_id": world.patients["own"],
        "user_id": world.users["no_role"],
        "instrument_id": "odi",
        "month": "2026-11",
    }
    path = rule.rule
    for name in rule.arguments:
        path = re.sub(rf"<(?:\w+:)?{name}>", str(values[name]), path)
    return path


def _every_staff_request(app, world, client):  # type: ignore[no-untyped-def]
    """Every staff route with each of its methods (logout last); yields (what, response)."""
    rules = sorted(_staff_rules(app), key=lambda r: r.endpoint == "clinician.logout")
    for rule in rules:
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            path = _url(rule, world)
            yield f"{method} {path}", client.open(path, method=method)


def test_every_staff_response_is_no_store(app, world):
    """Anonymous, then signed in with each role: every staff route, every method."""
    assert len(_staff_rules(app)) >= 20
    seen_ok = set()
    for key in (None, "clinician", "unit_lead", "register_admin", "sysadmin"):
        client = app.test_client()
        if key is not None:
            with app.app_context():
                user = db.session.get(User, world.users[key])
                token = auth.start_session(user, None)
                db.session.commit()
            client.set_cookie("openprom_session", token)
        for what, response in _every_staff_request(app, world, client):
            assert response.headers.get("Cache-Control") == "no-store", (key, what)
            if response.status_code == 200:
                seen_ok.add(what.split(" ", 1)[1])
    # the real pages were reached, CSV and ZIP downloads included
    for path in ("/clinician/units/unit-a1/dashboard.csv",
                 "/clinician/registers/reg-a/indicators.csv",
                 f"/clinician/export/{world.registers['a']}",
                 f"/clinician/patients/{world.patients['own']}",
                 "/admin/audit", "/api/instruments"):
        assert path in seen_ok, path


def test_staff_error_pages_and_unknown_paths_are_no_store(app_factory, tmp_path):
    app = app_factory(f"sqlite:///{tmp_path / 'err.sqlite'}", PROPAGATE_EXCEPTIONS=False)

    @app.get("/clinician/boom")
    def boom():  # type: ignore[no-untyped-def]
        raise RuntimeError("boom")

    client = app.test_client()
    for path, status in (("/clinician/boom", 500), ("/clinician/nope", 404),
                         ("/admin/nope", 404), ("/api/nope", 404), ("/clinician/", 302)):
        response = client.get(path)
        assert response.status_code == status, path
        assert response.headers["Cache-Control"] == "no-store", path


def test_patient_and_health_pages_keep_their_own_caching(client):
    assert client.get("/healthz").headers.get("Cache-Control") is None


def test_hsts_over_https_only(client):
    for path in ("/clinician/login", "/", "/api/instruments", "/healthz"):
        secure = client.get(path, base_url="https://localhost")
        assert secure.headers["Strict-Transport-Security"] == (
            "max-age=31536000; includeSubDomains"
        ), path
        plain = client.get(path)
        assert "Strict-Transport-Security" not in plain.headers, path


def test_referrer_policy_is_same_origin(client):
    assert client.get("/").headers["Referrer-Policy"] == "same-origin"


def test_example_nginx_config_leaves_hsts_to_the_app():
    conf = Path(__file__).resolve().parents[2] / "docs" / "deploy" / "nginx-openprom.conf"
    lines = [line.split("#", 1)[0] for line in conf.read_text(encoding="utf-8").splitlines()]
    assert not [line for line in lines if "strict-transport-security" in line.lower()]

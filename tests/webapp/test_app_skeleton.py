"""App factory and its defaults, blueprints, health endpoint, security headers, demo command,
and the licence notices on the admin instrument pages."""

from __future__ import annotations

from html import unescape

import sqlalchemy as sa

from instruments import load_all
from webapp import create_app
from webapp.extensions import db
from webapp.models import Patient, Protocol, RoleAssignment, Unit, User
from webapp.services.demo_adaptive import CAT_PROTOCOL, INDEX_DAYS_AGO


def test_blueprints_registered(app):
    assert {"patient", "clinician", "admin", "api", "health"} <= set(app.blueprints)


def test_healthz_ok_and_503_when_database_is_gone(app, client):
    assert client.get("/healthz").json["status"] == "ok"
    with app.app_context():
        db.session.execute(sa.text("DROP TABLE alembic_version"))
        db.session.commit()
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json["status"] == "error"


def test_base_template_is_mobile_first_with_strict_csp(client):
    response = client.get("/")
    html = response.get_data(as_text=True)
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    csp = response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "default-src 'self'" in csp
    assert response.headers["Referrer-Policy"] == "same-origin"
    css = client.get("/static/css/app.css").get_data(as_text=True)
    assert "min-height: 44px" in css


def test_demo_command_creates_data_and_prints_logins(app):
    result = app.test_cli_runner().invoke(args=["demo", "--patients", "5"])
    assert result.exit_code == 0, result.output
    assert "clinician@demo.openprom.no" in result.output
    again = app.test_cli_runner().invoke(args=["demo", "--patients", "5"])
    assert again.exit_code == 0, again.output  # idempotent
    with app.app_context():
        units = set(db.session.scalars(sa.select(Unit.name)))
        assert units == {"demo-unit", "demo-unit-b", "demo-unit-c"}
        # 5 with history, plus the few who answer the item bank adaptively
        patients = 5 + len(INDEX_DAYS_AGO)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Patient)) == patients
        assert db.session.scalar(sa.select(Protocol).where(Protocol.name == CAT_PROTOCOL))
        protocol = db.session.scalar(sa.select(Protocol).where(Protocol.name == "lumbar-surgery"))
        assert [(t.name, t.offset_days, t.instruments) for t in protocol.time_points] == [
            ("baseline", 0, ["eq5d5l", "odi"]),
            ("3m", 91, ["eq5d5l", "odi"]),
            ("12m", 365, ["eq5d5l", "odi"]),
        ]
        roles = {r.role for r in db.session.scalars(sa.select(RoleAssignment))}
        assert roles == {"clinician", "unit_lead", "register_admin", "methodologist", "sysadmin"}
        user = db.session.scalar(sa.select(User).where(User.email == "lead@demo.openprom.no"))
        assert user.password_hash.startswith("$argon2id$")


def test_create_app_defaults_to_a_sqlite_file_under_instance(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENPROM_DATABASE_URL", raising=False)
    monkeypatch.setenv("OPENPROM_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app()
    expected = f"sqlite:///{(tmp_path / 'instance').resolve() / 'openprom.sqlite'}"
    assert app.config["SQLALCHEMY_DATABASE_URI"] == expected
    assert app.instance_path == str((tmp_path / "instance").resolve())


def test_admin_instrument_pages_show_each_licence_notice(client, world, login_as):
    assert client.get("/admin/instruments").status_code == 302  # anonymous: to the login
    assert login_as("clinician").get("/admin/instruments").status_code == 403
    bundled = load_all()
    for role in ("register_admin", "sysadmin"):
        signed_in = login_as(role)
        signed_in.set_cookie("openprom_staff_lang", "en")  # the English staff texts below
        overview = signed_in.get("/admin/instruments")
        assert overview.status_code == 200
        html = unescape(overview.get_data(as_text=True))
        for inst in bundled.values():
            assert inst.licence.holder in html
        licensed = [i for i in bundled.values() if i.licence.required]
        assert {i.id for i in licensed} == {"eq5d5l", "eq5d3l", "odi", "cat"}
        assert html.count("Licence required") == len(licensed)
        for inst in bundled.values():
            page = signed_in.get(f"/admin/instruments/{inst.id}")
            assert page.status_code == 200
            text = unescape(page.get_data(as_text=True))
            assert inst.licence.notice in text, inst.id
            assert inst.licence.holder in text and inst.licence.url in text
            assert ("Licence required" in text) is inst.licence.required
    odi = unescape(login_as("sysadmin").get("/admin/instruments/odi").get_data(as_text=True))
    assert "eprovide.mapi-trust.org" in odi and "Mapi Research Trust" in odi

"""App factory, blueprints, health endpoint, security headers, demo command."""

from __future__ import annotations

import sqlalchemy as sa

from webapp.extensions import db
from webapp.models import Patient, Protocol, RoleAssignment, Unit, User


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
    assert response.headers["Referrer-Policy"] == "no-referrer"
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
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Patient)) == 5
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
